"""Helpers every adapter test shares: the parity comparison (DESIGN.md) and the plateau
spec the three frameworks' plateau tests drive — one place, not several copies.

Importable from any test folder: pytest puts ``tests/`` on ``sys.path`` for the
top-level ``conftest.py``.
"""

from __future__ import annotations

import numpy as np

import lrcore

F64 = {"rtol": 1e-12, "atol": 1e-15}
F32 = {"rtol": 2e-6, "atol": 1e-9}


def assert_rates(actual, expected, *, rtol: float = F64["rtol"], atol: float = F64["atol"],
                 peak: float | None = None) -> None:
    """``|a - r| <= rtol |r| + atol * peak`` at every step, ``peak`` defaulting to the
    largest expected rate; all values finite; the worst step named on failure."""
    a = np.asarray(actual, dtype=np.float64)
    r = np.asarray(expected, dtype=np.float64)
    assert a.shape == r.shape, (a.shape, r.shape)
    assert np.all(np.isfinite(a)), f"non-finite rate at index {np.argmax(~np.isfinite(a))}"
    peak = float(np.max(np.abs(r))) if peak is None else peak
    err = np.abs(a - r)
    excess = err - (rtol * np.abs(r) + atol * peak)
    i = int(np.argmax(excess))
    assert excess[i] <= 0, (f"index {i}: got {a[i]!r}, want {r[i]!r} "
                            f"(error {err[i]:.3g}, relative {err[i] / max(abs(r[i]), 1e-300):.3g})")


def warm_cos_spec(**plateau):
    """Warmup + cosine inside a plateau node (torch's defaults changed where noted);
    keyword arguments override the plateau parameters."""
    inner = lrcore.sequence(phases=[
        lrcore.linear(start=1e-4, end=0.08, duration=12),
        lrcore.cosine(start=0.08, end=2e-4, duration=108),
    ])
    kw = dict(factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=1e-3)
    kw.update(plateau)
    return lrcore.plateau(schedule=inner, **kw)
