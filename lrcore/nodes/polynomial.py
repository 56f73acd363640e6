"""``polynomial``: ``end + (start - end) * (1 - t / D) ** power``."""

from __future__ import annotations

import dataclasses
import math

from ..errors import SpecError
from ..fields import _DURATION, EXPONENT, MAX_STEP, RATE, Bool, exact, param
from ..formulas import power_mix, times
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
