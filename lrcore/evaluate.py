"""Compile a spec against an ops backend, and the float64 reference evaluator."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from .document import Schedule, as_schedule
from .errors import SpecError
from .fields import MAX_STEP
from .ops import NumpyOps, Ops

__all__ = ["compile_spec", "evaluate", "grid"]

REFERENCE = NumpyOps()


def compile_spec(spec: Any, ops: Ops, *, steps_per_epoch: int | None = None,
                 total_steps: int | str | None = None,
                 hyperparam: str | None = None) -> Callable[[Any], Any]:
    """Resolve ``spec`` and build its formula against ``ops``: a function of the integer
    step (an array or scalar of that backend) to the rate in ``ops``' float dtype (or,
    with ``hyperparam``, to that hyperparameter's value)."""
    return _compiled(as_schedule(spec), ops, steps_per_epoch, total_steps, hyperparam)


@functools.lru_cache(maxsize=256)
def _compiled(spec: Schedule, ops: Ops, spe: int | None, total: int | str | None,
              hyperparam: str | None = None):
    doc = spec.resolve(spe, total)  # every curve is resolved and checked, used or not
    return doc.curve(hyperparam).schedule.build(ops)


def _steps(steps: Any, path: str = "steps") -> np.ndarray:
    try:
        t = np.asarray(steps)
    except (TypeError, ValueError) as err:  # ragged lists and the like
        raise SpecError(path, f"must be an integer or an array of integers ({err})") from None
    integral = t.dtype != bool and np.issubdtype(t.dtype, np.integer)
    if not (integral or t.size == 0 or (
            np.issubdtype(t.dtype, np.floating) and np.all(np.isfinite(t))
            and np.all(t == np.floor(t)))):  # 3.0 is step 3; 2.5 is not a step
        raise SpecError(path, "must be integers (optimizer updates already applied)",
                        steps if t.size < 8 else f"array of {t.dtype}")
    if np.issubdtype(t.dtype, np.floating):  # float32 would round 2**31 - 1 up to 2**31
        t = t.astype(np.float64)
    # range first, in the input's own dtype: a cast would wrap 2**63 (uint64) to < 0
    if t.size and (t.min() < 0 or t.max() > MAX_STEP):
        bad = t.min() if t.min() < 0 else t.max()
        raise SpecError(path, "must be in [0, 2**31 - 1]", int(bad))
    return t.astype(np.int64, copy=False)


def evaluate(spec: Any, steps: Any, *, steps_per_epoch: int | None = None,
             total_steps: int | str | None = None,
             reports: Any = None, hyperparam: str | None = None) -> np.ndarray:
    """The reference curve: float64 rates at integer ``steps`` (any shape).

    ``steps`` counts optimizer updates already applied (0 is the first update's rate).
    ``steps_per_epoch``/``total_steps`` override the document's context. For a spec
    whose root is a ``plateau`` node, ``reports`` is the sequence of ``(step, metric)``
    pairs reported so far (in order): each changes the rate from its step on.
    ``hyperparam`` (a name under the document's ``hyperparams``) gives that curve
    instead of the learning rate; reports scale the learning rate only.

    >>> import lrcore
    >>> lrcore.evaluate(lrcore.step(start=0.1, factor=0.5, every=10), [0, 10, 20]).tolist()
    [0.1, 0.05, 0.025]
    """
    f = compile_spec(spec, REFERENCE, steps_per_epoch=steps_per_epoch, total_steps=total_steps,
                     hyperparam=hyperparam)
    t = _steps(steps)
    out = _chunked(f, t)
    if reports is not None and hyperparam is not None:
        raise SpecError("reports", "scale the learning rate only; evaluate a hyperparameter "
                        "without them", hyperparam)
    if reports is not None:
        at, scales = plateau_scales(as_schedule(spec), f, reports)
        if at.size:
            idx = np.searchsorted(at, t, side="right") - 1
            out = out * np.where(idx >= 0, scales[np.maximum(idx, 0)], 1.0)
    return out


#: Steps per block: bounds temporaries (each formula makes a few block-sized arrays, not
#: full-size ones) and lets blocks run on several cores (numpy releases the GIL). 2**15
#: float64 values (256 KiB) keep a formula's temporaries in the core's cache; 2**17 made
#: evaluate about 1.5x slower per step against np.sin (benchmarks/, the evaluator row).
CHUNK = 1 << 15


def _chunked(f: Callable, t: np.ndarray) -> np.ndarray:
    flat = t.reshape(-1)
    n = flat.size
    if n <= CHUNK:
        out = np.broadcast_to(np.asarray(f(flat), dtype=np.float64), flat.shape)
        return (out if out.flags.writeable else out.copy()).reshape(t.shape)
    out = np.empty(n, dtype=np.float64)

    def block(lo: int) -> None:
        out[lo:lo + CHUNK] = f(flat[lo:lo + CHUNK])

    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                  else (os.cpu_count() or 1), 8)
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(block, range(0, n, CHUNK)))
    else:
        for lo in range(0, n, CHUNK):
            block(lo)
    return out.reshape(t.shape)


def plateau_scales(spec: Schedule, inner: Callable, reports: Any):
    """Replay ``(step, metric)`` reports on a plateau spec with the float64 rule: the
    steps at which the scale changes and the scale from each on."""
    from .nodes.plateau import Plateau, check_metric, initial_state, report
    from .ops import PythonOps

    if spec.schedule.type != "plateau":
        raise SpecError("reports", "need a spec whose outermost node is plateau",
                        spec.schedule.type)
    node = cast(Plateau, spec.schedule)
    state = initial_state(node)
    best, bad, cool, scale = state.best, state.bad, state.cool, state.scale
    steps, scales, last = [], [], 0
    py = PythonOps()
    for i, item in enumerate(reports):
        try:
            step, metric = item
        except (TypeError, ValueError):
            raise SpecError(f"reports[{i}]", "must be a (step, metric) pair", item) from None
        step = int(_steps(step, f"reports[{i}][0]"))
        if step < last:
            raise SpecError(f"reports[{i}]", f"must not go back in time (previous report at "
                            f"step {last})", step)
        last = step
        metric = check_metric(metric, f"reports[{i}][1]")
        inner_now = float(inner(np.asarray([step]))[0])
        best, bad, cool, scale = report(node, py, best, bad, cool, scale, metric, inner_now)
        steps.append(step)
        scales.append(scale)
    # several reports at one step: the last one holds from that step on
    at = np.asarray(steps, dtype=np.int64)
    sc = np.asarray(scales, dtype=np.float64)
    if at.size:
        keep = np.append(at[1:] != at[:-1], True)
        at, sc = at[keep], sc[keep]
    return at, sc


def grid(spec: Any, horizon: int | None = None, *, steps_per_epoch: int | None = None,
         total_steps: int | str | None = None, far: bool = True) -> np.ndarray:
    """The parity grid: every step up to the horizon, a neighbourhood of every
    breakpoint, and (``far``) a few far steps: 10**6, 10**7, 2**31 - 1."""
    doc = as_schedule(spec).resolve(steps_per_epoch, total_steps)
    h = horizon if horizon is not None else (doc.horizon() or 1000)
    h = min(max(h, 1), 200_000)
    pts = [np.arange(0, h + 2, dtype=np.int64)]
    near = []
    for b in doc.schedule.breakpoints():
        near += [b - 2, b - 1, b, b + 1, b + 2]
    extra = [10**6, 10**7, MAX_STEP - 1, MAX_STEP] if far else []
    pts.append(np.asarray(near + extra, dtype=np.int64))
    t = np.unique(np.concatenate(pts))
    return t[(t >= 0) & (t <= MAX_STEP)]
