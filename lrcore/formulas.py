"""Cancellation-free building blocks shared by several families.

A curve from ``a`` to ``b`` is written as ``low + height * x`` with ``low = min(a, b)``,
``height = |a - b| >= 0`` (folded in float64) and a weight ``x`` in ``[0, 1]`` computed
from an exact integer distance: the distance to the end ``D - t`` for a falling curve,
to the start ``t`` for a rising one. Both terms are non-negative, so float32 keeps a few
ulp wherever the curve is, rising or falling (the naive ``a + (b - a) * t / D`` loses all
digits of a falling curve near a zero end, ``end + (start - end) * w`` those of a rising
one near its start). Each builder runs once at compile time and returns ``t -> rate``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from . import twofloat

__all__ = ["angle_pair", "cosine_curve", "exp_pair", "exp_times", "exponent_bound", "growth",
           "interval_curve", "linear_curve", "power_mix", "power_of_log", "power_weights", "times"]

_MAX_STEP = 2**31 - 1  # lrcore.fields.MAX_STEP (formulas import no spec module)
# Floor for a log argument in a branch that is never taken when it matters (see below).
_TINY = 1e-30
# Where power_weights switches from exp(p log1p(-comp)) to power(base, p): measured
# best of 0.25, 0.4 and 0.5 on optax (a later switch meets log1p's 3-ulp region).
_SPLIT = 0.4
#: The longest decay that :func:`growth` draws from a float64 table on float32 backends.
_MAX_TABLE = 2048


def linear_curve(ops: Any, d: int, a: float, b: float) -> Callable[[Any], Any]:
    """``t -> a + (b - a) t / D`` on integer ``0 <= t <= D``.

    Float32 backends: ``low + n (height / D)`` with the slope as a pair whose high part
    makes ``n k_hi`` exact (:func:`_split_times`) and ``low`` as a pair, summed with
    :func:`twofloat.two_sum`: one rounding at the end, where ``low + height (n / D)``
    rounded the height, the quotient, the product and the sum (2.7 ulp on keras-jax,
    which a product of schedules adds to the other factors' errors)."""
    if twofloat.wanted(ops):
        if a >= b:
            low, slope, n_of = b, (a - b) / d, (lambda t: d - t)
        else:
            low, slope, n_of = a, (b - a) / d, (lambda t: t)
        scaled = _split_times(ops, slope, d)
        low_hi, low_lo = twofloat.pair(ops, low)

        def line(t):
            p_hi, p_lo = scaled(n_of(t))
            s, err = twofloat.two_sum(p_hi, low_hi)  # a constant first: XLA folds (c + x) - c
            return s + (err + (p_lo + low_lo))

        return line
    return _ramp(ops, d, a, b, float(d), sine=False)


def _ramp(ops: Any, d: int, a: float, b: float, k: float, sine: bool) -> Callable[[Any], Any]:
    """From ``a`` to ``b`` on integer ``0 <= t <= D``: ``low + height * w`` of the exact
    distance ``n``, to the end (``D - t``) falling, from the start (``t``) rising, with
    ``w = n / k`` (a line, ``k = D``) or ``sin(k n) ** 2`` (the half cosine in float64,
    ``k = pi / (2 D)``; see :func:`half_cosine`).

    The numpy reference runs the same operations in the same order in place on its
    block (``into``: one array, no temporaries), so its values are the expression's to
    the bit: ``n`` is an integer below 2**53 in either form, ``x * c == c * x``."""
    falling = a >= b
    low, height, c = ops.const(min(a, b)), ops.const(abs(a - b)), ops.const(k)
    if falling:
        def distance(t):
            return ops.to_float(d - t)
    else:
        def distance(t):
            return ops.to_float(t)
    if sine:
        def rate(t):
            s = ops.sin(c * distance(t))
            return low + height * (s * s)
    else:
        def rate(t):
            return low + height * (distance(t) / c)

    def into(t: np.ndarray, out: np.ndarray, shift: int = 0) -> None:
        out[...] = t  # exact, as the distance: integers below 2**53
        if falling:  # D - (t - shift)
            np.subtract(float(d + shift), out, out=out)
        elif shift:
            np.subtract(out, float(shift), out=out)
        if sine:
            np.multiply(out, c, out=out)
            np.sin(out, out=out)
            np.multiply(out, out, out=out)
        else:
            np.divide(out, c, out=out)
        np.multiply(out, height, out=out)
        np.add(out, low, out=out)

    return ops.in_place(rate, into)


def exp_times(ops: Any, c: float, last: int) -> Callable[[Any], Any]:
    """``k -> exp(k c)`` for integers ``0 <= k <= last`` and a float64 constant ``c``.
    On float32 backends ``k c`` is a two-float pair (:func:`twofloat.times`): a float
    argument carries the roundings of ``c`` and of ``k c``, ``|k c|`` times 2**-24
    each, into the result (12 ulp at ``exp(-8.6)``, a step decay's third drop). A decay
    (``c < 0``) is :func:`exp_pair`'s, rounded once."""
    if twofloat.wanted(ops) and c < 0.0:
        power = exp_pair(ops, c, last)

        def decayed(k):
            hi, lo = power(k)
            return hi + lo

        return decayed
    if twofloat.wanted(ops) and c != 0.0:
        kc = twofloat.times(ops, c, last)
        return lambda k: twofloat.exp(ops, *kc(k))
    k_c = ops.const(c)
    return lambda k: ops.exp(ops.to_float(k) * k_c)


def exp_pair(ops: Any, c: float, last: int) -> Callable[[Any], tuple[Any, Any]]:
    """Float32 backends: ``k -> exp(k c)`` as a normalized pair ``(hi, lo)``, for
    integers ``0 <= k <= last`` and a float64 constant ``c < 0`` (a decay), so that a
    caller multiplying it rounds once.

    A float ``exp`` is off by up to an ulp (XLA: 1.01) besides its argument's rounding.
    Here ``k = j B + r`` with blocks of ``B`` steps, ``B |c| <= 1/4`` (or ``B = 1``):
    ``exp(j B c)`` comes from a float64 table as two floats (at most ~900 entries:
    past ``exp(k c) < 2**-160`` the rate is float32's 0 for any rate up to 2**11, so
    ``k`` stops there), times ``1 + expm1(r c)``, with ``r c`` a pair and
    :func:`twofloat.expm1_neg`'s series, no float ``exp`` at all: about half an ulp in
    all. A step decay (``B = 1``) is the table itself."""
    k_zero = min(last, math.ceil(160.0 * math.log(2.0) / -c) + 1)
    # no longer than the k it sees: j B stays within int32 for the slowest decays
    block = max(1, min(int(0.25 / -c), k_zero))
    values = [math.exp(j * block * c) for j in range(k_zero // block + 1)]
    hi_values = [float(ops.dtype(v)) for v in values]
    table_hi = ops.table(hi_values)
    table_lo = ops.table([v - h for v, h in zip(values, hi_values)])
    if block == 1:
        def stairs(k: Any) -> tuple[Any, Any]:
            j = ops.minimum(k, k_zero)
            return ops.take(table_hi, j), ops.take(table_lo, j)

        return stairs
    rc = twofloat.times(ops, c, block)

    def power(k: Any) -> tuple[Any, Any]:
        k = ops.minimum(k, k_zero)
        j = ops.floordiv(k, block)
        g_hi, g_lo = ops.take(table_hi, j), ops.take(table_lo, j)
        y_hi, y_lo = rc(k - j * block)
        m = -twofloat.expm1_neg(ops, y_hi, y_lo)  # exp(r c) - 1, in [-0.23, 0]
        return twofloat._fast_two_sum(g_hi, g_lo + g_hi * m)

    return power


def growth(ops: Any, start: float, c: float, last: int,
           ceiling: float = math.inf) -> Callable[[Any], Any]:
    """``k -> start * exp(k c)`` for integers ``0 <= k <= last``, ``c`` folded in float64
    (``ceiling``: a value the caller clips the result to, for a bounded growth).

    A float32 ``exp`` is only as exact as its argument, whose rounding is ``|k c|`` times
    2**-24: a decay is then tiny against its start (parity's absolute slack takes it),
    but a growth by 1e10 was 1.1 times optax's tolerance off. A growth (``c > 0``) is
    therefore a float64 table of ``start * exp(j B c)`` for blocks of ``B >= 1`` steps
    with ``B c <= 1`` (or ``B = 1``), times ``exp((k - j B) c)``. The table has about as
    many entries as the total exponent: a few hundred at most, as the rate stays inside
    float32 (entries past ``ceiling`` are ``ceiling``: the caller clips there anyway)."""
    s, k_c = ops.const(start), ops.const(c)
    if start == 0.0:  # zero at every step: a growing exp must not overflow into 0 * inf
        return lambda k: ops.to_float(k) * s
    if c < 0.0 and twofloat.wanted(ops):
        # past k_zero the rate is below float32's smallest number: k stops there, so the
        # pair needs no split past 2**24, and a short decay is a float64 table
        tiny = float(np.finfo(ops.dtype).smallest_subnormal) / 2.0
        k_zero = min(last, math.ceil((math.log(start) - math.log(tiny)) / -c) + 1)
        if k_zero <= _MAX_TABLE:
            stairs = ops.table([start * math.exp(k * c) for k in range(k_zero + 1)])
            return lambda k: ops.take(stairs, ops.minimum(k, k_zero))
        power = exp_pair(ops, c, k_zero)
        s_hi, s_lo = twofloat.pair(ops, start)
        s_f = float(ops.dtype(start))

        def decayed(k):  # start * (hi + lo), the start a pair too: one rounding
            hi, lo = power(ops.minimum(k, k_zero))
            p, e = twofloat.two_prod(ops, hi, s_hi, s_f)
            return p + (e + (hi * s_lo + lo * s_hi))

        return decayed
    if c <= 0.0 or last * c <= 1.0:
        power = exp_times(ops, c, last)
        return lambda k: s * power(k)
    log_s = math.log(start)
    if twofloat.wanted(ops):
        return _growth_2f(ops, log_s, c, last, ceiling)
    block = max(1, int(1.0 / c))
    table = ops.table([min(math.exp(x) if x < 709 else math.inf, ceiling)
                       for x in (log_s + j * block * c for j in range(last // block + 1))])

    def grown(k):
        j = ops.floordiv(k, block)
        return ops.take(table, j) * ops.exp(ops.to_float(k - j * block) * k_c)

    return grown


def _growth_2f(ops: Any, log_s: float, c: float, last: int,
               ceiling: float) -> Callable[[Any], Any]:
    """:func:`growth` on float32 backends: blocks of ``B`` steps with ``B c <= 1/4`` (or
    ``B = 1``), each block's value a pair from the float64 table, times ``1 + expm1(r c)``
    from the series of the pair ``r c`` (as :func:`exp_pair`): rounded once, where a
    float ``exp`` of a rounded argument times a rounded table entry was 2.5 ulp."""
    block = max(1, int(0.25 / c))
    values = [min(math.exp(x) if x < 709 else math.inf, ceiling)
              for x in (log_s + j * block * c for j in range(last // block + 1))]
    hi_values = [float(ops.dtype(v)) if v < 3e38 else math.inf for v in values]
    table_hi = ops.table(hi_values)
    table_lo = ops.table([v - h if math.isfinite(h) else 0.0
                          for v, h in zip(values, hi_values)])
    rc = twofloat.times(ops, c, block)

    def grown(k: Any) -> Any:
        j = ops.floordiv(k, block)
        g_hi, g_lo = ops.take(table_hi, j), ops.take(table_lo, j)
        if block == 1:
            return g_hi + g_lo
        y_hi, y_lo = rc(k - j * block)
        m = -twofloat.expm1_neg(ops, y_hi, y_lo)  # exp(r c) - 1, in [0, 0.29)
        return g_hi + (g_lo + g_hi * m)

    return grown


def floor_ratio(ops: Any, t: Any, n: int | Fraction, last: int = _MAX_STEP) -> Any:
    """``floor(t / N)`` for integer steps ``0 <= t <= last`` and an exact number of steps
    ``N > 0`` whose quotient stays within int32 (``floor(last / N) <= 2**31 - 1``).

    ``N`` is first replaced by :func:`equivalent_ratio`, the simplest ``p/q`` with the
    same quotient at every such ``t`` (``p <= last``); then ``t = a p + r`` gives ``a q +
    floor(r q / p)``, the last term exact by :func:`mul_div`, every term within int32."""
    if isinstance(n, int):
        return ops.floordiv(t, n)
    if n > last:
        return ops.floordiv(t, _MAX_STEP + 1)  # 0 at every step
    m = equivalent_ratio(n, last)
    if isinstance(m, int):
        return ops.floordiv(t, m)
    p, q = m.numerator, m.denominator
    return ops.floordiv(t, p) * q + mul_div(ops, ops.mod(t, p), q, p)[0]


def floor_count(ops: Any, t: Any, n: int | Fraction, last: int = _MAX_STEP) -> Any:
    """``floor(t / N)`` as a float for integer steps ``0 <= t <= last`` and any exact
    ``N > 0``: below 1 step the count passes int32, so with ``N`` replaced by
    :func:`equivalent_ratio` ``p/q``, ``q = g p + h`` and ``t = a p + r`` it is the float
    ``t g`` plus the integer ``a h + floor(r h / p)`` (exact in float64 below 2**53)."""
    if isinstance(n, int) or n >= 1:
        return ops.to_float(floor_ratio(ops, t, n, last))
    m = equivalent_ratio(n, last)
    p, q = m.numerator, m.denominator
    g, h = divmod(q, p)
    rest = ops.floordiv(t, p) * h + mul_div(ops, ops.mod(t, p), h, p)[0]
    return ops.to_float(t) * ops.const(float(g)) + ops.to_float(rest)


def mul_div(ops: Any, r: Any, q: int, p: int) -> tuple[Any, Any]:
    """``(floor(r q / p), r q mod p)`` for integers ``0 <= r < p <= 2**31 - 1`` and a
    constant ``q >= 0``, exactly, each intermediate within int32 (the quotient itself
    must fit). ``q = g p + h`` gives ``r g`` plus ``r h / p``; while ``(p - 1) h`` fits,
    that is one division, else ``r h`` is built bit by bit from ``h``'s binary digits
    (double, then add ``r``), each time reduced mod ``p`` with its carry counted."""
    g, h = divmod(q, p)
    if (p - 1) * h <= _MAX_STEP:
        prod = r * h
        quot = ops.floordiv(prod, p)
        return (quot + r * g if g else quot), ops.mod(prod, p)
    zero = r - r
    rem, quot = zero, zero
    for bit in bin(h)[2:]:
        rem, carry = _add_mod(ops, rem, rem, p, zero)
        quot = quot + quot + carry
        if bit == "1":
            rem, carry = _add_mod(ops, rem, r, p, zero)
            quot = quot + carry
    return (quot + r * g if g else quot), rem


def _add_mod(ops: Any, a: Any, b: Any, p: int, zero: Any) -> tuple[Any, Any]:
    """``((a + b) mod p, carry)`` for ``0 <= a, b < p <= 2**31 - 1``: ``a + b`` may not fit
    int32, so the sum is ``a - (p - b)`` where that is >= 0, else ``a + b``."""
    if 2 * (p - 1) <= _MAX_STEP:
        s = a + b
        return ops.mod(s, p), ops.floordiv(s, p)
    over = a >= p - b
    return a - ops.where(over, p - b, zero - b), ops.where(over, zero + 1, zero)


def _neighbours(x: Fraction, bound: int) -> tuple[Fraction, Fraction | None, bool]:
    """The closest fractions with denominators ``<= bound`` strictly below and above
    ``x > 0`` (above: None for none), and whether ``x`` is one itself: a Stern–Brocot
    descent toward ``x``, each run of same-side steps taken at once."""
    lp, lq, rp, rq = 0, 1, 1, 0
    while True:
        mp, mq = lp + rp, lq + rq
        if mq > bound:
            return Fraction(lp, lq), (Fraction(rp, rq) if rq else None), False
        m = Fraction(mp, mq)
        if m == x:  # the chains toward x from its two parents
            kl, kr = (bound - lq) // mq, (bound - rq) // mq
            above = Fraction(rp + kr * mp, rq + kr * mq) if rq or kr else None
            return Fraction(lp + kl * mp, lq + kl * mq), above, True
        if m < x:  # right steps: the largest j with (l + j r) < x, within the bound
            j = math.ceil((x * lq - lp) / (rp - x * rq)) - 1
            if rq:
                j = min(j, (bound - lq) // rq)
            lp, lq = lp + j * rp, lq + j * rq
        else:
            j = math.ceil((rp - x * rq) / (x * lq - lp)) - 1
            j = min(j, (bound - rq) // lq)
            rp, rq = rp + j * lp, rq + j * lq


def simplest_between(lo: Fraction, hi: Fraction | None, lo_closed: bool,
                     hi_closed: bool) -> Fraction:
    """The simplest fraction (least denominator, then numerator) in the interval from
    ``lo >= 0`` to ``hi`` (None: no upper end), each end closed or open; the interval
    must hold one. A continued-fraction descent: the least integer in it, else the
    integer part shared by both ends plus the reciprocal of the simplest fraction
    between the reciprocals of their fractional parts."""
    c = math.floor(lo)
    if not (lo_closed and lo == c):
        c += 1
    if hi is None or c < hi or (c == hi and hi_closed):
        return Fraction(c)
    base = math.floor(lo)
    low, high = lo - base, hi - base
    inner = simplest_between(1 / high, 1 / low if low else None, hi_closed, lo_closed)
    return base + 1 / inner


def simplest_rounding_to(x: float) -> Fraction:
    """The simplest fraction that float64 rounds to ``x`` (finite, > 0): the simplest in
    the half-way interval to its neighbours, closed when ``x``'s last bit is even (ties go
    to even)."""
    lo = (Fraction(x) + Fraction(math.nextafter(x, 0.0))) / 2
    hi = (Fraction(x) + Fraction(math.nextafter(x, math.inf))) / 2
    even = int(math.frexp(x)[0] * 2**53) % 2 == 0
    return simplest_between(lo, hi, even, even)


def equivalent_ratio(n: Fraction, last: int, ceil: bool = False) -> int | Fraction:
    """The simplest ``M`` with ``floor(t / M) == floor(t / n)`` (``ceil``: the ceilings)
    for every integer ``0 <= t <= last``, for ``0 < n <= last``; its numerator is at most
    ``last``. A quotient ``floor(t / n) >= k`` means ``k / t <= 1 / n``, so two lengths
    agree exactly when no ``k / t`` with ``1 <= t <= last`` separates their reciprocals
    (boundaries included on the side the rule says): ``1 / M`` is the simplest fraction
    between the neighbours of ``1 / n`` among those with denominators ``<= last``. A
    decimal ``333.3333333333333`` (staircase) is ``1000/3`` there."""
    x = 1 / Fraction(n)
    below, above, inside = _neighbours(x, last)
    if ceil:  # k / t >= x: the interval (below, x] or (below, above]
        y = simplest_between(below, x if inside else above, False, True)
    else:  # k / t <= x: [x, above) or [below, above)
        y = simplest_between(x if inside else below, above, True, False)
    m = 1 / y
    return int(m) if m.denominator == 1 else m


def times(ops: Any, k: float, d: int) -> Callable[[Any], Any]:
    """``n -> n k`` for integers ``0 <= n <= d``, ``k`` folded in float64 (``1 / D``,
    ``pi / (2 D)``) and split into its float32 rounding plus the rest, so the constant
    adds no bias that a power would amplify. Past the float's integers (2**24 in
    float32) ``n`` is split into a multiple of 256 and a rest, each exact."""
    k_hi = float(ops.dtype(k))
    c, c_lo = ops.const(k_hi), ops.const(k - k_hi)
    if k_hi == k:
        def scaled(x):
            return x * c
    else:
        def scaled(x):
            return x * c + x * c_lo
    if d <= 2 ** (np.finfo(ops.dtype).nmant + 1):
        return lambda n: scaled(ops.to_float(n))

    def split(n):  # hi: at most 23 significant bits below 2**31
        hi = ops.floordiv(n, 256) * 256
        return ops.to_float(hi) * c + ops.to_float(n - hi) * c + ops.to_float(n) * c_lo

    return split


def power_weights(ops: Any, base: Any, comp: Any, p: float, root: Any = None,
                  rising: bool = True) -> Any:
    """``base ** p`` (``rising`` False) or ``1 - base ** p`` (True), for ``0 <= base <=
    1`` given ``base`` and ``comp = 1 - base``, both accurate (``root``: a ``sqrt(base)``
    the caller has unrounded, as the cosine does).

    ``power(base, p)`` multiplies the rounding e of ``base`` by ``p`` (a float32
    polynomial of power 30 lost 60 ulp). Near the start (``comp <= 0.4``) the weight is
    ``exp(p log1p(-comp))`` instead: an error e of ``comp`` moves it by about
    ``|log w| e`` whatever ``p``, and where ``|log w|`` is large the parity tolerance's
    absolute slack takes over. Further on ``power(base, p)`` is more accurate (no log to
    round, ``p <= 2 |log w|``). ``1 - w`` is ``1 - w`` while ``w <= 1/2`` and
    ``-expm1(p log(base))`` above it, where it would cancel."""
    split = ops.const(_SPLIT)
    near = comp <= split
    p_c = ops.const(p)
    log_near = ops.log1p(-ops.minimum(comp, split))  # the clamp bites only where not near
    if root is None:
        far = ops.power(base, p_c)
    else:
        far = ops.power(root, ops.const(2.0 * p))
    w = ops.where(near, ops.exp(p_c * log_near), far)
    if not rising:
        return w
    if root is None:
        log_far = ops.log(ops.maximum(base, ops.const(_TINY)))
    else:
        log_far = ops.const(2.0) * ops.log(ops.maximum(root, ops.const(_TINY)))
    # w > 1/2 implies base > 2**(-1/p) > 0: the floor above never bites where it is used
    log_w = p_c * ops.where(near, log_near, log_far)
    half = ops.const(0.5)
    return ops.where(w <= half, ops.const(1.0) - w, -ops.expm1(log_w))


def power_of_log(ops: Any, low: Any, height: Any, p: float, rising: bool) -> Callable[..., Any]:
    """Float32 backends: ``(log_hi, log_lo, zero) -> low + height * w`` with ``w =
    base ** p`` (falling) or ``1 - base ** p`` (rising), from ``log(base)`` as a
    two-float pair (``zero``, if given: where ``base`` is 0, and ``w`` is 0).

    ``y = p log(base)`` is a pair too, so the power keeps the digits that a float
    ``exp(p log(base))`` or ``power(base, p)`` loses (an error ``e`` in ``y`` is an error
    ``e`` relative in ``w``; ``|y|`` up to ~7 matters, with ``p`` up to the hundreds).
    ``w = exp(y_hi) (1 + y_lo)``; its complement ``1 - w`` while ``w <= 1/2`` and
    ``-expm1(y)`` (a series on the pair) above it, where ``1 - w`` would cancel."""
    zero_c, one = ops.const(0.0), ops.const(1.0)

    def rate(log_hi: Any, log_lo: Any, zero: Any = None) -> Any:
        y_hi, y_lo = twofloat.mul_const(ops, log_hi, log_lo, p)
        w = twofloat.exp(ops, y_hi, y_lo)
        if zero is not None:
            w = ops.where(zero, zero_c, w)
        if rising:
            w = ops.where(y_hi < ops.const(-math.log(2.0)), one - w,
                          twofloat.expm1_neg(ops, y_hi, y_lo))
            if zero is not None:
                w = ops.where(zero, one, w)
        return low + height * w

    return rate


def exponent_bound(p: float, bits: int) -> int:
    """The largest ``k`` that :func:`twofloat.log` must scale out of a base ``2**-k``
    for ``base ** p``: past ``2**(-150 / p)`` the power is below float32's smallest
    number, and the base is at least ``2**-bits`` anyway (a negative ``p``: the power
    grows as the base falls, and every base down to ``2**-bits`` matters)."""
    if p < 0:
        return bits
    return max(1, min(bits, math.ceil(160.0 / p) + 2))


def power_mix(ops: Any, a: float, b: float, p: float) -> Callable[[Any, Any], Any]:
    """``(base, comp) -> a * base**p + b * (1 - base**p)`` for ``base`` falling from 1
    to 0 and ``comp = 1 - base`` (both accurate): the lower rate plus a non-negative
    height times ``base**p`` (falling) or its complement (rising), from
    :func:`power_weights`."""
    falling = a >= b
    low, height = ops.const(min(a, b)), ops.const(abs(a - b))
    if p == 1.0:
        return lambda base, comp: low + height * (base if falling else comp)
    return lambda base, comp: low + height * power_weights(ops, base, comp, p,
                                                           rising=not falling)


def half_cosine(ops: Any, angle: Any, lo: Any = None) -> Any:
    """The half-cosine weight ``(1 + cos(pi x)) / 2`` as ``sin(angle) ** 2``, with
    ``angle = pi / 2 * (distance to the far end) / length`` in ``[0, pi/2]``: the one
    form every cosine phase uses (``cosine``, ``onecycle``, ``cosine_restarts``), since
    the sine of a small exact distance does not cancel where the weight is near 0 or 1.

    Float32 backends (``lo``: the angle's low part, from :func:`angle_pair`, if known):
    a float ``sin`` squared doubles the angle's rounding and the sine's own (XLA 0.56,
    mlx 1.14 ulp), 4.9 ulp in all. Here the angle ``u`` is at most ``pi/4`` (above it,
    ``1 - sin(pi/2 - angle) ** 2``, ``pi/2 - angle`` exact by Sterbenz plus pi/2's low
    part) and ``sin(u) ** 2 = (1 - cos 2u) / 2`` is its series ``z - z**2/3 + 2 z**3/45
    - ...`` in ``z = (u + lo)**2`` (through ``z**6``; the next term is below 2**-27)."""
    if not twofloat.wanted(ops):
        s = ops.sin(angle)
        return s * s
    big = angle > ops.const(math.pi / 4.0)
    pio2_hi, pio2_lo = twofloat.pair(ops, math.pi / 2.0)
    u = ops.where(big, pio2_hi - angle, angle)  # pio2_hi - angle: exact (Sterbenz)
    if lo is None:
        u_lo = ops.where(big, pio2_lo, ops.const(0.0))
    else:
        u_lo = ops.where(big, pio2_lo - lo, lo)
    z = u * u + (u + u) * u_lo  # (u + u_lo) ** 2 to first order
    q = ops.const(-1.0 / 233887.5)
    for c in (2.0 / 14175.0, -1.0 / 315.0, 2.0 / 45.0):
        q = ops.const(c) + z * q
    v = z + z * z * (ops.const(-1.0 / 3.0) + z * q)
    return ops.where(big, ops.const(1.0) - v, v)


def angle_pair(ops: Any, k: float, last: int,
               offset: float = 0.0) -> Callable[[Any], tuple[Any, Any]]:
    """``n -> ((n + offset) k, lo)`` for integers ``0 <= n <= last`` and float64
    constants ``k`` (``pi / (2 D)``) and ``offset`` (a real distance's fraction): the
    angle that :func:`half_cosine` takes. The float64 reference gets ``k n`` (plus
    ``offset``, rounded once) and no low part, as it always did. Float32 backends get
    the angle as a pair: ``k``'s high part has ``24 - bits(last)`` significant bits, so
    ``n k_hi`` is exact, and ``n k_lo`` is the rest (past 2**20 steps:
    :func:`twofloat.times`); ``offset k`` is a constant pair added exactly."""
    h = ops.const(k)
    if not twofloat.wanted(ops):
        if offset == 0.0:
            return lambda n: (h * ops.to_float(n), None)
        off = ops.const(offset)
        return lambda n: (h * (ops.to_float(n) + off), None)
    base = _split_times(ops, k, last)
    if offset == 0.0:
        return base
    c_hi, c_lo = twofloat.pair(ops, offset * k)

    def shifted(n: Any) -> tuple[Any, Any]:
        hi, lo = base(n)
        s, e = twofloat.two_sum(hi, c_hi)
        return twofloat.two_sum(s, e + (lo + c_lo))

    return shifted


def _split_hi(k: float, last: int) -> float:
    """``k`` rounded to ``24 - bits(last)`` significant bits: ``n k_hi`` is exact in
    float32 for integers ``|n| <= last < 2**20``."""
    bits = max(1, int(last).bit_length())
    mant, ex = math.frexp(k)
    return math.ldexp(round(mant * 2.0 ** (24 - bits)), ex - (24 - bits))


def _split_times(ops: Any, k: float, last: int) -> Callable[[Any], tuple[Any, Any]]:
    """Float32: ``n -> n k`` as a normalized pair, for integers ``|n| <= last``."""
    if int(last).bit_length() > 20:
        return twofloat.times(ops, k, last)
    k_hi = _split_hi(k, last)
    hi_c, lo_c = ops.const(k_hi), ops.const(k - k_hi)

    def scaled(n: Any) -> tuple[Any, Any]:
        x = ops.to_float(n)
        return twofloat._fast_two_sum(x * hi_c, x * lo_c)

    return scaled


def cosine_curve(ops: Any, d: int | Fraction, a: float, b: float,
                 p: float = 1.0) -> Callable[[Any], Any]:
    """Half a cosine from ``a`` to ``b`` on integer ``0 <= t <= D``:
    ``w = ((1 + cos(pi t / D)) / 2) ** p``, rate ``a w + b (1 - w)``.

    ``(1 + cos(pi x)) / 2 == sin(pi (D - t) / (2 D)) ** 2`` and
    ``(1 - cos(pi x)) / 2 == sin(pi t / (2 D)) ** 2``: each sine takes a small, exact
    integer distance, so a falling curve needs one sine (of the distance to the end), a
    rising one one sine (of the distance to the start), and neither cancels. With an
    exponent, :func:`power_weights` takes ``cos^2`` as ``s_end^2`` (powered as
    ``s_end^(2p)``, one rounding fewer) and ``sin^2`` as ``s_start^2``. Even so a power
    multiplies the sine's own rounding: validation caps the cosine's exponent (see
    ``lrcore/nodes/cosine.py``). A real ``D`` (with an exponent) takes the distance to the
    end as the exact integer ``floor(D) - t`` plus a constant angle.
    """
    if p != 1.0 and twofloat.wanted(ops):
        return _cosine_power_2f(ops, d, a, b, p)
    if not isinstance(d, int):
        d_int = math.floor(d)
        angle = times(ops, math.pi / (2.0 * float(d)), d_int)
        rest = ops.const(math.pi * float((d - d_int) / d) / 2.0)
        return _powered(ops, lambda t: angle(d_int - t) + rest, angle, a, b, p)
    if p == 1.0 and not twofloat.wanted(ops):
        return _ramp(ops, d, a, b, math.pi / (2.0 * d), sine=True)
    if p == 1.0:
        angle = angle_pair(ops, math.pi / (2.0 * d), d)
        if a >= b:
            low, height = ops.const(b), ops.const(a - b)

            def falling(t):
                return low + height * half_cosine(ops, *angle(d - t))

            return falling
        low, height = ops.const(a), ops.const(b - a)

        def rising(t):
            return low + height * half_cosine(ops, *angle(t))

        return rising
    angle = times(ops, math.pi / (2.0 * d), d)
    return _powered(ops, lambda t: angle(d - t), angle, a, b, p)


def _powered(ops: Any, to_end: Callable[[Any], Any], from_start: Callable[[Any], Any],
             a: float, b: float, p: float) -> Callable[[Any], Any]:
    """The cosine of :func:`cosine_curve` from the angles of the distances to the end and
    from the start."""
    low, height = ops.const(min(a, b)), ops.const(abs(a - b))

    def powered(t):
        s_end = ops.sin(to_end(t))
        s_start = ops.sin(from_start(t))
        return low + height * power_weights(ops, s_end * s_end, s_start * s_start, p,
                                            root=s_end, rising=a < b)

    return powered


def interval_curve(ops: Any, s: Any, e: Any, a: float, b: float,
                   anneal: str) -> Callable[[Any], Any]:
    """From rate ``a`` to ``b`` over the real interval ``[s, e]`` of integer steps ``t``
    (``s``, ``e``: exact Fractions or floats; ``anneal``: ``"cos"`` or ``"linear"``).

    The distance to the end (falling) or from the start (rising) is an exact integer
    difference plus a constant fraction, so float32 keeps it to the last bit; the curve
    is the lower rate plus a non-negative height times a weight of that distance. An
    end past the step domain (a cosine over 1e10 steps) is anchored at 2**31 - 1: the
    integer part stays in int32 and the rest is one float constant."""
    s_int = min(math.floor(s), _MAX_STEP)
    e_int = min(math.floor(e), _MAX_STEP)
    s_frac, e_frac = ops.const(float(s - s_int)), ops.const(float(e - e_int))
    falling = a >= b
    low, height = ops.const(min(a, b)), ops.const(abs(a - b))

    def distance(t):
        if falling:
            return ops.to_float(e_int - t) + e_frac
        return ops.to_float(t - s_int) - s_frac

    if anneal == "cos" and twofloat.wanted(ops):
        k = math.pi / (2.0 * float(e - s))
        last = e_int - s_int + 1
        if falling:
            angle = angle_pair(ops, k, last, float(e - e_int))
            return lambda t: low + height * half_cosine(ops, *angle(e_int - t))
        angle = angle_pair(ops, k, last, -float(s - s_int))
        return lambda t: low + height * half_cosine(ops, *angle(t - s_int))
    if anneal == "cos":
        h = ops.const(math.pi / (2.0 * float(e - s)))

        def cos_phase(t):
            return low + height * half_cosine(ops, h * distance(t))

        return cos_phase
    length = ops.const(float(e - s))
    return lambda t: low + height * (distance(t) / length)


def _cosine_power_2f(ops: Any, d: int | Fraction, a: float, b: float,
                     p: float) -> Callable[[Any], Any]:
    """:func:`cosine_curve` with an exponent, on float32 backends: ``w = s_end ** (2 p)``
    with ``s_end = sin(pi (D - t) / (2 D))`` as a two-float pair (its angle as a pair,
    then the sine's series where the angle is at most pi/4 and the cosine's series of
    the complementary angle ``pi t / (2 D)`` above), so the power does not multiply a
    float sine's rounding by ``2 p``; ``log(s_end ** 2)`` then feeds
    :func:`power_of_log`. At ``t = D`` (a periodic wave's trough) the weight is 0. A real
    ``D`` takes the angle to the end as that of the exact integer ``floor(D) - t`` plus a
    constant pair (the angle of ``D - floor(D)``)."""
    d_int = math.floor(d)
    frac = Fraction(d) - d_int
    angle = twofloat.times(ops, math.pi / (2.0 * float(d)), d_int)
    rate = power_of_log(ops, ops.const(min(a, b)), ops.const(abs(a - b)), p, rising=a < b)
    half = math.floor(Fraction(d) / 2 - frac)  # n <= half: the angle to the end <= pi/4
    bits = d_int.bit_length() + 1
    if frac:  # the smallest angle to the end is frac pi / (2 D)
        bits = max(bits, math.ceil(math.log2(2.0 * float(d) / (math.pi * float(frac)))) + 2)
        rest = twofloat.pair(ops, math.pi * float(frac / d) / 2.0)
    bound = exponent_bound(2.0 * p, max(1, bits))

    def powered(t: Any) -> Any:
        n = d_int - t
        e_hi, e_lo = angle(n)
        if frac:
            e_hi, e_err = twofloat.two_sum(e_hi, rest[0])
            e_lo = e_err + (e_lo + rest[1])
        s_hi, s_lo = angle(t)
        near = n <= half
        sin_hi, sin_lo = twofloat.sin_small(ops, e_hi, e_lo)
        cos_hi, cos_lo = twofloat.cos_small(ops, s_hi, s_lo)
        hi = ops.where(near, sin_hi, cos_hi)
        lo = ops.where(near, sin_lo, cos_lo)
        zero = n < 0 if frac else n <= 0
        l_hi, l_lo = twofloat.log(ops, ops.where(zero, ops.const(1.0), hi), lo, bound)
        return rate(ops.const(2.0) * l_hi, ops.const(2.0) * l_lo, zero)

    return powered
