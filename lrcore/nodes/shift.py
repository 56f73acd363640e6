"""``shift``: evaluate another schedule at ``t + offset``."""

from __future__ import annotations

import dataclasses

from ..fields import MAX_STEP, NodeField, Steps, param
from ..node import Node
from ..ops import horizon, within


@dataclasses.dataclass(frozen=True, kw_only=True)
class Shift(Node):
    r"""Shift in time: :math:`\eta(t) = \eta_{in}(\mathrm{clamp}(t + k, 0, 2^{31} - 1))`.

    A positive ``offset`` starts the inner schedule part-way in (resuming a run; the
    1-based step of the Noam formula); a negative one delays it, holding its value at 0.
    Time stays inside the spec's domain :math:`[0, 2^{31} - 1]`, so int32 never wraps.

    >>> import lrcore
    >>> inner = lrcore.linear(start=0.0, end=1.0, duration=4)
    >>> lrcore.evaluate(lrcore.shift(schedule=inner, offset=2), range(3)).tolist()
    [0.5, 0.75, 1.0]
    >>> lrcore.evaluate(lrcore.shift(schedule=inner, offset=-2), range(4)).tolist()
    [0.0, 0.0, 0.0, 0.25]
    """

    type = "shift"
    schedule: Node = param(NodeField(), doc="the inner schedule")
    offset: int | str = param(Steps(signed=True), doc="steps added to t (may be negative)")

    def build(self, ops):
        k = self.offset
        with within(min(horizon() + k, MAX_STEP) if k >= 0 else horizon()):
            f = self.schedule.build(ops)
        return lambda t: f(ops.add_sat(t, k))

    def breakpoints(self):
        return [min(max(b - self.offset, 0), MAX_STEP) for b in self.schedule.breakpoints()]
