"""``linear``: a straight line from ``start`` to ``end`` over D steps, then held."""

from __future__ import annotations

import dataclasses

from ..fields import RATE, param
from ..formulas import linear_curve
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class Linear(Node):
    r"""Linear interpolation over ``duration`` steps, holding ``end`` afterwards.

    .. math:: \eta(t) = s\,\frac{D - t}{D} + e\,\frac{t}{D}, \qquad t \le D;
              \qquad \eta(t) = e, \quad t > D

    * ``start`` :math:`s`, ``end`` :math:`e` — rates at :math:`t = 0` and :math:`t = D`;
    * ``duration`` :math:`D` — steps (defaults to the enclosing span / ``total_steps``).

    Written as ``min(s, e)`` plus a non-negative height times an exact integer distance
    (to the end when falling, to the start when rising), so neither way cancels.

    >>> import lrcore
    >>> lrcore.evaluate(lrcore.linear(start=0.0, end=1.0, duration=4), range(6)).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """

    type = "linear"
    bounded = True
    start: float = param(RATE, doc="rate at t = 0")
    end: float = param(RATE, doc="rate at t = D, held afterwards")

    def build(self, ops):
        line = linear_curve(ops, self.duration, self.start, self.end)
        return ops.select([self.duration], [line, ops.constant(self.end)])
