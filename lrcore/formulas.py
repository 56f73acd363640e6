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
from typing import Any

__all__ = ["cosine_curve", "linear_curve", "power_mix", "power_weights"]

# Floor for a log argument in a branch that is never taken when it matters (see below).
_TINY = 1e-30


def linear_curve(ops: Any, d: int, a: float, b: float) -> Callable[[Any], Any]:
    """``t -> a + (b - a) t / D`` on integer ``0 <= t <= D``."""
    fd = ops.const(float(d))
    if a >= b:  # falling: the weight is the exact distance to the end
        low, height = ops.const(b), ops.const(a - b)
        return lambda t: low + height * (ops.to_float(d - t) / fd)
    low, height = ops.const(a), ops.const(b - a)
    return lambda t: low + height * (ops.to_float(t) / fd)


def power_weights(ops: Any, base: Any, comp: Any, p: float) -> tuple[Any, Any]:
    """``(base ** p, 1 - base ** p)`` given ``base`` and ``comp = 1 - base``, both
    accurate. For ``p != 1`` the complement is ``-expm1(p * log(base))``, with
    ``log(base)`` taken as ``log1p(-comp)`` while ``comp`` is small (where ``log`` of a
    number near 1 would cancel) and as ``log(base)`` otherwise."""
    if p == 1.0:
        return base, comp
    w = ops.power(base, ops.const(p))
    half = ops.const(0.5)
    log_base = ops.where(comp <= half, ops.log1p(-ops.minimum(comp, half)),
                         ops.log(ops.maximum(base, ops.const(_TINY))))
    # w <= 1/2: 1 - w has no cancellation. w > 1/2 implies base > 0, so the floor
    # above never bites in the branch that is taken.
    v = ops.where(w <= half, ops.const(1.0) - w, -ops.expm1(ops.const(p) * log_base))
    return w, v


def power_mix(ops: Any, a: float, b: float, p: float) -> Callable[[Any, Any], Any]:
    """``(base, comp) -> a * base**p + b * (1 - base**p)`` for ``base`` falling from 1
    to 0 and ``comp = 1 - base`` (both accurate): falling curves need only ``base**p``;
    rising ones the complement, from :func:`power_weights`."""
    if a >= b:
        low, height = ops.const(b), ops.const(a - b)
        if p == 1.0:
            return lambda base, comp: low + height * base
        exponent = ops.const(p)
        return lambda base, comp: low + height * ops.power(base, exponent)
    low, height = ops.const(a), ops.const(b - a)
    return lambda base, comp: low + height * power_weights(ops, base, comp, p)[1]


def cosine_curve(ops: Any, d: int, a: float, b: float, p: float = 1.0) -> Callable[[Any], Any]:
    """Half a cosine from ``a`` to ``b`` on integer ``0 <= t <= D``:
    ``w = ((1 + cos(pi t / D)) / 2) ** p``, rate ``a w + b (1 - w)``.

    ``(1 + cos(pi x)) / 2 == sin(pi (D - t) / (2 D)) ** 2`` and
    ``(1 - cos(pi x)) / 2 == sin(pi t / (2 D)) ** 2``: each sine takes a small, exact
    integer distance, so a falling curve needs one sine (of the distance to the end), a
    rising one one sine (of the distance to the start), and neither cancels. With an
    exponent, a falling curve's weight ``(s^2)^p`` is taken as ``s^(2p)``: one rounding
    fewer for the power to amplify (optax's worst float32 error, exponent 2.5: 9.5 to
    7.4 ulp).
    """
    h = ops.const(math.pi / (2.0 * d))
    if p == 1.0:
        if a >= b:
            low, height = ops.const(b), ops.const(a - b)

            def falling(t):
                s = ops.sin(h * ops.to_float(d - t))
                return low + height * (s * s)

            return falling
        low, height = ops.const(a), ops.const(b - a)

        def rising(t):
            s = ops.sin(h * ops.to_float(t))
            return low + height * (s * s)

        return rising
    if a >= b:  # only base = cos^2 is needed: (s^2)^p as s^(2p), one rounding fewer
        mix2 = power_mix(ops, a, b, 2.0 * p)

        def falling_p(t):
            return mix2(ops.sin(h * ops.to_float(d - t)), None)

        return falling_p
    mix = power_mix(ops, a, b, p)

    def rising_p(t):
        s_end = ops.sin(h * ops.to_float(d - t))
        s_start = ops.sin(h * ops.to_float(t))
        return mix(s_end * s_end, s_start * s_start)

    return rising_p
