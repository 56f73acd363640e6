"""Helpers every adapter test shares: the parity comparison (DESIGN.md) and the plateau
spec the three frameworks' plateau tests drive — one place, not several copies.

Importable from any test folder: pytest puts ``tests/`` on ``sys.path`` for the
top-level ``conftest.py``.
"""

from __future__ import annotations

import textwrap

import numpy as np

import lrcore
from lrcore.parity import DEFAULT_TOL

#: a spec file whose rate goes negative deep in the tree (the CLI, docs and pre-commit
#: tests check that it fails with its field path)
BAD_RATE = textwrap.dedent("""\
    lrcore: 1
    schedule:
      type: sequence
      phases:
        - {type: linear, start: 0.0, end: -0.001, duration: 200}
        - {type: constant, value: 0.001}
    """)


F64 = dict(zip(("rtol", "atol"), DEFAULT_TOL["float64"], strict=True))
F32 = dict(zip(("rtol", "atol"), DEFAULT_TOL["float32"], strict=True))


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


def check_plateau_example(script: str, epochs: int, *, rtol: float = F64["rtol"],
                          atol: float = F64["atol"], env: dict | None = None) -> dict:
    """Run ``examples/<script> --epochs N`` and check what it printed (its last line is a
    JSON record): at least one cut; one report per epoch; every rate it printed is
    ``evaluate(spec, step, reports=<the metrics it printed>)`` within ``rtol``/``atol``;
    and the cuts it announced are the epochs where the reference's scale drops.
    Returns the record for framework-specific checks."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "examples" / script),
                           "--epochs", str(epochs)], capture_output=True, text=True,
                          cwd=root, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "rate cut after epochs" in proc.stdout
    spec = lrcore.load(root / "examples" / "plateau.yaml")
    ctx = dict(steps_per_epoch=out["steps_per_epoch"], total_steps=out["total_steps"])
    reports = [(int(s), float(m)) for s, m in out["reports"]]
    assert len(reports) == epochs
    ref = lrcore.evaluate(spec, out["steps"], reports=reports, **ctx)
    assert_rates(out["rates"], ref, rtol=rtol, atol=atol)
    ends = np.asarray([out["steps_per_epoch"] * e for e in range(1, epochs + 1)])
    scale = lrcore.evaluate(spec, ends, reports=reports, **ctx) / lrcore.evaluate(
        spec, ends, **ctx)
    drops = [e + 1 for e in range(epochs) if scale[e] < (scale[e - 1] if e else 1.0)]
    assert out["cuts"] == drops and len(drops) >= 1
    return out


def onecycle_recipe(n: int) -> lrcore.Schedule:
    """The whole-recipe spec the adapters' hyperparameter tests drive: a one-cycle rate,
    its inverse momentum and a rising weight decay over ``n`` steps."""
    return lrcore.load(f"""
lrcore: 1
total_steps: {n}
schedule: {{type: onecycle, peak: 0.1, pct_start: 0.25}}
hyperparams:
  momentum: {{type: onecycle_momentum, low: 0.85, high: 0.95, pct_start: 0.25}}
  weight_decay: {{type: cosine, start: 0.01, end: 0.1}}
""")
