"""``inverse_time``: ``start / (1 + rate * t / every)``."""

from __future__ import annotations

import dataclasses

from ..fields import POSITIVE, RATE, Bool, Steps, exact, param
from ..formulas import floor_count
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class InverseTime(Node):
    r"""Inverse time decay (Keras ``InverseTimeDecay``).

    .. math:: \eta(t) = \frac{s}{1 + r\,t / N}

    with :math:`t / N` replaced by :math:`\lfloor t / N \rfloor` when ``staircase``.

    * ``start`` :math:`s`; ``rate`` :math:`r > 0`; ``every`` :math:`N` steps, a real
      number too, below 1 step as well (exact: :math:`\lfloor t / N \rfloor` by integer
      arithmetic on :math:`N = p/q`, see :func:`lrcore.formulas.floor_count`).

    >>> import lrcore
    >>> lrcore.evaluate(lrcore.inverse_time(start=1.0, rate=0.5, every=2), [0, 2, 4]).tolist()
    [1.0, 0.6666666666666666, 0.5]
    """

    type = "inverse_time"
    start: float = param(RATE, doc="rate at t = 0")
    rate: float = param(POSITIVE, doc="decay rate")
    every: int | float | str = param(Steps(real=True), 1, doc="decay steps")
    staircase: bool = param(Bool(), False, doc="integer t // every")

    def build(self, ops):
        s, one, n = ops.const(self.start), ops.const(1.0), exact(self.every)
        if self.staircase:
            r = ops.const(self.rate)
            return lambda t: s / (one + r * floor_count(ops, t, n))
        c = ops.const(float(self.rate / n))  # r q / p, rounded once
        return lambda t: s / (one + c * ops.to_float(t))
