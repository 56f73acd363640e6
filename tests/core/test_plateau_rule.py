"""The ``plateau`` node's rule (float64 reference) against torch's ``ReduceLROnPlateau``.

The oracle, :class:`TorchRule`, is torch's algorithm written out here from its
documentation and source (``torch/optim/lr_scheduler.py``): plain Python floats, one
``step(metric)`` per report, the learning rate itself as state (``lr = lr * factor``).
It imports nothing from lrcore. With a constant inner schedule lrcore's rate after the
reports made up to step ``t`` must equal the oracle's ``lr`` at rtol 1e-12, on named
metric sequences and on random ones (hypothesis: both modes, both threshold modes,
patience, cooldown, factor, min_lr, eps, repeated report steps).

Also: the documented rule with a non-constant inner schedule (values worked out by
hand), the errors (plateau not outermost, reports back in time, NaN) and the spec's
round trip through ``to_dict``/``from_dict`` and YAML.
"""

from __future__ import annotations

import math

import pytest
from core_helpers import assert_close
from hypothesis import assume, given
from hypothesis import strategies as st

import lrcore
from lrcore import SpecError


class TorchRule:
    """torch's ``ReduceLROnPlateau`` on one param group, from its documented algorithm.

    ``step(metric)``: *better* is ``a < best * (1 - threshold)`` (min, rel),
    ``a < best - threshold`` (min, abs), ``a > best * (threshold + 1)`` (max, rel),
    ``a > best + threshold`` (max, abs); better resets ``num_bad_epochs``, else it
    grows by one; in cooldown the counter ticks down and bad epochs are ignored; when
    ``num_bad_epochs > patience``: ``new_lr = max(lr * factor, min_lr)``, kept only if
    ``lr - new_lr > eps``, then cooldown restarts and the bad count is cleared.
    """

    def __init__(self, lr: float, *, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float = 0.0, eps: float = 1e-8) -> None:
        self.lr = lr
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lr, self.eps = cooldown, min_lr, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        #: (old_lr - new_lr) - eps at every reduction attempt: how close to the eps edge
        self.eps_margins: list[tuple[float, float, float]] = []

    def is_better(self, a: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < self.best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < self.best - self.threshold
        if self.threshold_mode == "rel":
            return a > self.best * (self.threshold + 1.0)
        return a > self.best + self.threshold

    def step(self, metric: float) -> None:
        if self.is_better(metric):
            self.best = metric
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            old = self.lr
            new = max(old * self.factor, self.min_lr)
            self.eps_margins.append((old, new, self.eps))
            if old - new > self.eps:
                self.lr = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0


def oracle_rates(base: float, params: dict, reports: list[tuple[int, float]],
                 steps: list[int]) -> tuple[list[float], TorchRule]:
    """The rate at each step: the oracle's lr after every report made at or before it."""
    rule = TorchRule(base, **params)
    out, i = [], 0
    for t in steps:
        while i < len(reports) and reports[i][0] <= t:
            rule.step(reports[i][1])
            i += 1
        out.append(rule.lr)
    return out, rule


def plateau_spec(base: float, **params):
    return lrcore.plateau(schedule=lrcore.constant(value=base), **params)


def check_against_torch_rule(base: float, params: dict, reports: list[tuple[int, float]]):
    """lrcore.evaluate with ``reports`` against the oracle at every step to the last
    report and two past it; returns the oracle (for the caller's own checks)."""
    last = reports[-1][0] if reports else 0
    steps = list(range(last + 3))
    want, rule = oracle_rates(base, params, reports, steps)
    got = lrcore.evaluate(plateau_spec(base, **params), steps, reports=reports)
    assert_close(got, want, steps)
    return rule


def epochs(metrics, every: int = 1, first: int | None = None) -> list[tuple[int, float]]:
    """One report per epoch: after epoch ``k`` (``every`` steps each) at step ``k every``."""
    start = every if first is None else first
    return [(start + k * every, float(m)) for k, m in enumerate(metrics)]


# ---- named metric sequences against the oracle ------------------------------------------

def _sequences() -> dict[str, list[float]]:
    noisy = [1.0, 0.8, 0.81, 0.79, 0.83, 0.8, 0.82, 0.78, 0.84, 0.8, 0.85, 0.8, 0.79, 0.9]
    return {
        "constant": [0.5] * 16,
        "improving": [1.0 / (k + 1) for k in range(16)],
        "noisy": noisy,
        # each report 0.5 threshold (1e-3 below) better than the last: never "better"
        "sub-threshold": [2.0 * (1.0 - 5e-4) ** k for k in range(16)],
        "rising": [0.1 * (k + 1) for k in range(16)],
        "negative": [-1.0, -1.5, -1.4, -1.6, -1.55, -1.58, -1.7, -1.69, -1.68, -1.2, -1.1,
                     -1.0],
    }


PARAMS = {
    "torch-defaults-but-patience": dict(patience=2),
    "max-rel": dict(mode="max", factor=0.3, patience=1, threshold=2e-2),
    "min-abs": dict(factor=0.5, patience=1, threshold=0.015, threshold_mode="abs"),
    "max-abs-cooldown": dict(mode="max", factor=0.25, patience=0, threshold=0.01,
                             threshold_mode="abs", cooldown=2),
    "cooldown-min_lr": dict(factor=0.5, patience=1, threshold=1e-3, cooldown=1,
                            min_lr=0.04),
    "eps-large": dict(factor=0.6, patience=0, threshold=1e-3, eps=0.1),
}


@pytest.mark.parametrize("seq", sorted(_sequences()))
@pytest.mark.parametrize("name", sorted(PARAMS))
def test_named_sequences_against_torch_rule(name, seq):
    """Every parameter set on every named sequence, one report every 3 steps."""
    check_against_torch_rule(0.8, PARAMS[name], epochs(_sequences()[seq], every=3))


def test_constant_metric_drops_at_torch_epochs():
    """mode min, factor 0.1, patience 2, a constant metric: torch keeps the rate for
    reports 1-3 and cuts at reports 4, 7, 10 (best at 1, then 3 bad > 2 each time)."""
    base, spe = 0.1, 5
    reports = epochs([1.0] * 10, every=spe)
    rule = check_against_torch_rule(base, dict(factor=0.1, patience=2), reports)
    # written out by hand: the cuts land right after epochs 4, 7 and 10
    steps = [k * spe for k in range(12)]
    want = [0.1] * 4 + [0.1 * 0.1] * 3 + [0.1 * 0.1 * 0.1] * 3 + [0.1 ** 4] * 2
    assert_close(lrcore.evaluate(plateau_spec(base, factor=0.1, patience=2), steps,
                                 reports=reports), want, steps)
    assert len(rule.eps_margins) == 3


def test_min_lr_reached_and_eps_by_hand():
    """min_lr stops the cuts (torch: old - new = 0 is not > eps); a large eps stops
    them earlier: 1 -> 0.5 (cut 0.5 > eps 0.3) -> 0.5 (cut 0.25 < 0.3, kept); a cut
    equal to eps is not made (strictly greater)."""
    steps = list(range(8))
    reports = [(k, 1.0) for k in range(1, 7)]
    floor = plateau_spec(1.0, factor=0.5, patience=0, min_lr=0.2)
    assert_close(lrcore.evaluate(floor, steps, reports=reports),
                 [1.0, 1.0, 0.5, 0.25, 0.2, 0.2, 0.2, 0.2], steps)
    coarse = plateau_spec(1.0, factor=0.5, patience=0, eps=0.3)
    assert_close(lrcore.evaluate(coarse, steps, reports=reports),
                 [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], steps)
    # exactly at the edge (all values dyadic, so exact): a cut of 0.5 is not > eps 0.5
    edge = plateau_spec(1.0, factor=0.5, patience=0, eps=0.5)
    assert_close(lrcore.evaluate(edge, steps, reports=reports), [1.0] * 8, steps)
    rule = check_against_torch_rule(1.0, dict(factor=0.5, patience=0, eps=0.5), reports)
    assert rule.lr == 1.0 and len(rule.eps_margins) == 5


def test_min_scale_by_hand():
    """min_scale (lrcore's, like optax's) floors the scale: 1, 0.5, 0.3, 0.3."""
    spec = plateau_spec(2.0, factor=0.5, patience=0, min_scale=0.3)
    steps = [0, 1, 2, 3, 4]
    got = lrcore.evaluate(spec, steps, reports=[(1, 5.0), (2, 5.0), (3, 5.0), (4, 5.0)])
    assert_close(got, [2.0, 2.0, 1.0, 0.6, 0.6], steps)


def test_cut_applies_from_the_report_step():
    """A report after t updates changes the rate of update t + 1, i.e. lr(t) on."""
    spec = plateau_spec(1.0, factor=0.25, patience=0)
    got = lrcore.evaluate(spec, [6, 7, 8, 9, 10, 11, 12],
                          reports=[(3, 1.0), (10, 1.0)])
    assert_close(got, [1.0, 1.0, 1.0, 1.0, 0.25, 0.25, 0.25])


def test_same_step_reports_all_count_and_last_holds():
    """Two reports at one step are two reports (torch: two step() calls)."""
    reports = [(2, 1.0), (2, 1.0), (2, 1.0), (4, 1.0)]
    params = dict(factor=0.5, patience=0, threshold=0.0)
    rule = check_against_torch_rule(1.0, params, reports)
    assert rule.lr == 0.125  # three bad reports: 1 -> 0.5 -> 0.25 -> 0.125


def test_no_reports_is_the_inner_curve():
    """Without reports (None or []) the plateau spec draws its inner schedule, here a
    linear decay checked against the hand formula 0.9 - 0.9 t / 30 (then held)."""
    spec = lrcore.plateau(schedule=lrcore.linear(start=0.9, end=0.0, duration=30))
    steps = list(range(35))
    want = [0.9 * (30 - t) / 30 if t < 30 else 0.0 for t in steps]
    assert_close(lrcore.evaluate(spec, steps), want, steps)
    assert_close(lrcore.evaluate(spec, steps, reports=[]), want, steps)


def test_rule_over_a_decaying_inner_schedule_by_hand():
    """With a schedule inside, min_lr bounds the *rate at the report*:
    s' = max(s f, min_lr / inner(t)), kept if inner(t) (s - s') > eps.

    inner(t) = 1 - t/100, factor 0.5, patience 0, min_lr 0.3, eps 0:
    step 10 (inner 0.9): first report, best. step 20 (0.8): s = max(0.5, 0.375) = 0.5.
    step 30 (0.7): max(0.25, 3/7) = 3/7, rate 0.3 exactly. step 40 (0.6): max(3/14, 0.5)
    = 0.5 > 3/7: would raise the rate, not kept (3/7 stays)."""
    spec = lrcore.plateau(schedule=lrcore.linear(start=1.0, end=0.0, duration=100),
                          factor=0.5, patience=0, min_lr=0.3, eps=0.0)
    reports = [(10, 1.0), (20, 1.0), (30, 1.0), (40, 1.0)]
    steps = [9, 10, 19, 20, 29, 30, 39, 40, 50]
    inner = [1.0 - t / 100 for t in steps]
    scale = [1.0, 1.0, 1.0, 0.5, 0.5, 3 / 7, 3 / 7, 3 / 7, 3 / 7]
    assert_close(lrcore.evaluate(spec, steps, reports=reports),
                 [i * s for i, s in zip(inner, scale, strict=True)], steps)
    assert_close(lrcore.evaluate(spec, [30], reports=reports), [0.3])


# ---- random sequences (hypothesis) -------------------------------------------------------

metric_value = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.0, -1.0]),  # exact ties: plateaus
    st.floats(min_value=-50.0, max_value=50.0, allow_nan=False),
    st.sampled_from([math.inf, -math.inf]),
)


@st.composite
def torch_params(draw) -> tuple[float, dict]:
    base = draw(st.floats(min_value=1e-5, max_value=2.0))
    mode = draw(st.sampled_from(["min", "max"]))
    threshold_mode = draw(st.sampled_from(["rel", "abs"]))
    threshold = draw(st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=0.5)))
    params = dict(
        mode=mode, threshold_mode=threshold_mode, threshold=threshold,
        factor=draw(st.floats(min_value=0.01, max_value=0.99)),
        patience=draw(st.integers(min_value=0, max_value=4)),
        cooldown=draw(st.integers(min_value=0, max_value=3)),
        min_lr=draw(st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1.0)
                              .map(lambda u: u * base))),
        eps=draw(st.one_of(st.just(0.0), st.just(1e-8),
                           st.floats(min_value=1e-3, max_value=0.6).map(lambda u: u * base))),
    )
    return base, params


@st.composite
def report_sequences(draw) -> list[tuple[int, float]]:
    metrics = draw(st.lists(metric_value, min_size=1, max_size=40))
    gaps = draw(st.lists(st.integers(min_value=0, max_value=3), min_size=len(metrics),
                         max_size=len(metrics)))
    out, t = [], draw(st.integers(min_value=0, max_value=2))
    for m, g in zip(metrics, gaps, strict=True):
        t += g
        out.append((t, m))
    return out


def _on_eps_edge(rule: TorchRule) -> bool:
    """A reduction whose size is within 1e-9 (relative) of eps: torch computes
    ``lr * factor`` on the rate, lrcore ``scale * factor`` times the inner rate, equal
    to a few ulp; exactly at the edge either keep/skip decision is right."""
    return any(old != new and abs((old - new) - eps) <= 1e-9 * old
               for old, new, eps in rule.eps_margins)


@given(torch_params(), report_sequences())
def test_random_sequences_against_torch_rule(params, reports):
    """Random parameters and metric sequences: the same rate at every step."""
    base, kwargs = params
    steps = list(range(reports[-1][0] + 3))
    want, rule = oracle_rates(base, kwargs, reports, steps)
    assume(not _on_eps_edge(rule))
    got = lrcore.evaluate(plateau_spec(base, **kwargs), steps, reports=reports)
    assert_close(got, want, steps)


# ---- errors -------------------------------------------------------------------------------

def _plateau(**kw):
    return lrcore.plateau(schedule=lrcore.constant(value=0.1), **kw)


@pytest.mark.parametrize("build, path", [
    (lambda: lrcore.sequence(phases=[_plateau(duration=5), lrcore.constant(value=0.1)]),
     r"schedule\.phases\[0\]"),
    (lambda: lrcore.plateau(schedule=_plateau()), r"schedule\.schedule"),
])
def test_plateau_must_be_outermost(build, path):
    """A plateau below the root is refused, naming where it sits."""
    with pytest.raises(SpecError, match=path + r".*plateau must be the outermost node"):
        lrcore.evaluate(build(), [0])
    with pytest.raises(SpecError, match="outermost"):
        lrcore.Schedule(schedule=build())


def test_plateau_must_be_outermost_in_a_document():
    doc = {"lrcore": 1, "schedule": {"type": "sequence", "phases": [
        {"type": "constant", "value": 0.1, "duration": 10},
        {"type": "plateau", "schedule": {"type": "constant", "value": 0.1}}]}}
    with pytest.raises(SpecError, match=r"schedule\.phases\[1\]: plateau must be the outermost"):
        lrcore.Schedule.from_dict(doc)


def test_reports_need_a_plateau_root():
    with pytest.raises(SpecError, match="reports: need a spec whose outermost node is plateau"):
        lrcore.evaluate(lrcore.constant(value=0.1), [0, 1], reports=[(0, 1.0)])


def test_reports_going_back_in_time():
    with pytest.raises(SpecError, match=r"reports\[2\]: must not go back in time "
                                        r"\(previous report at step 7\), got 6"):
        lrcore.evaluate(_plateau(), [0], reports=[(3, 1.0), (7, 1.0), (6, 1.0)])


@pytest.mark.parametrize("nan", [math.nan, float("nan"), -math.nan])
def test_nan_metric(nan):
    """A NaN metric can never improve: an error, not a silent cut."""
    with pytest.raises(SpecError, match=r"^reports\[1\]\[1\]: must not be NaN"):
        lrcore.evaluate(_plateau(patience=0), [0, 5], reports=[(1, 1.0), (2, nan)])


@pytest.mark.parametrize("item, match", [
    ((1, "low"), r'^reports\[0\]\[1\]: must be a number, got "low"$'),
    ((1, "0.3"), r'^reports\[0\]\[1\]: must be a number, got "0\.3"$'),  # not parsed
    ((1, True), r"^reports\[0\]\[1\]: must be a number, got true$"),
    ((1, None), r"^reports\[0\]\[1\]: must be a number"),
    ((1,), r"^reports\[0\]: must be a \(step, metric\) pair"),
    ((-1, 1.0), r"^reports\[0\]\[0\]: must be in \[0, 2\*\*31 - 1\], got -1$"),
    ((2**63, 1.0), r"^reports\[0\]\[0\]: must be in \[0, 2\*\*31 - 1\], "
                   r"got 9223372036854775808$"),
    ((1.5, 1.0), r"^reports\[0\]\[0\]: must be integers"),
])
def test_bad_reports(item, match):
    with pytest.raises(SpecError, match=match):
        lrcore.evaluate(_plateau(), [0], reports=[item])


@pytest.mark.parametrize("field, value, match", [
    ("factor", 1.0, r"plateau\.factor: must be < 1, got 1\.0"),
    ("factor", 0.0, r"plateau\.factor: must be > 0, got 0\.0"),
    ("patience", -1, r"plateau\.patience: must be an integer in \[0, 2147483647\], got -1"),
    ("cooldown", 1.5, r"plateau\.cooldown: must be an integer in .*, got 1\.5"),
    ("mode", "auto", r"plateau\.mode: must be one of 'min', 'max', got \"auto\""),
    ("threshold_mode", "relative", "threshold_mode: must be one of 'rel', 'abs'"),
    ("threshold", -1e-4, r"plateau\.threshold: must be >= 0, got -0\.0001"),
    ("min_scale", 1.5, r"plateau\.min_scale: must be <= 1, got 1\.5"),
    ("eps", -1.0, r"plateau\.eps: must be >= 0"),
    ("min_lr", -0.1, r"plateau\.min_lr: must be >= 0"),
])
def test_invalid_parameters(field, value, match):
    with pytest.raises(SpecError, match=match):
        _plateau(**{field: value})


# ---- round trip -----------------------------------------------------------------------------

def _full_spec() -> lrcore.Schedule:
    """Every plateau parameter away from its default, over a warmup + cosine."""
    inner = lrcore.sequence(phases=[
        lrcore.linear(start=1e-4, end=0.02, duration="2ep"),
        lrcore.cosine(start=0.02, end=1e-4, exponent=1.5),
    ])
    node = lrcore.plateau(schedule=inner, mode="max", factor=0.3, patience=3,
                          threshold=0.02, threshold_mode="abs", cooldown=2, min_lr=2e-4,
                          min_scale=0.01, eps=1e-7)
    return lrcore.Schedule(schedule=node, steps_per_epoch=10, total_steps=200,
                           name="plateau-round-trip")


def test_round_trip_dict_and_yaml():
    """to_dict/from_dict and dumps/load give an equal spec, the same fingerprint and the
    same curve under the same reports."""
    spec = _full_spec()
    data = spec.to_dict()
    assert data["schedule"]["type"] == "plateau"
    assert data["schedule"]["threshold_mode"] == "abs"
    again = lrcore.Schedule.from_dict(data)
    from_yaml = lrcore.load(lrcore.dumps(spec))
    from_json = lrcore.load(lrcore.dumps(spec, "json"))
    assert again == spec and from_yaml == spec and from_json == spec
    assert from_yaml.fingerprint() == spec.fingerprint()
    reports = [(10 * k, m) for k, m in enumerate([0.5, 0.51, 0.52, 0.5, 0.49, 0.5, 0.6,
                                                  0.58, 0.55, 0.5, 0.5, 0.5], start=1)]
    steps = list(range(0, 210))
    want = lrcore.evaluate(spec, steps, reports=reports)
    assert_close(lrcore.evaluate(from_yaml, steps, reports=reports), want, steps)
    assert (want < lrcore.evaluate(spec, steps)).any()  # the reports did cut the rate


def test_yaml_text_form():
    """The YAML a person writes: defaults may be left out."""
    text = """
lrcore: 1
schedule:
  type: plateau
  patience: 2
  schedule: {type: constant, value: 0.1}
"""
    spec = lrcore.load(text)
    node = spec.schedule
    assert (node.mode, node.factor, node.patience, node.threshold, node.threshold_mode,
            node.cooldown, node.min_lr, node.min_scale, node.eps) == (
        "min", 0.1, 2, 1e-4, "rel", 0, 0.0, 0.0, 1e-8)  # torch's defaults, patience aside
