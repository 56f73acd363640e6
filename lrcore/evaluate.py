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
from .ops import NumpyOps, Ops, fill

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


def _steps(steps: Any, path: str = "steps", check_range: bool = True) -> np.ndarray:
    """``steps`` as int64, checked (the range too, unless ``check_range`` is False and
    they are int64 already: then the caller checks it, see :func:`_chunked`)."""
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
    if t.size and (check_range or t.dtype != np.int64):
        _check_range(t.min(), t.max(), path)
    return t.astype(np.int64, copy=False)


def _check_range(low: Any, high: Any, path: str = "steps") -> None:
    if low < 0 or high > MAX_STEP:
        raise SpecError(path, "must be in [0, 2**31 - 1]", int(low if low < 0 else high))


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
    t = _steps(steps, check_range=False)
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


#: Steps per block: blocks run on several cores (numpy releases the GIL), and each is
#: written in place into the output by the formulas that have an in-place form (the
#: common curves, :meth:`lrcore.ops.Ops.in_place`): no block-sized temporaries, which
#: cost a page fault per 4 KiB each time the allocator returns them to the system.
#: 2**15 steps (256 KiB) keep a block in the core's cache and the per-block Python calls
#: small against the block's work (benchmarks/, the evaluator rows).
CHUNK = 1 << 15


def _chunked(f: Callable, t: np.ndarray) -> np.ndarray:
    """``f`` on the int64 steps ``t``, block by block, checking their range block by
    block (in cache, instead of two passes over the whole array first)."""
    flat = t.reshape(-1)
    n = flat.size
    out = np.empty(n, dtype=np.float64)
    bad: list[tuple[int, int]] = []  # (min, max) of the blocks outside the domain

    def block(lo: int) -> None:
        steps = flat[lo:lo + CHUNK]
        low, high = int(steps.min()), int(steps.max())
        if low < 0 or high > MAX_STEP:
            bad.append((low, high))  # list.append is atomic: safe across the threads
            return
        fill(f, steps, out[lo:lo + CHUNK], 0, (low, high))

    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                  else (os.cpu_count() or 1), 8)
    if workers > 1 and n > CHUNK:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(block, range(0, n, CHUNK)))
    elif n:
        for lo in range(0, n, CHUNK):
            block(lo)
    if bad:  # the same step as a check of the whole array would name
        _check_range(min(b[0] for b in bad), max(b[1] for b in bad))
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
