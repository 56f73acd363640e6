"""Keras figures for one backend (``KERAS_BACKEND`` is fixed per process).

Run by ``run.py`` once per backend; prints one JSON document (the rows) as its last
stdout line. Figures: per-step time of ``model.fit`` on a small model with lrcore's
schedule against the equivalent native Keras schedule, and ``to_keras`` call to a ready
object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import specs  # noqa: E402
from harness import interleaved, timing_row  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--block", type=int, default=100, help="batches per fit call")
    parser.add_argument("--reps", type=int, default=25)
    parser.add_argument("--adapter-reps", type=int, default=200)
    args = parser.parse_args()

    import keras
    import numpy as np

    import lrcore

    backend = keras.backend.backend()
    assert backend == os.environ.get("KERAS_BACKEND", backend)
    section = f"keras {backend}: model.fit per step"
    rows = []

    # the pairs draw the same curve (a small horizon; every 5th step and each boundary's
    # neighbourhood). Native Keras schedules branch with ops.cond: scalar steps only, and
    # on jax an eager cond retraces on every call, so the native one runs under jax.jit.
    h_check = 400
    for name, (spec, native) in specs.keras_pairs(h_check).items():
        a, b = lrcore.to_keras(spec), native()
        if backend == "jax":
            import jax

            b = jax.jit(b)
        t = np.unique(np.concatenate([np.arange(0, h_check + 20, 5)] + [
            np.arange(k - 2, k + 3) for k in (40, 120, 240, 360, 400)]))
        va = np.asarray(a(t), dtype=np.float64)
        vb = np.asarray([float(b(np.int64(k))) for k in t])
        err = float(np.max(np.abs(va - vb) / (np.abs(vb) + 1e-6 * np.abs(vb).max())))
        if err > 1e-4:
            raise SystemExit(f"keras {backend} {name}: curves differ ({err:.2e})")

    batch = 32
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch * args.block, 16)).astype("float32")
    y = x[:, :4].sum(axis=1, keepdims=True).astype("float32")
    horizon = 10_000
    jit = {"jit_compile": True} if backend == "tensorflow" else {}

    def model_with(schedule):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="mse",
                      **jit)
        return model

    class StepTimes(keras.callbacks.Callback):
        """Time between consecutive ``on_train_batch_end`` calls: one fit step each
        (data, train function, callbacks; a custom callback makes Keras wait for each
        step's logs, on both sides alike)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter_ns())

    def fit(model):
        probe = StepTimes()

        def run() -> float:
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False,
                      callbacks=[probe])
            steps = np.diff(np.asarray(probe.ends, dtype=np.int64))
            return float(np.median(steps))  # the first step's setup is not a step

        return run

    for name, (spec, native) in specs.keras_pairs(horizon).items():
        ma, mb = model_with(lrcore.to_keras(spec)), model_with(native())
        t = interleaved(fit(ma), fit(mb), args.reps, warmup=2, collect_every=1,
                        self_timed=True)
        rows.append(timing_row(section, f"keras {backend} fit {name} (median step of "
                               f"{args.block})", t, 1.02, unit="us",
                               extra={"batch": batch, "batches_per_fit": args.block, **jit}))

    if backend == "tensorflow":
        rows += adapter_rows(args.adapter_reps)
    print(json.dumps({"rows": harness.rows_to_json(rows)}, default=str))
    return 0


def adapter_rows(reps: int):
    """to_keras(5-phase spec) -> ready object, cold and warm (Keras imported first)."""
    import keras

    import lrcore

    t0 = time.perf_counter_ns()
    lrcore.to_keras(specs.five_phase(0))  # imports lrcore.adapters.keras
    first = time.perf_counter_ns() - t0
    cold = []
    for i in range(reps):
        spec = specs.five_phase(i + 3 * 10**6)
        t0 = time.perf_counter_ns()
        lrcore.to_keras(spec)
        cold.append(time.perf_counter_ns() - t0)
    # native: the closest built-in (Keras has no phase composition): CosineDecay+warmup
    native = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        keras.optimizers.schedules.CosineDecay(1e-6, 5000, alpha=0.1, warmup_target=1e-3,
                                               warmup_steps=1000)
        native.append(time.perf_counter_ns() - t0)
    same = specs.five_phase(7)
    warm = []
    for _ in range(min(reps, 50)):
        t0 = time.perf_counter_ns()
        lrcore.to_keras(same)
        warm.append(time.perf_counter_ns() - t0)
    # ready to use: the first call of a fresh schedule (eager), which builds the formula
    call = []
    for i in range(min(reps, 50)):
        s = lrcore.to_keras(specs.five_phase(i + 4 * 10**6))
        t0 = time.perf_counter_ns()
        s(0)
        call.append(time.perf_counter_ns() - t0)
    c, w = statistics.median(cold), statistics.median(warm)
    return [harness.Row(
        "start-up", f"to_keras(5-phase spec) → ready, cold (warm {w / 1e6:.2f} ms, first "
        f"{first / 1e6:.1f} ms; first eager call {statistics.median(call) / 1e6:.2f} ms)",
        harness.fmt_time(c, "ms"),
        f"{harness.fmt_time(statistics.median(native), 'ms')} (CosineDecay)",
        None, "≤ 5 ms", c <= 5e6,  # no ratio: Keras has no 5-phase schedule to compare
        {"cold_ns_median": c, "cold_ns_min": min(cold), "cold_ns_max": max(cold),
         "warm_ns_median": w, "first_call_ns": first,
         "first_eager_call_ns_median": statistics.median(call),
         "native": "CosineDecay(warmup) construction (Keras has no 5-phase equivalent)",
         "native_ns_median": statistics.median(native),
         "reps": reps})]


if __name__ == "__main__":
    sys.exit(main())
