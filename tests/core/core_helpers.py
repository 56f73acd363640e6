"""Helpers shared by the core tests: the float64 comparison and the step sets to check.

The comparison is the project's float64 tolerance (rtol 1e-12, atol 1e-15 * peak); the
step sets are every small step, the neighbourhood of every break and the far steps.
Nothing here computes a rate: the oracles live in the test modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

import lrcore

#: Last step of the spec's domain (int32 counters).
MAX_STEP = 2**31 - 1
#: Far steps every family is checked at (held, periodic or decayed values).
FAR = (10**6, 10**7, MAX_STEP - 1, MAX_STEP)

RTOL = 1e-12
ATOL_PER_PEAK = 1e-15


def around(*points: int, radius: int = 1) -> list[int]:
    """``b - radius .. b + radius`` for every point ``b`` (kept inside the domain)."""
    out = []
    for b in points:
        out += [b + k for k in range(-radius, radius + 1)]
    return [t for t in out if 0 <= t <= MAX_STEP]


def steps_for(horizon: int, *breaks: int, far: bool = True) -> list[int]:
    """Every step to ``horizon + 2``, the neighbourhood of each break, and the far steps."""
    pts = set(range(horizon + 3)) | set(around(*breaks, radius=2))
    if far:
        pts |= set(FAR)
    return sorted(t for t in pts if 0 <= t <= MAX_STEP)


def assert_close(actual: Any, expected: Any, steps: Iterable[int] | None = None,
                 peak: float | None = None) -> None:
    """float64 check: ``|a - e| <= 1e-12 |e| + 1e-15 * peak``; names the worst step."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"shape {a.shape} != expected {e.shape}"
    assert a.dtype == np.float64
    if peak is None:
        peak = float(np.max(np.abs(e))) if e.size else 0.0
    bound = RTOL * np.abs(e) + ATOL_PER_PEAK * peak
    err = np.abs(a - e)
    bad = ~(err <= bound)  # NaN in either counts as a failure
    if bad.any():
        flat = np.flatnonzero(bad.reshape(-1))
        worst = flat[np.argmax(np.nan_to_num(err.reshape(-1)[flat], nan=np.inf))]
        where = list(steps)[worst] if steps is not None else worst
        raise AssertionError(
            f"{bad.sum()} of {bad.size} values differ; worst at step {where}: "
            f"got {a.reshape(-1)[worst]!r}, expected {e.reshape(-1)[worst]!r}")


def check_curve(spec: Any, oracle: Callable[[int], float], steps: Iterable[int],
                **context: Any) -> np.ndarray:
    """Evaluate ``spec`` at ``steps`` with lrcore and compare with ``oracle(t)`` per step;
    every value must also be finite and >= 0."""
    steps = sorted(set(steps))
    got = lrcore.evaluate(spec, steps, **context)
    want = [float(oracle(t)) for t in steps]
    assert np.all(np.isfinite(got)) and np.all(got >= 0.0)
    assert_close(got, want, steps)
    return got
