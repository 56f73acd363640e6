"""``from_torch`` on forms torch itself runs in its own test suite: a SequentialLR whose
first scheduler is a ChainedScheduler (``test_sequentiallr5``), a OneCycleLR restored
from a legacy state dict (``test_onecycle_lr_legacy_state_dict``) and SWALR.

Oracles: torch's own scheduler driven like a training loop, and the targets torch's
tests write out. Float64 rtol 1e-12.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import lrcore
from lrcore import SpecError

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler
SWALR = torch.optim.swa_utils.SWALR

from importer_helpers import FLOAT64, assert_close  # noqa: E402

from lrcore.importers.torch import SUPPORTED  # noqa: E402


def raises(message: str):
    """The whole message, nothing more."""
    return pytest.raises(SpecError, match="^" + re.escape(message) + "$")


def torch_test_optimizer():
    """torch's TestLRScheduler optimizer: two groups, lr 0.05 and 0.5."""
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    return torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.05)


def drive(scheduler, n, group=0):
    """Rates of ``group`` after 0, 1, ..., n - 1 calls of ``scheduler.step()``."""
    out = np.empty(n)
    opt = scheduler.optimizer
    for k in range(n):
        out[k] = opt.param_groups[group]["lr"]
        opt.step()
        scheduler.step()
    return out


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


def test_swalr_stepped_with_an_epoch_is_refused():
    """SWALR anneals by its count of step() calls, step(epoch) moves last_epoch alone."""
    s = SWALR(torch_test_optimizer(), swa_lr=0.01, anneal_epochs=4)
    s.optimizer.step()
    with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
        s.step(3)
    with raises('scheduler.last_epoch: must be its count of step() calls (_step_count - 1), '
                'by which SWALR anneals; step(epoch) separated them, got {"last_epoch": 3, '
                '"_step_count": 2}'):
        lrcore.from_torch(s)


def test_swalr_after_another_scheduler_is_refused():
    """torch's documented use: another scheduler runs first, then SWALR anneals from the
    rate it left, not from its base_lrs: the current-rate check refuses it."""
    opt = torch_test_optimizer()
    decay = L.MultiplicativeLR(opt, lambda epoch: 0.9)
    swa = SWALR(opt, swa_lr=0.01, anneal_epochs=5)
    drive(decay, 4)
    drive(swa, 2)
    with pytest.raises(SpecError, match=r"^scheduler\.get_last_lr\(\)\[0\]: SWALR set \S+ at "
                                        r"step 2, where the curve its parameters describe "
                                        r"gives "):
        lrcore.from_torch(swa)


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
