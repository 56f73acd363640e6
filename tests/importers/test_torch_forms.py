"""``from_torch`` on forms torch itself runs in its own test suite: a SequentialLR whose
first scheduler is a ChainedScheduler (``test_sequentiallr5``).

Oracles: torch's own scheduler driven like a training loop, and the targets torch's
tests write out. Float64 rtol 1e-12.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import lrcore
from lrcore import SpecError

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler
SWALR = torch.optim.swa_utils.SWALR

from importer_helpers import FLOAT64, assert_close  # noqa: E402


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
                "from_torch reads " + ", ".join(lrcore.importers.torch.SUPPORTED)
                + ', got "ChainedScheduler()"'):
        lrcore.from_torch(s)
    drive(s, 2)
    with pytest.raises(NotImplementedError):
        s.step()
