"""Two-float arithmetic: a value carried as an unevaluated sum ``hi + lo`` of two floats of
the backend's dtype, for the few formulas whose float32 result would otherwise amplify a
rounding (a power ``base ** p`` multiplies the relative error of ``base`` and of
``log(base)`` by ``p``; ``exp(k c)`` the error of ``k c`` by one).

The building blocks are the classic error-free transformations: :func:`two_sum`
(Knuth) and :func:`two_prod` (Dekker, with Veltkamp's splitting, no fused multiply-add
needed). They use only the operators of :data:`lrcore.ops.OPERATORS` and hold under
XLA and MLX, which do not reassociate floating-point arithmetic (the parity suite would
see it: every float32 backend is checked against the float64 reference to a few ulp).

Only float32 backends take these paths (:func:`wanted`): float64 has digits to spare
for the parity tolerance, and the reference keeps its plain formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["cos_small", "div_int", "exp", "expm1_neg", "from_ratio", "log", "mul_const", "pair",
           "sin_small", "times", "two_prod", "two_sum", "wanted"]

#: ln 2 with 16 significant bits (``k ln2_hi`` is exact for integers ``|k| < 2**8``)
#: and the float64 rest.
_LN2_HI = 0.693145751953125
_LN2_LO = math.log(2.0) - _LN2_HI


def wanted(ops: Any) -> bool:
    """Whether ``ops`` computes in float32 (or narrower): the two-float paths are used."""
    return np.finfo(ops.dtype).nmant <= 23


def pair(ops: Any, x: float) -> tuple[Any, Any]:
    """A float64 constant as ``(hi, lo)`` in the backend's dtype."""
    hi = float(ops.dtype(x))
    return ops.const(hi), ops.const(x - hi)


def two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    """``a + b`` as ``(s, e)`` with ``s = fl(a + b)`` and ``s + e == a + b`` exactly."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _fast_two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    """:func:`two_sum` for ``|a| >= |b|`` (or ``a == 0``)."""
    s = a + b
    return s, b - (s - a)


def _split(ops: Any, a: Any) -> tuple[Any, Any]:
    """Veltkamp: ``a = hi + lo``, each with at most half the significand's bits. The
    factor ``2**s + 1`` is applied as ``a 2**s + a`` (an exact product, then a sum), so
    a compiler that fuses a product into the following sum (XLA does: ``fma``) cannot
    change the split."""
    t = a * ops.const(float(2 ** ((np.finfo(ops.dtype).nmant + 2) // 2))) + a
    hi = t - (t - a)
    return hi, a - hi


def _split_const(ops: Any, b: float) -> tuple[Any, Any]:
    """:func:`_split` of a constant, at build time (numpy, in the backend's dtype)."""
    dt = ops.dtype
    b = dt(b)
    shift = (np.finfo(dt).nmant + 2) // 2
    if abs(float(b)) >= float(np.finfo(dt).max) / 2.0 ** (shift + 1):
        # b 2**s would overflow: the same split from b's significand, in float64
        m, e = math.frexp(float(b))
        hi = math.ldexp(round(math.ldexp(m, np.finfo(dt).nmant + 1 - shift)),
                        e - (np.finfo(dt).nmant + 1 - shift))
        return ops.const(hi), ops.const(float(b) - hi)
    t = b * dt(2 ** shift) + b
    hi = t - (t - b)
    return ops.const(float(hi)), ops.const(float(b - hi))


def two_prod(ops: Any, a: Any, b: Any, b_const: float | None = None) -> tuple[Any, Any]:
    """``a * b`` as ``(p, e)``, ``p + e`` within about 2**-12 ulp of ``a b`` (Dekker's
    product of the halves of ``a`` and ``b``; no overflow for ``|a|, |b| < 2**100``).

    Every product here is exact and ``p`` is a sum of them, not the rounded ``a * b``:
    a fused multiply-add can then only round the same exact values. With
    ``p = fl(a b)``, XLA fused a copy of ``p`` into a later sum (``fma``) and the pair
    lost an ulp of ``p`` under ``jax.jit``. ``b_const``: ``b``'s value when it is a
    constant (split at build time)."""
    ah, al = _split(ops, a)
    bh, bl = _split(ops, b) if b_const is None else _split_const(ops, b_const)
    hh = ah * bh
    mid = ah * bl + al * bh
    p = hh + mid
    return p, ((hh - p) + mid) + al * bl


def mul_const(ops: Any, hi: Any, lo: Any, x: float) -> tuple[Any, Any]:
    """``(hi + lo) * x`` for a float64 constant ``x``, as a normalized pair."""
    x_hi, x_lo = pair(ops, x)
    p, e = two_prod(ops, hi, x_hi, float(x_hi))
    return _fast_two_sum(p, e + (lo * x_hi + hi * x_lo))


def from_ratio(ops: Any, d: int, last: int) -> Callable[[Any], tuple[Any, Any]]:
    """``n -> n / d`` as a pair, for integer steps ``0 <= n <= last`` (``d >= 1``): the
    float quotient, then the exact residual ``n - q d`` divided by ``d``."""
    c_hi, c_lo = pair(ops, 1.0 / d)
    d_hi = float(ops.dtype(d))
    dh, dl = ops.const(d_hi), ops.const(float(d - d_hi))  # d - d_hi: a small integer
    wide = last > 2 ** (np.finfo(ops.dtype).nmant + 1)

    def quotient(n: Any) -> tuple[Any, Any]:
        if wide:  # n as a multiple of 256 plus a rest, each exact
            top = ops.floordiv(n, 256) * 256
            nh, nl = ops.to_float(top), ops.to_float(n - top)
        else:
            nh, nl = ops.to_float(n), ops.const(0.0)
        q = (nh + nl) * c_hi + (nh + nl) * c_lo
        p, e = two_prod(ops, q, dh, d_hi)
        r = (((nh - p) + nl) - e) - q * dl  # nh - p: exact (Sterbenz)
        return _fast_two_sum(q, r * c_hi)

    return quotient


def div_int(ops: Any, hi: Any, lo: Any, c: Any) -> tuple[Any, Any]:
    """``(hi + lo) / c`` for an exact float ``c >= 1`` holding an integer."""
    q = hi / c
    p, e = two_prod(ops, q, c)
    return _fast_two_sum(q, (((hi - p) - e) + lo) / c)


def log(ops: Any, hi: Any, lo: Any, smallest_exponent: int = 149) -> tuple[Any, Any]:
    """``log(hi + lo)`` as a pair, for ``0 < hi + lo <= 1`` (``hi`` at least
    ``2**-smallest_exponent``, the caller's bound; below it the result is only finite).

    ``x = 2**-k m`` with ``m`` in ``[1/sqrt 2, sqrt 2)`` (exact scalings by powers of 2),
    ``log m = 2 atanh(s)`` with ``s = (m - 1) / (m + 1)`` as a pair and the series
    ``2 s + 2 s**3 (1/3 + s**2/5 + ...)`` (``|s| <= 0.172``, 6 terms: the next one is
    below 2**-36), then ``- k ln 2`` with a 16-bit ``ln2_hi``. Absolute error about
    2**-29, and 2**-31 relative from 0.9 to 1 (``k = 0``): ``p log x`` keeps its
    digits wherever ``x ** p`` is not negligible (``|p log x|`` up to ~20)."""
    one, zero = ops.const(1.0), ops.const(0.0)
    k = zero
    step = 1
    while step * 2 <= min(smallest_exponent, 64):  # 2**128 is not a float32
        step *= 2
    while step >= 1:  # binary search for the exponent, largest scaling first
        small = hi < ops.const(2.0 ** -step)
        scale = ops.const(2.0 ** step)
        hi = ops.where(small, hi * scale, hi)
        lo = ops.where(small, lo * scale, lo)
        k = ops.where(small, k + ops.const(float(step)), k)
        step //= 2
    small = hi < ops.const(math.sqrt(0.5))  # m in [1/sqrt 2, 1]
    hi = ops.where(small, hi * ops.const(2.0), hi)
    lo = ops.where(small, lo * ops.const(2.0), lo)
    k = ops.where(small, k + one, k)
    num_hi, num_lo = two_sum(hi - one, lo)  # hi - 1: exact (Sterbenz)
    den_hi, den_lo = two_sum(hi, one)
    den_lo = den_lo + lo
    s = num_hi / den_hi
    p, e = two_prod(ops, s, den_hi)
    s_lo = ((((num_hi - p) - e) + num_lo) - s * den_lo) / den_hi
    z = s * s
    tail = ops.const(1.0 / 13.0)
    for n in (11, 9, 7, 5, 3):
        tail = ops.const(1.0 / n) + z * tail
    tail = ops.const(2.0) * s * z * tail
    l_hi, l_lo = _fast_two_sum(ops.const(2.0) * s, ops.const(2.0) * s_lo + tail)
    ln2_hi, ln2_lo = ops.const(_LN2_HI), ops.const(_LN2_LO)
    t_hi, t_lo = two_sum(l_hi, -(k * ln2_hi))  # k ln2_hi: exact
    return _fast_two_sum(t_hi, t_lo + (l_lo - k * ln2_lo))


def times(ops: Any, k: float, last: int) -> Callable[[Any], tuple[Any, Any]]:
    """``n -> n k`` as a pair, for integer steps ``0 <= n <= last`` and a float64
    constant ``k`` (an angle ``n pi / (2 D)``)."""
    k_hi, k_lo = pair(ops, k)
    wide = last > 2 ** (np.finfo(ops.dtype).nmant + 1)

    def scaled(n: Any) -> tuple[Any, Any]:
        if wide:  # n as a multiple of 256 plus a rest, each exact
            top = ops.floordiv(n, 256) * 256
            nh, nl = ops.to_float(top), ops.to_float(n - top)
            p, e = two_prod(ops, nh, k_hi, float(k_hi))
            q, f = two_prod(ops, nl, k_hi, float(k_hi))
            s, g = two_sum(p, q)
            return _fast_two_sum(s, g + (e + f) + (nh + nl) * k_lo)
        nh = ops.to_float(n)
        p, e = two_prod(ops, nh, k_hi, float(k_hi))
        return _fast_two_sum(p, e + nh * k_lo)

    return scaled


def sin_small(ops: Any, hi: Any, lo: Any) -> tuple[Any, Any]:
    """``sin(hi + lo)`` as a pair for ``0 <= hi + lo <= pi/4``: ``a - a**3/6`` in
    two-float, the series' rest (through ``a**11/11!``; the next term is below 2**-37)
    in float, and ``lo cos(hi)`` for the low part."""
    z, z_lo = two_prod(ops, hi, hi)
    c, c_lo = two_prod(ops, hi, z)
    t, t_lo = mul_const(ops, c, c_lo + hi * z_lo, -1.0 / 6.0)
    rest = ops.const(-1.0 / 39916800.0)
    for f in (1.0 / 362880.0, -1.0 / 5040.0, 1.0 / 120.0):
        rest = ops.const(f) + z * rest
    rest = c * z * rest
    s, s_lo = two_sum(hi, t)
    return _fast_two_sum(s, s_lo + (t_lo + rest + lo * (ops.const(1.0) - z * ops.const(0.5))))


def cos_small(ops: Any, hi: Any, lo: Any) -> tuple[Any, Any]:
    """``cos(hi + lo)`` as a pair for ``0 <= hi + lo <= pi/4``: ``1 - b**2/2`` in
    two-float, the series' rest (through ``b**10/10!``; the next term is below 2**-33)
    in float."""
    z, z_lo = two_prod(ops, hi, hi)
    z_lo = z_lo + ops.const(2.0) * hi * lo
    half = ops.const(0.5)
    c, c_lo = two_sum(-(z * half), ops.const(1.0))  # XLA folds (1 + b) - 1 into b
    rest = ops.const(-1.0 / 3628800.0)
    for f in (1.0 / 40320.0, -1.0 / 720.0, 1.0 / 24.0):
        rest = ops.const(f) + z * rest
    return _fast_two_sum(c, c_lo - z_lo * half + z * z * rest)


def exp(ops: Any, hi: Any, lo: Any) -> Any:
    """``exp(hi + lo)`` (``lo`` tiny against 1): the float ``exp`` of ``hi``, times
    ``1 + lo``."""
    w = ops.exp(hi)
    return w + w * lo


def expm1_neg(ops: Any, hi: Any, lo: Any) -> Any:
    """``-expm1(hi + lo)`` for ``-ln 2 <= hi + lo <= 0``: the leading ``-y`` kept as its
    pair and ``y**2 (1/2 + y/6 + ... + y**8/10!)`` (the next term is below 2**-31),
    where a float ``expm1`` would lose a few ulp (XLA's: 5)."""
    q = ops.const(1.0 / math.factorial(10))
    for n in range(9, 1, -1):
        q = ops.const(1.0 / math.factorial(n)) + hi * q
    rest = lo * (ops.const(1.0) + hi) + hi * hi * q
    return -(hi + rest)
