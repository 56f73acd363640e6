"""Parity of the ``mlx`` backend: the whole parity catalog (with its hyperparameter curves
and plateau reports) and random valid trees, against the float64 reference at the float32
tolerance (rtol 1e-6, atol 1e-9 * peak), through :func:`lrcore.adapters.mlx.parity_values`
(what ``lrcore.parity`` calls for ``mlx``) and ``lrcore.parity.compare``.

``pytest -s`` prints the worst error in ulps, its spec and its step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import lrcore  # noqa: E402
from lrcore import parity  # noqa: E402
from lrcore.adapters.mlx import MlxSchedule, parity_values  # noqa: E402

TESTS = Path(__file__).resolve().parents[1]
for folder in ("parity", "hardening"):  # the catalog's reports, the valid-tree grammar
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))
from hardening_helpers import MAX_STEP, probe_steps, valid_docs  # noqa: E402
from test_catalog import DOCS, REPORTS  # noqa: E402

CURVES = [(n, c) for n, d in DOCS.items() for c in d.curves()]


def _grid(spec: lrcore.Schedule, reports, steps=None) -> np.ndarray:
    """The parity grid (or ``steps``), with every report step's neighbours, as
    ``parity.check_many`` builds it."""
    t = lrcore.grid(spec) if steps is None else steps
    if reports:
        near = [k for s, _ in reports for k in (int(s) - 1, int(s), int(s) + 1) if k >= 0]
        t = np.unique(np.concatenate([t, np.asarray(near, np.int64)]))
    return t


@pytest.fixture(scope="module")
def catalog() -> dict:
    out = {}
    jobs = []
    for name, curve in CURVES:
        spec = DOCS[name].resolve().curve(curve)
        reports = REPORTS.get(name) if curve is None else None
        jobs.append((f"{name}:{curve}" if curve else name, spec, _grid(spec, reports),
                     reports))
    got = parity_values("mlx", [j[1] for j in jobs], [j[2] for j in jobs],
                        [j[3] for j in jobs])
    for (key, spec, t, reports), values in zip(jobs, got):
        ref = lrcore.evaluate(spec, t, reports=reports)
        out[key] = parity.compare("mlx", t, ref, values)
    worst = max(out, key=lambda k: out[k].ulps)
    r = out[worst]
    print(f"\nmlx parity catalog: {len(out)} curves, worst {r.ulps:.2f} ulps ({worst} at step "
          f"{r.worst_step}: {r.value!r} vs reference {r.reference!r})")
    return out


@pytest.mark.parametrize("key", [f"{n}:{c}" if c else n for n, c in CURVES])
def test_catalog_curve_has_float32_parity(catalog, key):
    r = catalog[key]
    assert r.ok, (f"{key}: mlx at step {r.worst_step} gave {r.value!r}, reference "
                  f"{r.reference!r} ({r.ulps:.1f} ulp)")


def test_mlx_really_computes_in_float32(catalog):
    """Somewhere the catalog misses the float64 reference by half a float32 ulp or more
    (a backend exact everywhere would be running float64 under float32 tolerances)."""
    assert max(r.ulps for r in catalog.values()) >= 0.5


@pytest.mark.parametrize("name", ["polynomial_power_30", "cosine_exponent_max",
                                  "onecycle_recipe", "cyclic_huge", "step_growth_far"])
def test_a_compiled_schedule_gives_the_eager_values(name):
    """``mx.compile`` fuses the formula into one kernel: the values stay the eager ones."""
    spec = DOCS[name].resolve()
    t = lrcore.grid(spec)
    steps = mx.array(t.astype(np.uint64))
    eager = np.array(MlxSchedule(spec)(steps))
    compiled = np.array(mx.compile(MlxSchedule(spec))(steps))
    np.testing.assert_array_equal(compiled, eager)


#: Random valid trees (the hardening grammar, plateau roots with reports included): a
#: small CI budget, each tree is cheap.
@settings(database=None, max_examples=max(10, settings.default.max_examples // 10))
@given(valid_docs(), st.lists(st.integers(0, MAX_STEP), min_size=1, max_size=16))
def test_random_valid_trees_have_float32_parity(drawn, extra):
    doc, reports = drawn
    spec = lrcore.load(doc)
    t = np.concatenate([lrcore.grid(spec, 64), probe_steps(extra)])
    t = _grid(spec, reports, np.unique(t[(t >= 0) & (t <= MAX_STEP)]))
    ref = lrcore.evaluate(spec, t, reports=reports)
    got = parity_values("mlx", [spec.resolve()], [t], [reports])[0]
    r = parity.compare("mlx", t, ref, got)
    assert r.ok, (f"step {r.worst_step}: {r.value!r} vs reference {r.reference!r} "
                  f"({r.ulps:.1f} ulp)\n{doc}")


def test_a_decay_far_from_its_start_keeps_parity():
    """``0.5 ** 49`` (a halving step decay shifted by 40, from the random trees): MLX's
    own float32 ``exp`` was 22 ulp off there (it loses precision with the size of its
    argument); the adapter's range-reduced ``exp`` keeps the float32 tolerance."""
    spec = lrcore.load({"lrcore": 1, "schedule": {
        "type": "shift", "offset": 40,
        "schedule": {"type": "step", "start": 1.0, "factor": 0.5, "every": 1}}})
    t = lrcore.grid(spec)
    r = parity.compare("mlx", t, lrcore.evaluate(spec, t), parity_values("mlx", [spec], [t],
                                                                          [None])[0])
    assert r.ok, (r.worst_step, r.value, r.reference, r.ulps)


def test_exp_is_within_an_ulp_and_a_fifth_on_its_whole_float32_range():
    """Against float64 ``numpy.exp`` (rounded to float32 for the ulp), eagerly and
    compiled; below -104 and above 89 float32's exp is 0 and inf."""
    from lrcore.adapters.mlx import MlxOps

    ops = MlxOps()
    x = np.linspace(-110.0, 90.0, 200_001).astype(np.float32)
    ref = np.exp(x.astype(np.float64))
    with np.errstate(over="ignore"):
        ref32 = ref.astype(np.float32)
    normal = np.isfinite(ref32) & (ref32 >= np.finfo(np.float32).tiny)
    for f in (ops.exp, mx.compile(ops.exp)):
        got = np.array(f(mx.array(x)), dtype=np.float64)
        ulps = np.abs(got[normal] - ref[normal]) / np.spacing(ref32[normal])
        assert ulps.max() <= 1.2, (ulps.max(), x[normal][np.argmax(ulps)])
        assert np.all(np.isinf(got[~np.isfinite(ref32)]))
        assert np.all(got[ref32 == 0] == 0.0)
    # a number, as mx.exp takes one
    assert abs(ops.exp(0.5).item() - np.exp(0.5)) <= 1.2 * np.spacing(np.float32(np.exp(0.5)))


def test_parity_values_without_reports_is_the_plain_curve():
    """``reports`` may be None (no spec is a reported plateau); a plateau spec without
    reports is its inner curve, as on every backend."""
    spec = lrcore.plateau(schedule=lrcore.cosine(start=0.1, end=0.0, duration=100))
    t = np.arange(120)
    got = parity_values("mlx", [spec], [t], None)[0]
    assert parity.compare("mlx", t, lrcore.evaluate(spec, t), got).ok


def test_the_registry_finds_mlx_for_parity_the_cli_and_lrcore():
    """Nothing outside adapters/mlx.py names mlx: the registry reads its declaration."""
    from lrcore.adapters import mlx as adapter

    assert "mlx" in parity.available_backends() and parity.dtype_of("mlx") == "float32"
    assert lrcore.to_mlx is adapter.to_mlx and "to_mlx_optimizer" in dir(lrcore)
    spec = lrcore.load("lrcore: 1\nschedule: {type: cosine, start: 0.1, duration: 1000}\n")
    report = parity.check(spec, ["mlx"])
    assert report.ok and report.results[0].backend == "mlx" and report.results[0].ulps < 16
