"""Helpers for the importer and preset tests: dtype-aware comparison and step grids.

The oracles live in the test modules (the frameworks' own schedulers, formulas written
out by hand); this module only compares arrays and builds grids of steps.
"""

from __future__ import annotations

import numpy as np

#: DESIGN.md tolerances: (rtol, atol as a fraction of the peak rate)
FLOAT64 = (1e-12, 1e-15)
FLOAT32 = (2e-6, 1e-9)


def assert_close(got, ref, tol=FLOAT64, *, steps=None, peak=None, what="") -> None:
    """``|got - ref| <= rtol |ref| + atol * peak`` at every step, ``ref`` being the
    float64 curve the framework must draw; the message names the worst step."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    rtol, atol = tol
    peak = float(np.max(np.abs(ref))) if peak is None else peak
    bound = rtol * np.abs(ref) + atol * peak
    err = np.abs(got - ref)
    bad = ~(err <= bound)
    if bad.any():
        idx = np.flatnonzero(bad)
        worst = idx[np.argmax(err[idx] / np.maximum(bound[idx], 1e-300))]
        at = int(steps[worst]) if steps is not None else int(worst)
        raise AssertionError(
            f"{what}: {idx.size} steps off (rtol {rtol:g}, atol {atol:g} x peak {peak:g}); "
            f"worst at step {at}: got {got[worst]!r}, expected {ref[worst]!r} "
            f"(error {err[worst]:.3g}, {err[worst] / bound[worst]:.3g} x tolerance)")


def drive(scheduler, n, group=0):
    """Rates of ``group`` after 0, 1, ..., n - 1 calls of ``scheduler.step()``."""
    out = np.empty(n)
    opt = scheduler.optimizer
    for k in range(n):
        out[k] = opt.param_groups[group]["lr"]
        opt.step()
        scheduler.step()
    return out
