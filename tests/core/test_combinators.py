"""Combinators of the float64 reference against their definitions, written out per step.

sequence (local time per phase), clip, scale (by a number or a schedule), shift
(t + offset clamped to [0, 2**31 - 1]), every (inner(floor(t / N) N)) and repeat
(inner(t mod P) decay ** (t // P)). Inner curves are oracles written here too, so each
test checks the combinator's time arithmetic against plain Python, not lrcore with
itself.
"""

from __future__ import annotations

import math

import pytest
from core_helpers import MAX_STEP, assert_close, check_curve, steps_for

import lrcore


def line(s, e, d):
    """Oracle of ``linear``: s + (e - s) t / D, held at e after D."""
    return lambda t: s + (e - s) * t / d if t <= d else e


def half_cosine(s, e, d):
    """Oracle of ``cosine``: e + (s - e) (1 + cos(pi t / D)) / 2, held at e after D."""
    return lambda t: e + (s - e) * (1 + math.cos(math.pi * t / d)) / 2 if t <= d else e


# ---- sequence --------------------------------------------------------------------------

def test_sequence_by_hand():
    """Warmup 0 -> 1 over 4 steps, then a 2-step cosine 1 -> 0 on local time, then 0.25."""
    spec = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1.0, duration=4),
                                   lrcore.cosine(start=1.0, end=0.0, duration=2),
                                   lrcore.constant(value=0.25)])
    assert_close(lrcore.evaluate(spec, range(9)),
                 [0.0, 0.25, 0.5, 0.75, 1.0, 0.5, 0.25, 0.25, 0.25])


def test_sequence_local_time_oracle():
    """Each phase k sees t - S_k, S_k the sum of the earlier durations; the last phase
    runs on past its own duration (a linear then holds its end)."""
    phases = [(line(0.01, 0.8, 10), 10), (half_cosine(0.8, 0.05, 20), 20),
              (lambda t: 0.05 * 0.5 ** (t // 7), 30), (line(0.05, 0.2, 15), 15)]
    spec = lrcore.sequence(phases=[
        lrcore.linear(start=0.01, end=0.8, duration=10),
        lrcore.cosine(start=0.8, end=0.05, duration=20),
        lrcore.step(start=0.05, factor=0.5, every=7, duration=30),
        lrcore.linear(start=0.05, end=0.2, duration=15)])

    def oracle(t):
        start = 0
        for k, (f, d) in enumerate(phases):
            if t < start + d or k == len(phases) - 1:
                return f(t - start)
            start += d
        raise AssertionError("unreachable")

    check_curve(spec, oracle, steps_for(90, 10, 30, 60, 75))


def test_sequence_last_phase_runs_to_total_steps():
    """A last bounded phase without duration spans total_steps minus the phases before."""
    spec = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=0.6, duration=5),
                                   lrcore.cosine(start=0.6, end=0.01)])
    total = 45
    oracle = lambda t: line(0.0, 0.6, 5)(t) if t < 5 else half_cosine(0.6, 0.01, 40)(t - 5)
    check_curve(spec, oracle, steps_for(60, 5, 45), total_steps=total)


def test_nested_sequence_uses_its_own_duration_as_span():
    """A sequence with a duration is the span of its open-ended last phase."""
    inner = lrcore.sequence(phases=[lrcore.constant(value=0.3, duration=3),
                                    lrcore.linear(start=0.3, end=0.1)], duration=8)
    spec = lrcore.sequence(phases=[inner, lrcore.constant(value=0.02)])

    def oracle(t):
        if t < 3:
            return 0.3
        if t < 8:
            return line(0.3, 0.1, 5)(t - 3)
        return 0.02

    check_curve(spec, oracle, steps_for(20, 3, 8))


# ---- clip ------------------------------------------------------------------------------

@pytest.mark.parametrize("lo,hi", [(0.2, 0.7), (0.2, None), (None, 0.7), (0.5, 0.5)])
def test_clip_oracle(lo, hi):
    """min(max(inner, a), b) over a rising line 0 -> 1 in 10 steps."""
    inner = line(0.0, 1.0, 10)

    def oracle(t):
        v = inner(t)
        if lo is not None:
            v = max(v, lo)
        if hi is not None:
            v = min(v, hi)
        return v

    spec = lrcore.clip(schedule=lrcore.linear(start=0.0, end=1.0, duration=10), min=lo,
                       max=hi)
    check_curve(spec, oracle, steps_for(14, 2, 7))


# ---- scale -----------------------------------------------------------------------------

def test_scale_by_number_and_by_schedule():
    """c * inner, and by(t) * inner(t) with both on the same time."""
    inner = lrcore.cosine(start=0.5, end=0.1, duration=16)
    check_curve(lrcore.scale(schedule=inner, by=0.3),
                lambda t: 0.3 * half_cosine(0.5, 0.1, 16)(t), steps_for(20, 16))
    warm = lrcore.linear(start=0.0, end=1.0, duration=5)
    check_curve(lrcore.scale(schedule=inner, by=warm),
                lambda t: line(0.0, 1.0, 5)(t) * half_cosine(0.5, 0.1, 16)(t),
                steps_for(20, 5, 16))
    assert_close(lrcore.evaluate(lrcore.scale(schedule=inner, by=0.0), [0, 7, MAX_STEP]),
                 [0.0, 0.0, 0.0], peak=1.0)


# ---- shift -----------------------------------------------------------------------------

def _sawtooth(t):
    """Oracle of repeat(linear 0.1 -> 0.9 over 7, period 7): a per-step sawtooth."""
    return line(0.1, 0.9, 7)(t % 7)


SAWTOOTH = lrcore.repeat(schedule=lrcore.linear(start=0.1, end=0.9, duration=7), period=7)


@pytest.mark.parametrize("offset", [5, 1, -4, 2**31 - 1, -(2**31 - 1)])
def test_shift_clamps_time_into_the_domain(offset):
    """inner(clamp(t + offset, 0, 2**31 - 1)); the inner curve changes every step, so a
    wrong clamp at either end of the domain shows."""
    spec = lrcore.shift(schedule=SAWTOOTH, offset=offset)
    oracle = lambda t: _sawtooth(min(max(t + offset, 0), MAX_STEP))
    edge = MAX_STEP - offset if offset > 0 else -offset
    check_curve(spec, oracle, steps_for(20, edge, MAX_STEP - 6, MAX_STEP - 1))


def test_shift_by_hand():
    spec = lrcore.shift(schedule=lrcore.linear(start=0.0, end=1.0, duration=4), offset=-2)
    assert_close(lrcore.evaluate(spec, range(8)), [0, 0, 0, 0.25, 0.5, 0.75, 1, 1], peak=1)


# ---- every -----------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 3, 10])
def test_every_samples_blocks(n):
    """inner(floor(t / N) N) over a cosine, and far away over the sawtooth."""
    inner = lrcore.cosine(start=0.9, end=0.05, duration=25)
    check_curve(lrcore.every(schedule=inner, every=n),
                lambda t: half_cosine(0.9, 0.05, 25)((t // n) * n), steps_for(40, n, 25))
    check_curve(lrcore.every(schedule=SAWTOOTH, every=n),
                lambda t: _sawtooth((t // n) * n), steps_for(30, n, 2 * n))


# ---- repeat ----------------------------------------------------------------------------

@pytest.mark.parametrize("decay", [1.0, 0.5, 0.93])
def test_repeat_oracle(decay):
    """inner(t mod P) * decay ** (t // P); the inner span defaults to the period."""
    p = 12
    spec = lrcore.repeat(schedule=lrcore.cosine(start=0.7, end=0.02), period=p, decay=decay)
    check_curve(spec, lambda t: half_cosine(0.7, 0.02, p)(t % p) * decay ** (t // p),
                steps_for(60, p, 2 * p, 3 * p))


def test_repeat_by_hand():
    spec = lrcore.repeat(schedule=lrcore.linear(start=1.0, end=0.0, duration=4), period=3,
                         decay=0.5)
    assert_close(lrcore.evaluate(spec, range(7)),
                 [1.0, 0.75, 0.5, 0.5, 0.375, 0.25, 0.25])


# ---- composition -----------------------------------------------------------------------

def test_deep_composition_oracle():
    """clip(scale(sequence[warmup, repeat(cosine)], by=0.5), min) step by step."""
    spec = lrcore.clip(min=0.01, schedule=lrcore.scale(by=0.5, schedule=lrcore.sequence(
        phases=[lrcore.linear(start=0.0, end=1.0, duration=6),
                lrcore.repeat(schedule=lrcore.cosine(start=1.0, end=0.0), period=10,
                              decay=0.8)])))

    def oracle(t):
        v = line(0.0, 1.0, 6)(t) if t < 6 else \
            half_cosine(1.0, 0.0, 10)((t - 6) % 10) * 0.8 ** ((t - 6) // 10)
        return max(0.5 * v, 0.01)

    check_curve(spec, oracle, steps_for(80, 6, 16, 26))
