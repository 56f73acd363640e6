"""Flax NNX with an lrcore spec: ``nnx.Optimizer`` around the optax optimizer that
``lrcore.to_optax_optimizer`` builds, the values each update used read from the optimizer
state inside the jitted train step, and an orbax checkpoint to resume from.

    python examples/flax_nnx.py [--steps 60] [--ckpt DIR [--stop-at K]]

With ``--ckpt DIR`` the run resumes from ``DIR/state`` if that checkpoint exists, and
with ``--stop-at K`` it saves there after update K and exits (a later run goes on from
it). Prints one JSON line: the first step it ran, the learning rate, weight decay and b1
of every update it applied, and the final parameters; from it
``lrcore.evaluate(SPEC, step)`` recomputes every value (float32 here).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
from flax import nnx

import lrcore

# one-cycle rate; Adam's b1 (momentum) moves opposite to it; weight decay rises
SPEC = lrcore.load("""
lrcore: 1
total_steps: 60
schedule: {type: onecycle, peak: 0.05, pct_start: 0.3}
hyperparams:
  momentum: {type: onecycle_momentum, low: 0.85, high: 0.95, pct_start: 0.3}
  weight_decay: {type: cosine, start: 0.01, end: 0.1}
""")


def create(spec=SPEC):
    model = nnx.Linear(4, 1, rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, lrcore.to_optax_optimizer(spec, optax.adamw),
                              wrt=nnx.Param)
    return model, optimizer


@nnx.jit
def train_step(model, optimizer, x, y):
    loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
    optimizer.update(model, grads)
    hp = optimizer.opt_state.hyperparams  # after the update: the values it used
    return loss, hp["learning_rate"][...], hp["weight_decay"][...], hp["b1"][...]


def save(path: Path, model, optimizer) -> None:
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(path.resolve(), nnx.state((model, optimizer)))


def restore(path: Path, spec=SPEC):
    """A fresh model and optimizer (built abstractly) filled from the checkpoint."""
    graphdef, abstract = nnx.split(nnx.eval_shape(lambda: create(spec)))
    with ocp.StandardCheckpointer() as ckptr:
        state = ckptr.restore(path.resolve(), abstract)
    return nnx.merge(graphdef, state)


def batch(step: int):
    rng = np.random.default_rng(step % 8)  # 8 fixed batches, in turn
    x = rng.standard_normal((16, 4)).astype(np.float32)
    return x, x @ np.asarray([[0.5], [-1.0], [0.25], [2.0]], np.float32)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--ckpt", type=Path)
    parser.add_argument("--stop-at", type=int)
    args = parser.parse_args(argv)

    state_dir = args.ckpt / "state" if args.ckpt else None
    if state_dir is not None and state_dir.exists():
        model, optimizer = restore(state_dir)
    else:
        model, optimizer = create()
    start = int(optimizer.step[...])  # updates already applied
    stop = args.stop_at if args.stop_at is not None else args.steps
    log = {"learning_rate": [], "weight_decay": [], "b1": []}
    for step in range(start, stop):
        _, lr, wd, b1 = train_step(model, optimizer, *batch(step))
        for name, value in zip(log, (lr, wd, b1)):
            log[name].append(float(value))
    if state_dir is not None and args.stop_at is not None:
        save(state_dir, model, optimizer)
    result = {"start": start, **log,
              "kernel": np.asarray(model.kernel[...]).ravel().tolist(),
              "bias": np.asarray(model.bias[...]).ravel().tolist()}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
