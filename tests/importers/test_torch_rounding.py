"""``rounding_tolerance``: the bound ``from_torch`` allows between the rate a torch
scheduler set and the spec read from it.

Oracles: the bound's arithmetic written out here (``u R (16 w (k + 1) + F)``, at least
``1e-12 R``), and torch's own recursions measured against their closed forms, written
out here, on long runs: torch's error stays below a quarter of the bound (measured worst:
0.109 for CosineAnnealingLR past T_max, 0.019 for a float32 ExponentialLR, 0.0063 for a
float32 PolynomialLR, 0.0007 for a float64 ExponentialLR).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler

from lrcore.importers.torch.checks import rounding_tolerance  # noqa: E402

U64, U32 = 2.0**-53, 2.0**-24


def sgd(lr=0.1):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_one_scheduler_float64():
    """One scheduler (w = 1), R = the base rate 0.1: u R 16 (k + 1)."""
    s = L.ExponentialLR(sgd(), gamma=0.9)
    assert rounding_tolerance(s, 0, 999, [], None) == U64 * 0.1 * 16 * 1000


def test_the_floor_is_1e_12_of_the_largest_rate():
    """At step 0, u R 16 is far below 1e-12 R: lrcore's closed forms and torch's agree to
    1e-12, not always to the last bit."""
    s = L.ExponentialLR(sgd(), gamma=0.9)
    assert rounding_tolerance(s, 0, 0, [], None) == 1e-12 * 0.1
    assert rounding_tolerance(s, 0, 0, [0.25], None) == 1e-12 * 0.25  # rates passed in


def test_a_polynomial_counts_its_power_and_a_chain_each_member():
    """PolynomialLR(power=3): w = 3. A ChainedScheduler of two: w = 1 (itself) + 1 + 1."""
    s = L.PolynomialLR(sgd(), total_iters=50, power=3.0)
    assert rounding_tolerance(s, 0, 999, [], None) == U64 * 0.1 * (16 * 3 * 1000)
    o = sgd()
    s = L.ChainedScheduler([L.ExponentialLR(o, 0.9), L.StepLR(o, 3, 0.5)])
    assert rounding_tolerance(s, 0, 999, [], None) == U64 * 0.1 * (16 * 3 * 1000)


def test_a_cosine_past_t_max_adds_2_t_max_squared():
    """Past T_max the recursion adds a step of its wave, off by ~u T**2: F = 2 T**2."""
    s = L.CosineAnnealingLR(sgd(), T_max=1000, eta_min=0.001)
    s.last_epoch = 2500
    assert rounding_tolerance(s, 0, 2500, [], None) == U64 * 0.1 * (16 * 2501 + 2 * 1000**2)
    s.last_epoch = 1000  # not past T_max yet
    assert rounding_tolerance(s, 0, 999, [], None) == U64 * 0.1 * (16 * 1000)


def test_a_float32_tensor_rate_uses_float32_roundoff():
    s = L.ExponentialLR(sgd(torch.tensor(0.1)), gamma=0.9)
    r = float(np.float32(0.1))  # the tensor's base rate
    assert rounding_tolerance(s, 0, 999, [], torch.float32) == U32 * r * 16 * 1000


# (factory, dtype of the lr, steps, closed form written out)
MEASURED = {
    "ExponentialLR-float32": (lambda o: L.ExponentialLR(o, gamma=0.9999), torch.float32,
                              20_000, lambda k: 0.1 * 0.9999**k),
    "ExponentialLR-float64": (lambda o: L.ExponentialLR(o, gamma=0.9999), None, 20_000,
                              lambda k: 0.1 * 0.9999**k),
    "CosineAnnealingLR-past-T_max-float64": (
        lambda o: L.CosineAnnealingLR(o, T_max=3000, eta_min=0.25), None, 7_000,
        lambda k: 0.25 + (0.1 - 0.25) * (1 + math.cos(math.pi * k / 3000)) / 2),
    "PolynomialLR-float32": (lambda o: L.PolynomialLR(o, total_iters=8000, power=2.5),
                             torch.float32, 7_000, lambda k: 0.1 * (1 - k / 8000) ** 2.5),
}


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_torch_stays_below_a_tenth_of_the_bound(name):
    """Every step of a long run: |torch's rate - its closed form| <= 0.25 x the bound."""
    make, dtype, n, exact = MEASURED[name]
    o = sgd(0.1 if dtype is None else torch.tensor(0.1, dtype=dtype))
    s = make(o)
    worst = 0.0
    for k in range(n):
        held = s.get_last_lr()[0]
        h, e = float(held), exact(k)
        ratio = abs(h - e) / rounding_tolerance(s, 0, k, [abs(h), abs(e)], dtype)
        worst = max(worst, ratio)
        o.step()
        s.step()
    assert worst <= 0.25, worst
