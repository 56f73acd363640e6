"""Random valid specs: finite, non-negative rates on the whole domain, and parity.

Trees come from :func:`hardening_helpers.valid_docs`: every family and combinator, three
levels deep, parameters spread over the accepted range (rates from 1e-9 to 1e3 and zero,
steps up to 2**29, epoch and share durations, a plateau root with reported metrics).

Oracles: the domain contract of DESIGN.md ("a spec is valid for every step in
[0, 2**31 - 1]: no overflow, no NaN, no negative rate"), checked on the float64 reference
at random steps anywhere in the domain plus every breakpoint's neighbourhood and the far
steps; and the frameworks' own arithmetic: every in-process backend (python, torch,
optax, optax-x64 and Keras on this process's backend) against the reference at the
dtype-aware tolerance (float32 rtol 1e-6, float64 rtol 1e-12) on a sampled grid.
Accepted extreme values get the same contract: a spec that loads must keep it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hardening_helpers import MAX_STEP, count, probe_steps, valid_docs
from hypothesis import given, settings
from hypothesis import strategies as st

import lrcore
from lrcore import backends, parity

#: Backends that run in this process (the reference is the baseline, not under test).
IN_PROCESS = [b for b in parity.available_backends()
              if b != "reference" and backends.get(b).runs_here()]

random_steps = st.lists(st.integers(0, MAX_STEP), min_size=1, max_size=64)


def _load(doc: dict) -> lrcore.Schedule:
    try:
        return lrcore.load(doc)
    except lrcore.SpecError as err:  # the grammar promises valid trees
        raise AssertionError(f"the valid-tree grammar drew an invalid spec: {err}\n{doc}") \
            from None


def _steps_for(spec: lrcore.Schedule, extra: list[int], horizon: int = 64) -> np.ndarray:
    """The parity grid cut to a short horizon (every breakpoint's neighbourhood and the
    far steps kept) plus the random steps and the probe steps."""
    t = np.concatenate([lrcore.grid(spec, horizon), probe_steps(extra)])
    return np.unique(t[(t >= 0) & (t <= MAX_STEP)])


@settings(database=None)
@given(valid_docs(), random_steps)
def test_valid_trees_are_finite_and_non_negative_on_the_whole_domain(drawn, extra) -> None:
    """The float64 reference of every valid tree is finite and >= 0 at random steps in
    [0, 2**31 - 1], near every breakpoint and at the far end (with the plateau's
    reports applied)."""
    doc, reports = drawn
    spec = _load(doc)
    t = _steps_for(spec, extra, horizon=256)
    rates = lrcore.evaluate(spec, t, reports=reports)
    count("valid-reference")
    bad = ~(np.isfinite(rates) & (rates >= 0))
    assert not bad.any(), f"rate {rates[bad][0]!r} at step {t[bad][0]}: {doc}"


#: Parity compiles every tree for XLA and Keras: a fifth of the profile's budget, at most
#: 1000 trees (CI: 40).
PARITY_EXAMPLES = max(5, min(settings.default.max_examples // 5, 1000))


@settings(database=None, max_examples=PARITY_EXAMPLES)
@given(valid_docs(), st.lists(st.integers(0, MAX_STEP), min_size=1, max_size=16))
def test_valid_trees_have_parity_on_in_process_backends(drawn, extra) -> None:
    """Every in-process backend draws the reference curve of a random valid tree on a
    sampled grid, fed the same plateau reports, at the default dtype-aware tolerance."""
    doc, reports = drawn
    spec = _load(doc)
    t = _steps_for(spec, extra)
    report = parity.check_many([spec], IN_PROCESS, steps=t, reports=[reports])[0]
    count("valid-parity")
    assert {r.backend for r in report.results} == set(IN_PROCESS)
    report.raise_for_failure()


def test_in_process_backends_include_every_framework_installed() -> None:
    """The parity property above runs on the frameworks, not only on Python floats."""
    assert "python" in IN_PROCESS
    for module, backend in (("torch", "torch"), ("optax", "optax")):
        try:
            __import__(module)
        except ImportError:
            continue
        assert backend in IN_PROCESS


# ---- accepted extremes keep the contract --------------------------------------------------

EXTREMES = {
    "scale_product_past_float64": {"type": "scale", "by": 1e308,
                                   "schedule": {"type": "constant", "value": 1e308}},
    "scale_schedule_product": {"type": "scale", "by": {"type": "constant", "value": 1e200},
                               "schedule": {"type": "constant", "value": 1e200}},
    "constant_past_float32": {"type": "constant", "value": 1e39},
    "linear_to_float64_max": {"type": "linear", "start": 0.0,
                              "end": 1.7976931348623157e308, "duration": 3},
    "onecycle_initial_past_float64": {"type": "onecycle", "peak": 1e308,
                                      "div_factor": 1e-300, "duration": 10},
    "cosine_restarts_huge_period_mult": {"type": "cosine_restarts", "start": 1.0,
                                         "period": 1, "period_mult": 1e300},
    "exponential_growth_to_far_bound": {"type": "exponential", "start": 1e-300,
                                        "rate": 1e300, "bound": 1e30},
    "exponential_decay_tiny_rate": {"type": "exponential", "start": 1e3, "rate": 1e-300},
    "inverse_time_huge_rate": {"type": "inverse_time", "start": 1e3, "rate": 1e308},
    "polynomial_huge_power": {"type": "polynomial", "start": 1.0, "end": 0.0,
                              "power": 1e308, "duration": 7},
    "polynomial_cycle_far": {"type": "polynomial", "start": 1.0, "end": 1e-3,
                             "power": 2.0, "cycle": True, "duration": 1},
    "cyclic_exp_range_tiny_gamma": {"type": "cyclic", "low": 1e-3, "high": 1e3, "up": 1,
                                    "mode": "exp_range", "gamma": 1e-300},
    "repeat_tiny_decay": {"type": "repeat", "period": 1, "decay": 1e-300,
                          "schedule": {"type": "constant", "value": 1e3}},
    "inverse_sqrt_longest_warmup": {"type": "inverse_sqrt", "peak": 1e3,
                                    "warmup": MAX_STEP},
    "shift_to_the_end": {"type": "shift", "offset": -MAX_STEP,
                         "schedule": {"type": "cosine", "start": 1.0, "duration": MAX_STEP}},
    "every_longest_block": {"type": "every", "every": MAX_STEP,
                            "schedule": {"type": "linear", "start": 1.0, "end": 0.0,
                                         "duration": 3}},
    "wsd_longest_phases": {"type": "warmup_stable_decay", "peak": 1.0, "warmup": MAX_STEP,
                           "stable": MAX_STEP, "decay": MAX_STEP},
    "piecewise_linear_extremes": {"type": "piecewise_linear", "points": [
        [0, 1e3], [1, 0.0], [MAX_STEP, 1e3]]},
}


@pytest.mark.parametrize("name", sorted(EXTREMES))
def test_accepted_extremes_keep_the_domain_contract(name) -> None:
    """A spec with extreme but accepted values: either a SpecError when it is loaded or
    evaluated, or finite rates >= 0 on the whole domain with no floating-point warning
    (pytest turns warnings into errors) and parity on every in-process backend."""
    try:
        spec = lrcore.load({"lrcore": 1, "schedule": EXTREMES[name]})
        t = _steps_for(spec, [], horizon=32)
        rates = lrcore.evaluate(spec, t)
    except lrcore.SpecError:
        count("extremes")
        return
    count("extremes")
    bad = ~(np.isfinite(rates) & (rates >= 0))
    assert not bad.any(), f"{name}: rate {rates[bad][0]!r} at step {t[bad][0]}"
    parity.check_many([spec], IN_PROCESS, steps=t)[0].raise_for_failure()
