"""Every family of the float64 reference against independent oracles.

Each family is checked three ways: a few values worked out by hand (closed forms
written in the test), a plain-Python oracle that follows the family's documented
formula or the named framework's algorithm (torch ``OneCycleLR`` / ``CyclicLR``,
Keras ``CosineDecayRestarts`` / ``PolynomialDecay``, Transformers' inverse-sqrt and
WSD lambdas, optax's exponent and ``end_value``) on every small step, around every
break (b - 1, b, b + 1) and at the far steps 10**6, 10**7, 2**31 - 2 and 2**31 - 1.
Oracles use ``math``, loops and exact ``fractions`` only, never lrcore code.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from core_helpers import MAX_STEP, assert_close, check_curve, steps_for

import lrcore

SQRT2 = math.sqrt(2.0)


def half_cos(x: float) -> float:
    """(1 + cos(pi x)) / 2, the textbook way."""
    return (1.0 + math.cos(math.pi * x)) / 2.0


def values(spec, steps, **context):
    return lrcore.evaluate(spec, list(steps), **context).tolist()


# ---- constant --------------------------------------------------------------------------

def test_constant_by_hand():
    """The rate is the value at every step, far ones included."""
    spec = lrcore.constant(value=0.37)
    steps = [0, 1, 2, 10**6, 10**7, MAX_STEP]
    assert_close(lrcore.evaluate(spec, steps), [0.37] * len(steps), steps)


# ---- linear ----------------------------------------------------------------------------

def test_linear_by_hand():
    """Rising line 1 -> 3 over 4 steps, then held."""
    spec = lrcore.linear(start=1.0, end=3.0, duration=4)
    assert_close(lrcore.evaluate(spec, range(7)), [1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.0])


@pytest.mark.parametrize("start,end,d", [(0.02, 0.5, 7), (0.9, 0.1, 1000), (0.3, 0.3, 3),
                                         (0.0, 0.25, 1), (0.6, 0.0, 2**31 - 1)])
def test_linear_oracle(start, end, d):
    """s + (e - s) t / D up to D, e after (rising, falling, flat, D = 1, D = 2**31-1)."""
    def oracle(t):
        return start + (end - start) * t / d if t <= d else end

    check_curve(lrcore.linear(start=start, end=end, duration=d), oracle,
                steps_for(min(d, 1200), d))


# ---- cosine ----------------------------------------------------------------------------

def test_cosine_by_hand():
    """Half cosine 1 -> 0 over 4 steps: (1 + cos(pi t / 4)) / 2, then held at 0."""
    spec = lrcore.cosine(start=1.0, end=0.0, duration=4)
    want = [1.0, (2 + SQRT2) / 4, 0.5, (2 - SQRT2) / 4, 0.0, 0.0, 0.0]
    assert_close(lrcore.evaluate(spec, range(7)), want)


def test_cosine_exponent_by_hand():
    """optax exponent p: end + (start - end) * ((1 + cos(pi t / D)) / 2) ** p."""
    spec = lrcore.cosine(start=0.9, end=0.1, duration=4, exponent=2.0)
    want = [0.9, 0.1 + 0.8 * ((2 + SQRT2) / 4) ** 2, 0.1 + 0.8 * 0.25,
            0.1 + 0.8 * ((2 - SQRT2) / 4) ** 2, 0.1, 0.1]
    assert_close(lrcore.evaluate(spec, range(6)), want)


@pytest.mark.parametrize("start,end,p,d", [(0.8, 0.05, 1.0, 50), (0.8, 0.05, 1.7, 50),
                                           (0.3, 0.0, 0.5, 20), (0.01, 0.7, 1.0, 37),
                                           (0.5, 0.002, 3.0, 100_000),
                                           # the largest exponent accepted, both ways
                                           (0.2, 0.0, 3.0, 100_000), (1e-6, 0.05, 3.0, 3001)])
def test_cosine_oracle(start, end, p, d):
    """end + (start - end) * half_cos(t / D) ** p for t <= D (optax
    ``cosine_decay_schedule`` with alpha = end / start), end afterwards; also rising."""
    def oracle(t):
        return end + (start - end) * half_cos(t / d) ** p if t <= d else end

    check_curve(lrcore.cosine(start=start, end=end, duration=d, exponent=p), oracle,
                steps_for(min(d, 400), d, d // 2))


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_cosine_periodic_is_torch_closed_form(p):
    """periodic: torch ``CosineAnnealingLR``'s closed form past T_max,
    eta_min + (base - eta_min) (1 + cos(pi t / T_max)) / 2 for every t (the wave comes
    back up after T_max); t is reduced mod 2 T_max exactly before the cosine."""
    start, end, d = 0.4, 0.03, 13

    def oracle(t):
        return end + (start - end) * half_cos((t % (2 * d)) / d) ** p

    spec = lrcore.cosine(start=start, end=end, duration=d, exponent=p, periodic=True)
    got = check_curve(spec, oracle, steps_for(5 * d, d, 2 * d, 3 * d, 4 * d))
    assert got[2 * d] == pytest.approx(start, rel=1e-12)  # back at the top after 2 T_max


# ---- exponential -----------------------------------------------------------------------

def test_exponential_by_hand():
    """start * rate ** ((t - begin) / every), start held before begin."""
    spec = lrcore.exponential(start=1.0, rate=0.5, every=2, begin=3)
    want = [1.0, 1.0, 1.0, 1.0, 1 / SQRT2, 0.5, 0.5 / SQRT2, 0.25]
    assert_close(lrcore.evaluate(spec, range(8)), want)


def test_exponential_staircase_and_bound_by_hand():
    """staircase floors the exponent; bound is optax's end_value (a floor here)."""
    spec = lrcore.exponential(start=1.0, rate=0.5, every=2, staircase=True, bound=0.2)
    assert_close(lrcore.evaluate(spec, range(8)),
                 [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2])


def _exponential_oracle(s, r, n, staircase, b, bound):
    def oracle(t):
        u = max(t - b, 0)
        k = u // n if staircase else u / n
        try:
            v = s * r**k
        except OverflowError:  # a growth past the float range: the ceiling holds
            v = math.inf
        if bound is not None:
            v = max(v, bound) if r < 1 else min(v, bound)
        return v

    return oracle


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("s,r,n,b,bound", [
    (0.9, 0.8, 7, 5, 0.05),     # decay with a floor, started late
    (0.9, 0.8, 7, 0, None),     # plain decay, underflows to 0 far away
    (0.1, 1.5, 9, 4, 2.0),      # growth with a ceiling
    (0.3, 1.0, 3, 2, None),     # rate 1: flat
])
def test_exponential_oracle(staircase, s, r, n, b, bound):
    """optax ``exponential_decay`` semantics: hold until begin, staircase, end_value."""
    oracle = _exponential_oracle(s, r, n, staircase, b, bound)
    breaks = [b, b + n, b + 2 * n]
    if bound is not None:  # where the bound starts to bite
        u = n * math.log(bound / s) / math.log(r)
        breaks += [b + math.floor(u), b + math.ceil(u), b + n * math.ceil(u / n)]
    spec = lrcore.exponential(start=s, rate=r, every=n, staircase=staircase, begin=b,
                              bound=bound)
    check_curve(spec, oracle, steps_for(150, *breaks))


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("s,r,n,bound", [
    (1e-8, 1.00002144, 1000, None),  # by 1e20 over the whole domain
    (1e-3, 10.0, 1000, 1e27),        # to the largest ceiling the bound rule accepts
    (1e-20, 1e38, 1, 1.0),           # past the ceiling in one step, then held
])
def test_exponential_steep_growth_oracle(staircase, s, r, n, bound):
    """A growth is a table of block values times a short exp: still s r^(u/N) (or the
    staircase), clipped at the ceiling, at every step to 2**31 - 1."""
    oracle = _exponential_oracle(s, r, n, staircase, 0, bound)
    spec = lrcore.exponential(start=s, rate=r, every=n, staircase=staircase, bound=bound)
    steps = steps_for(3000, 29_999, 30_000, 10**8, 10**9, MAX_STEP // 3)
    check_curve(spec, oracle, steps)


# ---- inverse_time ----------------------------------------------------------------------

def test_inverse_time_by_hand():
    """Keras InverseTimeDecay: start / (1 + rate * t / every)."""
    spec = lrcore.inverse_time(start=1.0, rate=1.0, every=4)
    assert_close(lrcore.evaluate(spec, [0, 2, 4, 12]), [1.0, 2 / 3, 0.5, 0.25])
    stairs = lrcore.inverse_time(start=1.0, rate=1.0, every=4, staircase=True)
    assert_close(lrcore.evaluate(stairs, [0, 3, 4, 7, 8]), [1.0, 1.0, 0.5, 0.5, 1 / 3])


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_oracle(staircase):
    s, r, n = 0.6, 0.35, 9

    def oracle(t):
        k = t // n if staircase else t / n
        return s / (1.0 + r * k)

    spec = lrcore.inverse_time(start=s, rate=r, every=n, staircase=staircase)
    check_curve(spec, oracle, steps_for(100, n, 2 * n))


# ---- step / multistep ------------------------------------------------------------------

def test_step_by_hand():
    """torch StepLR: start * factor ** floor(t / every)."""
    spec = lrcore.step(start=1.0, factor=0.5, every=3)
    assert_close(lrcore.evaluate(spec, range(8)), [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])


@pytest.mark.parametrize("s,f,n", [(0.4, 0.3, 6), (1e-4, 1.5, 10**7), (0.2, 0.999, 1),
                                   (1e-6, 10.0, 70_000_000)])  # by 1e30 to 2**31 - 1
def test_step_oracle(s, f, n):
    """Decay, a (bounded) growth with a long period, and a slow per-step decay."""
    check_curve(lrcore.step(start=s, factor=f, every=n), lambda t: s * f ** (t // n),
                steps_for(60, n, 2 * n, 100 * n))


def test_multistep_by_hand():
    """torch MultiStepLR: the rate drops *at* each milestone."""
    spec = lrcore.multistep(start=1.0, factor=0.1, milestones=[2, 4])
    assert_close(lrcore.evaluate(spec, range(6)), [1.0, 1.0, 0.1, 0.1, 0.1**2, 0.1**2])


def test_multistep_oracle():
    s, f, ms = 0.7, 0.2, [3, 10, 11, 40, 10**7]
    check_curve(lrcore.multistep(start=s, factor=f, milestones=ms),
                lambda t: s * f ** sum(m <= t for m in ms), steps_for(60, *ms))


# ---- piecewise ---------------------------------------------------------------------------

def test_piecewise_constant_by_hand():
    """v_i from step b_i on (torch convention)."""
    spec = lrcore.piecewise_constant(values=[0.5, 0.3, 0.9, 0.05], boundaries=[4, 5, 100])
    steps = [0, 3, 4, 5, 6, 99, 100, 101, MAX_STEP]
    assert_close(lrcore.evaluate(spec, steps), [0.5, 0.5, 0.3, 0.9, 0.9, 0.9, 0.05, 0.05,
                                                0.05])


def test_piecewise_constant_oracle():
    vals, bounds = [0.5, 0.3, 0.9, 0.05, 0.07], [4, 5, 100, MAX_STEP]
    spec = lrcore.piecewise_constant(values=vals, boundaries=bounds)
    check_curve(spec, lambda t: vals[sum(b <= t for b in bounds)], steps_for(110, *bounds))
    single = lrcore.piecewise_constant(values=[0.25], boundaries=[])
    check_curve(single, lambda t: 0.25, steps_for(3))


def test_piecewise_linear_by_hand():
    """Straight lines through the points, held before the first and after the last."""
    spec = lrcore.piecewise_linear(points=[[1, 0.2], [5, 1.0], [9, 0.0]])
    steps = [0, 1, 3, 5, 7, 9, 10, MAX_STEP]
    assert_close(lrcore.evaluate(spec, steps), [0.2, 0.2, 0.6, 1.0, 0.5, 0.0, 0.0, 0.0])


def test_piecewise_linear_oracle():
    pts = [(3, 0.1), (10, 0.8), (11, 0.6), (50, 0.02), (10**7, 0.3)]

    def oracle(t):
        if t <= pts[0][0]:
            return pts[0][1]
        for (t0, y0), (t1, y1) in zip(pts, pts[1:]):
            if t0 <= t <= t1:
                return y0 + (y1 - y0) * (t - t0) / (t1 - t0)
        return pts[-1][1]

    spec = lrcore.piecewise_linear(points=[list(p) for p in pts])
    check_curve(spec, oracle, steps_for(60, *(s for s, _ in pts), 5 * 10**6))


# ---- polynomial --------------------------------------------------------------------------

def test_polynomial_by_hand():
    """(1 - t / D) ** p; with cycle, Keras's D' = D ceil(t / D) (D at t = 0)."""
    plain = lrcore.polynomial(start=1.0, end=0.0, power=2.0, duration=4)
    assert_close(lrcore.evaluate(plain, range(7)), [1, 9 / 16, 1 / 4, 1 / 16, 0, 0, 0])
    cyc = lrcore.polynomial(start=1.0, end=0.0, power=2.0, duration=4, cycle=True)
    assert_close(lrcore.evaluate(cyc, [0, 1, 4, 5, 8, 9, 12]),
                 [1.0, 9 / 16, 0.0, (3 / 8) ** 2, 0.0, (3 / 12) ** 2, 0.0])


def _keras_polynomial(s, e, p, d, cycle):
    """Keras ``PolynomialDecay.__call__`` with exact rationals for t / D'."""
    def oracle(t):
        if cycle:
            mult = 1 if t == 0 else -(-t // d)  # ceil(t / D), 1 at t = 0
            dd = d * mult
        else:
            t, dd = min(t, d), d
        return (s - e) * float(Fraction(dd - t, dd)) ** p + e

    return oracle


@pytest.mark.parametrize("cycle", [False, True])
@pytest.mark.parametrize("s,e,p,d", [(0.9, 0.03, 2.5, 40), (0.5, 0.0, 0.5, 11),
                                     (0.02, 0.4, 1.0, 25)])
def test_polynomial_oracle(cycle, s, e, p, d):
    """Keras PolynomialDecay (cycle included), also with end > start."""
    spec = lrcore.polynomial(start=s, end=e, power=p, duration=d, cycle=cycle)
    check_curve(spec, _keras_polynomial(s, e, p, d, cycle),
                steps_for(4 * d, d, 2 * d, 3 * d, (MAX_STEP // d) * d))


@pytest.mark.parametrize("cycle", [False, True])
@pytest.mark.parametrize("s,e,p,d", [(0.1, 0.0, 30.0, 20_000), (1e-4, 0.3, 100.0, 5000),
                                     (0.5, 1e-3, 1e4, 123_456_789), (0.3, 0.0, 0.25, 2**31 - 1)])
def test_polynomial_steep_powers_oracle(cycle, s, e, p, d):
    """Powers up to the 1e4 accepted and lengths past float32's integers: still Keras's
    (1 - t / D') ** p, start at 0 and end exactly at every multiple of D."""
    spec = lrcore.polynomial(start=s, end=e, power=p, duration=d, cycle=cycle)
    ends = [k * d for k in range(1, 4) if k * d <= MAX_STEP]
    steps = steps_for(2000, d // 7, d // 3, d // 2, *ends)
    got = check_curve(spec, _keras_polynomial(s, e, p, d, cycle), steps)
    assert got[0] == s
    assert [got[steps.index(k)] for k in ends] == [e] * len(ends)


def test_polynomial_negative_power_by_hand():
    """A negative power grows from start toward the pole at D: (1 - t / 4) ** -1 is 4/3,
    2, 4 at steps 1 to 3; from D on the rate holds end."""
    spec = lrcore.polynomial(start=1.0, end=0.0, power=-1.0, duration=4)
    assert_close(lrcore.evaluate(spec, range(7)), [1, 4 / 3, 2, 4, 0, 0, 0])
    spec = lrcore.polynomial(start=0.5, end=0.1, power=-2.0, duration=2.5)
    assert_close(lrcore.evaluate(spec, range(5)), [0.5, 0.1 + 0.4 * 25 / 9, 0.1 + 0.4 * 25,
                                                    0.1, 0.1])


@pytest.mark.parametrize("s,e,p,d", [
    (0.1, 0.0, -1.0, 20_000), (0.3, 0.01, -2.5, 1_000_003), (1e-3, 0.0, -1.0, 50_000_000),
    (0.2, 0.2, -0.5, 700), (0.1, 0.0, -1.5, Fraction(4001, 4)),
    (1.0, 0.5, -0.01, 2**31 - 1), (1.0, 0.0, -25.0, 30),
    (0.9, 0.05, -1.0, Fraction(216172782113783800000, 7205759403792793))])
def test_polynomial_negative_power_oracle(s, e, p, d):
    """(s - e) (1 - t / D) ** p + e on the integer steps before D, written out with the
    exact t / D, then e: the largest rate at the last step before D (D = 30000 plus
    4e-12 in the last case, a falling LinearLR's pole)."""
    def oracle(t):
        return (s - e) * float(1 - Fraction(t) / d) ** p + e if t < d else e

    last = math.ceil(d) - 1
    got = check_curve(lrcore.polynomial(start=s, end=e, power=p, duration=d), oracle,
                      steps_for(2000, last, min(last + 2, MAX_STEP), last // 3))
    assert got[0] == s


# ---- cosine_restarts ---------------------------------------------------------------------

def test_cosine_restarts_by_hand():
    """SGDR: period 2, twice as long each cycle, half as high; starts at 0, 2, 6."""
    spec = lrcore.cosine_restarts(start=1.0, end=0.0, period=2, period_mult=2.0,
                                  peak_mult=0.5)
    want = [1.0, 0.5, 0.5, 0.5 * (2 + SQRT2) / 4, 0.25, 0.5 * (2 - SQRT2) / 4, 0.25]
    assert_close(lrcore.evaluate(spec, range(7)), want)


def _sgdr_oracle(s, e, period, m, mu):
    """Walk the restarts in a loop (exact rationals, decimal meaning of m):
    lr = e + (s - e) * mu**i * (1 + cos(pi x)) / 2, x the position in cycle i."""
    m = Fraction(str(m))

    def oracle(t):
        if m == 1:  # Keras's fixed-period branch: i = floor(t / P)
            i = t // period
            begin, length = Fraction(i * period), Fraction(period)
        else:
            begin, length, i = Fraction(0), Fraction(period), 0
            while t >= begin + length:
                begin, length, i = begin + length, length * m, i + 1
        x = float((t - begin) / length)
        return e + (s - e) * mu**i * half_cos(x)

    return oracle


def _sgdr_starts(period, m, limit):
    """Every cycle start up to ``limit`` (rounded up to a step)."""
    out, begin, length = [], Fraction(0), Fraction(period)
    while begin <= limit and len(out) < 100:
        out.append(math.ceil(begin))
        begin, length = begin + length, length * Fraction(str(m))
    return out


@pytest.mark.parametrize("s,e,period,m,mu", [
    (0.8, 0.02, 8, 2.0, 0.6),
    (0.8, 0.02, 8, 1.5, 0.9),
    (0.5, 0.05, 10, 1.3, 0.7),   # real-valued cycle starts (23 exactly, 32.9, ...)
    (0.4, 0.01, 7, 1.0, 0.5),    # fixed period, decaying peaks
    (0.4, 0.1, 7, 1.0, 1.0),     # plain restarts
])
def test_cosine_restarts_oracle(s, e, period, m, mu):
    """Keras ``CosineDecayRestarts`` (alpha = end / start, t_mul, m_mul)."""
    spec = lrcore.cosine_restarts(start=s, end=e, period=period, period_mult=m,
                                  peak_mult=mu)
    # every restart up to 2**31 - 1 (first 40 for a fixed period), each with b-2..b+2
    starts = _sgdr_starts(period, m, MAX_STEP)[:40] if m == 1 else \
        _sgdr_starts(period, m, MAX_STEP)
    check_curve(spec, _sgdr_oracle(s, e, period, m, mu), steps_for(300, *starts, 12_345_678))


# ---- cyclic --------------------------------------------------------------------------------

def test_cyclic_by_hand():
    """Triangle 0.1 -> 0.5 in 2 steps, back in 4."""
    spec = lrcore.cyclic(low=0.1, high=0.5, up=2, down=4)
    assert_close(lrcore.evaluate(spec, range(9)),
                 [0.1, 0.3, 0.5, 0.4, 0.3, 0.2, 0.1, 0.3, 0.5])


def _torch_cyclic(low, high, up, down, mode, gamma):
    """torch ``CyclicLR.get_lr`` (scale per cycle / per iteration), exact rationals."""
    total = up + down
    ratio = Fraction(up, total)

    def oracle(t):
        cycle = math.floor(1 + Fraction(t, total))
        x = 1 + Fraction(t, total) - cycle
        scale = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        height = (high - low) * float(scale)
        if mode == "triangular":
            return low + height * 1.0
        if mode == "triangular2":
            return low + height * 0.5 ** (cycle - 1)  # 1 / 2 ** (cycle - 1)
        return low + height * gamma**t  # exp_range scales per iteration

    return oracle


@pytest.mark.parametrize("mode,gamma", [("triangular", 1.0), ("triangular2", 1.0),
                                        ("exp_range", 0.97), ("exp_range", 1.0)])
@pytest.mark.parametrize("up,down", [(4, 6), (5, None), (7, 1)])
def test_cyclic_oracle(mode, gamma, up, down):
    low, high = 0.01, 0.3
    spec = lrcore.cyclic(low=low, high=high, up=up, down=down, mode=mode, gamma=gamma)
    dn = up if down is None else down
    breaks = [k * (up + dn) + j for k in range(4) for j in (0, up)]
    check_curve(spec, _torch_cyclic(low, high, up, dn, mode, gamma),
                steps_for(5 * (up + dn), *breaks))


# ---- onecycle ------------------------------------------------------------------------------

def _torch_onecycle(peak, d, pct, div, final_div, anneal, three):
    """torch ``OneCycleLR.get_lr`` (phase list, ``end_step`` floats, annealing
    functions), and the final rate from step D - 1 on."""
    initial = peak / div
    low = initial / final_div
    if three:
        phases = [(float(pct * d) - 1, initial, peak),
                  (float(2 * pct * d) - 2, peak, initial),
                  (d - 1.0, initial, low)]
    else:
        phases = [(float(pct * d) - 1, initial, peak), (d - 1.0, peak, low)]

    def anneal_cos(a, b, x):
        return b + (a - b) / 2.0 * (math.cos(math.pi * x) + 1)

    def anneal_linear(a, b, x):
        return (b - a) * x + a

    f = anneal_cos if anneal == "cos" else anneal_linear

    def oracle(t):
        if t >= d - 1:
            return low
        begin = 0.0
        for i, (end, a, b) in enumerate(phases):
            if t <= end or i == len(phases) - 1:
                return f(a, b, (t - begin) / (end - begin))
            begin = end
        raise AssertionError("unreachable")

    return oracle, [e for e, _, _ in phases]


def test_onecycle_by_hand():
    """Linear 1cycle over 10 steps: 0.1 -> 1 by step 2, -> 0.01 at step 9, held."""
    spec = lrcore.onecycle(peak=1.0, duration=10, pct_start=0.3, anneal="linear",
                           div_factor=10.0, final_div_factor=10.0)
    want = [0.1, 0.55, 1.0, 1 - 0.99 / 7, 1 - 0.99 * 2 / 7] + [
        1 - 0.99 * k / 7 for k in range(3, 7)] + [0.01, 0.01, 0.01]
    assert_close(lrcore.evaluate(spec, range(12)), want)


@pytest.mark.parametrize("three", [False, True])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("peak,d,pct,div,final_div", [
    (0.5, 100, 0.25, 20.0, 50.0),
    (0.5, 37, 0.3, 25.0, 1e4),     # real-valued phase ends (10.1, 21.2)
    (2.0, 1000, 0.45, 4.0, 3.0),
])
def test_onecycle_torch_algorithm(three, anneal, peak, d, pct, div, final_div):
    """torch ``OneCycleLR`` step for step, then the final rate held from D - 1 on."""
    oracle, ends = _torch_onecycle(peak, d, pct, div, final_div, anneal, three)
    spec = lrcore.onecycle(peak=peak, duration=d, pct_start=pct, div_factor=div,
                           final_div_factor=final_div, anneal=anneal, three_phase=three)
    breaks = [math.floor(e) for e in ends] + [math.ceil(e) for e in ends] + [d]
    check_curve(spec, oracle, steps_for(min(d, 400), *breaks))


# ---- inverse_sqrt --------------------------------------------------------------------------

def test_inverse_sqrt_by_hand():
    """Warmup 4: t / 4; then sqrt(tau / (t - W + tau))."""
    spec = lrcore.inverse_sqrt(peak=1.0, warmup=4, timescale=4)
    assert_close(lrcore.evaluate(spec, [0, 2, 4, 8, 16]), [0.0, 0.5, 1.0, SQRT2 / 2, 0.5])


def _hf_inverse_sqrt(peak, warmup, timescale):
    """Transformers ``_get_inverse_sqrt_schedule_lr_lambda`` times the peak."""
    if timescale is None:
        timescale = warmup or 10_000

    def oracle(t):
        if t < warmup:
            return peak * float(t) / float(max(1, warmup))
        shift = timescale - warmup
        return peak * (1.0 / math.sqrt((t + shift) / timescale))

    return oracle


@pytest.mark.parametrize("warmup,timescale", [(16, None), (16, 40), (0, None), (0, 3),
                                              (1000, 250)])
def test_inverse_sqrt_oracle(warmup, timescale):
    peak = 0.7
    spec = lrcore.inverse_sqrt(peak=peak, warmup=warmup, timescale=timescale)
    check_curve(spec, _hf_inverse_sqrt(peak, warmup, timescale),
                steps_for(80, warmup, 10_000))


# ---- warmup_stable_decay -------------------------------------------------------------------

def test_wsd_by_hand():
    """Warmup 2, stable 2, decay 4 to zero in each shape."""
    steps = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    head = [0.0, 0.5, 1.0, 1.0, 1.0]
    tails = {"linear": [0.75, 0.5, 0.25, 0.0, 0.0],
             "cosine": [(2 + SQRT2) / 4, 0.5, (2 - SQRT2) / 4, 0.0, 0.0],
             "1-sqrt": [0.5, 1 - math.sqrt(0.5), 1 - math.sqrt(0.75), 0.0, 0.0]}
    for shape, tail in tails.items():
        spec = lrcore.warmup_stable_decay(peak=1.0, warmup=2, stable=2, decay=4,
                                          decay_shape=shape)
        assert_close(lrcore.evaluate(spec, steps), head + tail)


def _wsd_oracle(start, peak, end, w, s, k, shape):
    def oracle(t):
        if t < w:
            return start + (peak - start) * t / w
        if t < w + s:
            return peak
        if t < w + s + k:
            x = (t - w - s) / k
            f = {"linear": 1 - x, "cosine": half_cos(x), "1-sqrt": 1 - math.sqrt(x)}[shape]
            return end + (peak - end) * f
        return end

    return oracle


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("w,s,k", [(5, 7, 11), (0, 3, 20), (4, 0, 9), (0, 0, 1)])
def test_wsd_oracle(shape, w, s, k):
    """Transformers ``get_wsd_schedule`` (linear warmup) generalised to start/end rates."""
    start, peak, end = 0.01, 0.6, 0.02
    spec = lrcore.warmup_stable_decay(start=start, peak=peak, end=end, warmup=w, stable=s,
                                      decay=k, decay_shape=shape)
    check_curve(spec, _wsd_oracle(start, peak, end, w, s, k, shape),
                steps_for(w + s + k + 5, w, w + s, w + s + k))


def test_wsd_decay_defaults_to_the_rest():
    """Without ``decay`` the decay runs to the end of the duration / total_steps."""
    start, peak, end = 0.05, 0.6, 0.01
    spec = lrcore.warmup_stable_decay(start=start, peak=peak, end=end, warmup=3, stable=4,
                                      decay_shape="cosine", duration=20)
    check_curve(spec, _wsd_oracle(start, peak, end, 3, 4, 13, "cosine"), steps_for(25, 20))
    open_ended = lrcore.warmup_stable_decay(start=start, peak=peak, end=end, warmup=3,
                                            stable=4)
    check_curve(open_ended, _wsd_oracle(start, peak, end, 3, 4, 23, "linear"),
                steps_for(35, 30), total_steps=30)
