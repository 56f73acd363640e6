"""``linear``: a straight line from ``start`` to ``end`` over D steps, then held."""

from __future__ import annotations

import dataclasses
import math

from ..fields import MAX_STEP, RATE, exact, param
from ..formulas import interval_curve, linear_curve
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class Linear(Node):
    r"""Linear interpolation over ``duration`` steps, holding ``end`` afterwards.

    .. math:: \eta(t) = s\,\frac{D - t}{D} + e\,\frac{t}{D}, \qquad t \le D;
              \qquad \eta(t) = e, \quad t > D

    * ``start`` :math:`s`, ``end`` :math:`e` — rates at :math:`t = 0` and :math:`t = D`;
    * ``duration`` :math:`D` — steps (defaults to the enclosing span / ``total_steps``);
      a real number (``23.4``) or past the step domain, the formula holds as written.

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

    real_start = True

    def build(self, ops):
        return self.build_at(ops, 0)

    def build_at(self, ops, phi):
        d = exact(self.duration)
        if phi == 0 and isinstance(d, int) and d <= MAX_STEP:
            line = linear_curve(ops, d, self.start, self.end)
            return ops.select([d], [line, ops.constant(self.end)])
        # a real D or start: the line over the real interval [-phi, D - phi] of local steps
        line = interval_curve(ops, -phi, d - phi, self.start, self.end, "linear")
        return ops.select([math.ceil(d - phi)], [line, ops.constant(self.end)])
