"""``every``: hold another schedule's value over blocks of N steps."""

from __future__ import annotations

import dataclasses

from ..fields import NodeField, Steps, param
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class Every(Node):
    r"""Piecewise-constant sampling: :math:`\eta(t) = \eta_{in}(\lfloor t / N \rfloor N)`.

    ``every: 1ep`` turns a per-step curve into a per-epoch staircase (the rate a loop
    that steps its scheduler once per epoch would see).

    >>> import lrcore
    >>> inner = lrcore.linear(start=0.0, end=1.0, duration=4)
    >>> lrcore.evaluate(lrcore.every(schedule=inner, every=2), range(5)).tolist()
    [0.0, 0.0, 0.5, 0.5, 1.0]
    """

    type = "every"
    schedule: Node = param(NodeField(), doc="the inner schedule")
    every: int | str = param(Steps(), doc="block length N")

    def build(self, ops):
        f, n = self.schedule.build(ops), self.every
        return lambda t: f(ops.floordiv(t, n) * n)
