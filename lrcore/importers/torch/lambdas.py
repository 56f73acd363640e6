"""LambdaLR forms lrcore can read: its own scheduler (the spec it holds) and the
lambdas of transformers' ``get_scheduler``."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from ..._args import plain_number
from ...document import Schedule
from ...errors import SpecError
from ...node import Node
from ...nodes.plateau import Plateau, PlateauState, initial_state
from ...nodes.scale import Scale
from ...nodes.shift import Shift
from .common import real, unsupported

REFUSED = "lrcore cannot read a formula out of an arbitrary Python function; write the " \
          "curve as a spec"


def own_spec(s: Any, group: int, nested: bool) -> tuple[Schedule, int]:
    """An LrcoreScheduler's document, times its group scale; and its steps per call."""
    fn = s.lr_lambdas[group]
    spec = s.spec
    if fn.per != 1 and nested:
        raise SpecError("scheduler", "an LrcoreScheduler stepped per epoch cannot sit in a "
                        "SequentialLR counted in its steps; build the whole curve as one "
                        "spec", fn.per)
    root = spec.schedule
    if nested and isinstance(root, Plateau):
        raise unsupported(s, "scheduler", "its plateau scale multiplies the whole curve, so "
                          "it cannot be one phase of a SequentialLR; build the whole curve "
                          "as one spec inside its plateau")
    if fn.scale != 1.0 and isinstance(root, Plateau):
        # the rule runs on the unscaled curve (group 0's multiplier), and the group scale
        # multiplies the result: inside the plateau, min_lr and eps (rates) scale with it
        c = fn.scale
        spec = dataclasses.replace(spec, schedule=dataclasses.replace(
            root, schedule=Scale(schedule=root.schedule, by=c), min_lr=root.min_lr * c,
            eps=root.eps * c))
    elif fn.scale != 1.0:
        spec = dataclasses.replace(spec, schedule=Scale(schedule=root, by=fn.scale))
    return spec, fn.per


def plateau_now(node: Plateau, k: int, state: dict) -> Node:
    """The rest of a plateau scheduler's run, from step ``k``: exact only while no report
    has changed its state (then the same rule on the shifted curve)."""
    fresh = initial_state(node)
    now = PlateauState.from_dict(state)
    if (now.best, now.bad, now.cool, now.scale) == (fresh.best, fresh.bad, fresh.cool,
                                                     fresh.scale):
        return node if k == 0 else dataclasses.replace(
            node, schedule=Shift(schedule=node.schedule, offset=k))
    raise SpecError("scheduler.plateau", f"origin='now' cannot carry the rule's state after "
                    f"{now.reports} report(s) (best={now.best!r}, bad={now.bad}, "
                    f"cool={now.cool}, scale={now.scale!r}) into a spec, whose plateau starts "
                    "afresh; read from_torch(scheduler) and evaluate it with the same reports",
                    state)


# transformers' get_scheduler builds a LambdaLR over functools.partial(<one of these>)
HF_LAMBDAS = {
    "_get_constant_lambda": "constant",
    "_get_constant_schedule_with_warmup_lr_lambda": "constant_with_warmup",
    "_get_linear_schedule_with_warmup_lr_lambda": "linear",
    "_get_cosine_schedule_with_warmup_lr_lambda": "cosine",
    "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda": "cosine_with_restarts",
    "_get_polynomial_decay_schedule_with_warmup_lr_lambda": "polynomial",
    "_get_inverse_sqrt_schedule_lr_lambda": "inverse_sqrt",
    "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda":
        "cosine_warmup_with_min_lr",
    "_get_wsd_scheduler_lambda": "warmup_stable_decay",
}


def lambda_lr(s, group, path, base):
    fn = s.lr_lambdas[group]
    func, kwargs = fn, {}
    if isinstance(fn, functools.partial):
        if fn.args:
            func = None
        else:
            func, kwargs = fn.func, dict(fn.keywords)
    module = getattr(func, "__module__", "")
    kind = HF_LAMBDAS.get(getattr(func, "__name__", ""))
    if module != "transformers.optimization" or kind is None:
        raise unsupported(s, path, REFUSED)
    from ...presets.hf import hf

    w = kwargs.pop("num_warmup_steps", None)
    n = kwargs.pop("num_training_steps", None)
    lr = base
    if kind == "cosine" and kwargs.get("min_lr_rate", 0.0) != 0.0:
        kind = "cosine_with_min_lr"
    elif kind == "cosine":
        kwargs.pop("min_lr_rate", None)
    if kind == "polynomial":  # transformers divides by the optimizer's default lr
        lr = real(kwargs.pop("lr_init"), f"{path}.lr_lambdas[{group}].lr_init")
    if kind == "warmup_stable_decay" and n is None and all(
            plain_number(kwargs.get(k)) is not None for k in ("num_stable_steps",
                                                                "num_decay_steps")) \
            and plain_number(w) is not None:
        # transformers derived num_stable_steps = N - W - num_decay_steps and kept no N:
        # give hf N back, so that its checks name the number the user passed
        n = w + kwargs.pop("num_stable_steps") + kwargs["num_decay_steps"]
    node = hf(kind, lr, w, n, **kwargs).schedule
    return node if lr == base else Scale(schedule=node, by=base / lr)
