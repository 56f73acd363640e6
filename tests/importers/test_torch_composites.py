"""``from_torch`` on composite forms torch runs that were refused before: fractional
milestones in and before nested SequentialLRs, a fractional ``T_max`` from a rate other
than its base, momentum cycles inside composites, and a SWALR built after another
scheduler moved the rate.

Oracles: torch's own schedulers stepped side by side (float64 param groups, two groups
with different rates), compared at float64 rtol 1e-12, and curves written out by hand.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lrcore

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler
SWALR = torch.optim.swa_utils.SWALR

from importer_helpers import FLOAT64, assert_close  # noqa: E402


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
