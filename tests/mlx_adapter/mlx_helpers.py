"""The train step the MLX adapter tests drive: a squared-error regression step on
``model`` with ``opt``, eager or under ``mx.compile`` (model and optimizer state as its
inputs and outputs, as MLX's docs compile a step)."""

from __future__ import annotations

import functools

import mlx.core as mx
import mlx.nn as nn


def train_step(model, opt, *, compiled: bool = False):
    def loss_fn(m, xb, yb):
        return mx.mean(mx.square(m(xb) - yb))

    grad = nn.value_and_grad(model, loss_fn)

    def step(xb, yb):
        loss, g = grad(model, xb, yb)
        opt.update(model, g)
        return loss

    if compiled:
        state = [model.state, opt.state]
        step = functools.partial(mx.compile, inputs=state, outputs=state)(step)
    return step
