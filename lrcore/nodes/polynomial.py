"""``polynomial``: ``end + (start - end) * (1 - t / D) ** power``."""

from __future__ import annotations

import dataclasses

from .. import twofloat
from ..fields import EXPONENT, RATE, Bool, param
from ..formulas import exponent_bound, power_mix, power_of_log, times
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class Polynomial(Node):
    r"""Polynomial decay (Keras ``PolynomialDecay``, torch ``PolynomialLR``).

    .. math:: w = \Big(1 - \frac{t}{D'}\Big)^{p}, \qquad \eta(t) = s\,w + e\,(1 - w)

    Without ``cycle``, :math:`D' = D` and :math:`t` stops at :math:`D` (the rate holds
    :math:`e`). With ``cycle``, :math:`D' = D \lceil t / D \rceil` (and :math:`D` at
    :math:`t = 0`), Keras's restart rule.

    * ``start`` :math:`s`, ``end`` :math:`e`, ``power`` :math:`p > 0`, ``duration`` :math:`D`.

    >>> import lrcore
    >>> s = lrcore.polynomial(start=1.0, end=0.0, power=2.0, duration=4)
    >>> lrcore.evaluate(s, range(6)).tolist()
    [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """

    type = "polynomial"
    bounded = True
    whole_steps = ("duration",)
    start: float = param(RATE, doc="rate at t = 0")
    end: float = param(RATE, 0.0, doc="rate at t = D")
    power: float = param(EXPONENT, 1.0, doc="exponent p")
    cycle: bool = param(Bool(), False, doc="restart with D' = D * ceil(t / D) (Keras)")

    def build(self, ops):
        if self.power != 1.0 and twofloat.wanted(ops):
            return self._build_2f(ops)
        d = self.duration
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
        d = self.duration
        ratio = twofloat.from_ratio(ops, d, d)
        rate = power_of_log(ops, ops.const(min(self.start, self.end)),
                            ops.const(abs(self.start - self.end)), self.power,
                            rising=self.start < self.end)
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
