"""MLX: lrcore's schedule against MLX's own schedulers, side by side (issue 13).

    python benchmarks/mlx_bench.py            # the full run (~2-4 min on 2 cores)
    python benchmarks/mlx_bench.py --quick    # small repetition counts, for debugging

Figures (each a ratio lrcore / native, measured interleaved in this process: see
``harness.py``):

* the per-step time of an Adam update of an MLP 32-64-64-1 (batch 64) on the CPU, with
  ``learning_rate=lrcore.to_mlx(spec)`` against MLX's ``cosine_decay`` and
  ``join_schedules(linear_schedule, cosine_decay)``: eagerly (``optimizer.update`` then
  ``mx.eval``, MLX's documented loop) and as a compiled train step (``mx.compile`` with
  the model and optimizer state); the figure is the median of each block's median step;
* the size of the rate's lazy graph: primitives in ``mx.export_to_dot`` of
  ``schedule(step)`` (MLX exposes no lowered form of a compiled function).

Before timing, each pair is checked to draw the same curve. Writes
``benchmarks/mlx_results.json`` (rows and machine info) and prints the table.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from harness import Row, interleaved, timing_row  # noqa: E402

HORIZON = 10_000
WARMUP = 500


def pairs() -> dict[str, tuple[Any, Any]]:
    """``name -> (lrcore spec, MLX schedule)``, the same curve on both sides."""
    import mlx.optimizers as optim

    import lrcore

    return {
        "cosine_decay": (lrcore.cosine(start=0.1, end=1e-4, duration=HORIZON),
                         optim.cosine_decay(0.1, HORIZON, 1e-4)),
        "join_schedules (linear warmup, cosine)": (
            lrcore.sequence(phases=[
                lrcore.linear(start=0.0, end=0.1, duration=WARMUP),
                lrcore.cosine(start=0.1, end=1e-4, duration=HORIZON - WARMUP)]),
            optim.join_schedules([optim.linear_schedule(0.0, 0.1, WARMUP),
                                  optim.cosine_decay(0.1, HORIZON - WARMUP, 1e-4)],
                                 [WARMUP])),
    }


def check_same_curve(spec: Any, native: Any) -> float:
    import mlx.core as mx
    import numpy as np

    from lrcore.adapters.mlx import to_mlx

    t = mx.array(np.arange(0, HORIZON + 50, dtype=np.uint64))
    a = np.array(to_mlx(spec)(t), dtype=np.float64)
    b = np.array(native(t), dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def graph_size(out: Any) -> int:
    """Primitives in the lazy graph of ``out`` (its DOT export's operation nodes)."""
    import mlx.core as mx

    buf = io.StringIO()
    mx.export_to_dot(buf, out)
    return buf.getvalue().count("shape=rectangle")


def trainer(schedule: Any, *, compiled: bool, block: int):
    """A block of Adam updates on an MLP 32-64-64-1; returns the median step (ns)."""
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim

    mx.random.seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 1))
    mx.eval(model.parameters())
    x = mx.random.normal((64, 32))
    y = mx.sum(x[:, :4], axis=1, keepdims=True)
    opt = optim.Adam(learning_rate=schedule)

    def loss_fn(m, xb, yb):
        return mx.mean(mx.square(m(xb) - yb))

    grad = nn.value_and_grad(model, loss_fn)

    def step(xb, yb):
        loss, g = grad(model, xb, yb)
        opt.update(model, g)
        return loss

    state = [model.state, opt.state]
    if compiled:
        step = functools.partial(mx.compile, inputs=state, outputs=state)(step)

    def run() -> float:
        times = []
        for _ in range(block):
            if int(opt.step.item()) >= HORIZON:  # stay on the curve, not its tail
                opt.state["step"] = mx.array(0, mx.uint64)
            t0 = time.perf_counter_ns()
            loss = step(x, y)
            mx.eval(loss, state)
            times.append(time.perf_counter_ns() - t0)
        return statistics.median(times)

    return run


def bench(quick: bool) -> list[Row]:
    import mlx.core as mx

    from lrcore.adapters.mlx import to_mlx

    block, reps = (50, 6) if quick else (100, 40)
    rows = []
    for name, (spec, native) in pairs().items():
        diff = check_same_curve(spec, native)
        if diff > 1e-5:
            raise SystemExit(f"mlx {name}: curves differ (max rel diff {diff:.2e})")
        step = mx.array(HORIZON // 3, mx.uint64)
        na, nb = graph_size(to_mlx(spec)(step)), graph_size(native(step))
        rows.append(Row("mlx: rate graph size", f"primitives {name}", str(na), str(nb),
                        (na / nb,) * 3, "—", None, {"lrcore": na, "native": nb}))
        for compiled in (False, True):
            how = "compiled (mx.compile)" if compiled else "eager"
            t = interleaved(trainer(to_mlx(spec), compiled=compiled, block=block),
                            trainer(native, compiled=compiled, block=block), reps,
                            warmup=3, self_timed=True)
            rows.append(timing_row("mlx: adam step (MLP 32-64-64-1, batch 64, CPU)",
                                   f"{how} step {name} (median of {block})", t, 1.05,
                                   unit="us"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=str(HERE / "mlx_results.json"))
    args = parser.parse_args()
    load_start = harness.load_average()
    rows = bench(args.quick)
    print(harness.table(rows))
    machine = harness.machine_info()
    machine["versions"].update(harness.versions(["mlx", "mlx-cpu"]))
    Path(args.json).write_text(json.dumps({
        "machine": machine, "load_average": {"start": load_start,
                                             "end": harness.load_average()},
        "quick": args.quick, "rows": harness.rows_to_json(rows)}, indent=1) + "\n",
        encoding="utf-8")


if __name__ == "__main__":
    main()
