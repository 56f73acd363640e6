"""Reduce-on-plateau in an optax training loop, driven by examples/plateau.yaml.

A tiny MLP (plain jax) fits noisy synthetic data: the validation loss falls for a few
epochs, then stalls at the noise floor, and the plateau rule cuts the rate (on top of
the warmup + cosine curve). ``scale_by_plateau_schedule(spec)`` is the last link of an
SGD-with-momentum chain; the validation loss is reported once per epoch with
``opt_state = report(opt_state, val_loss)`` (jit-compiled, like the train step).

    python examples/plateau_optax.py [--epochs 30]

Prints one line per epoch, the epochs after which the rate was cut, and a final JSON
line (reports, the rate of every update, cuts) from which
``lrcore.evaluate(spec, steps, reports=...)`` recomputes every rate (float32 here).
"""

from __future__ import annotations

import argparse
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

import lrcore
from lrcore.adapters.optax import report, scale_by_plateau_schedule

SPEC = pathlib.Path(__file__).with_name("plateau.yaml")
BATCH, N_TRAIN, N_VAL, DIM, HIDDEN = 32, 256, 128, 8, 16
STEPS_PER_EPOCH = N_TRAIN // BATCH


def make_data(seed: int = 0):
    """y = sin(x . w) + noise (sd 1): learnable at first, then only noise is left."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_TRAIN + N_VAL, DIM)).astype(np.float32)
    w = (rng.standard_normal((DIM, 1)) / DIM ** 0.5).astype(np.float32)
    y = (np.sin(x @ w) + 1.0 * rng.standard_normal((N_TRAIN + N_VAL, 1))).astype(np.float32)
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])


def init_params(seed: int = 0) -> dict:
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return {"w1": jax.random.normal(k1, (DIM, HIDDEN)) / DIM ** 0.5, "b1": jnp.zeros(HIDDEN),
            "w2": jax.random.normal(k2, (HIDDEN, 1)) / HIDDEN ** 0.5, "b2": jnp.zeros(1)}


def loss_fn(params: dict, x, y):
    pred = jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]
    return jnp.mean((pred - y) ** 2)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    total = args.epochs * STEPS_PER_EPOCH

    (x, y), (xv, yv) = make_data()
    spec = lrcore.load(SPEC)
    tx = optax.chain(optax.trace(decay=0.9),  # momentum; the plateau link applies -lr
                     scale_by_plateau_schedule(spec, steps_per_epoch=STEPS_PER_EPOCH,
                                               total_steps=total))
    params = init_params()
    opt_state = tx.init(params)

    @jax.jit
    def train_step(params, opt_state, xb, yb):
        plateau = opt_state[1]  # the PlateauScheduleState: the rate of this update
        rate = plateau.spec(plateau.count) * plateau.scale
        grads = jax.grad(loss_fn)(params, xb, yb)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, rate

    report_jit = jax.jit(report)
    val_loss_fn = jax.jit(loss_fn)

    rates, reports, cuts = [], [], []
    for epoch in range(1, args.epochs + 1):
        for b in range(STEPS_PER_EPOCH):
            sl = slice(b * BATCH, (b + 1) * BATCH)
            params, opt_state, rate = train_step(params, opt_state, x[sl], y[sl])
            rates.append(float(rate))
        val_loss = float(val_loss_fn(params, xv, yv))
        before = float(opt_state[1].scale)
        opt_state = report_jit(opt_state, val_loss)  # after epoch * STEPS_PER_EPOCH updates
        reports.append([int(opt_state[1].count), val_loss])
        after = opt_state[1]
        cut = float(after.scale) < before
        if cut:
            cuts.append(epoch)
        next_lr = float(after.spec(after.count) * after.scale)
        print(f"epoch {epoch:3d}  val_loss {val_loss:.6f}  next lr {next_lr:.6g}"
              + ("  <- cut" if cut else ""))
    print(f"rate cut after epochs: {cuts}")
    result = {"framework": "optax", "spec": str(SPEC), "steps_per_epoch": STEPS_PER_EPOCH,
              "total_steps": total, "reports": reports, "steps": list(range(total)),
              "rates": rates, "cuts": cuts}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
