"""Durations, periods and milestones that are real numbers of steps, or past 2**31 - 1.

Oracles: the formulas written out here in exact arithmetic (``fractions.Fraction`` for
every breakpoint, ``math.cos`` for the wave), loops that walk restart cycles one by
one, and literal numbers. The float64 reference must meet them at rtol 1e-12.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest
from core_helpers import MAX_STEP, check_curve, steps_for

import lrcore


def doc(schedule, **extra):
    return {"lrcore": 1, **extra, "schedule": schedule}


def cos_weight(x):
    """(1 + cos(pi x)) / 2 for a Fraction x in [0, 1]."""
    return (1.0 + math.cos(math.pi * float(x))) / 2.0


def test_sequence_places_each_phase_at_its_exact_real_start():
    """A warmup of 23.4 steps, a hold of 0.25, a cosine over 12.5% of 1001 steps
    (125.125), then a line over 2000/3 steps: each phase sees t - S_k, S_k exact."""
    spec = doc({"type": "sequence", "phases": [
        {"type": "linear", "start": 1e-5, "end": 3e-3, "duration": 23.4},
        {"type": "constant", "value": 3e-3, "duration": 0.25},
        {"type": "cosine", "start": 3e-3, "end": 2e-4, "duration": "12.5%"},
        {"type": "linear", "start": 2e-4, "end": 1e-6, "duration": "2000/3"}]},
        total_steps=1001)
    d = [F(234, 10), F(1, 4), F(125125, 1000), F(2000, 3)]
    s = [F(0), d[0], d[0] + d[1], d[0] + d[1] + d[2]]

    def oracle(t):
        if t < s[1]:
            return 1e-5 + (3e-3 - 1e-5) * float(F(t) / d[0])
        if t < s[2]:
            return 3e-3
        if t < s[3]:
            return 2e-4 + (3e-3 - 2e-4) * cos_weight((t - s[2]) / d[2])
        u = min(t - s[3], d[3])
        return 1e-6 + (2e-4 - 1e-6) * float((d[3] - u) / d[3])

    check_curve(spec, oracle, steps_for(900, 23, 24, 148, 149, 815, 816))


def test_phase_ends_are_exact_sums_of_decimal_text():
    """0.2 + 2.2 + 0.6 is 3 exactly (in binary floats 3.0000000000000004): step 3 is
    in the fourth phase."""
    phases = [{"type": "constant", "value": v, "duration": d}
              for v, d in ((0.1, 0.2), (0.2, 2.2), (0.3, 0.6))]
    spec = doc({"type": "sequence", "phases": [*phases, {"type": "constant", "value": 0.4}]})
    assert lrcore.evaluate(spec, range(5)).tolist() == [0.1, 0.2, 0.2, 0.4, 0.4]


def test_nested_sequence_between_steps():
    """A sequence that starts at 2.5 passes its offset on: its second phase starts at
    2.5 + 1.75 = 4.25, a line from 1 to 0 over 3.5 steps."""
    inner = {"type": "sequence", "duration": 10, "phases": [
        {"type": "constant", "value": 0.5, "duration": 1.75},
        {"type": "linear", "start": 1.0, "end": 0.0, "duration": 3.5}]}
    spec = doc({"type": "sequence", "phases": [
        {"type": "constant", "value": 0.25, "duration": 2.5}, inner,
        {"type": "constant", "value": 0.125}]})

    def oracle(t):
        if t < F(5, 2):
            return 0.25
        if t < F(17, 4):
            return 0.5
        if t < F(25, 2):
            return float(max(F(0), (F(7, 2) - (t - F(17, 4))) / F(7, 2)))
        return 0.125

    check_curve(spec, oracle, range(20))


@pytest.mark.parametrize("start,end", [(2e-3, 1e-5), (1e-5, 2e-3)])
def test_periodic_cosine_over_a_ratio(start, end):
    """transformers' num_cycles 0.75 over 1000 steps: a wave of half-period 2000/3,
    falling and rising, far steps included."""
    d = F(2000, 3)
    spec = doc({"type": "cosine", "start": start, "end": end, "periodic": True,
                "duration": "2000/3"})

    def oracle(t):
        return end + (start - end) * (1.0 + math.cos(math.pi * float((t % (2 * d)) / d))) / 2

    check_curve(spec, oracle, steps_for(3000, 666, 667, 1333, 1334, 2000))


def test_cosine_over_a_real_duration_then_holds():
    d = F(20005, 10)
    spec = doc({"type": "cosine", "start": 0.3, "end": 0.045, "duration": 2000.5})

    def oracle(t):
        return 0.045 + (0.3 - 0.045) * cos_weight(min(F(t), d) / d)

    check_curve(spec, oracle, steps_for(2100, 2000, 2001))


@pytest.mark.parametrize("period,mult", [(62.5, 0.97), ("2000/7", 0.9),
                                         ("400000001/2", 1.3)])
def test_restarts_every_real_period(period, mult):
    """SGDR with t_mul 1: cycle i = floor(t / P), walked here as t - i P in Fractions;
    peak_mult > 1 grows the peaks (inside float32: few restarts)."""
    p = F(repr(period)) if isinstance(period, float) else F(period)
    spec = doc({"type": "cosine_restarts", "start": 0.2, "end": 1e-3, "period": period,
                "peak_mult": mult})

    def oracle(t):
        i = math.floor(t / p)
        return 1e-3 + (0.2 - 1e-3) * mult**i * cos_weight((t - i * p) / p)

    restarts = [math.ceil(k * p) for k in range(1, 12)]
    check_curve(spec, oracle, steps_for(2000, *restarts, *(r - 1 for r in restarts)))


def test_restarts_with_a_real_first_period_and_growing_peaks():
    """Keras CosineDecayRestarts(first_decay_steps=40.3, t_mul=1.7, m_mul=1.3): a loop
    over the cycles in exact arithmetic (as Keras's own tests walk SGDR)."""
    spec = doc({"type": "cosine_restarts", "start": 0.01, "end": 1e-4, "period": 40.3,
                "period_mult": 1.7, "peak_mult": 1.3})

    def oracle(t):
        begin, length, i = F(0), F(403, 10), 0
        while t >= begin + length:
            begin, length, i = begin + length, length * F(17, 10), i + 1
        return 1e-4 + (0.01 - 1e-4) * 1.3**i * cos_weight((t - begin) / length)

    check_curve(spec, oracle, steps_for(3000, 40, 41, 109, 110, far=False)
                + [10**6, MAX_STEP])


def test_milestones_between_steps_and_past_the_domain():
    """The rate changes at the first step >= each milestone (optax's
    piecewise_constant_schedule compares count >= boundary); 5e9 is never reached."""
    spec = doc({"type": "multistep", "start": 0.1, "factor": 0.5,
                "milestones": [2.5, 3, 10.25, 5000000000]})
    marks = [F(5, 2), F(3), F(41, 4)]
    check_curve(spec, lambda t: 0.1 * 0.5 ** sum(1 for m in marks if m <= t),
                steps_for(20, 2, 3, 10, 11))
    spec = doc({"type": "piecewise_constant", "values": [0.3, 0.2, 0.1],
                "boundaries": ["7/2", 8.000001]})
    assert lrcore.evaluate(spec, [0, 3, 4, 8, 9]).tolist() == [0.3, 0.3, 0.2, 0.2, 0.1]


def test_lengths_past_the_step_domain():
    """optax's own test: cosine_decay_schedule(1000., decay_steps=1e10) at count 1e9 is
    975.528...; a line over 5e9 steps; a warmup of 2**31 - 1 + 0.5 steps."""
    cos = doc({"type": "cosine", "start": 1000.0, "duration": 1e10})
    assert abs(float(lrcore.evaluate(cos, [10**9])[0]) - 975.528258147577) < 1e-9
    check_curve(cos, lambda t: 1000.0 * cos_weight(F(t, 10**10)), steps_for(50))
    line = doc({"type": "linear", "start": 0.3, "end": 0.0, "duration": 5 * 10**9})
    check_curve(line, lambda t: 0.3 * (5 * 10**9 - t) / (5 * 10**9), steps_for(50))
    rise = doc({"type": "sequence", "phases": [
        {"type": "linear", "start": 0.0, "end": 1.0, "duration": "4294967295/2"},
        {"type": "constant", "value": 0.5}]})
    check_curve(rise, lambda t: t / (MAX_STEP + 0.5), steps_for(50))


def test_integral_values_stay_integers():
    """A whole real number is the integer (fingerprints of whole-number specs do not
    change), in every input form."""
    for written in (40, 40.0, "80/2", F(40)):
        node = lrcore.linear(start=1.0, end=0.0, duration=written)
        assert node.duration == 40 and type(node.duration) is int
    a = lrcore.Schedule.from_dict(doc({"type": "linear", "start": 1.0, "end": 0.0,
                                       "duration": 40}))
    b = lrcore.Schedule.from_dict(doc({"type": "linear", "start": 1.0, "end": 0.0,
                                       "duration": "120/3"}))
    assert a.fingerprint() == b.fingerprint()


def test_epochs_and_shares_stay_whole_where_the_formula_needs_whole_steps():
    """"Nep"/"N%" resolve exactly where the formula takes a real number of steps; where
    it does not (a periodic cosine with an exponent, an integer
    field, a phase before one that cannot start between steps), to the nearest step
    (halves up), as before real durations."""
    def resolved(schedule, **ctx):
        return lrcore.Schedule.from_dict(doc(schedule, **ctx)).resolve().schedule

    assert resolved({"type": "polynomial", "start": 0.1, "duration": "0.5%", "cycle": True},
                    total_steps=101).duration == 0.505
    assert resolved({"type": "polynomial", "start": 0.1, "duration": "1%", "cycle": True},
                    total_steps=101).duration == 1.01
    assert resolved({"type": "polynomial", "start": 0.1, "duration": "1%"},
                    total_steps=101).duration == 1.01
    assert resolved({"type": "cosine", "start": 0.1, "exponent": 2.0, "duration": "12.5%",
                     "periodic": True}, total_steps=100).duration == 13
    assert resolved({"type": "cosine", "start": 0.1, "exponent": 2.0, "duration": "12.5%"},
                    total_steps=100).duration == 12.5
    assert resolved({"type": "cosine", "start": 0.1, "duration": "12.5%"},
                    total_steps=100).duration == 12.5
    assert resolved({"type": "step", "start": 0.1, "factor": 0.5, "every": "2.5ep"},
                    steps_per_epoch=3).every == 8
    seq = resolved({"type": "sequence", "phases": [
        {"type": "linear", "start": 0.0, "end": 0.1, "duration": "2.5%"},
        {"type": "linear", "start": 0.1, "end": 0.05, "duration": "0.5%"},
        {"type": "exponential", "start": 0.05, "rate": 0.5}]}, total_steps=1002)
    assert [p.duration for p in seq.phases[:2]] == [25, 5]
    seq = resolved({"type": "sequence", "phases": [
        {"type": "exponential", "start": 0.05, "rate": 0.5, "duration": "2.5%"},
        {"type": "linear", "start": 0.1, "end": 0.05}]}, total_steps=1002)
    assert [p.duration for p in seq.phases] == [25.05, 976.95]


@pytest.mark.parametrize("every", [2.5, 23.4, "2000/3", 2**31 + 0.5])
@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_every_is_a_real_number_of_steps(every, staircase):
    """rate ** (t / N) or rate ** floor(t / N) with N exact (23.4 is 117/5); a staircase
    steps exactly at the multiples of N (t = 117 for N = 23.4, t = 2000 for 2000/3)."""
    n = F(every) if isinstance(every, str) else F(repr(every))
    spec = doc({"type": "exponential", "start": 0.3, "rate": 0.5, "every": every,
                "staircase": staircase})

    def oracle(t):
        k = math.floor(F(t) / n) if staircase else float(F(t) / n)
        return 0.3 * 0.5 ** k

    check_curve(spec, oracle, steps_for(300, 116, 117, 666, 667, 1999, 2000))


@pytest.mark.parametrize("every", [2.5, 23.4, "2000/3"])
@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_every_is_a_real_number_of_steps(every, staircase):
    n = F(every) if isinstance(every, str) else F(repr(every))
    spec = doc({"type": "inverse_time", "start": 0.3, "rate": 0.7, "every": every,
                "staircase": staircase})

    def oracle(t):
        k = math.floor(F(t) / n) if staircase else F(t) / n
        return 0.3 / float(1 + F(0.7) * k) if staircase else 0.3 / (1 + 0.7 * float(k))

    check_curve(spec, oracle, steps_for(300, 116, 117, 666, 667, 1999, 2000))


@pytest.mark.parametrize("duration", [2.5, 23.4, "2000/3", 1e9 + 0.5])
def test_polynomial_duration_is_a_real_number_of_steps(duration):
    """end + (start - end) (1 - t / D) ** p until D, then end: at t = 23 < D = 23.4 the
    rate is still above end."""
    d = F(duration) if isinstance(duration, str) else F(repr(duration))
    spec = doc({"type": "polynomial", "start": 0.3, "end": 0.01, "power": 2.0,
                "duration": duration})

    def oracle(t):
        return 0.01 + 0.29 * float(1 - min(F(t), d) / d) ** 2

    check_curve(spec, oracle, steps_for(300, 23, 24, 666, 667, 10**9, 10**9 + 1))


@pytest.mark.parametrize("duration", [10.5, 23.4, "2000/3", 2**31 - 1.5])
@pytest.mark.parametrize("start,end", [(0.3, 0.01), (0.01, 0.3)])
def test_cosine_with_an_exponent_over_a_real_duration(duration, start, end):
    """w = ((1 + cos(pi t / D)) / 2) ** p with D exact, falling and rising; the end rate
    from the first step past D."""
    d = F(duration) if isinstance(duration, str) else F(repr(duration))
    spec = doc({"type": "cosine", "start": start, "end": end, "exponent": 2.5,
                "duration": duration})

    def oracle(t):
        w = cos_weight(min(F(t), d) / d) ** 2.5
        return start * w + end * (1 - w)

    check_curve(spec, oracle, steps_for(300, 10, 11, 23, 24, 666, 667, 2**31 - 3))


@pytest.mark.parametrize("duration", [2.5, 7.25, 1000.5, 1.5, 1.001])
@pytest.mark.parametrize("power", [1.0, 1.3])
def test_cycling_polynomial_over_a_real_duration(duration, power):
    """Keras's PolynomialDecay(cycle=True) over a real D: D' = D ceil(t / D) (D at t = 0),
    written out in Fractions."""
    d = F(repr(duration))
    t = np.concatenate([np.arange(0, 3000), [2**31 - 1, 2**31 - 2, 10**9]])

    def oracle(k):
        dp = d * max(math.ceil(F(int(k)) / d), 1)
        return 0.01 + (0.3 - 0.01) * float(1 - F(int(k)) / dp) ** power

    spec = lrcore.polynomial(start=0.3, end=0.01, power=power, cycle=True,
                             duration=duration)
    got = lrcore.evaluate(spec, t)
    np.testing.assert_allclose(got, [oracle(k) for k in t], rtol=1e-12, atol=0)


FAR_STEPS = [10**6 + 3, 10**7, 2**30 + 12345, 2**31 - 2, 2**31 - 1]


def cyclic_wave(up, down, mode, gamma, invert, t):
    """torch CyclicLR's formula in Fractions: cycle k, position x, the triangle phi."""
    k, x = divmod(F(t), up + down)
    phi = x / up if x <= up else (up + down - x) / down
    sigma = {"triangular": F(1), "triangular2": F(1, 2) ** int(k) if k < 3000 else F(0),
             "exp_range": None}[mode]
    amp = F(0.2) - F(0.01)
    if sigma is None:  # gamma ** t in float64 (a Fraction power of 2**31 digits is slow)
        scaled = float(amp * phi) * gamma ** t
        return 0.2 - scaled if invert else 0.01 + scaled
    return float(F(0.2) - amp * phi * sigma if invert else F(0.01) + amp * phi * sigma)


@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_whose_cycle_in_units_of_1_over_q_passes_int32(mode, invert):
    """up 2000.5 and down 1234.5678901 (q = 10**7): a cycle is 32350678901 units of
    1/q step, past int32, so the position t q mod 32350678901 is found in limbs. The
    wave in Fractions near each end of a cycle and far away."""
    up, down, gamma = F("2000.5"), F("1234.5678901"), 0.99999999
    spec = lrcore.cyclic(low=0.01, high=0.2, up=2000.5, down=1234.5678901, mode=mode,
                         gamma=gamma, invert=invert)
    period = up + down
    near = sorted({math.floor(j * period + e) + d for j in (0, 1, 2, 7, 300, 663000)
                   for e in (0, up) for d in (-1, 0, 1, 2) if j * period + e + d >= 0})
    t = [*near, *FAR_STEPS]
    check_curve(spec, lambda k: cyclic_wave(up, down, mode, gamma, invert, k), t)


@pytest.mark.parametrize("invert", [False, True])
def test_triangular2_cycles_under_one_over_int32_steps(invert):
    """Cycles of 6/70000000001 step: from step 1 the count of cycles passes 2**31 - 1
    (2**-k is 0 long before), so the rate is low (high, dipping) plus nothing; at step
    0 the cycle starts."""
    up = F(3, 70000000001)
    spec = lrcore.cyclic(low=0.01, high=0.2, up="3/70000000001", mode="triangular2",
                         invert=invert)
    t = [0, 1, 2, 3, 1000, *FAR_STEPS]
    check_curve(spec, lambda k: cyclic_wave(up, up, "triangular2", 1.0, invert, k), t)


@pytest.mark.parametrize("up,down", [(2.5, None), (2.5, 1.5), ("7/3", 4), (1.25, 0.5)])
@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_with_real_step_sizes_as_a_finite_phase(up, down, mode):
    """A cyclic phase of a sequence over real step sizes: its position in the cycle
    (in 1/Q steps) runs past the phase's last local step, so its branches may not be cut
    at the phase's end. The wave written out in Fractions (torch CyclicLR's formula)."""
    u = F(up) if isinstance(up, str) else F(repr(up))
    d = u if down is None else F(repr(down))
    gamma = 0.999

    def wave(t):
        k, x = divmod(F(t), u + d)
        phi = x / u if x <= u else (u + d - x) / d
        sigma = {"triangular": 1.0, "triangular2": 0.5 ** int(k),
                 "exp_range": gamma ** t}[mode]
        return 0.01 + (0.2 - 0.01) * float(phi) * sigma

    cyc = lrcore.cyclic(low=0.01, high=0.2, up=up, down=down, mode=mode, gamma=gamma,
                        duration=6)
    spec = lrcore.sequence(phases=[cyc, lrcore.constant(value=0.1)])
    check_curve(spec, lambda t: wave(t) if t < 6 else 0.1, range(12))
