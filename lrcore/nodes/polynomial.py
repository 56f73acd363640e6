"""``polynomial``: ``end + (start - end) * (1 - t / D) ** power``."""

from __future__ import annotations

import dataclasses
import math

from .. import twofloat
from ..errors import SpecError
from ..fields import _DURATION, EXPONENT, MAX_STEP, RATE, Bool, exact, param
from ..formulas import exponent_bound, power_mix, power_of_log, times
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class Polynomial(Node):
    r"""Polynomial decay (Keras ``PolynomialDecay``, torch ``PolynomialLR``).

    .. math:: w = \Big(1 - \frac{t}{D'}\Big)^{p}, \qquad \eta(t) = s\,w + e\,(1 - w)

    Without ``cycle``, :math:`D' = D` and :math:`t` stops at :math:`D` (the rate holds
    :math:`e`). With ``cycle``, :math:`D' = D \lceil t / D \rceil` (and :math:`D` at
    :math:`t = 0`), Keras's restart rule.

    * ``start`` :math:`s`, ``end`` :math:`e`, ``power`` :math:`p > 0`, ``duration`` :math:`D`:
      a real number of steps too (Keras's ``decay_steps=2.5``) without ``cycle``, with
      :math:`D - t` the exact integer :math:`\lfloor D \rfloor - t` plus a constant.

    >>> import lrcore
    >>> s = lrcore.polynomial(start=1.0, end=0.0, power=2.0, duration=4)
    >>> lrcore.evaluate(s, range(6)).tolist()
    [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """

    type = "polynomial"
    bounded = True
    start: float = param(RATE, doc="rate at t = 0")
    end: float = param(RATE, 0.0, doc="rate at t = D")
    power: float = param(EXPONENT, 1.0, doc="exponent p")
    cycle: bool = param(Bool(), False, doc="restart with D' = D * ceil(t / D) (Keras)")

    def check(self, path):
        d = self.duration
        if d is None or (isinstance(d, str) and _DURATION.match(d)):
            return  # resolves later; checked again then
        if not self.real_ok("duration", exact(d)):
            if self.cycle:
                raise SpecError(f"{path}.duration", "must be a whole number of steps <= "
                                "2**31 - 1 for polynomial with cycle (without cycle it may be "
                                "real)", d)
            raise SpecError(f"{path}.duration", "must be <= 2**31 - 1 for polynomial (linear "
                            "and cosine take longer durations)", d)

    def real_ok(self, name, value):
        return name != "duration" or value <= MAX_STEP and (
            isinstance(value, int) or not self.cycle)

    def build(self, ops):
        if self.power != 1.0 and twofloat.wanted(ops):
            return self._build_2f(ops)
        d = exact(self.duration)
        if not isinstance(d, int):  # a real D: D - t = (floor(D) - t) + frac, both exact
            d_int = math.floor(d)
            of_real = times(ops, float(1 / d), d_int)
            rest = ops.const(float((d - d_int) / d))
            mix = power_mix(ops, self.start, self.end, self.power)
            return ops.select([d_int + 1], [lambda t: mix(of_real(d_int - t) + rest,
                                                          of_real(t)),
                                            ops.constant(self.end)])
        of_d = times(ops, 1.0 / d, d)
        mix = power_mix(ops, self.start, self.end, self.power)

        if not self.cycle:
            def decay(t):
                return mix(of_d(d - t), of_d(t))

            return ops.select([d], [decay, ops.constant(self.end)])

        def cyclic(t):  # t >= 1: D' = D * c with c = ceil(t / D); D' - t exact
            c = ops.to_float(ops.floordiv(t - 1, d) + 1)
            return mix(of_d(d - 1 - ops.mod(t - 1, d)) / c, of_d(t) / c)

        return ops.select([1], [ops.constant(self.start), cyclic])

    def _build_2f(self, ops):
        """Float32 backends: ``w = base ** p`` from ``log(base)`` as a two-float pair
        (:func:`lrcore.formulas.power_of_log`), ``base = (D' - t) / D'`` as a pair from
        the exact integers (a float ``base`` has an error that the power multiplies by
        ``p``: 15 ulp at ``p = 30``)."""
        d = exact(self.duration)
        rate = power_of_log(ops, ops.const(min(self.start, self.end)),
                            ops.const(abs(self.start - self.end)), self.power,
                            rising=self.start < self.end)
        if not isinstance(d, int):  # a real D: base = (floor(D) - t) / D + a constant pair
            d_int = math.floor(d)
            frac = d - d_int
            of_real = twofloat.times(ops, float(1 / d), d_int)
            rest = twofloat.pair(ops, float(frac / d))
            bits = max(d_int.bit_length() + 1, math.ceil(math.log2(float(d / frac))) + 1)
            bound = exponent_bound(self.power, bits)

            def real_decay(t):
                b_hi, b_lo = of_real(d_int - t)
                hi, err = twofloat.two_sum(b_hi, rest[0])
                lo = err + (b_lo + rest[1])
                return rate(*twofloat.log(ops, hi, lo, bound))

            return ops.select([d_int + 1], [real_decay, ops.constant(self.end)])
        ratio = twofloat.from_ratio(ops, d, d)
        if not self.cycle:
            bound = exponent_bound(self.power, d.bit_length() + 1)

            def decay(t):
                return rate(*twofloat.log(ops, *ratio(d - t), bound))

            return ops.select([d], [decay, ops.constant(self.end)])
        bound = exponent_bound(self.power, 34)  # base >= 1 / (D c) >= 2**-33

        def cyclic(t):  # t >= 1: D' = D * c with c = ceil(t / D); D' - t exact
            c = ops.to_float(ops.floordiv(t - 1, d) + 1)
            n = d - 1 - ops.mod(t - 1, d)
            hi, lo = twofloat.div_int(ops, *ratio(n), c)
            zero = n <= 0
            return rate(*twofloat.log(ops, ops.where(zero, ops.const(1.0), hi), lo, bound),
                        zero)

        return ops.select([1], [ops.constant(self.start), cyclic])
