"""``from_torch`` on forms torch itself runs in its own test suite: a SequentialLR whose
first scheduler is a ChainedScheduler (``test_sequentiallr5``) or a SequentialLR, a
OneCycleLR restored from a legacy state dict (``test_onecycle_lr_legacy_state_dict``)
and SWALR (after ``step(epoch)``, after another scheduler).

Oracles: torch's own scheduler driven like a training loop, and the targets torch's
tests write out. Float64 rtol 1e-12.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings

import numpy as np
import pytest

import lrcore
from lrcore import SpecError

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler
SWALR = torch.optim.swa_utils.SWALR

from importer_helpers import FLOAT64, assert_close, drive  # noqa: E402

from lrcore.importers.torch import SUPPORTED  # noqa: E402
from lrcore.importers.torch.checks import rounding_tolerance  # noqa: E402


def raises(message: str):
    """The whole message, nothing more."""
    return pytest.raises(SpecError, match="^" + re.escape(message) + "$")


def torch_test_optimizer():
    """torch's TestLRScheduler optimizer: two groups, lr 0.05 and 0.5."""
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    return torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.05)




def assert_reads(make, n, groups=(0, 1)):
    """The spec of each group draws what a second, identical torch scheduler sets."""
    for group in groups:
        spec = lrcore.from_torch(make(), group=group)
        assert_close(lrcore.evaluate(spec, np.arange(n)), drive(make(), n, group), FLOAT64,
                     what=f"group {group}")


# ---- a SequentialLR whose first scheduler is a ChainedScheduler ------------------------------

def sequentiallr5():
    """torch's test_sequentiallr5, built as it is there (torch warns that the chain's
    schedulers step again before optimizer.step(): SequentialLR restarts them)."""
    opt = torch_test_optimizer()
    const_sched = L.ConstantLR(optimizer=opt, factor=0.1, total_iters=5)
    lin_sched = L.LinearLR(optimizer=opt, start_factor=0.1, total_iters=5)
    chained = L.ChainedScheduler([lin_sched, const_sched])
    const_sched2 = L.ConstantLR(optimizer=opt, factor=0.5, total_iters=5)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before"):
        return L.SequentialLR(opt, schedulers=[chained, const_sched2], milestones=[5])


def test_sequentiallr5_targets():
    """torch's own targets for group 0, and 40 steps of both groups against torch."""
    spec = lrcore.from_torch(sequentiallr5())
    assert_close(lrcore.evaluate(spec, np.arange(10)),
                 [0.0005, 0.0014, 0.0023, 0.0032, 0.0041] + [0.025] * 5, FLOAT64)
    assert_reads(sequentiallr5, 40)


def test_sequentiallr5_origin_now():
    s = sequentiallr5()
    drive(s, 3)
    rest = lrcore.from_torch(s, origin="now", group=1)
    assert_close(lrcore.evaluate(rest, np.arange(20)), drive(s, 20, group=1), FLOAT64)


def test_chained_first_runs_from_the_reset_rate():
    """A OneCycleLR built after the chain rewrites initial_lr (to max_lr / div_factor):
    SequentialLR resets the rate to it and the chain's recursions run from there. torch
    restarts the chain's schedulers outside their initial mode, so the ExponentialLR
    applies gamma at step 0 already (written out: 0.8 ** (k + 1))."""
    def make():
        opt = torch_test_optimizer()
        chained = L.ChainedScheduler([L.ConstantLR(opt, factor=0.5, total_iters=4),
                                      L.ExponentialLR(opt, gamma=0.8)])
        cycle = L.OneCycleLR(opt, max_lr=[0.3, 0.6], total_steps=30, cycle_momentum=False)
        with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)`"):
            return L.SequentialLR(opt, [chained, cycle], milestones=[8])
    spec = lrcore.from_torch(make())
    assert_close(lrcore.evaluate(spec, np.arange(8)),
                 [0.3 / 25 * 0.8 ** (k + 1) * (0.5 if k < 4 else 1.0) for k in range(8)],
                 FLOAT64)
    assert_reads(make, 37)  # OneCycleLR raises past its 30 steps


CHAIN_MEMBERS = {
    "ExponentialLR": lambda o: L.ExponentialLR(o, gamma=0.8),
    "MultiplicativeLR": lambda o: L.MultiplicativeLR(o, lambda epoch: 0.9),
    "PolynomialLR": lambda o: L.PolynomialLR(o, total_iters=6, power=1.5),
    "StepLR": lambda o: L.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda o: L.MultiStepLR(o, milestones=[0, 4], gamma=0.5),
    "LinearLR": lambda o: L.LinearLR(o, start_factor=0.2, total_iters=4),
    "ConstantLR": lambda o: L.ConstantLR(o, factor=0.3, total_iters=3),
}


@pytest.mark.parametrize("second", ["ExponentialLR", "LinearLR"])
@pytest.mark.parametrize("first", sorted(CHAIN_MEMBERS))
def test_every_chainable_scheduler_in_a_restarted_chain(first, second):
    """ExponentialLR, MultiplicativeLR and PolynomialLR take one recursion step at the
    restart (outside their initial mode); the others restart as built. Both groups."""
    def make():
        opt = torch_test_optimizer()
        chained = L.ChainedScheduler([CHAIN_MEMBERS[first](opt), CHAIN_MEMBERS[second](opt)])
        with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)`"):
            return L.SequentialLR(opt, [chained, L.ConstantLR(opt, 0.5, 3)], milestones=[9])
    assert_reads(make, 15)


def test_a_nested_chain_restarted_first():
    def make():
        opt = torch_test_optimizer()
        inner = L.ChainedScheduler([L.ExponentialLR(opt, 0.9),
                                    L.PolynomialLR(opt, total_iters=5, power=2.0)])
        chained = L.ChainedScheduler([inner, L.LinearLR(opt, 0.5, total_iters=3)])
        with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)`"):
            return L.SequentialLR(opt, [chained, L.ConstantLR(opt, 0.5, 3)], milestones=[7])
    assert_reads(make, 12)


def test_a_chained_scheduler_after_a_milestone_is_still_refused():
    """At its milestone torch calls its get_lr, which a ChainedScheduler lacks (torch
    raises there)."""
    opt = torch_test_optimizer()
    s = L.SequentialLR(opt, [L.ConstantLR(opt, 0.5, 3), L.ChainedScheduler(
        [L.ExponentialLR(opt, 0.9)])], milestones=[3])
    with raises("scheduler.schedulers[1]: ChainedScheduler is not supported: torch restarts "
                "it at its milestone by calling its get_lr, which a composite does not have; "
                "from_torch reads " + ", ".join(SUPPORTED)
                + ', got "ChainedScheduler()"'):
        lrcore.from_torch(s)
    drive(s, 2)
    with pytest.raises(NotImplementedError):
        s.step()


# ---- OneCycleLR restored from a legacy state dict ----------------------------------------

def legacy_one_cycle(anneal, **kwargs):
    """torch's test_onecycle_lr_legacy_state_dict: a state dict with ``anneal_func`` in
    place of ``_anneal_func_type``, loaded back."""
    s = L.OneCycleLR(torch_test_optimizer(), anneal_strategy=anneal, **kwargs)
    delattr(s, "_anneal_func_type")
    state = s.state_dict()
    assert "_anneal_func_type" not in state
    state["anneal_func"] = {"cos": L.OneCycleLR._annealing_cos,
                            "linear": L.OneCycleLR._annealing_linear}[anneal]
    s.load_state_dict(state)
    return s


def test_one_cycle_legacy_state_dict_targets():
    """torch's own targets (its annealing_cos written out there and here)."""
    def annealing_cos(start, end, pct):
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    s = legacy_one_cycle("cos", max_lr=25, final_div_factor=2, total_steps=10,
                         cycle_momentum=False)
    targets = [1, 13, 25] + [annealing_cos(25, 0.5, k / 7.0) for k in range(1, 8)]
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(10)), targets, FLOAT64)


@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_one_cycle_legacy_state_dict_against_torch(anneal):
    """Rate and momentum cycle of both groups, against the restored scheduler itself."""
    def make():
        return legacy_one_cycle(anneal, max_lr=[0.4, 0.9], total_steps=50, pct_start=0.35,
                                base_momentum=0.8, max_momentum=0.95)
    assert_reads(make, 50)  # OneCycleLR raises past its total_steps
    spec = lrcore.from_torch(make(), group=1)
    s = make()
    momenta = []
    for _ in range(49):
        momenta.append(s.optimizer.param_groups[1]["momentum"])
        s.optimizer.step()
        s.step()
    assert_close(lrcore.evaluate(spec, np.arange(49), hyperparam="momentum"), momenta, FLOAT64)


def test_one_cycle_legacy_anneal_func_of_its_own_is_refused():
    s = legacy_one_cycle("cos", max_lr=0.5, total_steps=20, cycle_momentum=False)

    def my_anneal(start, end, pct):
        return start + (end - start) * pct**2

    s.anneal_func = my_anneal
    with raises("scheduler.anneal_func: must be OneCycleLR._annealing_cos or "
                "_annealing_linear (a legacy state dict's); lrcore cannot read another "
                "function, got \"test_one_cycle_legacy_anneal_func_of_its_own_is_refused."
                "<locals>.my_anneal\""):
        lrcore.from_torch(s)


# ---- a SequentialLR first in a SequentialLR ------------------------------------------------

FIRSTS = {
    "ConstantLR": lambda o: L.ConstantLR(o, 0.5, 3),
    "LinearLR": lambda o: L.LinearLR(o, 0.2, total_iters=4),
    "ExponentialLR": lambda o: L.ExponentialLR(o, 0.9),
    "MultiplicativeLR": lambda o: L.MultiplicativeLR(o, lambda epoch: 0.8),
    "PolynomialLR": lambda o: L.PolynomialLR(o, total_iters=5, power=2.0),
    "StepLR": lambda o: L.StepLR(o, 2, 0.5),
    "MultiStepLR": lambda o: L.MultiStepLR(o, [0, 2, 3], 0.5),
    "CosineAnnealingLR-1": lambda o: L.CosineAnnealingLR(o, T_max=1, eta_min=0.001),
    "CosineAnnealingLR-6": lambda o: L.CosineAnnealingLR(o, T_max=6, eta_min=0.001),
    "SWALR": lambda o: SWALR(o, swa_lr=[0.02, 0.9], anneal_epochs=4),
    "CyclicLR": lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3, cycle_momentum=False),
    "OneCycleLR": lambda o: L.OneCycleLR(o, 1.0, total_steps=12, cycle_momentum=False),
    "CosineAnnealingWarmRestarts": lambda o: L.CosineAnnealingWarmRestarts(o, 3, eta_min=0.001),
    "ChainedScheduler": lambda o: L.ChainedScheduler([L.ExponentialLR(o, 0.9),
                                                      L.PolynomialLR(o, total_iters=6)]),
}


def quietly(build):
    """torch warns that SequentialLR steps its schedulers before optimizer.step()."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Detected call of `lr_scheduler.step\(\)` before",
                                UserWarning)
        return build()


@pytest.mark.parametrize("kind", sorted(FIRSTS))
def test_nested_sequential_against_torch(kind):
    """torch's SequentialLR.__init__ starts its first scheduler by _initial_step, which in
    a nested SequentialLR steps its counter, not its schedulers: that counter runs a step
    ahead, its milestones fall a step early, and at step 0 it steps its scheduler by a
    plain step() (ExponentialLR, MultiplicativeLR, PolynomialLR, CosineAnnealingLR apply a
    step of their recursion, SWALR anneals a call ahead). Every rate of both groups,
    against torch's own objects, for each inner milestone (0, 1: its second scheduler
    from step 0) and second scheduler."""
    for later, m, outer in itertools.product(["ExponentialLR", "SWALR", "ConstantLR"],
                                             [0, 1, 2, 4], [1, 6]):
        def make():
            o = torch_test_optimizer()
            inner = L.SequentialLR(o, [FIRSTS[kind](o), FIRSTS[later](o)], [m])
            return L.SequentialLR(o, [inner, L.ExponentialLR(o, 0.7)], [outer])
        for group in (0, 1):
            spec = lrcore.from_torch(quietly(make), group=group)
            assert_close(lrcore.evaluate(spec, np.arange(16)),
                         drive(quietly(make), 16, group), FLOAT64,
                         what=f"{later}, milestones {m}, {outer}, group {group}")


@pytest.mark.parametrize("kind", sorted(FIRSTS))
def test_nested_sequential_deeper(kind):
    """Each level of nesting adds a step of lead: three SequentialLRs deep, the innermost
    counter runs three steps ahead of the outermost's (a SWALR two levels in, called
    twice at construction, anneals from torch's inversion of the reset rate)."""
    for m3, m2, m, outer in itertools.product([0, 2, 4], [1, 5], [2, 4], [0, 3, 8]):
        def make():
            o = torch_test_optimizer()
            i3 = L.SequentialLR(o, [FIRSTS[kind](o), L.ExponentialLR(o, 0.9)], [m3])
            i2 = L.SequentialLR(o, [i3, L.MultiplicativeLR(o, lambda epoch: 0.9)], [m2])
            i1 = L.SequentialLR(o, [i2, SWALR(o, swa_lr=0.03, anneal_epochs=2)], [m])
            if outer == 0:  # i1 is the scheduler the outer one starts, after a milestone 0
                return L.SequentialLR(o, [L.LinearLR(o, 0.3, total_iters=3), i1], [0])
            return L.SequentialLR(o, [i1, L.ConstantLR(o, 0.5, 2)], [outer])
        for group in (0, 1):
            spec = lrcore.from_torch(quietly(make), group=group)
            assert_close(lrcore.evaluate(spec, np.arange(14)),
                         drive(quietly(make), 14, group), FLOAT64,
                         what=f"milestones {m3}, {m2}, {m}, {outer}, group {group}")


def nested_example():
    """ExponentialLR(0.9), then ConstantLR(0.5, 3) from the inner milestone 3; the outer
    one switches to ExponentialLR(0.7) at 6."""
    o = torch_test_optimizer()
    inner = L.SequentialLR(o, [L.ExponentialLR(o, 0.9), L.ConstantLR(o, 0.5, 3)], [3])
    return L.SequentialLR(o, [inner, L.ExponentialLR(o, 0.7)], [6])


def test_nested_sequential_written_out():
    """torch's quirk, written out: the ExponentialLR applies its factor at step 0 (a plain
    step() outside its initial mode) and gives way at step 2, a step before its
    milestone; ConstantLR halves 0.05 for 3 steps; ExponentialLR(0.7) from 0.05 at 6."""
    hand = [0.05 * 0.9, 0.05 * 0.81] + [0.025] * 3 + [0.05] + [0.05 * 0.7**j for j in range(6)]
    spec = lrcore.from_torch(quietly(nested_example))
    assert_close(lrcore.evaluate(spec, np.arange(12)), hand, FLOAT64)
    assert_close(drive(quietly(nested_example), 12), hand, FLOAT64)


@pytest.mark.parametrize("k", [1, 2, 5, 9])
def test_nested_sequential_read_mid_run(k):
    """Read after k steps: from the start it draws every rate torch set and sets; from
    now, the rates to come (both groups)."""
    for group in (0, 1):
        s = quietly(nested_example)
        past = drive(s, k, group)
        start = lrcore.from_torch(s, group=group)
        now = lrcore.from_torch(s, group=group, origin="now")
        future = drive(s, 10, group)
        assert_close(lrcore.evaluate(start, np.arange(k + 10)),
                     np.concatenate([past, future]), FLOAT64)
        assert_close(lrcore.evaluate(now, np.arange(10)), future, FLOAT64)


@pytest.mark.parametrize("kind", sorted(FIRSTS))
def test_the_scheduler_started_after_a_milestone_zero(kind):
    """With milestones [0] (or [0, 0]) SequentialLR.__init__ starts a later scheduler by
    _initial_step, as it would the first (a ChainedScheduler too): from the group's
    initial_lr, which a OneCycleLR built afterwards rewrites."""
    for milestones, onecycle in itertools.product([[0], [0, 0], [0, 3]], [False, True]):
        def make():
            o = torch_test_optimizer()
            schedulers = [L.LinearLR(o, 0.3, total_iters=3), FIRSTS[kind](o)]
            if len(milestones) == 2:
                schedulers.append(L.ExponentialLR(o, 0.8))
            if onecycle:
                L.OneCycleLR(o, 1.0, total_steps=20, cycle_momentum=False)
            return L.SequentialLR(o, schedulers, milestones)
        for group in (0, 1):
            spec = lrcore.from_torch(quietly(make), group=group)
            assert_close(lrcore.evaluate(spec, np.arange(11)),
                         drive(quietly(make), 11, group), FLOAT64,
                         what=f"{milestones}, OneCycleLR {onecycle}, group {group}")


# ---- SWALR ----------------------------------------------------------------------------------

@pytest.mark.parametrize("epochs", [0, 1, 7])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swalr_against_torch(strategy, epochs):
    """Group 0 anneals down (0.05 to 0.02), group 1 up (0.5 to 0.9)."""
    def make():
        return SWALR(torch_test_optimizer(), swa_lr=[0.02, 0.9], anneal_epochs=epochs,
                     anneal_strategy=strategy)
    assert_reads(make, 20)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swalr_written_out(strategy):
    """From the rate it starts from to swa_lr over anneal_epochs steps, then held."""
    s = SWALR(torch_test_optimizer(), swa_lr=0.01, anneal_epochs=4, anneal_strategy=strategy)
    share = {"cos": lambda x: (1 - math.cos(math.pi * x)) / 2, "linear": lambda x: x}[strategy]
    hand = [0.05 + (0.01 - 0.05) * share(min(k, 4) / 4) for k in range(9)]
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(9)), hand, FLOAT64)


def test_swalr_origin_now():
    s = SWALR(torch_test_optimizer(), swa_lr=0.01, anneal_epochs=10)
    drive(s, 4)
    rest = lrcore.from_torch(s, origin="now", group=1)
    assert_close(lrcore.evaluate(rest, np.arange(15)), drive(s, 15, group=1), FLOAT64)


def test_swalr_in_a_sequential_lr():
    """First, it anneals from the group's initial_lr; after a milestone, from the rate the
    previous scheduler left (torch's get_lr starts from the group's rate)."""
    def first():
        opt = torch_test_optimizer()
        return L.SequentialLR(opt, [SWALR(opt, swa_lr=0.02, anneal_epochs=5),
                                    L.ExponentialLR(opt, gamma=0.9)], milestones=[8])

    def later():
        opt = torch_test_optimizer()
        return L.SequentialLR(opt, [L.CosineAnnealingLR(opt, T_max=10, eta_min=0.001),
                                    SWALR(opt, swa_lr=[0.02, 0.1], anneal_epochs=5,
                                          anneal_strategy="linear")], milestones=[8])
    assert_reads(first, 20)
    assert_reads(later, 20)
    # written out: at step 8 the rate cosine(7) of CosineAnnealingLR, then a line to 0.02
    cos7 = 0.001 + (0.05 - 0.001) * (1 + math.cos(math.pi * 7 / 10)) / 2
    assert_close(lrcore.evaluate(lrcore.from_torch(later()), np.arange(8, 15)),
                 [cos7 + (0.02 - cos7) * min(j, 5) / 5 for j in range(7)], FLOAT64)


def stepped(scheduler, epochs):
    """Rates of both groups: now, then after a call of ``scheduler.step(e)`` for each
    ``e`` in ``epochs`` (``None``: ``step()``)."""
    opt = scheduler.optimizer
    out = [[g["lr"] for g in opt.param_groups]]
    for e in epochs:
        opt.step()
        if e is None:
            scheduler.step()
        else:
            with pytest.warns(UserWarning, match=r"The epoch parameter in `scheduler.step"):
                scheduler.step(e)
        out.append([g["lr"] for g in opt.param_groups])
    return np.array(out)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("epochs", [[3], [3, None, 0, 7], [None, 12, 5, None, None, 40]])
def test_swalr_stepped_with_an_epoch(strategy, epochs):
    """SWALR has no closed form: step(epoch) sets last_epoch and runs get_lr, which
    anneals by the count of step() calls (_step_count - 1). The spec is indexed by that
    count: read after the calls, it draws every rate torch set, before and after."""
    s = SWALR(torch_test_optimizer(), swa_lr=[0.01, 0.9], anneal_epochs=9,
              anneal_strategy=strategy)
    before = stepped(s, epochs)
    specs = [lrcore.from_torch(s, group=g) for g in (0, 1)]
    now = [lrcore.from_torch(s, group=g, origin="now") for g in (0, 1)]
    after = stepped(s, [None] * 8 + [3, None])
    rates = np.concatenate([before, after[1:]])
    for g in (0, 1):
        assert_close(lrcore.evaluate(specs[g], np.arange(len(rates))), rates[:, g], FLOAT64,
                     what=f"group {g}")
        assert_close(lrcore.evaluate(now[g], np.arange(len(after))), after[:, g], FLOAT64,
                     what=f"group {g} from now")
    # written out: the anneal at the count of calls, whatever the epochs said
    share = {"cos": lambda x: (1 - math.cos(math.pi * x)) / 2, "linear": lambda x: x}[strategy]
    hand = [0.05 + (0.01 - 0.05) * share(min(j, 9) / 9) for j in range(len(rates))]
    assert_close(lrcore.evaluate(specs[0], np.arange(len(rates))), hand, FLOAT64)
    assert s.last_epoch != s._step_count - 1  # step(epoch) separated them


def manual_switch(strategy, epochs, before):
    """torch's swa_utils example: a CosineAnnealingLR runs ``before`` epochs, then SWALR
    (built with it, at the start) anneals from the rate it left."""
    opt = torch_test_optimizer()
    cosine = L.CosineAnnealingLR(opt, T_max=20, eta_min=0.001)
    swa = SWALR(opt, swa_lr=[0.02, 0.9], anneal_epochs=epochs, anneal_strategy=strategy)
    for _ in range(before):
        opt.step()
        cosine.step()
    return swa


def swalr_past_bound(swa, group, k, rates):
    """How far the past of the curve read after ``k`` calls may be from torch's: its
    start is torch's inversion of the current rate, ``(lr - a swa_lr) / (1 - a)``, so the
    rounding of ``lr`` (``rounding_tolerance``) reaches the start divided by ``1 - a``
    (``a``: the share of swa_lr after ``k`` calls); the rate at step ``j`` carries
    ``1 - a_j`` of it."""
    share = swa.anneal_func(min(1, k / swa.anneal_epochs))
    tol = rounding_tolerance(swa, group, k, list(np.abs(rates)), None)
    return tol / (1 - share)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize(("epochs", "before"), [(2, 5), (5, 0), (5, 3), (10, 17), (30, 8),
                                                (100, 17)])
def test_swalr_after_another_scheduler(strategy, epochs, before):
    """While it anneals, the start is recovered by torch's own inversion (which its next
    step() applies too): read after each call, the spec draws the rate the other
    scheduler left, then every rate SWALR sets, for both groups, up to ``swalr_past_bound``
    before the read and ``rounding_tolerance`` after it."""
    for k in sorted({1, epochs // 2, epochs - 1}):
        swa = manual_switch(strategy, epochs, before)
        start = [g["lr"] for g in swa.optimizer.param_groups]
        past = stepped(swa, [None] * k)
        specs = [lrcore.from_torch(swa, group=g) for g in (0, 1)]
        future = stepped(swa, [None] * (epochs + 5))
        rates = np.concatenate([past, future[1:]])
        assert_close(rates[0], start, (0.0, 0.0))
        for g in (0, 1):
            got = lrcore.evaluate(specs[g], np.arange(len(rates)))
            err = np.abs(got - rates[:, g])
            tol = rounding_tolerance(swa, g, len(rates), list(np.abs(rates[:, g])), None)
            assert (err[k:] <= tol).all(), (k, g, err[k:].max() / tol)
            assert (err[:k] <= swalr_past_bound(swa, g, k, rates[:, g])).all(), (k, g)
            # the whole curve at float64 rtol 1e-12 where the start is well conditioned
            if epochs <= 10:
                assert_close(got, rates[:, g], FLOAT64, what=f"k={k} group {g}")


def test_swalr_after_another_scheduler_written_out():
    """A MultiplicativeLR (x 0.9) for 4 epochs leaves 0.05 x 0.9**4; SWALR then anneals
    from there to 0.01 by a cosine over 5 calls."""
    opt = torch_test_optimizer()
    decay = L.MultiplicativeLR(opt, lambda epoch: 0.9)
    swa = SWALR(opt, swa_lr=0.01, anneal_epochs=5)
    drive(decay, 4)
    drive(swa, 2)
    s0 = 0.05 * 0.9**4
    hand = [s0 + (0.01 - s0) * (1 - math.cos(math.pi * min(j, 5) / 5)) / 2 for j in range(9)]
    assert_close(lrcore.evaluate(lrcore.from_torch(swa), np.arange(9)), hand, FLOAT64)


@pytest.mark.parametrize("before", [0, 4])
def test_swalr_annealed_is_refused_from_the_start(before):
    """Once SWALR has annealed it holds swa_lr and torch's inversion returns swa_lr
    (``_get_initial_lr`` at a share of 1): nothing in its state or the optimizer's keeps
    the rate it annealed from (base_lrs is the group's initial_lr, whoever set it), so
    its curve from step 0 cannot be read. From now on it is swa_lr, exactly."""
    swa = manual_switch("cos", 5, before)
    drive(swa, 6)
    with raises("scheduler._step_count: SWALR has annealed (6 step() calls, "
                "anneal_epochs=5) and holds swa_lr alone, so its state no longer says "
                "which rate it annealed from; read from_torch(scheduler, origin='now'), or "
                "read it before its anneal ends, got 7"):
        lrcore.from_torch(swa)
    now = [lrcore.from_torch(swa, group=g, origin="now") for g in (0, 1)]
    rates = stepped(swa, [None] * 9)
    for g, swa_lr in ((0, 0.02), (1, 0.9)):
        assert now[g].description == (f"torch SWALR(anneal_epochs=5), param group {g}, "
                                      "annealed, from step 6")
        assert_close(lrcore.evaluate(now[g], np.arange(10)), rates[:, g], (0.0, 0.0))
        assert (rates[:, g] == swa_lr).all()


# ---- after a milestone, from the rate the group holds ----------------------------------------

@pytest.mark.parametrize("milestones", [[4], [0], [0, 6], [3, 3]])
@pytest.mark.parametrize("kind", ["MultiplicativeLR", "SWALR"])
def test_after_a_milestone_from_the_previous_rate(kind, milestones):
    """SequentialLR restarts them by their get_lr, which runs on from the group's rate:
    the previous scheduler's last one (a MultiplicativeLR multiplies it at once). At
    milestone 0 they are the scheduler SequentialLR starts, from initial_lr."""
    def make():
        opt = torch_test_optimizer()
        later = L.MultiplicativeLR(opt, lambda epoch: 0.9) if kind == "MultiplicativeLR" \
            else SWALR(opt, swa_lr=0.02, anneal_epochs=5)
        schedulers = [L.LinearLR(opt, start_factor=0.2, total_iters=5), later]
        if len(milestones) == 2:
            schedulers.append(L.ExponentialLR(opt, gamma=0.7))
        return L.SequentialLR(opt, schedulers, milestones=milestones)
    assert_reads(make, 15)


def test_multiplicative_after_a_milestone_written_out():
    """LinearLR from 0.2 to 1 x 0.05 over 5 steps, then from step 4 (its rate 0.042 at
    step 3) times 0.9 per step, from the milestone on."""
    opt = torch_test_optimizer()
    s = L.SequentialLR(opt, [L.LinearLR(opt, start_factor=0.2, total_iters=5),
                             L.MultiplicativeLR(opt, lambda epoch: 0.9)], milestones=[4])
    linear = [0.05 * (0.2 + 0.8 * k / 5) for k in range(4)]
    assert_close(lrcore.evaluate(lrcore.from_torch(s), np.arange(10)),
                 linear + [linear[3] * 0.9 ** (j + 1) for j in range(6)], FLOAT64)


def test_a_nested_subclass_named_sequential_lr_is_refused():
    """The nested reading is torch's own SequentialLR's: a subclass of that name may
    step otherwise."""
    class SequentialLR(L.SequentialLR):  # noqa: N801 - torch's name, on purpose
        pass

    o = torch_test_optimizer()
    inner = SequentialLR(o, [L.ExponentialLR(o, 0.9)], [])
    s = quietly(lambda: L.SequentialLR(o, [inner, L.ExponentialLR(o, 0.7)], [3]))
    with raises("scheduler.schedulers[0]: SequentialLR is not supported: lrcore reads "
                "torch's own scheduler classes only (a subclass may compute its rate "
                "differently); from_torch reads " + ", ".join(SUPPORTED)
                + ', got "SequentialLR()"'):
        lrcore.from_torch(s)
