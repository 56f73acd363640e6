"""``from_torch`` on composite forms torch runs that were refused before: fractional
milestones in and before nested SequentialLRs, a fractional ``T_max`` from a rate other
than its base, momentum cycles inside composites, and a SWALR built after another
scheduler moved the rate.

Oracles: torch's own schedulers stepped side by side (float64 param groups, two groups
with different rates), compared at float64 rtol 1e-12, and curves written out by hand.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

import lrcore

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler
SWALR = torch.optim.swa_utils.SWALR

from importer_helpers import FLOAT64, assert_close  # noqa: E402

from lrcore.importers.torch.checks import rounding_tolerance  # noqa: E402


def two_groups(momentum=False, adam=False):
    """Two float64 param groups, lr 0.05 and 0.5."""
    a = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    groups = [{"params": [a]}, {"params": [b], "lr": 0.5}]
    if adam:
        return torch.optim.Adam(groups, lr=0.05)
    return torch.optim.SGD(groups, lr=0.05, momentum=0.9 if momentum else 0.0)


def quietly(build):
    """torch warns that SequentialLR steps its schedulers before optimizer.step()."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Detected call of `lr_scheduler.step\(\)` before",
                                UserWarning)
        return build()


def run(scheduler, n, key="lr"):
    """``key`` of every group after 0, 1, ..., n - 1 calls of ``scheduler.step()``
    (``"beta1"``: ``betas[0]``)."""
    opt = scheduler.optimizer
    out = np.empty((len(opt.param_groups), n))
    for k in range(n):
        out[:, k] = [g["betas"][0] if key == "beta1" else g[key] for g in opt.param_groups]
        opt.step()
        scheduler.step()
    return out


def assert_reads(make, n, what="", origin="start", before=0):
    """The spec of each group draws the rates a second, identical torch scheduler sets
    (read after ``before`` steps)."""
    for group in (0, 1):
        s = quietly(make)
        run(s, before)
        spec = lrcore.from_torch(s, group=group, origin=origin)
        twin = quietly(make)
        rates = run(twin, n + before)[group]
        if origin == "now":
            rates = rates[before:]
        assert_close(lrcore.evaluate(spec, np.arange(len(rates))), rates, FLOAT64,
                     what=f"{what} group {group}")


# ---- a SWALR built after another scheduler moved the rate ------------------------------------

@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("epochs", [0, 1, 2, 6])
@pytest.mark.parametrize("origin", ["start", "now"])
def test_swalr_built_after_another_scheduler(origin, epochs, strategy):
    """Built (not yet stepped) after an ExponentialLR ran 3 steps, it anneals from the
    rate it finds (with anneal_epochs=1 it holds that rate at its step 0)."""
    def make():
        o = two_groups()
        decay = L.ExponentialLR(o, 0.9)
        run(decay, 3)
        return SWALR(o, swa_lr=[0.01, 0.9], anneal_epochs=epochs, anneal_strategy=strategy)
    assert_reads(make, 12, origin=origin)


def test_swalr_built_after_another_scheduler_written_out():
    """anneal_epochs=1: 0.05 x 0.9**3 at its step 0, then swa_lr (from now on too)."""
    o = two_groups()
    decay = L.ExponentialLR(o, 0.9)
    run(decay, 3)
    swa = SWALR(o, swa_lr=0.01, anneal_epochs=1)
    hand = [0.05 * 0.9**3] + [0.01] * 5
    for origin in ("start", "now"):
        spec = lrcore.from_torch(swa, origin=origin)
        assert_close(lrcore.evaluate(spec, np.arange(6)), hand, FLOAT64, what=origin)


# ---- a fractional T_max from a rate other than its base -------------------------------------

@pytest.mark.parametrize("t_max", [0.5, 1.5, 2.5, 3.75, 7.25])
@pytest.mark.parametrize("where", ["after-onecycle", "after-fractional-milestone",
                                   "first-after-fractional-milestone"])
def test_fractional_t_max_from_another_rate(where, t_max):
    """Its recursion multiplies the distance to eta_min by a ratio of cosines; a
    non-integer T_max never makes that ratio divide by 0 at an integer step, so from the
    rate r it finds at step e0 the ratios telescope to a cosine of period 2 T_max through
    r at e0."""
    def make():
        o = two_groups()
        if where == "after-onecycle":  # OneCycleLR rewrites initial_lr: first != base
            cosine = L.CosineAnnealingLR(o, T_max=t_max, eta_min=0.001)
            L.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=20, cycle_momentum=False)
            return L.SequentialLR(o, [cosine, L.ExponentialLR(o, 0.9)], [9])
        if where == "after-fractional-milestone":
            return L.SequentialLR(o, [L.ExponentialLR(o, 0.8),
                                      L.CosineAnnealingLR(o, T_max=t_max, eta_min=0.001)],
                                  [2.5])
        return L.SequentialLR(o, [L.ExponentialLR(o, 0.8),
                                  L.CosineAnnealingLR(o, T_max=t_max, eta_min=0.001)],
                              [0.5])
    assert_reads(make, 30, what=f"{where}, T_max {t_max}")


def test_fractional_t_max_from_another_rate_written_out():
    """After ExponentialLR(0.8) to milestone 2.5, at step 3 a plain step() from 0.05 x
    0.8**2 multiplies its distance to eta_min by (1 + cos 0) / (1 + cos(-pi / 2.5)),
    then by the ratio of each step: eta + (r - eta)(1 + cos(pi j / 2.5)) / (1 + cos(pi /
    2.5)) at step 3 + j."""
    o = two_groups()
    s = L.SequentialLR(o, [L.ExponentialLR(o, 0.8),
                           L.CosineAnnealingLR(o, T_max=2.5, eta_min=0.001)], [2.5])
    r, eta = 0.05 * 0.8**2, 0.001
    hand = [0.05, 0.05 * 0.8, r] + [eta + (r - eta) * (1 + math.cos(math.pi * j / 2.5))
                                    / (1 + math.cos(math.pi / 2.5)) for j in range(12)]
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(15)), hand, FLOAT64)
    assert_close(run(s, 15)[0], hand, FLOAT64)


# ---- a momentum cycle inside a SequentialLR -------------------------------------------------

CYCLERS = {
    "OneCycleLR": lambda o: L.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=30,
                                         base_momentum=0.8, max_momentum=0.95),
    "OneCycleLR-linear-3": lambda o: L.OneCycleLR(o, max_lr=0.4, total_steps=28,
                                                  anneal_strategy="linear",
                                                  three_phase=True),
    "CyclicLR": lambda o: L.CyclicLR(o, 0.01, [0.2, 0.3], step_size_up=3, step_size_down=2,
                                     base_momentum=[0.7, 0.75], max_momentum=0.9),
    "CyclicLR-exp_range": lambda o: L.CyclicLR(o, 0.01, 0.2, step_size_up=3,
                                               mode="exp_range", gamma=0.97),
}

FORMS = {
    "first": lambda o, c: L.SequentialLR(o, [c(o), L.ExponentialLR(o, 0.9)], [9]),
    "after-a-milestone": lambda o, c: L.SequentialLR(
        o, [L.LinearLR(o, 0.2, total_iters=4), c(o), L.ConstantLR(o, 0.5, 3)], [4, 12]),
    "after-a-fractional-milestone": lambda o, c: L.SequentialLR(
        o, [L.ExponentialLR(o, 0.9), c(o)], [3.5]),
    "two": lambda o, c: L.SequentialLR(
        o, [c(o), L.ExponentialLR(o, 0.9), c(o)], [6, 10]),
    "nested": lambda o, c: L.SequentialLR(
        o, [L.SequentialLR(o, [L.ExponentialLR(o, 0.9), c(o)], [3]),
            L.ConstantLR(o, 0.5, 2)], [11]),
}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("cycler", sorted(CYCLERS))
def test_momentum_cycle_in_a_sequential_lr(cycler, form, optimizer):
    """The spec's hyperparams.momentum is the momentum (SGD) or betas[0] (Adam) torch
    sets at every step, for both groups, read at the start and after 5 steps (from then
    on): each cycler's cycle while it runs, held at its last value after it, and before
    it the momentum its constructor set (its value at its step 0). The rates too."""
    key = "beta1" if optimizer == "adam" else "momentum"

    def make():
        o = two_groups(momentum=True, adam=optimizer == "adam")
        return FORMS[form](o, CYCLERS[cycler])

    for before, origin in ((0, "start"), (5, "start"), (5, "now")):
        for group in (0, 1):
            s = quietly(make)
            run(s, before)
            spec = lrcore.from_torch(s, group=group, origin=origin)
            twin = quietly(make)
            n = 24
            want = run(twin, n)
            lo = before if origin == "now" else 0
            t = np.arange(n - lo)
            what = f"{origin} after {before}, group {group}"
            assert_close(lrcore.evaluate(spec, t, hyperparam="momentum"),
                         run(quietly(make), n, key)[group, lo:], FLOAT64,
                         what="momentum " + what)
            assert_close(lrcore.evaluate(spec, t), want[group, lo:], FLOAT64,
                         what="rate " + what)


# ---- fractional milestones and nested SequentialLRs -----------------------------------------

KINDS = {
    "ExponentialLR": lambda o: L.ExponentialLR(o, 0.9),
    "MultiplicativeLR": lambda o: L.MultiplicativeLR(o, lambda epoch: 0.8),
    "StepLR": lambda o: L.StepLR(o, 1, 0.5),
    "StepLR-2": lambda o: L.StepLR(o, 2, 0.5),
    "MultiStepLR": lambda o: L.MultiStepLR(o, [-2, -1, 2, 3], 0.5),
    "ConstantLR": lambda o: L.ConstantLR(o, 0.5, 3),
    "ConstantLR-negative": lambda o: L.ConstantLR(o, 0.5, -1),
    "LinearLR": lambda o: L.LinearLR(o, 0.2, total_iters=4),
    "PolynomialLR": lambda o: L.PolynomialLR(o, total_iters=5, power=2.0),
    "CosineAnnealingLR-1": lambda o: L.CosineAnnealingLR(o, T_max=1, eta_min=0.001),
    "CosineAnnealingLR-2": lambda o: L.CosineAnnealingLR(o, T_max=2, eta_min=0.001),
    "CosineAnnealingLR-2.5": lambda o: L.CosineAnnealingLR(o, T_max=2.5, eta_min=0.001),
    "SWALR": lambda o: SWALR(o, swa_lr=[0.02, 0.9], anneal_epochs=4),
    "CyclicLR-triangular2": lambda o: L.CyclicLR(o, 0.01, [0.2, 0.3], step_size_up=2,
                                                 step_size_down=1, mode="triangular2",
                                                 cycle_momentum=False),
    "CyclicLR-exp_range": lambda o: L.CyclicLR(o, 0.01, 0.2, step_size_up=3,
                                               mode="exp_range", gamma=0.9,
                                               cycle_momentum=False),
    "OneCycleLR": lambda o: L.OneCycleLR(o, [1.0, 2.0], total_steps=40, cycle_momentum=False),
    "OneCycleLR-linear": lambda o: L.OneCycleLR(o, 1.0, total_steps=100, pct_start=0.5,
                                                anneal_strategy="linear",
                                                cycle_momentum=False),
    "CosineAnnealingWarmRestarts": lambda o: L.CosineAnnealingWarmRestarts(o, 3, 2, 0.001),
    "ChainedScheduler": lambda o: L.ChainedScheduler([L.StepLR(o, 1, 0.5),
                                                      L.PolynomialLR(o, total_iters=6)]),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fractional_milestone_in_a_nested_sequential_lr(kind):
    """A nested SequentialLR's counter runs ``lead`` steps ahead; at its fractional
    milestone m torch runs a plain step() of the next scheduler, whose last_epoch every
    SequentialLR above it has undone once: it first runs at last_epoch -min(ceil(m), lead)
    (the construction's steps move it before step 0 when ceil(m) <= lead). Both groups,
    one and two levels deep, the milestone crossed before and after step 0."""
    for m, depth, outer in [(0.5, 1, 7), (1.5, 1, 7), (2.5, 1, 9), (6.25, 1, 4),
                            (0.5, 2, 8), (1.5, 2, 8), (2.5, 2, 8), (4.5, 2, 3)]:
        def make():
            o = two_groups()
            inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.95), KINDS[kind](o)], [m])
            if depth == 2:
                inner = L.SequentialLR(o, [inner, L.ExponentialLR(o, 0.7)], [10])
            return L.SequentialLR(o, [inner, L.ConstantLR(o, 0.5, 2)], [outer])
        assert_reads(make, 16, what=f"{kind}, milestone {m}, depth {depth}, outer {outer}")


def test_fractional_milestone_in_a_nested_sequential_lr_written_out():
    """ExponentialLR(0.9) counted a step ahead: 0.05 x 0.9 at step 0, x 0.9**2 at 1; the
    inner counter passes 2.5 at outer step 2, where StepLR(step_size=1, gamma=0.5) runs a
    plain step at last_epoch -1 (-1 % 1 == 0: it halves), then at 0 (it keeps), then
    halves at every step; the outer milestone 6 hands over to ExponentialLR(0.7) from
    0.05 (restarted by its closed form)."""
    def make():
        o = two_groups()
        inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.9), L.StepLR(o, 1, 0.5)], [2.5])
        return L.SequentialLR(o, [inner, L.ExponentialLR(o, 0.7)], [6])
    r = 0.05 * 0.81
    hand = [0.05 * 0.9, r, r / 2, r / 2, r / 4, r / 8, 0.05, 0.05 * 0.7]
    assert_close(lrcore.evaluate(lrcore.from_torch(quietly(make)), np.arange(8)), hand, FLOAT64)
    assert_close(run(quietly(make), 8)[0], hand, FLOAT64)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_sequential_lr_after_a_fractional_milestone(kind):
    """At the step past a fractional milestone torch runs a plain step() of the nested
    SequentialLR: its counter goes to 1, as a nested one's at construction, and its
    scheduler runs a plain step from the rate the group holds (at last_epoch 0, after
    the two SequentialLRs' undos and its own initial step). Inner milestones 0, 1
    (its second scheduler at once) and 3; both groups; read at the start and after 6
    steps."""
    for inner_m, m in [(0, 2.5), (1, 2.5), (3, 2.5), (3, 0.5), (2, 4.75)]:
        def make():
            o = two_groups()
            inner = L.SequentialLR(o, [KINDS[kind](o), L.ExponentialLR(o, 0.8)], [inner_m])
            return L.SequentialLR(o, [L.LinearLR(o, 0.3, total_iters=4), inner,
                                      L.ExponentialLR(o, 0.7)], [m, 11])
        what = f"{kind}, inner {inner_m}, milestone {m}"
        assert_reads(make, 16, what=what)
        assert_reads(make, 10, what=what + " after 6", before=6)
        assert_reads(make, 10, what=what + " from now", origin="now", before=6)


def test_a_sequential_lr_after_a_fractional_milestone_written_out():
    """LinearLR from 0.3 x 0.05 by 0.7 x 0.05 / 4 a step; at step 3 (milestone 2.5) the
    nested SequentialLR's ExponentialLR(0.9) multiplies the rate LinearLR left (0.0325),
    and its milestone 2 (counter 2 at outer step 4) restarts ConstantLR(0.5, 2) from
    0.05 for two steps."""
    def make():
        o = two_groups()
        inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.9), L.ConstantLR(o, 0.5, 2)], [2])
        return L.SequentialLR(o, [L.LinearLR(o, 0.3, total_iters=4), inner], [2.5])
    lin = [0.05 * (0.3 + 0.7 * k / 4) for k in range(3)]
    hand = lin + [lin[2] * 0.9, 0.025, 0.025, 0.05, 0.05]
    assert_close(lrcore.evaluate(lrcore.from_torch(quietly(make)), np.arange(8)), hand, FLOAT64)
    assert_close(run(quietly(make), 8)[0], hand, FLOAT64)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_sequential_lr_after_a_fractional_milestone_of_a_nested_one(kind):
    """Stepped at a fractional milestone c of a nested SequentialLR (lead 1 or 2), a
    SequentialLR's counter stands at the count of its steps (several when c <= lead: the
    construction's) and its schedulers another min(c, lead) steps behind."""
    for m, depth in [(0.5, 1), (2.5, 1), (0.5, 2), (1.5, 2), (3.5, 2)]:
        for inner_m in (0, 1, 2.5, 4):
            def make():
                o = two_groups()
                deepest = L.SequentialLR(o, [KINDS[kind](o), L.ExponentialLR(o, 0.8)],
                                         [inner_m])
                inner = L.SequentialLR(o, [L.LinearLR(o, 0.3, total_iters=4), deepest], [m])
                if depth == 2:
                    inner = L.SequentialLR(o, [inner, L.ExponentialLR(o, 0.7)], [12])
                return L.SequentialLR(o, [inner, L.ConstantLR(o, 0.5, 2)], [9])
            assert_reads(make, 14, what=f"{kind}, milestone {m}, inner {inner_m}, "
                                        f"depth {depth}")


@pytest.mark.parametrize("cycler", sorted(set(CYCLERS) - {"OneCycleLR-linear-3"}))
def test_momentum_of_a_cycler_first_stepped_before_its_start(cycler):
    """At a fractional milestone of a nested SequentialLR a cycler first runs at
    last_epoch -1 or -2: torch's closed form there sets its rate and momentum too."""
    for m, depth in [(2.5, 1), (0.5, 2), (3.5, 2)]:
        def make():
            o = two_groups(momentum=True)
            inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.9), CYCLERS[cycler](o)], [m])
            if depth == 2:
                inner = L.SequentialLR(o, [inner, L.ExponentialLR(o, 0.7)], [12])
            return L.SequentialLR(o, [inner, L.ConstantLR(o, 0.5, 2)], [14])
        for group in (0, 1):
            spec = lrcore.from_torch(quietly(make), group=group)
            t = np.arange(18)
            assert_close(lrcore.evaluate(spec, t), run(quietly(make), 18)[group], FLOAT64,
                         what=f"rate, {m}, depth {depth}, group {group}")
            assert_close(lrcore.evaluate(spec, t, hyperparam="momentum"),
                         run(quietly(make), 18, "momentum")[group], FLOAT64,
                         what=f"momentum, {m}, depth {depth}, group {group}")


def test_a_negative_rate_before_a_cyclers_start_is_refused():
    """A linear OneCycleLR first stepped at last_epoch -1 extends its warmup line below
    its start: torch sets 0.4 / 25 + (0.4 - 0.4 / 25) x (-1 / 7.4) < 0 there, a rate no
    spec has."""
    o = two_groups(momentum=True)
    inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.9), CYCLERS["OneCycleLR-linear-3"](o)],
                           [2.5])
    s = quietly(lambda: L.SequentialLR(o, [inner, L.ConstantLR(o, 0.5, 2)], [14]))
    rate = (0.4 - 0.4 / 25) * (-1 / (float(0.3 * 28) - 1)) + 0.4 / 25  # pct < 0
    with pytest.raises(lrcore.SpecError, match="^" + re.escape(
            f"scheduler.schedulers[0].schedulers[1]: sets a negative rate ({rate!r}) at "
            "last_epoch -1, where a nested SequentialLR first steps it, and a spec's rates "
            "are >= 0; give the nested SequentialLR whole milestones, got "
            '"OneCycleLR(total_steps=28)"') + "$"):
        lrcore.from_torch(s)


def test_a_transformers_lambda_first_stepped_before_its_start():
    """transformers' get_scheduler lambdas first stepped at last_epoch -1 or -2: torch
    sets base x lambda(e) there (its own function, which lrcore reads as a preset). Their
    warmup branch (e < num_warmup_steps, 0 included) gives e / max(1, warmup) < 0 there:
    refused, as for a OneCycleLR above; "constant" is read."""
    transformers = pytest.importorskip("transformers")
    for m, depth in [(2.5, 1), (0.5, 2), (3.5, 2)]:
        def make(kind="constant"):
            o = two_groups()
            hf = transformers.get_scheduler(kind, o, num_warmup_steps=0,
                                            num_training_steps=20)
            inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.9), hf], [m])
            if depth == 2:
                inner = L.SequentialLR(o, [inner, L.ExponentialLR(o, 0.7)], [12])
            return L.SequentialLR(o, [inner, L.ConstantLR(o, 0.5, 2)], [14])
        assert_reads(make, 18, what=f"{m}, depth {depth}")
    with pytest.raises(lrcore.SpecError, match="^" + re.escape(
            "scheduler.schedulers[0].schedulers[1]: sets a negative rate "
            "(-0.05) at last_epoch -1, where a nested SequentialLR first steps it, and a "
            "spec's rates are >= 0; give the nested SequentialLR whole milestones, got "
            '"LambdaLR()"') + "$"):
        m, depth = 2.5, 1  # first stepped at last_epoch -1: 0.05 x -1 / max(1, 0)
        lrcore.from_torch(quietly(lambda: make("linear")))


def test_a_multiplicative_factor_of_zero():
    """MultiplicativeLR(lambda epoch: 0.0) multiplies the rate by 0 (a factor of 0 is
    not a missing one): restarted at a milestone, first stepped at a fractional milestone
    of a nested SequentialLR, and stepped in a restarted chain."""
    def zero(o):
        return L.MultiplicativeLR(o, lambda epoch: 0.0)

    def restarted():
        o = two_groups()
        return L.SequentialLR(o, [L.ExponentialLR(o, 0.9), zero(o)], [3])

    def nested():
        o = two_groups()
        inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.9), zero(o)], [2.5])
        return L.SequentialLR(o, [inner, L.ExponentialLR(o, 0.7)], [6])

    def chained():
        o = two_groups()
        chain = L.ChainedScheduler([L.ExponentialLR(o, 0.9), zero(o)])
        return L.SequentialLR(o, [chain, L.ConstantLR(o, 0.5, 2)], [4])

    for make in (restarted, nested, chained):
        assert_reads(make, 10, what=make.__name__)
    assert_close(run(quietly(nested), 8)[0], [0.045, 0.0405, 0, 0, 0, 0, 0.05, 0.035],
                 FLOAT64)


# ---- a ChainedScheduler holding a scheduler that sets the rate outright ----------------------

CHAINS = {
    "CyclicLR-ExponentialLR": lambda o: [CYCLERS["CyclicLR"](o), L.ExponentialLR(o, 0.9)],
    "ExponentialLR-OneCycleLR-StepLR-ConstantLR": lambda o: [
        L.ExponentialLR(o, 0.5), CYCLERS["OneCycleLR"](o), L.StepLR(o, 2, 0.5),
        L.ConstantLR(o, 0.25, 3)],
    "CyclicLR-MultiStepLR": lambda o: [CYCLERS["CyclicLR-exp_range"](o),
                                       L.MultiStepLR(o, [0, 2, 3, 3, 7.5], 0.5)],
    "WarmRestarts-MultiplicativeLR-StepLR-2.5": lambda o: [
        L.CosineAnnealingWarmRestarts(o, 4, 2, 0.001), L.MultiplicativeLR(o, lambda e: 0.9),
        L.StepLR(o, 2.5, 0.7)],
    "nested": lambda o: [L.ChainedScheduler([L.LinearLR(o, 0.5, total_iters=3),
                                             CYCLERS["OneCycleLR-linear-3"](o)]),
                         L.ChainedScheduler([L.ExponentialLR(o, 0.95)])],
    "CyclicLR-LinearLR": lambda o: [CYCLERS["CyclicLR"](o), L.LinearLR(o, 0.25, total_iters=6)],
    "OneCycleLR-LinearLR-6.5-StepLR": lambda o: [
        CYCLERS["OneCycleLR"](o), L.LinearLR(o, 0.25, 0.75, total_iters=6.5),
        L.StepLR(o, 3, 0.5)],
}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("kind", sorted(CHAINS))
def test_a_chained_scheduler_over_a_closed_form(kind, optimizer):
    """torch's ChainedScheduler steps its schedulers in turn: the last closed form in it
    sets c(k), overwriting those before it, and each after it multiplies that by its
    ratio of the step. Rate and momentum (SGD momentum, Adam betas[0]) of both groups,
    read at the start, after 5 steps and from then on."""
    key = "beta1" if optimizer == "adam" else "momentum"

    def make():
        o = two_groups(momentum=True, adam=optimizer == "adam")
        return L.ChainedScheduler(CHAINS[kind](o))

    for before, origin in ((0, "start"), (5, "start"), (5, "now")):
        for group in (0, 1):
            s = make()
            run(s, before)
            spec = lrcore.from_torch(s, group=group, origin=origin)
            lo = before if origin == "now" else 0
            t = np.arange(20 - lo)
            what = f"{origin} after {before}, group {group}"
            assert_close(lrcore.evaluate(spec, t), run(make(), 20)[group, lo:], FLOAT64,
                         what="rate " + what)
            if kind != "WarmRestarts-MultiplicativeLR-StepLR-2.5":
                assert_close(lrcore.evaluate(spec, t, hyperparam="momentum"),
                             run(make(), 20, key)[group, lo:], FLOAT64,
                             what="momentum " + what)


def test_a_chained_scheduler_over_a_closed_form_written_out():
    """CyclicLR(0.01 to 0.2, 3 steps up, 2 down), then ExponentialLR(0.9): 0.01 at step
    0 (the cycle's start, which ExponentialLR's construction keeps), then the cycle
    times 0.9 at every step (ExponentialLR multiplies the rate CyclicLR has just set)."""
    o = two_groups()
    s = L.ChainedScheduler([L.CyclicLR(o, 0.01, 0.2, step_size_up=3, step_size_down=2,
                                       cycle_momentum=False), L.ExponentialLR(o, 0.9)])
    cycle = [0.01 + 0.19 * x for x in (0, 1 / 3, 2 / 3, 1, 1 / 2)]
    hand = [0.01] + [cycle[k % 5] * 0.9 for k in range(1, 10)]
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(10)), hand, FLOAT64)
    assert_close(run(s, 10)[0], hand, FLOAT64)


def test_a_chained_rising_linear_ratio_written_out():
    """CyclicLR(0.01 to 0.2, 3 up, 2 down), then LinearLR(0.25 to 1 over 3 steps): 0.01
    x 0.25 at step 0, then the cycle times L(k) / L(k - 1) up to step 3, L(k) = 0.25 +
    0.75 k / 3 (LinearLR multiplies the rate CyclicLR has just set), then the cycle."""
    o = two_groups()
    s = L.ChainedScheduler([L.CyclicLR(o, 0.01, 0.2, step_size_up=3, step_size_down=2,
                                       cycle_momentum=False), L.LinearLR(o, 0.25,
                                                                         total_iters=3)])
    cycle = [0.01 + 0.19 * x for x in (0, 1 / 3, 2 / 3, 1, 1 / 2)]
    line = [0.25 + 0.75 * k / 3 for k in range(4)]
    hand = [0.01 * 0.25] + [cycle[k % 5] * (line[k] / line[k - 1] if k <= 3 else 1.0)
                            for k in range(1, 10)]
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(10)), hand, FLOAT64)
    assert_close(run(s, 10)[0], hand, FLOAT64)


FALLING = {
    "PolynomialLR-6-power-1": lambda o: L.PolynomialLR(o, 6, 1.0),
    "PolynomialLR-6-power-2": lambda o: L.PolynomialLR(o, 6, 2.0),
    "PolynomialLR-6-power-0.5": lambda o: L.PolynomialLR(o, 6, 0.5),
    "PolynomialLR-7.5-power-1.5": lambda o: L.PolynomialLR(o, 7.5, 1.5),
    "PolynomialLR-1": lambda o: L.PolynomialLR(o, 1, 2.0),
    "PolynomialLR-0.5": lambda o: L.PolynomialLR(o, 0.5, 2.0),
    "LinearLR-falling": lambda o: L.LinearLR(o, 1.0, 0.25, 5),
    "LinearLR-falling-4.5": lambda o: L.LinearLR(o, 0.8, 0.1, 4.5),
    "LinearLR-to-0": lambda o: L.LinearLR(o, 0.8, 0.0, 4),
}

SETTERS = {
    "CyclicLR": CYCLERS["CyclicLR"],
    "OneCycleLR": CYCLERS["OneCycleLR"],
    "CosineAnnealingWarmRestarts": lambda o: L.CosineAnnealingWarmRestarts(o, 4, 2, 0.001),
    "LambdaLR": lambda o: pytest.importorskip("transformers").get_scheduler(
        "cosine", o, num_warmup_steps=3, num_training_steps=30),
}

# the same setters, a OneCycleLR without its momentum cycle
FALLING_SETTERS = {**SETTERS, "OneCycleLR": lambda o: L.OneCycleLR(
    o, max_lr=[1.0, 2.0], total_steps=30, cycle_momentum=False)}


@pytest.mark.parametrize("setter", sorted(FALLING_SETTERS))
@pytest.mark.parametrize("kind", sorted(FALLING))
def test_a_falling_ratio_after_a_closed_form(kind, setter):
    """PolynomialLR and a falling LinearLR after a scheduler that sets the rate outright
    multiply its c(k) by their ratio of step k, ((1 - k/T) / (1 - (k - 1)/T))**power
    (0 at k = T: the rate is 0 there, then c(k) again) or L(k) / L(k - 1), up to T; then
    by 1. Both groups, T + 10 steps and more, read at the start, after 5 steps and from
    then on; on its own and in a SequentialLR that restarts the chain."""
    def make():
        o = two_groups()
        return L.ChainedScheduler([FALLING_SETTERS[setter](o), FALLING[kind](o),
                                   L.ExponentialLR(o, 0.95)])

    def restarted():
        o = two_groups()
        chain = L.ChainedScheduler([L.ExponentialLR(o, 0.5), FALLING_SETTERS[setter](o),
                                    FALLING[kind](o)])
        return L.SequentialLR(o, [chain, L.ConstantLR(o, 0.5, 2)], [16])

    assert_reads(make, 20, what=kind)
    assert_reads(make, 15, what=kind + " after 5", before=5)
    assert_reads(make, 15, what=kind + " from now", origin="now", before=5)
    assert_reads(restarted, 20, what=kind + " restarted")


def test_a_falling_ratio_after_a_closed_form_written_out():
    """CyclicLR(0.01 to 0.2, 3 up, 2 down), then PolynomialLR(total_iters 3, power 2):
    0.01 at step 0 (PolynomialLR keeps the rate at its construction), then the cycle
    times ((3 - k) / (4 - k))**2 up to step 3, where it is 0, then the cycle; and
    LinearLR(1 to 0.5 over 2 steps) after it: the cycle times 0.75 / 1, then 0.5 / 0.75."""
    cycle = [0.01 + 0.19 * x for x in (0, 1 / 3, 2 / 3, 1, 1 / 2)]
    polynomial = [0.01] + [cycle[k % 5] * (((3 - k) / (4 - k)) ** 2 if k <= 3 else 1.0)
                           for k in range(1, 12)]
    assert polynomial[3] == 0.0 and polynomial[4] == cycle[4]
    linear = [0.01] + [cycle[k % 5] * {1: 0.75, 2: 0.5 / 0.75}.get(k, 1.0)
                       for k in range(1, 12)]
    for after, hand in ((lambda o: L.PolynomialLR(o, 3, 2.0), polynomial),
                        (lambda o: L.LinearLR(o, 1.0, 0.5, 2), linear)):
        o = two_groups()
        s = L.ChainedScheduler([L.CyclicLR(o, 0.01, 0.2, step_size_up=3, step_size_down=2,
                                           cycle_momentum=False), after(o)])
        assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(12)), hand, FLOAT64)
        assert_close(run(s, 12)[0], hand, FLOAT64)


LONG_FALLING = {
    "PolynomialLR-power-2.5": lambda o: L.PolynomialLR(o, 20000, 2.5),
    "PolynomialLR-20000.5": lambda o: L.PolynomialLR(o, 20000.5, 1.0),
    "LinearLR-falling": lambda o: L.LinearLR(o, 1.0, 0.3, 20000),
    "LinearLR-to-0": lambda o: L.LinearLR(o, 0.8, 0.0, 20000),
}


@pytest.mark.parametrize("kind", sorted(LONG_FALLING))
def test_a_long_falling_ratio_after_a_closed_form(kind):
    """The falling ratio is a closed form for every total_iters (here 20000, past the
    10000 rates a list holds): the curve at k over a polynomial of negative power at
    k - 1. torch stepped side by side 20010 times, read near the start and near
    total_iters (where the ratio falls fastest), within the most torch's own rounding
    moves its rate (1 - k / T cancels near T); LinearLR to 0 is 0 at T, where torch's
    ratio is a rounding below 0."""
    o = two_groups()
    s = L.ChainedScheduler([L.CyclicLR(o, 0.01, 0.2, step_size_up=7, step_size_down=5,
                                       cycle_momentum=False), LONG_FALLING[kind](o)])
    spec = lrcore.from_torch(s)
    rates = run(s, 20010)[0]
    t = np.r_[0:2000, 18000:20010]
    slack = rounding_tolerance(s, 0, 20010, [], None)
    assert_close(lrcore.evaluate(spec, t), rates[t], (1e-12, slack), peak=1.0, what=kind)
    if kind == "LinearLR-to-0":
        assert lrcore.evaluate(spec, [20000])[0] == 0.0 > rates[20000]


def test_a_falling_ratio_past_float32_is_written_out():
    """Where the inverse polynomial would pass float32's range (PolynomialLR(50, power
    30): 50**30 at the last step before its pole), its pole 2**31 - 1 (LinearLR(1 to
    1 - 1e-12 over 20 steps): the line reaches 0 at 2e13), or the product's bound does
    (a CyclicLR up to 100 times 50**22), the ratio of each step is written out, as far
    as a list holds; past it the case is refused."""
    for high, after in ((0.2, lambda o: L.PolynomialLR(o, 50, 30.0)),
                        (0.2, lambda o: L.LinearLR(o, 1.0, 1.0 - 1e-12, 20)),
                        (100.0, lambda o: L.PolynomialLR(o, 50, 22.0))):
        def make(after=after, high=high):
            o = two_groups()
            return L.ChainedScheduler([L.CyclicLR(o, 0.01, high, step_size_up=7,
                                                  step_size_down=5, cycle_momentum=False),
                                       after(o)])
        assert_reads(make, 60)
    o = two_groups()
    s = L.ChainedScheduler([L.CyclicLR(o, 0.01, 0.2, cycle_momentum=False),
                            L.PolynomialLR(o, 10001, 10.0)])
    with pytest.raises(lrcore.SpecError, match="^" + re.escape(
            "scheduler.schedulers[1].total_iters: must be <= 10000 after a scheduler that "
            "sets the rate outright in a ChainedScheduler where its ratio's closed form "
            "passes float32's range (lrcore writes its ratio of each step out, one entry "
            "a step); use a smaller power, got 10001") + "$"):
        lrcore.from_torch(s)


# ---- a ChainedScheduler holding a CosineAnnealingLR or a LambdaLR ----------------------------

COSINE_CHAINS = {
    "LinearLR-Cosine": lambda o: [L.LinearLR(o, 0.1, total_iters=5),
                                  L.CosineAnnealingLR(o, 8, eta_min=0.001)],
    "Cosine-LinearLR": lambda o: [L.CosineAnnealingLR(o, 8, eta_min=0.001),
                                  L.LinearLR(o, 0.1, total_iters=5)],
    "ConstantLR-to-T_max": lambda o: [L.ConstantLR(o, 0.5, 8),
                                      L.CosineAnnealingLR(o, 8, eta_min=0.001)],
    "Cosine-MultiStepLR-PolynomialLR": lambda o: [
        L.CosineAnnealingLR(o, 6, eta_min=0.001), L.MultiStepLR(o, [2, 4, 11], 0.5),
        L.PolynomialLR(o, 4, 0.5)],
    "LinearLR-3.5-Cosine-2.5": lambda o: [L.LinearLR(o, 0.1, total_iters=3.5),
                                          L.CosineAnnealingLR(o, 2.5, 0.002)],
    "ExponentialLR-Cosine-2.5": lambda o: [L.ExponentialLR(o, 0.9),
                                           L.CosineAnnealingLR(o, 2.5)],
    "nested-two-cosines": lambda o: [L.CosineAnnealingLR(o, 2.5), L.ChainedScheduler(
        [L.StepLR(o, 2, 0.5), L.CosineAnnealingLR(o, 3.5)])],
    "ExponentialLR-Cosine-8": lambda o: [L.ExponentialLR(o, 0.9), L.CosineAnnealingLR(o, 8)],
    "Cosine-4-ExponentialLR-LinearLR": lambda o: [
        L.CosineAnnealingLR(o, 4), L.ExponentialLR(o, 0.95), L.LinearLR(o, 0.5, total_iters=3)],
    "MultiplicativeLR-Cosine-1-StepLR": lambda o: [
        L.MultiplicativeLR(o, lambda e: 0.9), L.CosineAnnealingLR(o, 1), L.StepLR(o, 1, 0.8)],
}


@pytest.mark.parametrize("kind", sorted(COSINE_CHAINS))
def test_a_chained_scheduler_holding_a_cosine(kind):
    """CosineAnnealingLR multiplies the distance to eta_min by a ratio of cosines (and
    adds a step of its base_lrs' wave where that would divide by 0): up to the others'
    last ratio torch's steps, then the cosine through the rate there, then the wave of
    base_lrs from torch's restart; with eta_min 0 and a fractional T_max, the cosine times
    the others' multiplier curves. Both groups, read at the start, after 5 steps and from
    then on, over three periods."""
    def make():
        return L.ChainedScheduler(COSINE_CHAINS[kind](two_groups()))
    assert_reads(make, 40, what=kind)
    assert_reads(make, 35, what=kind + " after 5", before=5)
    assert_reads(make, 35, what=kind + " from now", origin="now", before=5)


def test_a_chained_scheduler_holding_a_cosine_written_out():
    """LinearLR(0.5, total_iters=2) then CosineAnnealingLR(T_max=4, eta_min=0.01) from
    0.05: 0.025 at step 0; each step multiplies by LinearLR's ratio, then the distance to
    0.01 by (1 + cos(pi k / 4)) / (1 + cos(pi (k - 1) / 4)); from step 2 the cosine
    through that rate reaches 0.01 at step 4, and at step 5 torch adds a step of the
    0.05 wave: 0.01 + 0.04 (1 + cos(pi k / 4)) / 2 from then on."""
    o = two_groups()
    s = L.ChainedScheduler([L.LinearLR(o, 0.5, total_iters=2),
                            L.CosineAnnealingLR(o, 4, eta_min=0.01)])
    w = [1 + math.cos(math.pi * k / 4) for k in range(12)]
    r1 = (0.025 * 0.75 / 0.5 - 0.01) * w[1] / w[0] + 0.01
    r2 = (r1 * 1.0 / 0.75 - 0.01) * w[2] / w[1] + 0.01
    hand = [0.025, r1, r2, (r2 - 0.01) * w[3] / w[2] + 0.01, 0.01] \
        + [0.01 + 0.04 * w[k] / 2 for k in range(5, 12)]
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(12)), hand, FLOAT64)
    assert_close(run(s, 12)[0], hand, FLOAT64)


def test_a_chained_cosine_restarted_product_written_out():
    """ExponentialLR(0.5), then CosineAnnealingLR(T_max=2) from 0.05: the ratios
    telescope to 0.05 x 0.5**k x (1 + cos(pi k / 2)) / 2, 0 at step 2; at step 3 torch
    adds a step of the 0.05 wave to that 0 (0.025), and each period of 4 steps from
    there is the wave times 0.5**j."""
    o = two_groups()
    s = L.ChainedScheduler([L.ExponentialLR(o, 0.5), L.CosineAnnealingLR(o, 2)])
    hand = [0.05, 0.0125, 0.0] + [0.025, 0.025, 0.00625, 0.0] * 3
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(15)), hand, FLOAT64)
    assert_close(run(s, 15)[0], hand, FLOAT64)


def test_a_chained_cosine_once_refused_is_read():
    """A ratio that never ends with eta_min > 0 (each step adds eta_min (ratio - 1) / (1 +
    cos(pi (k - 1) / T_max)) to the distance it multiplies), and eta_min 0 with a StepLR
    every 2 steps out of step with torch's restart every 2 T_max = 6: both turn periodic
    (tests/importers/test_torch_chained_cosine.py reads more of them)."""
    for ratio, eta, t in ((lambda o: L.ExponentialLR(o, 0.9), 0.001, 8),
                          (lambda o: L.StepLR(o, 2, 0.5), 0.0, 3)):
        def make():
            o = two_groups()
            return L.ChainedScheduler([ratio(o), L.CosineAnnealingLR(o, t, eta)])
        assert_reads(make, 60, what=f"T_max {t}")


def test_a_chained_cosine_torch_drives_below_zero_is_refused():
    """PolynomialLR reaches 0 at total_iters; the cosine's next step moves the distance
    to eta_min (-0.01) on: torch sets -0.02 at step 5, a rate no spec has."""
    def make():
        o = two_groups()
        return L.ChainedScheduler([L.CosineAnnealingLR(o, 3, eta_min=0.01),
                                   L.MultiStepLR(o, [2, 4, 11], 0.5), L.PolynomialLR(o, 4, 2.0)])
    s = make()
    assert run(make(), 6)[0, 5] < 0
    with pytest.raises(lrcore.SpecError, match="^" + re.escape(
            "scheduler: sets a negative rate (-0.020000000000000025) at step 5, and a spec's "
            "rates are >= 0; give its schedulers ratios that keep the rate >= 0, "
            'got "ChainedScheduler()"') + "$"):
        lrcore.from_torch(s)


LAMBDA_CHAINS = {
    "cosine-ExponentialLR": lambda o, hf: [
        hf("cosine", o, num_warmup_steps=3, num_training_steps=20), L.ExponentialLR(o, 0.95)],
    "ConstantLR-linear-StepLR": lambda o, hf: [
        L.ConstantLR(o, 0.5, 4), hf("linear", o, num_warmup_steps=2, num_training_steps=15),
        L.StepLR(o, 3, 0.5)],
}


@pytest.mark.parametrize("kind", sorted(LAMBDA_CHAINS))
def test_a_chained_scheduler_holding_a_lambda(kind):
    """LambdaLR sets base_lrs x its function of the step outright, as a cycler does:
    those before it are overwritten, those after it multiply it by their ratio."""
    transformers = pytest.importorskip("transformers")

    def make():
        return L.ChainedScheduler(LAMBDA_CHAINS[kind](two_groups(), transformers.get_scheduler))
    assert_reads(make, 25, what=kind)
    assert_reads(make, 20, what=kind + " after 5", before=5)
    assert_reads(make, 20, what=kind + " from now", origin="now", before=5)


SWALR_CHAINS = {
    "ExponentialLR-SWALR": lambda o: [L.ExponentialLR(o, 0.9),
                                      SWALR(o, [0.01, 0.2], anneal_epochs=5)],
    "SWALR-linear-ExponentialLR": lambda o: [
        SWALR(o, 0.01, anneal_epochs=5, anneal_strategy="linear"), L.ExponentialLR(o, 0.9)],
    "LinearLR-SWALR-0-StepLR": lambda o: [L.LinearLR(o, 0.2, total_iters=4),
                                          SWALR(o, 0.01, anneal_epochs=0), L.StepLR(o, 3, 0.5)],
    "SWALR-1-ConstantLR": lambda o: [SWALR(o, 0.01, anneal_epochs=1), L.ConstantLR(o, 0.5, 3)],
    "Cosine-SWALR-MultiStepLR": lambda o: [L.CosineAnnealingLR(o, 4, 0.001),
                                           SWALR(o, [0.02, 0.3], anneal_epochs=6),
                                           L.MultiStepLR(o, [0, 3, 9], 0.5)],
}


@pytest.mark.parametrize("kind", sorted(SWALR_CHAINS))
def test_a_chained_scheduler_holding_a_swalr(kind):
    """While SWALR anneals, each call inverts its last share of swa_lr on the rate the
    others multiplied (torch's steps, written out); from the call whose share is 1 it
    sets swa_lr outright, and the schedulers after it multiply that by their ratios."""
    def make():
        return L.ChainedScheduler(SWALR_CHAINS[kind](two_groups()))
    assert_reads(make, 20, what=kind)
    assert_reads(make, 15, what=kind + " after 5", before=5)
    assert_reads(make, 15, what=kind + " from now", origin="now", before=5)


def test_a_chained_scheduler_holding_a_swalr_written_out():
    """ExponentialLR(0.5), then SWALR(swa_lr 0.01, linear, 2 epochs) from 0.05: 0.05 at
    step 0; at step 1 it undoes share 0 of 0.025 and applies share 1/2; at step 2 it
    sets 0.01; then ExponentialLR's halving is overwritten at every step."""
    o = two_groups()
    s = L.ChainedScheduler([L.ExponentialLR(o, 0.5),
                            SWALR(o, 0.01, anneal_epochs=2, anneal_strategy="linear")])
    hand = [0.05, 0.01 / 2 + 0.025 / 2, 0.01, 0.01, 0.01]
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(5)), hand, FLOAT64)
    assert_close(run(s, 5)[0], hand, FLOAT64)


# ---- a ChainedScheduler over a closed form inside a SequentialLR -----------------------------

SETTER_FORMS = {
    "first": lambda o, c: L.SequentialLR(o, [L.ChainedScheduler(
        [c(o), L.ExponentialLR(o, 0.9), L.ConstantLR(o, 0.5, 3)]), L.ExponentialLR(o, 0.8)],
        [9]),
    "first-restarted-ratios": lambda o, c: L.SequentialLR(o, [L.ChainedScheduler(
        [L.ExponentialLR(o, 0.5), c(o), L.MultiplicativeLR(o, lambda e: 0.9),
         L.MultiStepLR(o, [0, 2, 5], 0.5)]), L.ConstantLR(o, 0.5, 2)], [7]),
    "nested": lambda o, c: L.SequentialLR(o, [L.SequentialLR(o, [L.ChainedScheduler(
        [c(o), L.StepLR(o, 2, 0.5)]), L.ExponentialLR(o, 0.9)], [6]),
        L.ConstantLR(o, 0.5, 2)], [12]),
    "after-a-fractional-milestone": lambda o, c: L.SequentialLR(o, [
        L.ExponentialLR(o, 0.9), L.ChainedScheduler([c(o), L.ExponentialLR(o, 0.9)])], [3.5]),
    "first-LinearLR": lambda o, c: L.SequentialLR(o, [L.ChainedScheduler(
        [c(o), L.LinearLR(o, 0.1, total_iters=5)]), L.ExponentialLR(o, 0.9)], [12]),
}



@pytest.mark.parametrize("form", sorted(SETTER_FORMS))
@pytest.mark.parametrize("setter", sorted(SETTERS))
def test_a_chained_scheduler_over_a_closed_form_in_a_sequential_lr(setter, form):
    """SequentialLR restarts the chain by a plain step at last_epoch 0: the closed form
    sets c(0), and those after it apply their initial factor and (ExponentialLR,
    MultiplicativeLR) a step of their recursion; then as on its own. Rate and momentum
    of both groups, read at the start, after 5 steps and from then on."""
    def make():
        return SETTER_FORMS[form](two_groups(momentum=True), SETTERS[setter])

    for before, origin in ((0, "start"), (5, "start"), (5, "now")):
        for group in (0, 1):
            s = quietly(make)
            run(s, before)
            spec = lrcore.from_torch(s, group=group, origin=origin)
            lo = before if origin == "now" else 0
            t = np.arange(20 - lo)
            what = f"{origin} after {before}, group {group}"
            assert_close(lrcore.evaluate(spec, t), run(quietly(make), 20)[group, lo:],
                         FLOAT64, what="rate " + what)
            if setter in ("CyclicLR", "OneCycleLR"):
                assert_close(lrcore.evaluate(spec, t, hyperparam="momentum"),
                             run(quietly(make), 20, "momentum")[group, lo:], FLOAT64,
                             what="momentum " + what)


def test_a_chained_scheduler_over_a_closed_form_in_a_sequential_lr_written_out():
    """CyclicLR(0.01 to 0.2, 3 up, 2 down) then ExponentialLR(0.9), restarted by the
    SequentialLR: 0.01 x 0.9 at step 0 (ExponentialLR steps at last_epoch 0 outside its
    initial mode), the cycle times 0.9 after; at milestone 6 ExponentialLR(0.5) restarts
    from its base rate, the initial_lr CyclicLR's constructor wrote (0.01)."""
    def make():
        o = two_groups()
        chain = L.ChainedScheduler([L.CyclicLR(o, 0.01, 0.2, step_size_up=3,
                                               step_size_down=2, cycle_momentum=False),
                                    L.ExponentialLR(o, 0.9)])
        return L.SequentialLR(o, [chain, L.ExponentialLR(o, 0.5)], [6])
    cycle = [0.01 + 0.19 * x for x in (0, 1 / 3, 2 / 3, 1, 1 / 2)]
    hand = [cycle[k % 5] * 0.9 for k in range(6)] + [0.01, 0.005]
    assert_close(lrcore.evaluate(lrcore.from_torch(quietly(make)), np.arange(8)), hand,
                 FLOAT64)
    assert_close(run(quietly(make), 8)[0], hand, FLOAT64)


EARLY_SETTERS = {
    "CyclicLR": CYCLERS["CyclicLR"],
    "OneCycleLR": CYCLERS["OneCycleLR"],
    "CosineAnnealingWarmRestarts": lambda o: L.CosineAnnealingWarmRestarts(o, 4, 2, 0.001),
    "LambdaLR": lambda o: pytest.importorskip("transformers").get_scheduler(
        "constant", o, num_warmup_steps=0, num_training_steps=30),
}


@pytest.mark.parametrize("m", [2.5, 0.5, 1.5])
@pytest.mark.parametrize("setter", sorted(EARLY_SETTERS))
def test_a_chained_closed_form_first_stepped_before_its_start(setter, m):
    """At a fractional milestone of a nested SequentialLR the chain is first stepped at
    last_epoch -1 (two deep: -2 too): its schedulers step in turn at each last_epoch < 0,
    the closed form setting its rate there (a CosineAnnealingWarmRestarts starts its wave
    at its first step, whatever last_epoch), the others multiplying; from last_epoch 0
    on, as a SequentialLR restarts it. Rate and momentum of both groups, one and two
    levels deep, read at the start and after 6 steps."""
    for depth in (1, 2):
        def make():
            o = two_groups(momentum=True)
            chain = L.ChainedScheduler([
                L.ExponentialLR(o, 0.9), EARLY_SETTERS[setter](o), L.StepLR(o, 2, 0.5),
                L.LinearLR(o, 0.5, 0.25, total_iters=6), L.PolynomialLR(o, 7.5, 0.5)])
            inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.9), chain], [m])
            if depth == 2:
                inner = L.SequentialLR(o, [inner, L.ExponentialLR(o, 0.7)], [12])
            return L.SequentialLR(o, [inner, L.ConstantLR(o, 0.5, 2)], [16])
        what = f"milestone {m}, depth {depth}"
        assert_reads(make, 20, what=what)
        assert_reads(make, 14, what=what + " after 6", before=6)
        assert_reads(make, 14, what=what + " from now", origin="now", before=6)
        if setter in ("CyclicLR", "OneCycleLR"):
            for group in (0, 1):
                spec = lrcore.from_torch(quietly(make), group=group)
                assert_close(lrcore.evaluate(spec, np.arange(20), hyperparam="momentum"),
                             run(quietly(make), 20, "momentum")[group], FLOAT64,
                             what=f"momentum, {what}, group {group}")


def test_a_chained_closed_form_first_stepped_before_its_start_written_out():
    """CyclicLR(0.01 to 0.2, 3 up, 2 down) then ExponentialLR(0.9), past the nested
    milestone 2.5 (inner counter a step ahead: at outer step 2): ExponentialLR from the
    initial_lr CyclicLR's constructor wrote (0.01); at last_epoch -1 the cycle's closed
    form (0.01 + 0.19 x (1 - 1/2), on its way down) times 0.9, at 0 its start times 0.9
    (a restart's step), then the cycle times 0.9; the outer milestone 8 restarts
    ConstantLR(0.5, 2) from that initial_lr."""
    o = two_groups()
    chain = L.ChainedScheduler([L.CyclicLR(o, 0.01, 0.2, step_size_up=3, step_size_down=2,
                                           cycle_momentum=False), L.ExponentialLR(o, 0.9)])
    inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.9), chain], [2.5])
    s = quietly(lambda: L.SequentialLR(o, [inner, L.ConstantLR(o, 0.5, 2)], [8]))
    cycle = [0.01 + 0.19 * x for x in (0, 1 / 3, 2 / 3, 1, 1 / 2)]
    hand = [0.01 * 0.9, 0.01 * 0.81, (0.01 + 0.19 / 2) * 0.9] \
        + [cycle[k] * 0.9 for k in range(5)] + [0.005, 0.005, 0.01]
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(11)), hand, FLOAT64)
    assert_close(run(s, 11)[0], hand, FLOAT64)


def test_a_chained_closed_form_torch_drives_below_zero_before_its_start_is_refused():
    """transformers' linear lambda first stepped at last_epoch -1 gives -1 / max(1,
    warmup) there: torch sets a negative rate, which no spec has."""
    transformers = pytest.importorskip("transformers")
    o = two_groups()
    chain = L.ChainedScheduler([transformers.get_scheduler(
        "linear", o, num_warmup_steps=0, num_training_steps=20), L.ExponentialLR(o, 0.9)])
    inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.9), chain], [2.5])
    s = quietly(lambda: L.SequentialLR(o, [inner, L.ConstantLR(o, 0.5, 2)], [14]))
    with pytest.raises(lrcore.SpecError, match="^" + re.escape(
            f"scheduler.schedulers[0].schedulers[1]: sets a negative rate ({-0.05 * 0.9!r}) "
            "at last_epoch -1, where a nested SequentialLR first steps it, and a spec's "
            "rates are >= 0; give the nested SequentialLR whole milestones, got "
            '"ChainedScheduler()"') + "$"):
        lrcore.from_torch(s)


SEQUENTIAL_COSINE_FORMS = {
    "first": lambda o, c: L.SequentialLR(
        o, [L.ChainedScheduler(c(o)), L.ExponentialLR(o, 0.8)], [13]),
    "nested": lambda o, c: L.SequentialLR(o, [L.SequentialLR(
        o, [L.ChainedScheduler(c(o)), L.ExponentialLR(o, 0.9)], [9]),
        L.ConstantLR(o, 0.5, 2)], [14]),
    "after-a-fractional-milestone": lambda o, c: L.SequentialLR(
        o, [L.ExponentialLR(o, 0.9), L.ChainedScheduler(c(o))], [3.5]),
    "nested-fractional-milestone": lambda o, c: L.SequentialLR(o, [L.SequentialLR(
        o, [L.ExponentialLR(o, 0.9), L.ChainedScheduler(c(o))], [2.5]),
        L.ConstantLR(o, 0.5, 2)], [14]),
}

SEQUENTIAL_COSINE_CHAINS = {
    "LinearLR-Cosine": lambda o: [L.LinearLR(o, 0.1, total_iters=3),
                                  L.CosineAnnealingLR(o, 6, 0.001)],
    "ExponentialLR-Cosine-2.5": lambda o: [L.ExponentialLR(o, 0.9),
                                           L.CosineAnnealingLR(o, 2.5)],
    "ExponentialLR-Cosine-4-PolynomialLR": lambda o: [
        L.ExponentialLR(o, 0.9), L.CosineAnnealingLR(o, 4), L.PolynomialLR(o, 3)],
    "Cosine-1-ConstantLR": lambda o: [L.CosineAnnealingLR(o, 1, 0.001),
                                      L.ConstantLR(o, 0.5, 2)],
    "ExponentialLR-Cosine-1": lambda o: [L.ExponentialLR(o, 0.9), L.CosineAnnealingLR(o, 1)],
}


@pytest.mark.parametrize("form", sorted(SEQUENTIAL_COSINE_FORMS))
@pytest.mark.parametrize("kind", sorted(SEQUENTIAL_COSINE_CHAINS))
def test_a_chained_cosine_in_a_sequential_lr(kind, form):
    """A SequentialLR restarts the chain by a plain step at last_epoch 0, from the rate
    it finds: the cosine multiplies the distance to eta_min by (1 + cos 0) / (1 + cos(-pi
    / T_max)) there (T_max 1: adds a step of its wave), ExponentialLR and PolynomialLR
    apply a step of theirs on their initial factor; then as read on its own."""
    def make():
        return SEQUENTIAL_COSINE_FORMS[form](two_groups(), SEQUENTIAL_COSINE_CHAINS[kind])
    assert_reads(make, 30, what=kind)
    assert_reads(make, 25, what=kind + " after 5", before=5)
    assert_reads(make, 25, what=kind + " from now", origin="now", before=5)


SWALR_FORMS = {
    "first": lambda o, c: L.SequentialLR(o, [c(o), L.ConstantLR(o, 0.5, 2)], [9]),
    "nested": lambda o, c: L.SequentialLR(o, [L.SequentialLR(
        o, [c(o), L.ExponentialLR(o, 0.8)], [8]), L.ConstantLR(o, 0.5, 2)], [12]),
    "after-a-fractional-milestone": lambda o, c: L.SequentialLR(
        o, [L.ExponentialLR(o, 0.9), c(o)], [3.5]),
    "nested-fractional-2.5": lambda o, c: L.SequentialLR(o, [L.SequentialLR(
        o, [L.ExponentialLR(o, 0.9), c(o)], [2.5]), L.ConstantLR(o, 0.5, 2)], [14]),
    "nested-fractional-0.5": lambda o, c: L.SequentialLR(o, [L.SequentialLR(
        o, [L.ExponentialLR(o, 0.9), c(o)], [0.5]), L.ConstantLR(o, 0.5, 2)], [14]),
    "nested-after-a-fractional-milestone": lambda o, c: L.SequentialLR(o, [L.SequentialLR(
        o, [L.ExponentialLR(o, 0.9), L.SequentialLR(o, [c(o), L.ExponentialLR(o, 0.8)],
                                                    [9])], [2.5]),
        L.ConstantLR(o, 0.5, 2)], [14]),
}


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("epochs", [1, 3, 5])
@pytest.mark.parametrize("form", sorted(SWALR_FORMS))
def test_a_chained_swalr_in_a_sequential_lr(form, epochs, strategy):
    """SequentialLR restarts the chain by plain steps, but SWALR anneals by its count of
    calls, which runs on (its construction's call and each SequentialLR's first step
    counted): torch's steps are written out until its share is 1, then swa_lr times the
    ratios after it. Both groups, read at the start, after 5 steps and from then on."""
    def chain(o):
        return L.ChainedScheduler([
            L.ExponentialLR(o, 0.9), SWALR(o, [0.01, 0.2], anneal_epochs=epochs,
                                           anneal_strategy=strategy),
            L.StepLR(o, 2, 0.5), L.PolynomialLR(o, 4, 2.0)])

    def make():
        return SWALR_FORMS[form](two_groups(), chain)
    what = f"{form}, {epochs} epochs, {strategy}"
    assert_reads(make, 20, what=what)
    assert_reads(make, 15, what=what + " after 5", before=5)
    assert_reads(make, 15, what=what + " from now", origin="now", before=5)


@pytest.mark.parametrize("form", ["first", "nested-fractional-2.5"])
def test_a_chained_swalr_after_a_cosine_in_a_sequential_lr(form):
    """A CosineAnnealingLR before the SWALR steps at last_epoch 0 outside its initial
    mode where the SequentialLR restarts the chain (its ratio of cosines on the rate it
    finds); a MultiStepLR after it applies its milestone at 0 and at 3 and 9."""
    def chain(o):
        return L.ChainedScheduler([
            L.CosineAnnealingLR(o, 4, 0.001), SWALR(o, [0.02, 0.3], anneal_epochs=4),
            L.MultiStepLR(o, [0, 3, 9], 0.5)])

    def make():
        return SWALR_FORMS[form](two_groups(), chain)
    assert_reads(make, 20, what=form)


def test_a_chained_swalr_in_a_sequential_lr_written_out():
    """ExponentialLR(0.5), then SWALR(swa_lr 0.01, linear, 2 epochs), restarted first in
    a SequentialLR from 0.05: its second call (share 1/2) undoes share 0 of 0.025, so
    0.01 / 2 + 0.025 / 2 at step 0; its third sets 0.01; at milestone 4, ConstantLR."""
    o = two_groups()
    chain = L.ChainedScheduler([L.ExponentialLR(o, 0.5),
                                SWALR(o, 0.01, anneal_epochs=2, anneal_strategy="linear")])
    s = quietly(lambda: L.SequentialLR(o, [chain, L.ConstantLR(o, 0.5, 2)], [4]))
    hand = [0.01 / 2 + 0.025 / 2, 0.01, 0.01, 0.01, 0.025, 0.025, 0.05]
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(7)), hand, FLOAT64)
    assert_close(run(s, 7)[0], hand, FLOAT64)
