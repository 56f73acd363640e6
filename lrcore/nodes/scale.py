"""``scale``: multiply a schedule by a number or by another schedule."""

from __future__ import annotations

import dataclasses

from ..fields import NodeField, param
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scale(Node):
    r"""The product :math:`\eta(t) = c \cdot \eta_{in}(t)` or
    :math:`\eta_{by}(t) \cdot \eta_{in}(t)`.

    A schedule as ``by`` makes a multiplier curve (a warmup factor from 0 to 1 over a
    decay, say); it sees the same time as ``schedule``.

    >>> import lrcore
    >>> s = lrcore.scale(schedule=lrcore.constant(value=0.1),
    ...                  by=lrcore.linear(start=0.0, end=1.0, duration=2))
    >>> lrcore.evaluate(s, range(3)).tolist()
    [0.0, 0.05, 0.1]
    """

    type = "scale"
    schedule: Node = param(NodeField(), doc="the inner schedule")
    by: float | Node = param(NodeField(or_number=True), doc="a number >= 0 or a schedule")

    def rate_bound(self):
        by = self.by.rate_ceiling() if isinstance(self.by, Node) else self.by
        return self.schedule.rate_ceiling() * by

    def build(self, ops):
        f = self.schedule.build(ops)
        if isinstance(self.by, Node):
            g = self.by.build(ops)
            return lambda t: f(t) * g(t)
        c = ops.const(self.by)
        return lambda t: f(t) * c

    def children(self):
        yield ".schedule", self.schedule
        if isinstance(self.by, Node):
            yield ".by", self.by
