"""``from_torch`` on a ChainedScheduler holding CosineAnnealingLRs that no telescoped
curve draws: ``eta_min > 0`` among ratios that never end, ``eta_min = 0`` with a StepLR
out of step with torch's restarts or a ratio that ends after ``T_max``, and two cosines.

Oracles: torch's own ChainedScheduler (and SequentialLR) stepped side by side, float64
param groups with two rates, over at least three periods of the chain's steps past the
written-out prefix, at float64 rtol 1e-12; and torch's own rate below 0 where lrcore
refuses one.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import lrcore

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler

from test_torch_composites import (  # noqa: E402
    SEQUENTIAL_COSINE_FORMS,
    assert_reads,
    run,
    two_groups,
)

# name: (the chain's schedulers, steps checked: the prefix and three periods at least)
PERIODIC_CHAINS = {
    # eta_min > 0, a whole T_max: from the first trough on, one period repeats
    "ExponentialLR-Cosine-7": (lambda o: [L.ExponentialLR(o, 0.97),
                                          L.CosineAnnealingLR(o, 7, 0.001)], 60),
    "Cosine-10-ExponentialLR": (lambda o: [L.CosineAnnealingLR(o, 10, 0.001),
                                           L.ExponentialLR(o, 0.97)], 80),
    "StepLR-3-Cosine-10": (lambda o: [L.StepLR(o, 3, 0.5),
                                      L.CosineAnnealingLR(o, 10, 0.001)], 200),
    "Cosine-7-StepLR-3": (lambda o: [L.CosineAnnealingLR(o, 7, 0.001),
                                     L.StepLR(o, 3, 0.5)], 150),
    "MultiplicativeLR-Cosine-7": (lambda o: [L.MultiplicativeLR(o, lambda e: 0.9),
                                             L.CosineAnnealingLR(o, 7, 0.001)], 60),
    "ExponentialLR-nested-StepLR-Cosine-7": (lambda o: [L.ExponentialLR(o, 0.97),
                                                        L.ChainedScheduler([
                                                            L.StepLR(o, 3, 0.5),
                                                            L.CosineAnnealingLR(o, 7, 0.001)])],
                                             150),
    "LinearLR-ExponentialLR-Cosine-7": (lambda o: [L.LinearLR(o, 0.01, total_iters=12),
                                                   L.ExponentialLR(o, 0.97),
                                                   L.CosineAnnealingLR(o, 7, 0.003)], 70),
    # eta_min > 0, a fractional T_max: P (1 + C h / P)
    "Cosine-2.5-StepLR-5": (lambda o: [L.CosineAnnealingLR(o, 2.5, 0.3),
                                       L.StepLR(o, 5, 0.5)], 60),
    "Cosine-1.5-StepLR-15": (lambda o: [L.CosineAnnealingLR(o, 1.5, 0.01),
                                        L.StepLR(o, 15, 0.99)], 120),
    "Cosine-0.5-ExponentialLR": (lambda o: [L.CosineAnnealingLR(o, 0.5, 0.001),
                                            L.ExponentialLR(o, 0.97)], 40),
    # eta_min = 0, a whole T_max: a StepLR out of step, a ratio that ends after T_max
    "StepLR-2-Cosine-3": (lambda o: [L.StepLR(o, 2, 0.5), L.CosineAnnealingLR(o, 3)], 40),
    "Cosine-10-StepLR-4": (lambda o: [L.CosineAnnealingLR(o, 10), L.StepLR(o, 4, 0.5)], 80),
    "ExponentialLR-StepLR-3-Cosine-4": (lambda o: [L.ExponentialLR(o, 0.9),
                                                   L.StepLR(o, 3, 0.5),
                                                   L.CosineAnnealingLR(o, 4)], 90),
    "Cosine-4-MultiplicativeLR-StepLR-3": (lambda o: [L.CosineAnnealingLR(o, 4),
                                                      L.MultiplicativeLR(o, lambda e: 0.9),
                                                      L.StepLR(o, 3, 0.5)], 90),
    "LinearLR-20-ExponentialLR-Cosine-8": (lambda o: [L.LinearLR(o, 0.1, total_iters=20),
                                                      L.ExponentialLR(o, 0.9),
                                                      L.CosineAnnealingLR(o, 8)], 80),
    # a growth, bounded by the troughs of a whole T_max (each erases the rate's history)
    "ExponentialLR-1.01-Cosine-10": (lambda o: [L.ExponentialLR(o, 1.01),
                                                L.CosineAnnealingLR(o, 10, 0.001)], 80),
    "StepLR-3-1.5-Cosine-4": (lambda o: [L.StepLR(o, 3, 1.5),
                                         L.CosineAnnealingLR(o, 4, 0.001)], 60),
    "ExponentialLR-1.001-Cosine-4": (lambda o: [L.ExponentialLR(o, 1.001),
                                                L.CosineAnnealingLR(o, 4)], 40),
    "Cosine-6-MultiplicativeLR-1.05": (lambda o: [L.CosineAnnealingLR(o, 6),
                                                  L.MultiplicativeLR(o, lambda e: 1.05)], 50),
    # two cosines
    "Cosine-4-Cosine-6": (lambda o: [L.CosineAnnealingLR(o, 4), L.CosineAnnealingLR(o, 6)],
                          100),
    "Cosine-3-Cosine-2.5": (lambda o: [L.CosineAnnealingLR(o, 3),
                                       L.CosineAnnealingLR(o, 2.5)], 110),
    "Cosine-4-Cosine-6-eta": (lambda o: [L.CosineAnnealingLR(o, 4, 0.002),
                                         L.CosineAnnealingLR(o, 6, 0.001)], 100),
    "Cosine-3-Cosine-2.5-eta": (lambda o: [L.CosineAnnealingLR(o, 3, 0.001),
                                           L.CosineAnnealingLR(o, 2.5, 0.001)], 110),
    "Cosine-2.5-Cosine-1.5-eta": (lambda o: [L.CosineAnnealingLR(o, 2.5, 0.001),
                                             L.CosineAnnealingLR(o, 1.5, 0.002)], 110),
    "Cosine-3-StepLR-2-Cosine-2.5-eta": (lambda o: [L.CosineAnnealingLR(o, 3, 0.001),
                                                    L.StepLR(o, 2, 0.8),
                                                    L.CosineAnnealingLR(o, 2.5, 0.001)], 110),
}


@pytest.mark.parametrize("kind", sorted(PERIODIC_CHAINS))
def test_a_chained_cosine_turns_periodic(kind):
    """Past the others' last ending ratio each step is an affine map of the rate whose
    coefficients repeat (period: the lcm of each 2 T_max numerator and StepLR step_size):
    after a trough one period of rates repeats; without one the rate tends to the
    periodic solution. Both groups, read at the start, after 5 steps and from then on."""
    chain, n = PERIODIC_CHAINS[kind]

    def make():
        return L.ChainedScheduler(chain(two_groups()))
    assert_reads(make, n, what=kind)
    assert_reads(make, n, what=kind + " from now", origin="now", before=5)


SEQUENTIAL_CHAINS = ("ExponentialLR-Cosine-7", "Cosine-7-StepLR-3", "StepLR-2-Cosine-3",
                     "Cosine-1.5-StepLR-15", "Cosine-3-Cosine-2.5-eta")


@pytest.mark.parametrize("form", sorted(SEQUENTIAL_COSINE_FORMS))
@pytest.mark.parametrize("kind", SEQUENTIAL_CHAINS)
def test_a_periodic_chained_cosine_in_a_sequential_lr(kind, form):
    """A SequentialLR restarts the chain by a plain step at last_epoch 0 from the rate
    it finds; from there it turns periodic as read on its own."""
    chain, n = PERIODIC_CHAINS[kind]

    def make():
        return SEQUENTIAL_COSINE_FORMS[form](two_groups(), chain)
    assert_reads(make, n, what=f"{kind} {form}")


def test_a_chained_cosine_periodic_written_out():
    """ExponentialLR(0.5), then CosineAnnealingLR(T_max=2, eta_min=0.01) from 0.05: each
    step halves the rate, then multiplies its distance to 0.01 by (1 + cos(pi k / 2)) /
    (1 + cos(pi (k - 1) / 2)): 1/2 at step 1 (0.0175); 0 at step 2, the trough (0.01);
    at step 3 torch adds a step of the 0.05 wave, 0.04 / 2, to the halved rate (0.025);
    2 at step 4 (0.015), 1/2 at step 5 (0.00875); from step 2 on those four repeat."""
    o = two_groups()
    s = L.ChainedScheduler([L.ExponentialLR(o, 0.5), L.CosineAnnealingLR(o, 2, 0.01)])
    assert_reads_hand(s, [0.05, 0.0175] + [0.01, 0.025, 0.015, 0.00875] * 3)


def test_a_chained_cosine_restarted_staircase_written_out():
    """StepLR(2, 0.5), then CosineAnnealingLR(T_max=3) from 0.05: the ratios telescope
    to 0.05 x 0.5**floor(k / 2) x (1 + cos(pi k / 3)) / 2 up to the trough at step 3
    (0.0375, 0.00625, 0); at step 4 torch adds a step of the 0.05 wave, 0.05 (1 - cos(pi
    / 3)) / 2 = 0.0125, to the halved 0; from there the wave times the halvings since that
    restart: x 3 (0.0375), x 0.5 x 4 / 3 (0.025), x 3 / 4, x 0.5 / 3, 0 at step 9, and the
    six rates from step 3 repeat."""
    o = two_groups()
    s = L.ChainedScheduler([L.StepLR(o, 2, 0.5), L.CosineAnnealingLR(o, 3)])
    period = [0.0, 0.0125, 0.0375, 0.025, 0.01875, 0.003125]
    assert_reads_hand(s, [0.05, 0.0375, 0.00625] + period * 3)


def test_a_chained_cosine_fractional_written_out():
    """CosineAnnealingLR(T_max=0.5, eta_min=0.001), then ExponentialLR(0.5) from 0.05:
    cos(2 pi k) is 1 at every step, so the cosine keeps the rate and the rate is 0.05 x
    0.5**k, drawn as its periodic solution (0) plus the product of the ratios."""
    o = two_groups()
    s = L.ChainedScheduler([L.CosineAnnealingLR(o, 0.5, 0.001), L.ExponentialLR(o, 0.5)])
    assert_reads_hand(s, [0.05 * 0.5**k for k in range(12)])
    # a product of ratios past float64 in one period: 0 from the second period on
    o = two_groups()
    s = L.ChainedScheduler([L.CosineAnnealingLR(o, 0.5, 0.001), L.ExponentialLR(o, 1e-170)])
    assert_reads_hand(s, [0.05, 0.05e-170] + [0.0] * 10)


def assert_reads_hand(s, hand):
    from importer_helpers import FLOAT64, assert_close
    spec = lrcore.from_torch(s)
    assert_close(lrcore.evaluate(spec, np.arange(len(hand))), hand, FLOAT64, what="spec")
    assert_close(run(s, len(hand))[0], hand, FLOAT64, what="torch")


@pytest.mark.parametrize("chain,step,rate", [
    (lambda o: [L.ExponentialLR(o, 0.97), L.CosineAnnealingLR(o, 2.5, 0.001)], 89,
     "-3.0024221302460565e-05"),
    (lambda o: [L.CosineAnnealingLR(o, 7.5, 0.001), L.ExponentialLR(o, 0.97)], 55,
     "-0.00023458212049180487"),
    (lambda o: [L.MultiplicativeLR(o, lambda e: 0.9), L.CosineAnnealingLR(o, 7.5, 0.001)],
     13, "-0.00016944643231079392"),
    (lambda o: [L.CosineAnnealingLR(o, 4, 0.001), L.CosineAnnealingLR(o, 6, 0.002)], 20,
     "-0.0017320508075688932"),
], ids=["ExponentialLR-Cosine-2.5", "Cosine-7.5-ExponentialLR", "MultiplicativeLR-Cosine-7.5",
        "Cosine-4-Cosine-6-eta-below"])
def test_a_periodic_chained_cosine_below_zero_is_refused(chain, step, rate):
    """With a fractional T_max the cosine's rising half multiplies a distance below
    eta_min by up to 2 / (1 + cos(pi / (2 T_max))): its periodic solution dips below 0,
    and so does torch's rate (the step and rate lrcore names, found from that solution)."""
    rates = run(L.ChainedScheduler(chain(two_groups())), step + 1)[0]
    assert rates[step] < 0 <= rates[:step].min()
    with pytest.raises(lrcore.SpecError, match="^" + re.escape(
            f"scheduler: sets a negative rate ({rate}) at step {step}, and a spec's rates "
            "are >= 0; give its schedulers ratios that keep the rate >= 0, "
            'got "ChainedScheduler()"') + "$"):
        lrcore.from_torch(L.ChainedScheduler(chain(two_groups())))


def _refused(path, reason, got):
    return "^" + re.escape(
        f"{path}: CosineAnnealingLR is not supported: {reason}; from_torch reads "
        + ", ".join(lrcore.importers.torch.SUPPORTED) + f', got "{got}"') + "$"


def test_a_chained_cosine_period_too_long_is_refused():
    """T_max 5001: torch's steps repeat every 10002 steps, a longer table than a spec's
    list holds."""
    o = two_groups()
    s = L.ChainedScheduler([L.ExponentialLR(o, 0.97), L.CosineAnnealingLR(o, 5001, 0.001)])
    with pytest.raises(lrcore.SpecError, match=_refused(
            "scheduler.schedulers[1]", "in this ChainedScheduler torch's steps repeat every "
            "10002 steps (the lcm of each 2 T_max numerator and StepLR step_size), and their "
            "periodic curve is a table longer than the 10000 rates a spec's list holds; give "
            "T_max and step_size a shorter common period",
            "CosineAnnealingLR(T_max=5001, eta_min=0.001)")):
        lrcore.from_torch(s)


def test_a_chained_cosine_periodic_too_late_is_refused():
    """MultiStepLR's last milestone 12000: the first trough after it, 12005 (12005 = 7
    mod 14), is where the rate turns periodic; torch's steps up to there are too many."""
    o = two_groups()
    s = L.ChainedScheduler([L.MultiStepLR(o, [12000], 0.5), L.ExponentialLR(o, 0.97),
                            L.CosineAnnealingLR(o, 7, 0.001)])
    with pytest.raises(lrcore.SpecError, match=_refused(
            "scheduler.schedulers[2]", "in this ChainedScheduler the rate turns periodic only "
            "from step 12005 on, and torch's steps up to there are a table longer than the "
            "10000 rates a spec's list holds; end its other schedulers' ratios earlier",
            "CosineAnnealingLR(T_max=7, eta_min=0.001)")):
        lrcore.from_torch(s)


@pytest.mark.parametrize("t_max", [0, -3])
def test_a_periodic_chained_cosine_t_max_not_positive_is_refused(t_max):
    """torch divides by T_max 0 at its first step (and runs a negative one as its
    mirror); a CosineAnnealingLR on its own is refused there too."""
    o = two_groups()
    s = L.ChainedScheduler([L.ExponentialLR(o, 0.9), L.CosineAnnealingLR(o, t_max, 0.001)])
    with pytest.raises(lrcore.SpecError, match="^" + re.escape(
            "scheduler.schedulers[1].T_max: must be > 0, as for a CosineAnnealingLR on its "
            f"own (at 0 torch's step divides by zero), got {t_max}") + "$"):
        lrcore.from_torch(s)


def test_a_chained_growth_without_a_trough_is_refused_as_unbounded():
    """With a fractional T_max no trough erases the rate: ExponentialLR(1.001)'s growth
    takes it past float32, and it is refused as on its own."""
    o = two_groups()
    s = L.ChainedScheduler([L.ExponentialLR(o, 1.001), L.CosineAnnealingLR(o, 2.5, 0.001)])
    with pytest.raises(lrcore.SpecError, match="^" + re.escape(
            "scheduler.schedulers[0] (ExponentialLR): cannot be expressed: exponential.rate: "
            "grows past the float32 range before step 2**31 - 1; use a factor <= 1 or set a "
            "bound, got 1.001") + "$"):
        lrcore.from_torch(s)
