"""Integers past int32 as limbs of 24 bits, in int32 arithmetic on every backend.

A wide integer is a list of int32 values, least significant first, each in
``[0, 2**24)`` (the top one may be negative: the sign of a difference). 24 bits, so that
every limb is exact in float32 and a sum of two plus a carry stays far inside int32.
:func:`mul_mod` finds ``t q mod p`` for a step ``t`` and any integers ``q``, ``p``
(a cyclic position in units of ``1/Q`` step when ``(up + down) Q`` passes 2**31 - 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["BITS", "count", "mul_mod", "split", "sub"]

BITS = 24
_BASE = 1 << BITS
_CHUNK = 8  # bits of the step per table lookup: 256 entries a table


def count(p: int) -> int:
    """The number of limbs that hold every integer in ``[0, p)``."""
    return max(1, -(-(p - 1).bit_length() // BITS))


def split(x: int, n: int) -> list[int]:
    """A Python integer ``0 <= x < 2**(24 n)`` as ``n`` limbs."""
    return [(x >> (BITS * i)) & (_BASE - 1) for i in range(n)]


def mul_mod(ops: Any, q: int, p: int, last: int) -> Callable[[Any], list[Any]]:
    """``t -> limbs of (t q) mod p`` for integer steps ``0 <= t <= last`` and integers
    ``q >= 0``, ``p >= 1``, exactly: ``t = sum_j c_j 256**j`` with 8-bit chunks ``c_j``,
    each ``(c_j 256**j q) mod p`` read from a table (limb by limb), the terms summed
    mod ``p`` with carries (at most three sums: ``t`` has 31 bits)."""
    n = count(p)
    m = split(p, n)
    chunks = []  # (shift, table limbs) for each chunk of t that can be non-zero
    shift = 0
    while shift == 0 or (1 << shift) <= last:
        top = min(1 << _CHUNK, (last >> shift) + 1)  # entries 0 .. top - 1
        rows = [split(c * (q << shift) % p, n) for c in range(top)]
        chunks.append((shift, [ops.table([r[i] for r in rows], integer=True)
                               for i in range(n)]))
        shift += _CHUNK

    def product(t: Any) -> list[Any]:
        zero = t - t
        one = zero + 1
        total = None
        for s, tables in chunks:
            c = ops.floordiv(t, 1 << s) if s else t
            if (1 << (s + _CHUNK)) <= last:
                c = ops.mod(c, 1 << _CHUNK)
            term = [ops.take(tab, c) for tab in tables]
            total = term if total is None else _add_mod(ops, total, term, m, zero, one)
        return total

    return product


def _add_mod(ops: Any, a: Sequence[Any], b: Sequence[Any], m: Sequence[int], zero: Any,
             one: Any) -> list[Any]:
    """``(a + b) mod p`` for wide ``0 <= a, b < p`` (``m``: the limbs of ``p``): the sum
    with carries (its top limb below 2**25), then ``sum - p`` where that is >= 0."""
    total, carry = [], None
    for i, (x, y) in enumerate(zip(a, b)):
        v = x + y if carry is None else x + y + carry
        if i < len(a) - 1:
            over = v >= _BASE
            total.append(ops.where(over, v - _BASE, v))
            carry = ops.where(over, one, zero)
        else:
            total.append(v)
    less = sub(ops, total, m, zero, one)
    keep = less[-1] < 0
    return [ops.where(keep, x, y) for x, y in zip(total, less)]


def sub(ops: Any, a: Sequence[Any], b: Sequence[Any], zero: Any, one: Any) -> list[Any]:
    """``a - b`` for wide ``a`` and ``b`` (limbs or Python integers), limb by limb with
    borrows; the top limb is negative when ``a < b`` (the other limbs then hold the
    difference plus ``2**(24 n)``)."""
    out, borrow = [], None
    for i, (x, y) in enumerate(zip(a, b)):
        v = x - y if borrow is None else x - y - borrow
        if i < len(a) - 1:
            under = v < 0
            out.append(ops.where(under, v + _BASE, v))
            borrow = ops.where(under, one, zero)
        else:
            out.append(v)
    return out
