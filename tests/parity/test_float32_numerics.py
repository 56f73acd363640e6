"""Float32 numerics (issue 17): the two-float building blocks of :mod:`lrcore.twofloat`
and the formulas that use them, held to 4 ulp.

* the building blocks in IEEE float32 (numpy) and under ``jax.jit`` (where XLA may fuse
  a product into a sum, ``fma``, and folds ``(c + x) - c`` into ``x``), against float64
  numpy;
* the formulas with a power or an exponential, at the extremes that validation accepts,
  on a float32 numpy backend (:class:`Float32Ops`: plain IEEE arithmetic, no
  compiler) and on every float32 backend that runs in this process (optax, mlx): every
  grid step within 4 ulp of ``float32(reference)`` plus the parity tolerance's absolute
  slack (``atol * peak``).

Oracles: float64 numpy, and :func:`lrcore.evaluate` (the float64 reference).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import lrcore
from lrcore import backends, parity, twofloat
from lrcore.ops import NumpyOps

ULPS = 4.0
ATOL = parity.DEFAULT_TOL["float32"][1]
IN_PROCESS = [b for b in parity.available_backends()
              if parity.dtype_of(b) == "float32" and backends.get(b).runs_here()]


class Float32Ops(NumpyOps):
    """The reference's numpy backend in float32: IEEE arithmetic step by step."""

    name = "numpy-float32"
    dtype = np.float32

    const = staticmethod(np.float32)

    def full(self, t, x):
        return np.full(np.shape(t), x, dtype=np.float32)

    def to_float(self, t):
        return np.asarray(t, dtype=np.float32)

    def table(self, values, integer=False):
        return np.asarray(values, dtype=np.int64 if integer else np.float32)


F32 = Float32Ops()
RNG = np.random.default_rng(17)


def _pair(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = x.astype(np.float32)
    return hi, (x - hi).astype(np.float32)


def _value(hi, lo) -> np.ndarray:
    return np.asarray(hi, np.float64) + np.asarray(lo, np.float64)


def _runners():
    """The building blocks run eagerly on float32 numpy, and jitted on jax."""
    out = [("numpy", F32, lambda f: f)]
    try:
        import jax

        from lrcore.adapters.optax import JaxOps
    except ImportError:
        return out
    return [*out, ("jax.jit", JaxOps(False), jax.jit)]


RUNNERS = _runners()


@pytest.mark.parametrize(("where", "ops", "run"), RUNNERS, ids=[r[0] for r in RUNNERS])
def test_two_prod_keeps_the_product(where, ops, run):
    a = RNG.uniform(-40, 40, 4000).astype(np.float32)
    b = (RNG.uniform(0.5, 1, 4000) * 10.0 ** RNG.uniform(-8, 2, 4000)).astype(np.float32)
    p, e = run(lambda a, b: twofloat.two_prod(ops, a, b))(a, b)
    exact = a.astype(np.float64) * b.astype(np.float64)
    assert np.max(np.abs(_value(p, e) - exact) / np.abs(exact)) <= 2.0**-34


@pytest.mark.parametrize(("where", "ops", "run"), RUNNERS, ids=[r[0] for r in RUNNERS])
@pytest.mark.parametrize("b", [3.0e38, -1.0e38, 2.0e35, 1.0e38 * (1 + 2.0**-23)])
def test_two_prod_by_a_constant_near_float32_max(where, ops, run, b):
    """A constant factor whose Veltkamp split would overflow (``b 2**12``; the start of
    an exponential at 1e38 drew it, under filterwarnings=error) is split from its
    significand instead: the pair is still the product."""
    a = RNG.uniform(0.25, 1, 1000).astype(np.float32)
    p, e = run(lambda a: twofloat.two_prod(ops, a, ops.const(b), b))(a)
    exact = a.astype(np.float64) * float(np.float32(b))
    assert np.all(np.isfinite(np.asarray(p)))
    assert np.max(np.abs(_value(p, e) - exact) / np.abs(exact)) <= 2.0**-34


@pytest.mark.parametrize(("where", "ops", "run"), RUNNERS, ids=[r[0] for r in RUNNERS])
def test_times_an_integer_step(where, ops, run):
    """``n k`` for steps up to 2**31 - 1 (past float32's integers), k = pi / (2 D)."""
    for d in (1000, 2**31 - 1):
        n = np.concatenate([[0, 1, 255, 256, 257, d], RNG.integers(0, d, 2000)]).astype(np.int32)
        k = math.pi / (2.0 * d)
        hi, lo = run(lambda n, d=d, k=k: twofloat.times(ops, k, d)(n))(n)
        exact = n.astype(np.float64) * k
        assert np.max(np.abs(_value(hi, lo) - exact) / np.maximum(exact, 1e-300)) <= 2.0**-44


@pytest.mark.parametrize(("where", "ops", "run"), RUNNERS, ids=[r[0] for r in RUNNERS])
def test_ratio_of_integers(where, ops, run):
    for d in (3, 1000003, 2**31 - 1):
        n = np.concatenate([[0, 1, d - 1, d], RNG.integers(0, d, 2000)]).astype(np.int32)
        hi, lo = run(lambda n, d=d: twofloat.from_ratio(ops, d, d)(n))(n)
        exact = n.astype(np.float64) / d
        assert np.max(np.abs(_value(hi, lo) - exact) / np.maximum(exact, 1e-300)) <= 2.0**-44


@pytest.mark.parametrize(("where", "ops", "run"), RUNNERS, ids=[r[0] for r in RUNNERS])
def test_log_of_a_pair(where, ops, run):
    """Absolute error below 2**-28 from 2**-40 to 1, relative error below 2**-31 from
    0.9 to 1 (where a power's complement ``1 - base**p`` needs it)."""
    x = np.concatenate([2.0 ** RNG.uniform(-40, 0, 4000), 1 - 10 ** RNG.uniform(-9, -1, 4000)])
    hi, lo = _pair(x)
    l_hi, l_lo = run(lambda h, lo: twofloat.log(ops, h, lo, 41))(hi, lo)
    exact = np.log(_value(hi, lo))
    err = np.abs(_value(l_hi, l_lo) - exact)
    assert np.max(err) <= 2.0**-28
    near = x > 0.9
    assert np.max(err[near] / np.abs(exact[near])) <= 2.0**-31


@pytest.mark.parametrize(("where", "ops", "run"), RUNNERS, ids=[r[0] for r in RUNNERS])
def test_sine_and_cosine_series(where, ops, run):
    a = RNG.uniform(0, math.pi / 4, 4000)
    hi, lo = _pair(a)
    angle = _value(hi, lo)
    s = run(lambda h, lo: twofloat.sin_small(ops, h, lo))(hi, lo)
    c = run(lambda h, lo: twofloat.cos_small(ops, h, lo))(hi, lo)
    assert np.max(np.abs(_value(*s) - np.sin(angle)) / np.sin(np.maximum(angle, 1e-30))) \
        <= 2.0**-28
    assert np.max(np.abs(_value(*c) - np.cos(angle))) <= 2.0**-26


@pytest.mark.parametrize(("where", "ops", "run"), RUNNERS, ids=[r[0] for r in RUNNERS])
def test_exp_and_expm1_of_a_pair(where, ops, run):
    y = -RNG.uniform(0, math.log(2.0), 4000)
    hi, lo = _pair(y)
    exact = -np.expm1(_value(hi, lo))
    got = np.asarray(run(lambda h, lo: twofloat.expm1_neg(ops, h, lo))(hi, lo), np.float64)
    assert np.max(np.abs(got - exact) / np.spacing(exact.astype(np.float32))) <= 2.0
    y = -RNG.uniform(0, 20, 4000)
    hi, lo = _pair(y)
    exact = np.exp(_value(hi, lo))
    got = np.asarray(run(lambda h, lo: twofloat.exp(ops, h, lo))(hi, lo), np.float64)
    assert np.max(np.abs(got - exact) / np.spacing(exact.astype(np.float32))) <= 3.0


# ---- the formulas at the extremes validation accepts ---------------------------------

EXTREMES = {
    "polynomial power 30": lrcore.polynomial(start=0.1, end=0.0, power=30.0, duration=5000),
    "polynomial power 1e4, long": lrcore.polynomial(start=0.5, end=1e-3, power=1e4,
                                                    duration=123456789),
    "polynomial power 7.3 rising": lrcore.polynomial(start=1e-4, end=0.3, power=7.3,
                                                     duration=3000),
    "polynomial power 0.3 rising": lrcore.polynomial(start=0.0, end=0.3, power=0.3,
                                                     duration=3000),
    "polynomial power 2.5 cycle": lrcore.polynomial(start=0.1, end=1e-5, power=2.5,
                                                    duration=700, cycle=True),
    "polynomial power -2.5": lrcore.polynomial(start=0.1, end=0.01, power=-2.5,
                                               duration=3000),
    "polynomial power -1, long": lrcore.polynomial(start=1e-3, end=0.0, power=-1.0,
                                                   duration=50_000_000),
    "polynomial power -25, to float32's top": lrcore.polynomial(start=1.0, end=0.0,
                                                                power=-25.0, duration=30),
    "polynomial power -1.5, real duration": lrcore.polynomial(start=0.1, end=0.0,
                                                              power=-1.5, duration="4001/4"),
    "cosine exponent 3": lrcore.cosine(start=1.0, end=0.0, exponent=3.0, duration=4000),
    "cosine exponent 3 rising": lrcore.cosine(start=0.0, end=1.0, exponent=3.0,
                                              duration=4000),
    "cosine exponent 0.37, longest": lrcore.cosine(start=0.2, end=1e-6, exponent=0.37,
                                                   duration=2**31 - 1),
    "cosine exponent 2.2 periodic": lrcore.cosine(start=0.2, end=1e-3, exponent=2.2,
                                                  duration=333, periodic=True),
    # the plain half cosine (exponent 1): sin(angle) ** 2 on every cosine phase
    "cosine plain": lrcore.cosine(start=0.08, end=8e-4, duration=1000),
    "cosine plain rising": lrcore.cosine(start=1e-4, end=0.3, duration=1234),
    "cosine plain, real duration": lrcore.cosine(start=0.1, end=0.0, duration="2000/3"),
    "cosine plain periodic, real": lrcore.cosine(start=0.2, end=1e-3, duration="333/2",
                                                 periodic=True),
    "cosine restarts": lrcore.cosine_restarts(start=0.1, end=1e-4, period=777),
    "cosine restarts, period_mult 1.5": lrcore.cosine_restarts(start=0.04, end=4e-4,
                                                               period=90, period_mult=1.5),
    "cosine restarts, real period": lrcore.cosine_restarts(start=0.05, end=0.0,
                                                           period="1001/3", peak_mult=0.9),
    "onecycle cos": lrcore.onecycle(peak=0.1, pct_start=0.25, div_factor=10.0,
                                    final_div_factor=100.0, duration=5000),
    "exponential smooth": lrcore.exponential(start=0.1, rate=0.96, every=100),
    "exponential staircase": lrcore.exponential(start=0.1, rate=0.37, every=10,
                                                staircase=True),
    "exponential staircase, bound": lrcore.exponential(start=1e-8, rate=0.9, every=50,
                                                       staircase=True, bound=1e-10),
    "step": lrcore.step(start=0.1576, factor=0.05654, every=30),
    "repeat decay": lrcore.repeat(schedule=lrcore.linear(start=0.1, end=0.05, duration=50),
                                  period=50, decay=0.21),
    "cyclic exp_range": lrcore.cyclic(low=1e-4, high=1e-2, up=100, mode="exp_range",
                                      gamma=0.998),
    "cyclic triangular2": lrcore.cyclic(low=1e-4, high=1e-2, up=10, mode="triangular2"),
}


def _beyond_slack(spec, values) -> tuple[float, int]:
    """The largest error in float32 ulps of the reference, once the absolute slack
    ``atol * peak`` is taken off, and its step."""
    t = lrcore.grid(spec, 20000)
    ref = lrcore.evaluate(spec, t)
    got = np.asarray(values(spec, t), dtype=np.float64)
    peak = float(np.max(np.abs(ref)))
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    excess = np.maximum(np.abs(got - ref) - ATOL * peak, 0.0) / ulp
    i = int(np.argmax(excess))
    return float(excess[i]), int(t[i])


def _numpy32(spec, t):
    return lrcore.compile_spec(spec, F32)(np.asarray(t))


def _backend(name):
    return lambda spec, t: parity.values(name, [spec], [t])[0]


VALUES = [("numpy-float32", _numpy32), *((b, _backend(b)) for b in IN_PROCESS)]


@pytest.mark.parametrize(("where", "values"), VALUES, ids=[v[0] for v in VALUES])
@pytest.mark.parametrize("name", sorted(EXTREMES))
def test_formula_within_4_ulp(name, where, values):
    spec = lrcore.Schedule(schedule=EXTREMES[name]).resolve()
    ulps, step = _beyond_slack(spec, values)
    assert ulps <= ULPS, f"{name} on {where}: {ulps:.2f} ulp at step {step}"


@pytest.mark.parametrize(("where", "values"), VALUES, ids=[v[0] for v in VALUES])
@pytest.mark.parametrize("name", [n for n in sorted(EXTREMES) if "power -" in n])
def test_negative_power_within_4_ulp_without_slack(name, where, values):
    """A negative power's peak (up to float32's top) would make the absolute slack
    ``atol * peak`` cover its start: held to 4 ulp of the reference at every grid step,
    no slack (the power's log is a two-float pair: y = p log(base) keeps its digits up
    to |y| = 88)."""
    spec = lrcore.Schedule(schedule=EXTREMES[name]).resolve()
    t = lrcore.grid(spec, 20000)
    ref = lrcore.evaluate(spec, t)
    got = np.asarray(values(spec, t), dtype=np.float64)
    ulps = np.abs(got - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    i = int(np.argmax(ulps))
    assert ulps[i] <= ULPS, f"{name} on {where}: {ulps[i]:.2f} ulp at step {t[i]}"


# Formulas that round once at the end on float32 backends: the terms are pairs (a line's
# slope and lower rate, a decay's power from a float64 table and a series), within an
# ulp of the reference, where the float formulas rounded each factor (up to 4.5 ulp).
ONE_ROUNDING = {
    "linear falling": lrcore.linear(start=0.7487, end=0.06456, duration=343),
    "linear rising": lrcore.linear(start=2.411e-06, end=0.9706, duration=515),
    "linear to 0, long": lrcore.linear(start=0.3, end=0.0, duration=3_000_017),
    "cyclic exp_range": lrcore.cyclic(low=0.001589, high=0.06544, up=122, down=177,
                                      mode="exp_range", gamma=0.994772),
    "cyclic exp_range dip": lrcore.cyclic(low=0.0002809, high=0.02651, up=33, down=266,
                                          mode="exp_range", gamma=0.999912, invert=True),
    "cyclic exp_range dip, gamma near 1": lrcore.cyclic(low=0.1044, high=4.486, up=51,
                                                        down=94, mode="exp_range",
                                                        gamma=0.999999, invert=True),
    "cyclic triangular2 dip, real steps": lrcore.cyclic(low=1e-3, high=0.06, up=2.5,
                                                        down=2.25, mode="triangular2",
                                                        invert=True),
    "repeat decay, many cycles": lrcore.repeat(schedule=lrcore.constant(value=0.3),
                                               period=3, decay=0.9931),
    "exponential smooth, long": lrcore.exponential(start=0.1, rate=0.999, every=7),
    "exponential growth to a bound": lrcore.exponential(start=6.255e-05, rate=1.418,
                                                        every=396, bound=0.02503, begin=16),
}


@pytest.mark.parametrize(("where", "values"), VALUES, ids=[v[0] for v in VALUES])
@pytest.mark.parametrize("name", sorted(ONE_ROUNDING))
def test_formula_rounds_about_once(name, where, values):
    spec = lrcore.Schedule(schedule=ONE_ROUNDING[name]).resolve()
    ulps, step = _beyond_slack(spec, values)
    assert ulps <= 1.5, f"{name} on {where}: {ulps:.2f} ulp at step {step}"


def test_a_short_staircase_is_the_reference_rounded_once():
    """A staircase decay draws its stairs from a float64 table on float32 backends (to
    step 850: past it the rates are float32 subnormals, which tensorflow flushes)."""
    spec = lrcore.Schedule(schedule=lrcore.exponential(start=0.1, rate=0.37, every=10,
                                                       staircase=True)).resolve()
    t = np.arange(851)
    want = lrcore.evaluate(spec, t).astype(np.float32)
    assert np.array_equal(_numpy32(spec, t), want)
    for b in IN_PROCESS:
        assert np.array_equal(np.asarray(parity.values(b, [spec], [t])[0], np.float32), want)
