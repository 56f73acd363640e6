"""``lrcore.from_fvcore``: every fvcore param scheduler against fvcore itself, and
detectron2's ``WarmupParamScheduler`` / ``LRMultiplier`` against their semantics.

Oracles: the fvcore scheduler object called at ``where = t / total_steps`` for every
step ``t`` of the run, at float64 rtol 1e-12 / atol 1e-15 x peak; past the run the spec
holds its last value. detectron2 does not install here: what its two classes compute
(``WarmupParamScheduler.__init__`` and ``LRMultiplier.get_lr`` in
``detectron2/solver/lr_scheduler.py``, facebookresearch/detectron2) is restated below.
"""

from __future__ import annotations

import fvcore.common.param_scheduler as ps  # the test extra installs it: the oracle
import numpy as np
import pytest
from importer_helpers import FLOAT64, assert_close

import lrcore
from lrcore import SpecError

FAR = (10**7, 2**31 - 1)


def fvcore_curve(scheduler, total: int) -> tuple[list[int], list[float]]:
    """fvcore's value at every step where it gives one (Constant and Step raise at
    ``where = 1``, MultiStep past it)."""
    steps, values = [], []
    for t in range(total + 1):
        try:
            values.append(scheduler(t / total))
        except (RuntimeError, IndexError):
            continue
        steps.append(t)
    return steps, values


def check(scheduler, total: int) -> lrcore.Schedule:
    spec = lrcore.from_fvcore(scheduler, total_steps=total)
    steps, ref = fvcore_curve(scheduler, total)
    assert steps[:-1] == list(range(len(steps) - 1))  # every step of the run is compared
    assert_close(lrcore.evaluate(spec, steps), ref, FLOAT64, steps=np.asarray(steps),
                 what=f"{type(scheduler).__name__} over {total}")
    # past the run: the last value, held
    assert_close(lrcore.evaluate(spec, FAR), [ref[-1]] * len(FAR), FLOAT64, what="held")
    return spec


def composite(pairs, lengths):
    return ps.CompositeParamScheduler([s for s, _ in pairs], lengths=list(lengths),
                                      interval_scaling=[m for _, m in pairs])


SINGLE = {
    "constant": lambda: ps.ConstantParamScheduler(0.37),
    "cosine-decay": lambda: ps.CosineParamScheduler(0.3, 0.002),
    "cosine-warmup": lambda: ps.CosineParamScheduler(0.01, 0.4),
    "cosine-to-zero": lambda: ps.CosineParamScheduler(0.3, 0.0),
    "linear-up": lambda: ps.LinearParamScheduler(0.001, 0.25),
    "linear-down": lambda: ps.LinearParamScheduler(0.25, 0.03),
    "multistep": lambda: ps.MultiStepParamScheduler([0.5, 0.05, 0.02, 0.004], num_updates=90,
                                                    milestones=[30, 60, 80]),
    "multistep-even": lambda: ps.MultiStepParamScheduler([1.0, 0.3, 0.09], num_updates=7),
    "multistep-last-milestone": lambda: ps.MultiStepParamScheduler(
        [0.2, 0.1, 0.05], milestones=[3, 6, 9]),
    "step": lambda: ps.StepParamScheduler(120, [0.1, 0.03, 0.007, 0.0002]),
    "step-fixed-gamma": lambda: ps.StepWithFixedGammaParamScheduler(
        base_value=0.4, num_decays=3, gamma=0.3, num_updates=120),
    "polynomial": lambda: ps.PolynomialDecayParamScheduler(0.3, 0.9),
    "polynomial-square": lambda: ps.PolynomialDecayParamScheduler(0.2, 2.0),
    "exponential-decay": lambda: ps.ExponentialParamScheduler(2.0, 0.02),
    "exponential-growth": lambda: ps.ExponentialParamScheduler(0.01, 30.0),
}


@pytest.mark.parametrize("total", [1, 7, 100, 999, 1000, 4096])
@pytest.mark.parametrize("name", sorted(SINGLE))
def test_every_scheduler_matches_fvcore(name, total):
    check(SINGLE[name](), total)


@pytest.mark.parametrize("name", ["multistep", "step", "step-fixed-gamma"])
def test_step_boundaries_follow_fvcore_epsilon_past_a_million_steps(name):
    # fvcore adds WHERE_EPSILON = 1e-6 to where: above 10**6 steps a step schedule
    # switches a step or more early (multistep: 30 of 90 updates of 2_000_003 steps is
    # 666_667.67, and fvcore switches at 666_666)
    spec = check(SINGLE[name](), 2_000_003)
    assert spec.schedule.type == "piecewise_constant"


def test_a_cosine_is_the_cosine_family_over_the_run():
    spec = lrcore.from_fvcore(ps.CosineParamScheduler(0.3, 0.002), total_steps=1000)
    assert spec.to_dict() == {
        "lrcore": 1, "description": "fvcore CosineParamScheduler over 1000 steps",
        "total_steps": 1000, "schedule": {"type": "cosine", "start": 0.3, "end": 0.002,
                                          "duration": 1000}}


def test_multistep_boundaries_are_fvcore_steps():
    # milestones 30, 60 of 90 updates over 1000 steps: epoch int((t/1000 + 1e-6) * 90)
    # reaches 30 at t = 333.33.. -> 334, and 60 at 666.66.. -> 667
    spec = lrcore.from_fvcore(ps.MultiStepParamScheduler([1.0, 0.1, 0.01], num_updates=90,
                                                         milestones=[30, 60]), total_steps=1000)
    assert spec.schedule.to_dict() == {"type": "piecewise_constant", "values": [1.0, 0.1, 0.01],
                                       "boundaries": [334, 667]}


COMPOSITES = {
    # an exponential and a polynomial that start between steps at most totals
    "exp-poly-between": lambda: composite([
        (ps.ConstantParamScheduler(0.05), "rescaled"),
        (ps.ExponentialParamScheduler(0.3, 0.02), "rescaled"),
        (ps.PolynomialDecayParamScheduler(0.1, 2.5), "rescaled")], [0.13, 0.51, 0.36]),
    # fvcore's docstring example: constant then cosine, both rescaled
    "docstring": lambda: composite([(ps.ConstantParamScheduler(0.42), "rescaled"),
                                    (ps.CosineParamScheduler(0.42, 1e-4), "rescaled")],
                                   [0.3, 0.7]),
    "fixed-cosine": lambda: composite([(ps.LinearParamScheduler(0.001, 0.3), "rescaled"),
                                       (ps.CosineParamScheduler(0.3, 0.01), "fixed")],
                                      [0.1, 0.9]),
    "three-mixed": lambda: composite([(ps.LinearParamScheduler(0.0, 0.2), "rescaled"),
                                      (ps.ExponentialParamScheduler(0.2, 0.1), "rescaled"),
                                      (ps.PolynomialDecayParamScheduler(0.3, 1.5), "fixed")],
                                     [0.2, 0.3, 0.5]),
    "steps-inside": lambda: composite([(ps.StepParamScheduler(4, [0.3, 0.2]), "rescaled"),
                                       (ps.MultiStepParamScheduler([0.1, 0.05], num_updates=10,
                                                                   milestones=[7]), "fixed"),
                                       (ps.StepWithFixedGammaParamScheduler(0.04, 2, 0.5, 9),
                                        "rescaled")],
                                      [0.25, 0.5, 0.25]),
    "nested": lambda: composite([
        (composite([(ps.ConstantParamScheduler(0.05), "rescaled"),
                    (ps.LinearParamScheduler(0.05, 0.5), "rescaled")], [0.5, 0.5]), "rescaled"),
        (composite([(ps.CosineParamScheduler(0.5, 0.1), "fixed"),
                    (ps.ConstantParamScheduler(0.1), "rescaled")], [0.75, 0.25]), "rescaled")],
        [0.2, 0.8]),
    "lengths-summing-off-one": lambda: composite(
        [(ps.ConstantParamScheduler(0.3), "rescaled"), (ps.CosineParamScheduler(0.3, 0.0),
                                                        "rescaled"),
         (ps.ConstantParamScheduler(0.0), "fixed")], [0.1, 0.2, 0.7]),  # 0.1 + 0.2 != 0.3
}


@pytest.mark.parametrize("total", [100, 1000, 2000])
@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composites_match_fvcore(name, total):
    check(COMPOSITES[name](), total)


def test_composite_phase_handed_over_early_past_a_million_steps():
    # 2_000_000 steps: WHERE_EPSILON hands the cosine its phase at 599_999, a step
    # before its start (600_000); fvcore reads the cosine at where < 0 there
    spec = check(COMPOSITES["docstring"](), 2_000_000)
    first, rest = spec.schedule.phases
    assert first.duration == 599_999
    assert [p.duration for p in rest.phases] == [1, 1_400_000]


@pytest.mark.parametrize("total", [7, 333, 999, 1001])
@pytest.mark.parametrize("name", ["docstring", "fixed-cosine", "three-mixed", "nested",
                                  "lengths-summing-off-one", "exp-poly-between"])
def test_shares_between_steps_match_fvcore(name, total):
    # a phase's share of the run that starts or lasts a real number of steps (0.3 of 999
    # is 299.7): a cosine or a line placed at its exact start with its exact length, an
    # exponential or a polynomial re-anchored at the first step it is in charge of
    check(COMPOSITES[name](), total)


def test_a_share_between_steps_is_a_real_duration():
    spec = lrcore.from_fvcore(COMPOSITES["fixed-cosine"](), total_steps=999)
    assert spec.schedule.phases[0].schedule.to_dict() == {
        "type": "linear", "start": 0.001, "end": 0.3, "duration": 99.9}


# ---- detectron2 (detectron2/solver/lr_scheduler.py, its semantics restated) ---------------

class WarmupParamScheduler(ps.CompositeParamScheduler):
    """detectron2's ``WarmupParamScheduler(scheduler, warmup_factor, warmup_length,
    warmup_method)``: a composite of two phases. The first, over the share
    ``warmup_length`` of the run and rescaled, goes linearly from ``warmup_factor *
    scheduler(0)`` to ``scheduler(warmup_length)`` (``"linear"``) or holds ``warmup_factor *
    scheduler(0)`` (``"constant"``); the second is ``scheduler`` on the run's own progress
    (``"fixed"``). A subclass that keeps fvcore's ``__call__``, as detectron2's is."""

    def __init__(self, scheduler, warmup_factor, warmup_length, warmup_method="linear"):
        low = warmup_factor * scheduler(0.0)
        warmup = {"linear": lambda: ps.LinearParamScheduler(low, scheduler(warmup_length)),
                  "constant": lambda: ps.ConstantParamScheduler(low)}[warmup_method]()
        super().__init__([warmup, scheduler], lengths=[warmup_length, 1 - warmup_length],
                         interval_scaling=["rescaled", "fixed"])


@pytest.mark.parametrize("method", ["linear", "constant"])
@pytest.mark.parametrize("inner", ["multistep", "cosine"])
def test_detectron2_warmup_matches_its_formula(method, inner):
    # detectron2's default solver: MultiStep [1, 0.1, 0.01] at 60k/80k of 90k updates, or
    # cosine to 0, with 1000 warmup iterations from 0.001 (warmup_length = 1000 / 90000)
    total = 90_000
    base = (ps.MultiStepParamScheduler([1.0, 0.1, 0.01], milestones=[60_000, 80_000],
                                       num_updates=total) if inner == "multistep"
            else ps.CosineParamScheduler(1.0, 0.0))
    sched = WarmupParamScheduler(base, 0.001, 1000 / total, method)
    spec = check(sched, total)
    assert spec.schedule.phases[0].duration == 1000


def test_detectron2_lr_multiplier_is_to_torch_with_group_scales():
    """``LRMultiplier.get_lr``: ``base_lr * multiplier(last_epoch / max_iter)`` for every
    group; lrcore: ``to_torch(from_fvcore(multiplier, total_steps=max_iter), opt,
    group_scale=base_lrs)``. Both drive a real torch optimizer through the whole run."""
    torch = pytest.importorskip("torch")

    class LRMultiplier(torch.optim.lr_scheduler.LRScheduler):
        """detectron2's LRMultiplier: each group's initial lr times the multiplier at
        the progress ``last_epoch / max_iter``."""

        def __init__(self, optimizer, multiplier, max_iter):
            self.multiplier, self.max_iter = multiplier, max_iter
            super().__init__(optimizer)

        def get_lr(self):
            m = self.multiplier(self.last_epoch / self.max_iter)
            return [m * lr for lr in self.base_lrs]

    max_iter = 500
    multiplier = WarmupParamScheduler(
        ps.MultiStepParamScheduler([1.0, 0.1, 0.01], milestones=[300, 400], num_updates=500),
        0.001, 50 / max_iter)

    def optimizer():
        a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
        return torch.optim.SGD([{"params": [a], "lr": 0.02}, {"params": [b], "lr": 0.005}])

    theirs_opt, ours_opt = optimizer(), optimizer()
    theirs = LRMultiplier(theirs_opt, multiplier, max_iter)
    ours = lrcore.to_torch(lrcore.from_fvcore(multiplier, total_steps=max_iter), ours_opt,
                           group_scale=[0.02, 0.005])
    got, ref = [], []
    for _ in range(max_iter):
        got.append([g["lr"] for g in ours_opt.param_groups])
        ref.append([g["lr"] for g in theirs_opt.param_groups])
        theirs_opt.step()
        ours_opt.step()
        theirs.step()
        ours.step()
    assert_close(np.asarray(got), np.asarray(ref), FLOAT64, what="LRMultiplier")


# ---- what is refused ----------------------------------------------------------------------

class OwnCall(ps.CosineParamScheduler):
    def __call__(self, where):
        return 0.1


class NotFvcore:
    def __call__(self, where):
        return 0.1


@pytest.mark.parametrize("scheduler, total, message", [
    (NotFvcore(), 10, "scheduler: must be an fvcore param scheduler lrcore reads "
     "(ConstantParamScheduler, CosineParamScheduler, LinearParamScheduler, "
     "MultiStepParamScheduler, StepParamScheduler, StepWithFixedGammaParamScheduler, "
     "PolynomialDecayParamScheduler, ExponentialParamScheduler, CompositeParamScheduler) "
     'or a subclass of one, got "NotFvcore"'),
    (OwnCall(1.0, 0.0), 10, "scheduler: must compute its value with CosineParamScheduler's "
     'own __call__; an override is code lrcore cannot read, got "OwnCall"'),
    (ps.CosineParamScheduler(1.0, 0.0), 0, "total_steps: must be in [1, 2**31 - 1], got 0"),
    (ps.CosineParamScheduler(1.0, 0.0), 2**31,
     "total_steps: must be in [1, 2**31 - 1], got 2147483648"),
    (ps.CosineParamScheduler(1.0, 0.0), 2.5, "total_steps: must be a whole number of steps, "
     "got 2.5"),
    (ps.CosineParamScheduler("0.1", 0.0), 10, "scheduler._start_value: must be a real number "
     '(int, float, a numpy scalar or a 0-d array; not a bool or a string), got "0.1"'),
    (composite([(ps.ConstantParamScheduler(0.1), "rescaled"),
                (ps.LinearParamScheduler(0.1, float("nan")), "fixed")], [0.5, 0.5]), 10,
     "scheduler._schedulers[1]._end_value: must be a finite number, got NaN"),
])
def test_refused(scheduler, total, message):
    with pytest.raises(SpecError) as err:
        lrcore.from_fvcore(scheduler, total_steps=total)
    assert str(err.value) == message
