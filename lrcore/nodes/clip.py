"""``clip``: bound another schedule from below and/or above."""

from __future__ import annotations

import dataclasses

from ..errors import SpecError
from ..fields import RATE, NodeField, param
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class Clip(Node):
    r"""Clip the inner schedule: :math:`\eta(t) = \min(\max(\eta_{in}(t), a), b)`.

    >>> import lrcore
    >>> s = lrcore.clip(schedule=lrcore.linear(start=1.0, end=0.0, duration=4), min=0.3)
    >>> lrcore.evaluate(s, range(5)).tolist()
    [1.0, 0.75, 0.5, 0.3, 0.3]
    """

    type = "clip"
    schedule: Node = param(NodeField(), doc="the inner schedule")
    min: float | None = param(RATE, None, doc="lower bound a")
    max: float | None = param(RATE, None, doc="upper bound b")

    def check(self, path):
        if self.min is None and self.max is None:
            raise SpecError(path, "needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise SpecError(f"{path}.max", f"must be >= min ({self.min:g})", self.max)

    def rate_bound(self):
        inner = max(self.schedule.rate_ceiling(), self.min or 0.0)
        return inner if self.max is None else min(inner, self.max)

    def build(self, ops):
        f = self.schedule.build(ops)
        if self.min is not None:
            lo, g = ops.const(self.min), f
            f = lambda t: ops.maximum(g(t), lo)  # noqa: E731
        if self.max is not None:
            hi, h = ops.const(self.max), f
            f = lambda t: ops.minimum(h(t), hi)  # noqa: E731
        return f
