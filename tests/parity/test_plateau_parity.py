"""Parity of reduce-on-plateau: every installed backend, fed the same recorded metrics
at the same steps, draws the float64 reference curve (``lrcore.parity.check`` with
``reports=``), over a warmup + cosine inner schedule.

Metric sequences: constant, improving, noisy, improving by less than the threshold
(per report), for a ``min``/``rel`` plateau with cooldown and min_lr and a
``max``/``abs`` one. A NaN metric is a clear SpecError from the reference, before any
backend runs.

Float32 territory. torch and Keras run the rule in float64 Python, but optax without
x64 runs it in float32 under jit: the metric is cast to float32 and ``best``, the
threshold edge ``best * (1 - threshold)`` and the scale are float32. A metric within
float32 rounding of that edge could then be "better" on one backend and not on the
other, a legitimate difference of arithmetic, not a bug. So the sequences here are
float32 numbers (exactly what a float32 model reports) and none lies within 1e-5
(relative; float32 rounds at about 6e-8) of its edge; ``_assert_float32_safe`` checks that
on the data itself, so a change of the sequences cannot silently break the premise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import lrcore
from lrcore import SpecError
from lrcore import parity as lp

STEP_EVERY = 10  # a report every 10 updates ("epochs" of 10 steps)
N_REPORTS = 20
EDGE_MARGIN = 1e-5


def _spec(**plateau):
    inner = lrcore.sequence(phases=[
        lrcore.linear(start=1e-5, end=3e-3, duration=30),
        lrcore.cosine(start=3e-3, end=2e-5, duration=170),
    ])
    return lrcore.Schedule(schedule=lrcore.plateau(schedule=inner, **plateau),
                           name="plateau-" + "-".join(f"{k}" for k in sorted(plateau)))


SPECS = {
    "min-rel-cooldown-min_lr": (_spec(mode="min", factor=0.5, patience=2, threshold=0.01,
                                      cooldown=1, min_lr=2e-4),
                                dict(mode="min", threshold=0.01, threshold_mode="rel")),
    "max-abs": (_spec(mode="max", factor=0.3, patience=1, threshold=0.02,
                      threshold_mode="abs", cooldown=2),
                dict(mode="max", threshold=0.02, threshold_mode="abs")),
}


def _f32(values) -> list[float]:
    return [float(np.float32(v)) for v in values]


def _sequences(mode: str, threshold: float, threshold_mode: str) -> dict[str, list[float]]:
    rng = np.random.default_rng(2024)
    k = np.arange(N_REPORTS)
    if mode == "min":
        improving = 2.0 * 0.9 ** k  # 10 % better every report
        noisy = 0.5 + 0.02 * rng.standard_normal(N_REPORTS)
        # 0.3 % better than the last report, under the 1 % threshold: the first reports
        # are not "better" than best; every few the total crosses it
        sub = 2.0 * (1.0 - 0.3 * threshold) ** k
        constant = np.full(N_REPORTS, 0.75)
    else:
        improving = 0.2 + 0.05 * k  # 2.5 x the abs threshold every report
        noisy = 0.8 + 0.02 * rng.standard_normal(N_REPORTS)
        sub = 0.3 + 0.3 * threshold * k  # under the absolute threshold each report
        constant = np.full(N_REPORTS, 0.9)
    assert threshold_mode == ("rel" if mode == "min" else "abs")
    return {"constant": _f32(constant), "improving": _f32(improving),
            "noisy": _f32(noisy), "sub-threshold": _f32(sub)}


def _reports(metrics) -> list[tuple[int, float]]:
    return [(STEP_EVERY * (i + 1), m) for i, m in enumerate(metrics)]


def _assert_float32_safe(metrics, mode: str, threshold: float, threshold_mode: str) -> None:
    """No metric within EDGE_MARGIN (relative) of its 'better' edge (see the module
    docstring). Walks torch's comparison: the edge moves with ``best``."""
    best = math.inf if mode == "min" else -math.inf
    for i, m in enumerate(metrics):
        if threshold_mode == "rel":
            edge = best * (1.0 - threshold) if mode == "min" else best * (1.0 + threshold)
        else:
            edge = best - threshold if mode == "min" else best + threshold
        if math.isfinite(edge):
            assert abs(m - edge) > EDGE_MARGIN * abs(edge), (i, m, edge)
        better = m < edge if mode == "min" else m > edge
        best = m if better else best


def _cases():
    out = []
    for name, (spec, rule) in SPECS.items():
        for kind, metrics in _sequences(**rule).items():
            out.append((f"{name}/{kind}", spec, rule, metrics))
    return out


def test_every_backend_draws_the_reference_on_recorded_metrics():
    """check_many: each (spec, sequence) on every available backend at the dtype's
    default tolerance (float32 rtol 1e-6, float64 rtol 1e-12), on the parity grid with
    the report steps and their neighbours; every sequence but 'improving' cuts."""
    cases = _cases()
    for _, _, rule, metrics in cases:
        _assert_float32_safe(metrics, **rule)
    reports = [_reports(m) for *_, m in cases]
    results = lp.check_many([spec for _, spec, _, _ in cases], reports=reports,
                            names=[name for name, *_ in cases])
    backends = lp.available_backends()
    assert "reference" in backends and len(backends) >= 2
    for (name, spec, _, _), rep, res in zip(cases, reports, results, strict=True):
        assert [r.backend for r in res.results] == backends
        res.raise_for_failure()
        # the premise: these sequences do exercise cuts (or, 'improving', none)
        t = np.arange(0, STEP_EVERY * N_REPORTS + 1)
        cut = np.any(lrcore.evaluate(spec, t, reports=rep) < 0.99 * lrcore.evaluate(spec, t))
        assert cut == (not name.endswith("/improving")), name


def test_report_steps_are_on_the_grid():
    """check adds every report step and its neighbours to the grid it compares on."""
    spec, rule = SPECS["max-abs"]
    metrics = _sequences(**rule)["constant"]
    res = lp.check(spec, backends=["reference", "python"], steps=[0, 1, 2],
                   reports=_reports(metrics))
    res.raise_for_failure()
    assert res.results[0].n_steps == 3 + 3 * N_REPORTS  # 0..2, then s - 1, s, s + 1 each


@pytest.mark.parametrize("nan_at", [0, 7])
def test_nan_metric_is_a_clear_error_before_any_backend(monkeypatch, nan_at):
    """A NaN metric: SpecError from the reference (which runs first), naming NaN; no
    backend is asked for a single value."""
    def no_backend(*args, **kwargs):
        raise AssertionError("a backend ran before the NaN was caught")

    monkeypatch.setattr(lp, "values", no_backend)
    spec, rule = SPECS["min-rel-cooldown-min_lr"]
    metrics = list(_sequences(**rule)["noisy"])
    metrics[nan_at] = float("nan")
    with pytest.raises(SpecError, match=r"^reports\[\d+\]\[1\]: must not be NaN \(a NaN "
                                        r"metric can never "
                                        r"improve; check the loss\), got NaN"):
        lp.check(spec, reports=_reports(metrics))


def test_reports_going_back_in_time_are_refused_by_check(monkeypatch):
    monkeypatch.setattr(lp, "values", lambda *a, **k: pytest.fail("a backend ran"))
    spec, _ = SPECS["max-abs"]
    with pytest.raises(SpecError, match=r"reports\[1\]: must not go back in time"):
        lp.check(spec, reports=[(20, 0.5), (10, 0.5)])
