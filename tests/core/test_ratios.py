"""Quotients over real numbers of steps (issue 15): ``floor(t / N)``, ``ceil(t / D)`` and
positions in a cycle, exact in int32 arithmetic for any real ``N``, against brute force
and formulas written out in Fractions."""

from __future__ import annotations

import math
import random
from fractions import Fraction as F

import numpy as np
import pytest
from core_helpers import MAX_STEP, check_curve, steps_for

import lrcore
from lrcore.formulas import equivalent_ratio, mul_div, simplest_rounding_to
from lrcore.ops import NumpyOps


def doc(schedule):
    return {"lrcore": 1, "schedule": schedule}


def exact(value):
    return F(value) if isinstance(value, str) else F(repr(value))


@pytest.mark.parametrize("ceil", [False, True])
def test_equivalent_ratio_has_the_same_quotient_at_every_step(ceil):
    """Brute force over every step 0..last: the simplest M agrees with N everywhere."""
    rng = random.Random(15)
    rounding = math.ceil if ceil else math.floor
    for _ in range(400):
        last = rng.randint(1, 400)
        n = F(rng.randint(1, 9000), rng.randint(1, 300))
        if n > last:
            continue
        m = equivalent_ratio(n, last, ceil)
        assert F(m).numerator <= last
        assert [rounding(F(t) / m) for t in range(last + 1)] == \
            [rounding(F(t) / n) for t in range(last + 1)], (n, last, m)


def test_equivalent_ratio_of_a_repeating_decimal():
    """333.3333333333333 (1000/3 typed as a decimal) has 1000/3's stairs on the whole
    domain; its restarts (ceil) differ from 1000/3's at t = 1000, where t / N is just
    above 3."""
    n = F("333.3333333333333")
    assert equivalent_ratio(n, MAX_STEP) == F(1000, 3)
    m = equivalent_ratio(n, MAX_STEP, ceil=True)
    assert math.ceil(1000 / m) == 4 == math.ceil(1000 / n)


@pytest.mark.parametrize("x,want", [(1000 / 3, F(1000, 3)), (23.4, F(117, 5)), (0.1, F(1, 10)),
                                    (1 / 7, F(1, 7)), (1000.123456, F("1000.123456"))])
def test_simplest_rounding_to(x, want):
    assert simplest_rounding_to(x) == want and float(want) == x


@pytest.mark.parametrize("p", [3, 1000, 2**30 - 3, 2**30 + 7, 123456789, MAX_STEP])
def test_mul_div_is_exact_in_int32(p):
    """floor(r q / p) and r q mod p on int32 arrays (numpy wraps an int32 overflow, so
    one would show), against Python's integers."""
    rng = random.Random(p)
    ops = NumpyOps()
    r = np.array(sorted({0, 1, p - 1, p // 2} | {rng.randrange(p) for _ in range(200)}),
                 dtype=np.int32)
    for q in (1, 2, 7, 10**5, MAX_STEP, 3 * p + 5, p - 1):
        if (p - 1) * q // p > MAX_STEP:
            continue
        quot, rem = mul_div(ops, r, q, p)
        assert quot.tolist() == [int(x) * q // p for x in r], q
        assert rem.tolist() == [int(x) * q % p for x in r], q


@pytest.mark.parametrize("every", [0.3, "1/7", 333.3333333333333, 1000.123456,
                                   "100000/99999", "2147483333/6442450"])
@pytest.mark.parametrize("bound", [None, 1e-4])
def test_exponential_staircase_over_any_real_every(every, bound):
    """start * rate ** floor(t / N), clipped at the bound; below 1 step too (the count
    stops where the rate does)."""
    n = exact(every)
    spec = doc({"type": "exponential", "start": 0.3, "rate": 0.8, "every": every,
                "staircase": True, "bound": bound})

    def oracle(t):
        rate = 0.3 * 0.8 ** math.floor(F(t) / n)
        return rate if bound is None else max(rate, bound)

    check_curve(spec, oracle, steps_for(400, 332, 333, 334, 999, 1000, 1001, 100000))


@pytest.mark.parametrize("every", [0.3, "1/7", 1e-3, "100000/99999", 1000.123456])
def test_inverse_time_staircase_over_any_real_every(every):
    """start / (1 + rate floor(t / N)): the count passes int32 below 1 step."""
    n = exact(every)
    spec = doc({"type": "inverse_time", "start": 0.3, "rate": 0.7, "every": every,
                "staircase": True})
    check_curve(spec, lambda t: 0.3 / float(1 + F(0.7) * math.floor(F(t) / n)),
                steps_for(400, 99999, 100000, 100001, 10**9))


@pytest.mark.parametrize("duration", [0.3, "1/7", 10000.0001, "100000/99999", "1000/3"])
def test_cycling_polynomial_over_any_real_duration(duration):
    """Keras's restart rule D' = D ceil(t / D), below 1 step and with p q past int32."""
    d = exact(duration)
    spec = doc({"type": "polynomial", "start": 0.3, "end": 0.01, "power": 1.3,
                "cycle": True, "duration": duration})

    def oracle(t):
        dp = d * max(math.ceil(F(t) / d), 1)
        return 0.01 + 0.29 * float((dp - t) / dp) ** 1.3

    check_curve(spec, oracle, steps_for(400, 999, 1000, 1001, 10000, 10001, 100000,
                                        100001))


def cyclic_oracle(up, down, mode, gamma=1.0, invert=False):
    """Smith's triangle with the position t - k T in Fractions, torch's scale functions."""
    u, d = exact(up), exact(down)

    def rate(t):
        period = u + d
        k = math.floor(F(t) / period)
        q = F(t) - k * period
        phi = q / u if q <= u else (period - q) / d
        sigma = {"triangular": 1.0, "triangular2": 0.5 ** k, "exp_range": gamma ** t}[mode]
        height = 0.29 * float(phi) * sigma
        return 0.3 - height if invert else 0.01 + height

    return rate


@pytest.mark.parametrize("up,down,mode", [
    ("1000/3", "500/7", "triangular2"), (1e-6, 1.5, "triangular"), (0.3, 0.45, "triangular2"),
    (4, 0, "triangular2"), (2.5, 0, "exp_range"), ("7/3", 0, "triangular")])
@pytest.mark.parametrize("invert", [False, True])
def test_cyclic_over_any_real_steps(up, down, mode, invert):
    """The position in the cycle from exact integers, the cycle count of triangular2 below
    a step, and down = 0 (torch's sawtooth: low at each cycle start, rising toward high)."""
    spec = doc({"type": "cyclic", "low": 0.01, "high": 0.3, "up": up, "down": down,
                "mode": mode, "gamma": 0.999, "invert": invert})
    check_curve(spec, cyclic_oracle(up, down, mode, 0.999, invert),
                steps_for(400, 332, 333, 334, 999, 1000, 1001, 10**6 + 3))


def test_sawtooth_values():
    """down = 0 with up = 4: 0, 1/4, 1/2, 3/4 of the height, then low again (torch's
    CyclicLR(step_size_down=0) never reaches max_lr)."""
    spec = lrcore.cyclic(low=0.0, high=1.0, up=4, down=0)
    assert lrcore.evaluate(spec, range(9)).tolist() == [0.0, 0.25, 0.5, 0.75, 0.0, 0.25,
                                                       0.5, 0.75, 0.0]
