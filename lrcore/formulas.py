"""Cancellation-free building blocks shared by several families.

Each returns the pair ``(w, v)`` of interpolation weights with ``w + v == 1`` in exact
arithmetic, both computed to full relative precision, so that a family can write its
rate as ``start * w + end * v``: a sum of two non-negative terms, accurate to a few ulp
in float32 wherever the curve is, whether it rises or falls (the naive
``end + (start - end) * w`` loses all digits of a rising curve near its start, and
``1 - t / D`` loses them near the end of a falling one).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["cosine_weights", "linear_weights", "power_weights"]

# Floor for a log argument in a branch that is never taken when it matters (see below).
_TINY = 1e-30


def linear_weights(ops: Any, t: Any, d: int) -> tuple[Any, Any]:
    """``((D - t) / D, t / D)`` for integer ``0 <= t <= D``: the distance to the end is
    an exact integer, so neither weight suffers cancellation; ``D / D`` is exactly 1."""
    fd = ops.const(float(d))
    return ops.to_float(d - t) / fd, ops.to_float(t) / fd


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


def cosine_weights(ops: Any, t: Any, d: int, p: float = 1.0) -> tuple[Any, Any]:
    """Half-cosine weights on integer ``0 <= t <= D``:
    ``w = ((1 + cos(pi t / D)) / 2) ** p`` and ``v = 1 - w``.

    ``(1 + cos(pi x)) / 2 == sin(pi (D - t) / (2 D)) ** 2`` and
    ``(1 - cos(pi x)) / 2 == sin(pi t / (2 D)) ** 2``: both sines take a small, exact
    integer distance, so neither weight cancels at either end.
    """
    h = ops.const(math.pi / (2.0 * d))
    s_end = ops.sin(h * ops.to_float(d - t))
    s_start = ops.sin(h * ops.to_float(t))
    return power_weights(ops, s_end * s_end, s_start * s_start, p)
