"""``repeat``: restart another schedule every ``period`` steps."""

from __future__ import annotations

import dataclasses
import math

from .. import twofloat
from ..fields import Float, NodeField, Steps, param
from ..formulas import exp_pair, exp_times
from ..node import Node
from ..ops import horizon, within


@dataclasses.dataclass(frozen=True, kw_only=True)
class Repeat(Node):
    r"""Periodic restarts: :math:`\eta(t) = \delta^{\lfloor t/P \rfloor}\,\eta_{in}(t \bmod P)`.

    The inner schedule sees local time within each cycle, and its span (for an omitted
    ``duration``) is the period.

    * ``period`` :math:`P`; ``decay`` :math:`\delta \in (0, 1]` — per-cycle multiplier.

    >>> import lrcore
    >>> inner = lrcore.linear(start=1.0, end=0.0)
    >>> lrcore.evaluate(lrcore.repeat(schedule=inner, period=2, decay=0.5), range(5)).tolist()
    [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    type = "repeat"
    schedule: Node = param(NodeField(), doc="the inner schedule, restarted every period")
    period: int | str = param(Steps(), doc="cycle length P")
    decay: float = param(Float(gt=0.0, le=1.0, what="a number in (0, 1]"), 1.0,
                         doc="multiplier applied once per completed cycle")

    def child_span(self, name, span, values):
        return values["period"]

    def build(self, ops):
        p = self.period
        with within(min(horizon(), p - 1)):
            f = self.schedule.build(ops)
        if self.decay == 1.0:
            return lambda t: f(ops.mod(t, p))
        if twofloat.wanted(ops):  # the decay as a pair: the product rounds once
            pair = exp_pair(ops, math.log(self.decay), horizon() // p)

            def decayed(t):
                v = f(ops.mod(t, p))
                hi, lo = pair(ops.floordiv(t, p))
                return v * hi + v * lo

            return decayed
        decay = exp_times(ops, math.log(self.decay), horizon() // p)
        return lambda t: f(ops.mod(t, p)) * decay(ops.floordiv(t, p))

    def breakpoints(self):
        inner = [b for b in self.schedule.breakpoints() if 0 < b < self.period]
        return inner + [self.period]
