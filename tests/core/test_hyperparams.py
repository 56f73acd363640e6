"""Hyperparameter curves beside the learning rate: the ``hyperparams`` document key,
their names and ranges, ``evaluate(hyperparam=...)``, and documents without them keeping
their fingerprints. Oracles: formulas written out here and literal values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import lrcore
from lrcore import SpecError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

RECIPE = """
lrcore: 1
total_steps: 1000
schedule: {type: onecycle, peak: 0.1}
hyperparams:
  weight_decay: {type: cosine, start: 0.04, end: 0.4}
  momentum: {type: onecycle_momentum, low: 0.85, high: 0.95}
  eps: {type: constant, value: 1.0e-8}
"""


def test_hyperparams_load_evaluate_and_dump():
    spec = lrcore.load(RECIPE)
    assert [n for n, _ in spec.hyperparams] == ["eps", "momentum", "weight_decay"]
    t = np.arange(0, 1001, 50)
    wd = 0.4 + (0.04 - 0.4) * (1 + np.cos(np.pi * np.minimum(t, 1000) / 1000)) / 2
    np.testing.assert_allclose(lrcore.evaluate(spec, t, hyperparam="weight_decay"), wd,
                               rtol=1e-12, atol=1e-15)
    assert lrcore.evaluate(spec, [0, 299, 999], hyperparam="momentum").tolist() == [
        0.95, 0.85, 0.95]
    assert lrcore.evaluate(spec, [7], hyperparam="eps").tolist() == [1e-8]
    assert lrcore.evaluate(spec, [299])[0] == 0.1  # the rate is unchanged: onecycle's peak
    for fmt in ("yaml", "json"):
        back = lrcore.load(lrcore.dumps(spec, fmt))
        assert back == spec and back.fingerprint() == spec.fingerprint()


def test_the_order_written_does_not_matter():
    a = lrcore.load({"lrcore": 1, "schedule": {"type": "constant", "value": 0.1},
                     "hyperparams": {"beta2": {"type": "constant", "value": 0.99},
                                     "beta1": {"type": "constant", "value": 0.9}}})
    b = lrcore.load({"lrcore": 1, "schedule": {"type": "constant", "value": 0.1},
                     "hyperparams": {"beta1": {"type": "constant", "value": 0.9},
                                     "beta2": {"type": "constant", "value": 0.99}}})
    assert a == b and a.fingerprint() == b.fingerprint()


@pytest.mark.parametrize("name,fingerprint", [
    # fingerprints printed by the lrcore before hyperparams existed
    ("cyclical_triangular2_fashion_mnist.yaml", "6e88692929abc5f3"),
    ("exponential_decay_per_epoch.yaml", "f9b39f1b5d3eb251"),
    ("keras_exponential_decay_callback.yaml", "bae4e49ff8018fce"),
    ("plateau.yaml", "c0658da3d0c960dd"),
])
def test_documents_without_hyperparams_keep_their_fingerprints(name, fingerprint):
    spec = lrcore.load(EXAMPLES / name)
    assert spec.fingerprint() == fingerprint
    assert "hyperparams" not in spec.to_dict()


def test_each_curve_is_a_document_of_its_own():
    spec = lrcore.load(RECIPE)
    assert spec.curves() == [None, "eps", "momentum", "weight_decay"]
    momentum = spec.curve("momentum")
    assert momentum.total_steps == 1000 and momentum.hyperparams == ()
    assert lrcore.evaluate(momentum, [299]).tolist() == [0.85]
    assert spec.curve(None).hyperparams == ()


def test_durations_resolve_against_the_same_context():
    spec = lrcore.load({"lrcore": 1, "steps_per_epoch": 10, "total_steps": "4ep",
                        "schedule": {"type": "constant", "value": 0.1},
                        "hyperparams": {"weight_decay": {
                            "type": "linear", "start": 0.0, "end": 0.2, "duration": "50%"}}})
    assert lrcore.evaluate(spec, [0, 10, 20, 30], hyperparam="weight_decay").tolist() == [
        0.0, 0.1, 0.2, 0.2]


def test_builders_take_a_mapping_of_nodes():
    spec = lrcore.Schedule(schedule=lrcore.constant(value=0.1),
                           hyperparams={"momentum": lrcore.constant(value=0.9)})
    assert lrcore.evaluate(spec, [0], hyperparam="momentum").tolist() == [0.9]


C = {"type": "constant", "value": 0.1}


def doc(**hyper):
    return {"lrcore": 1, "schedule": C, "hyperparams": hyper}


@pytest.mark.parametrize("data,match", [
    (doc(momentum={"type": "constant", "value": 1.2}),
     r"^hyperparams\.momentum: must stay in \[0, 1\] on every step \(momentum\); the curve "
     r"can reach, got 1\.2$"),
    (doc(beta2={"type": "linear", "start": 0.9, "end": 1.0, "duration": 10}),
     r"^hyperparams\.beta2: must stay in \[0, 1\) on every step \(beta2\); the curve can "
     r"reach, got 1\.0$"),
    (doc(beta1={"type": "cyclic", "low": 0.5, "high": 1.5, "up": 3, "invert": True}),
     r"^hyperparams\.beta1: must stay in \[0, 1\) on every step \(beta1\)"),
    (doc(lr=C), r'^hyperparams\.lr: is the learning rate: write its curve under '
                r'\'schedule\', got "lr"$'),
    (doc(Momentum=C), r"^hyperparams\.Momentum: must be a hyperparameter name \(a lower-case "
                      r"identifier such as momentum, beta1, beta2, weight_decay\), "
                      r'got "Momentum"$'),
    ({"lrcore": 1, "schedule": C, "hyperparams": {"beta 1": C}},
     r'^hyperparams\["beta 1"\]: must be a hyperparameter name'),
    ({"lrcore": 1, "schedule": C, "hyperparams": [C]},
     r"^hyperparams: must be a mapping of hyperparameter names to schedules"),
    (doc(momentum={"type": "plateau", "schedule": C}),
     r"^hyperparams\.momentum: plateau scales the learning rate only; it cannot be part of "
     r'a hyperparameter\'s curve, got "plateau"$'),
    (doc(momentum={"type": "scale", "by": 0.5, "schedule": {"type": "plateau",
                                                           "schedule": C}}),
     r"^hyperparams\.momentum\.schedule: plateau"),
    (doc(momentum={"type": "cosine", "start": 0.9}),
     r"^hyperparams\.momentum\.duration: is required"),
    (doc(momentum={"type": "constant", "value": "0.9"}),
     r"^hyperparams\.momentum\.value: must be a learning rate"),
])
def test_bad_hyperparams(data, match):
    with pytest.raises(SpecError, match=match):
        lrcore.evaluate(lrcore.load(data), [0], hyperparam=next(iter(data["hyperparams"]), None)
                        if isinstance(data["hyperparams"], dict) else None)


def test_a_range_past_a_bound_that_needs_the_context_is_found_when_resolving():
    spec = lrcore.load({"lrcore": 1, "steps_per_epoch": 5, "schedule": C, "hyperparams": {
        "momentum": {"type": "sequence", "phases": [
            {"type": "constant", "value": 0.5, "duration": "1ep"},
            {"type": "exponential", "start": 0.5, "rate": 2.0, "every": "1ep",
             "bound": 0.99}]}}})  # within [0, 1]: accepted
    assert lrcore.evaluate(spec, [0, 5, 10], hyperparam="momentum").tolist() == [
        0.5, 0.5, 0.99]
    with pytest.raises(SpecError, match=r"^hyperparams\.momentum: must stay in \[0, 1\]"):
        lrcore.evaluate(lrcore.load({"lrcore": 1, "steps_per_epoch": 5, "schedule": C,
                                     "hyperparams": {"momentum": {
                                         "type": "exponential", "start": 0.5, "rate": 2.0,
                                         "every": "1ep", "bound": 1.5}}}),
                        [0], hyperparam="momentum")


def test_unknown_curve_and_reports_on_a_hyperparameter():
    spec = lrcore.load(RECIPE)
    with pytest.raises(SpecError, match=r'^hyperparam: is not among the spec\'s hyperparams '
                                        r'\(eps, momentum, weight_decay\), got "beta2"$'):
        lrcore.evaluate(spec, [0], hyperparam="beta2")
    plateau = lrcore.load({"lrcore": 1, "schedule": {"type": "plateau", "schedule": C},
                           "hyperparams": {"momentum": {"type": "constant", "value": 0.9}}})
    with pytest.raises(SpecError, match=r"^reports: scale the learning rate only; evaluate a "
                                        r'hyperparameter without them, got "momentum"$'):
        lrcore.evaluate(plateau, [0], reports=[(0, 1.0)], hyperparam="momentum")
    assert lrcore.evaluate(plateau, [0, 1], reports=[(0, 1.0)]).tolist() == [0.1, 0.1]


def test_a_momentum_of_exactly_one_is_allowed_and_beta_of_one_is_not():
    lrcore.load(doc(momentum={"type": "constant", "value": 1.0}))
    with pytest.raises(SpecError, match=r"^hyperparams\.beta1: must stay in \[0, 1\)"):
        lrcore.load(doc(beta1={"type": "constant", "value": 1.0}))


def test_inverse_cycles_written_out():
    # onecycle_momentum, linear anneal, D = 10, pct 0.3: the phase ends are 2 and 9
    m = lrcore.onecycle_momentum(low=0.85, high=0.95, duration=10, pct_start=0.3,
                                 anneal="linear")
    want = [0.95 - 0.1 * t / 2 for t in range(3)] + [0.85 + 0.1 * (t - 2) / 7
                                                      for t in range(3, 10)] + [0.95]
    np.testing.assert_allclose(lrcore.evaluate(m, range(11)), want, rtol=1e-15)
    # cyclic with invert: high - (high - low) * phi, triangular2 halves the dip per cycle
    c = lrcore.cyclic(low=0.8, high=0.9, up=2, mode="triangular2", invert=True)
    phi = [0, 0.5, 1, 0.5]
    want = [0.9 - 0.1 * phi[t % 4] * 0.5 ** (t // 4) for t in range(12)]
    np.testing.assert_allclose(lrcore.evaluate(c, range(12)), want, rtol=1e-15)
    assert math.isclose(lrcore.evaluate(c, [2])[0], 0.8)


def test_presets_give_hyperparameter_curves():
    from lrcore.presets import optax as presets

    spec = lrcore.Schedule(
        schedule=presets.warmup_cosine_decay_schedule(0.0, 0.1, 10, 100).schedule,
        hyperparams={"weight_decay": presets.linear_schedule(0.01, 0.1, 50),
                     "beta2": presets.piecewise_constant_schedule(0.999, {60: 0.99})})
    # optax's linear_schedule and piecewise_constant_schedule, written out
    t = np.arange(0, 120, 10)
    wd = 0.01 + (0.1 - 0.01) * np.minimum(t, 50) / 50
    np.testing.assert_allclose(lrcore.evaluate(spec, t, hyperparam="weight_decay"), wd,
                               rtol=1e-12)
    assert lrcore.evaluate(spec, [59, 60], hyperparam="beta2").tolist() == [0.999,
                                                                            0.999 * 0.99]
    assert lrcore.load(lrcore.dumps(spec)) == spec


def test_a_document_with_its_own_context_resolves_on_it():
    part = lrcore.load({"lrcore": 1, "steps_per_epoch": 10, "schedule": {
        "type": "linear", "start": 0.0, "end": 0.1, "duration": "2ep"}})
    spec = lrcore.Schedule(schedule=lrcore.constant(value=0.1),
                           hyperparams={"weight_decay": part})
    assert lrcore.evaluate(spec, [10, 20], hyperparam="weight_decay").tolist() == [0.05, 0.1]
    with pytest.raises(SpecError, match=r"^hyperparams\.momentum: must be one curve, not a "
                                        r'document with hyperparams, got "momentum"$'):
        lrcore.Schedule(schedule=lrcore.constant(value=0.1), hyperparams={"momentum": spec})


def test_a_pass_through_curve_may_go_below_zero():
    spec = lrcore.load({"lrcore": 1, "schedule": C, "hyperparams": {"log_eps": {
        "type": "offset", "by": -8.0, "schedule": {
            "type": "linear", "start": 0.0, "end": 2.0, "duration": 10}}}})
    assert lrcore.evaluate(spec, [0, 5, 10, 20], hyperparam="log_eps").tolist() == [
        -8.0, -7.0, -6.0, -6.0]
    assert lrcore.load(lrcore.dumps(spec)) == spec


@pytest.mark.parametrize("data,match", [
    ({"lrcore": 1, "schedule": {"type": "offset", "by": -0.01, "schedule": C}},
     r"^schedule\.by: must be >= 0 here: a negative offset is allowed only in a "
     r"pass-through hyperparameter's curve \(the rate, momentum, betas and weight_decay "
     r"stay >= 0\), got -0\.01$"),
    (doc(weight_decay={"type": "sequence", "phases": [
        {"type": "constant", "value": 0.1, "duration": 5},
        {"type": "offset", "by": -0.05, "schedule": C}]}),
     r"^hyperparams\.weight_decay\.phases\[1\]\.by: must be >= 0 here"),
])
def test_the_rate_and_canonical_curves_stay_non_negative(data, match):
    with pytest.raises(SpecError, match=match):
        lrcore.load(data)


def test_a_positive_offset_is_fine_anywhere():
    spec = lrcore.load({"lrcore": 1, "schedule": {"type": "offset", "by": 0.01,
                                                  "schedule": C}})
    assert lrcore.evaluate(spec, [0]).tolist() == [0.1 + 0.01]
