"""Timing, result rows, the table and machine info for ``benchmarks/run.py``.

Every timed figure is a ratio lrcore / native measured *interleaved* in one process:
pair ``i`` times one block of A and one block of B back to back (A first on even
pairs, B first on odd ones, so a drift in machine load hits both sides alike), and the
figure is the median of the per-pair ratios, with their min and max. Blocks run with
the garbage collector disabled and after untimed warm-up blocks.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Block = Callable[[], Any]


@dataclass
class Timing:
    """Per-pair block times (ns) of A (lrcore) and B (native) and their ratios."""

    a_ns: list[int]
    b_ns: list[int]
    per_block: int = 1  # operations per block, to report a per-operation time

    @property
    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.a_ns, self.b_ns, strict=True)]

    def a_median(self) -> float:
        return statistics.median(self.a_ns) / self.per_block

    def b_median(self) -> float:
        return statistics.median(self.b_ns) / self.per_block

    def ratio(self) -> tuple[float, float, float]:
        r = self.ratios
        return statistics.median(r), min(r), max(r)


def interleaved(a: Block, b: Block, reps: int, *, warmup: int = 2, per_block: int = 1,
                collect_every: int = 10, sync: Callable[[Any], Any] | None = None,
                self_timed: bool = False) -> Timing:
    """Time ``reps`` interleaved pairs of blocks ``a`` and ``b`` (ABBA order).

    ``sync`` is applied to a block's return value inside the timed region (e.g.
    ``jax.block_until_ready``) so asynchronous work is counted. With ``self_timed`` a
    block times itself and returns nanoseconds (e.g. the median of its own per-step
    times, which one preempted step cannot move).
    """
    def run(block: Block) -> int:
        t0 = time.perf_counter_ns()
        out = block()
        if sync is not None:
            sync(out)
        if self_timed:
            return out
        return time.perf_counter_ns() - t0

    for _ in range(warmup):
        run(a)
        run(b)
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    a_ns, b_ns = [], []
    try:
        for i in range(reps):
            if i % 2 == 0:
                a_ns.append(run(a))
                b_ns.append(run(b))
            else:
                b_ns.append(run(b))
                a_ns.append(run(a))
            if collect_every and (i + 1) % collect_every == 0:
                gc.collect()  # untimed: keeps the heap from growing across pairs
    finally:
        if was_enabled:
            gc.enable()
    return Timing(a_ns, b_ns, per_block)


# ---- result rows ---------------------------------------------------------------------

@dataclass
class Row:
    """One line of the table. ``ratio`` is (median, min, max) or None; ``met`` None
    means the figure has no goal (information only)."""

    section: str
    figure: str
    lrcore: str
    native: str
    ratio: tuple[float, float, float] | None
    goal: str
    met: bool | None
    data: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[str]:
        if self.ratio is None:
            ratio = "—"
        else:
            med, lo, hi = self.ratio
            ratio = f"{med:.3f} [{lo:.3f}–{hi:.3f}]" if lo != hi else f"{med:.3f}"
        met = {True: "yes", False: "NO", None: "—"}[self.met]
        return [self.figure, self.lrcore, self.native, ratio, self.goal, met]


def timing_row(section: str, figure: str, t: Timing, goal: float, *, unit: str = "us",
               extra: dict[str, Any] | None = None) -> Row:
    """A ratio row with goal ``median ratio <= goal``."""
    med = t.ratio()[0]
    return Row(section, figure, fmt_time(t.a_median(), unit), fmt_time(t.b_median(), unit),
               t.ratio(), f"≤ {goal:g}", med <= goal,
               {"lrcore_ns": t.a_median(), "native_ns": t.b_median(), "reps": len(t.a_ns),
                "per_block": t.per_block, "ratios": [round(r, 5) for r in t.ratios],
                **(extra or {})})


def fmt_time(ns: float, unit: str = "us") -> str:
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
    value = ns / scale
    digits = 3 if value < 10 else 2 if value < 100 else 1
    return f"{value:.{digits}f} {unit.replace('us', 'µs')}"


def table(rows: list[Row]) -> str:
    head = ["figure", "lrcore", "native", "ratio median [min–max]", "goal", "met?"]
    body = [r.cells() for r in rows]
    widths = [max(len(c) for c in col) for col in zip(head, *body, strict=True)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), line]
    section = None
    for r, cells in zip(rows, body, strict=True):
        if r.section != section:
            section = r.section
            out.append(f"[{section}]")
        out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    return "\n".join(out)


def rows_to_json(rows: list[Row]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        d = asdict(r)
        d["ratio"] = None if r.ratio is None else {"median": r.ratio[0], "min": r.ratio[1],
                                                   "max": r.ratio[2]}
        out.append(d)
    return out


def row_from_json(d: dict[str, Any]) -> Row:
    ratio = d.get("ratio")
    return Row(d["section"], d["figure"], d["lrcore"], d["native"],
               None if ratio is None else (ratio["median"], ratio["min"], ratio["max"]),
               d["goal"], d["met"], d.get("data", {}))


# ---- machine info --------------------------------------------------------------------

def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return None


def versions(names: list[str]) -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine_info() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": versions(["lrcore", "numpy", "torch", "jax", "jaxlib", "optax", "keras",
                              "tensorflow", "tensorflow-cpu", "transformers",
                              "accelerate"]),
    }


def run_json_subprocess(args: list[str], env: dict[str, str], timeout: float) -> Any:
    """Run a worker that prints one JSON document as its last stdout line."""
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    return json.loads(lines[-1])
