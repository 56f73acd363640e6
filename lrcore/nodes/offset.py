"""``offset``: another schedule plus a constant (which may be negative)."""

from __future__ import annotations

import dataclasses

from ..fields import FLOAT32_MAX, Float, NodeField, param
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class Offset(Node):
    r"""A schedule moved up or down: :math:`\eta(t) = \eta_{in}(t) + b`.

    A negative ``by`` gives a curve that can go below 0: that is allowed only in a
    pass-through hyperparameter's curve (a document's ``hyperparams`` under a name other
    than ``momentum``, ``beta1``, ``beta2``, ``weight_decay``); the learning rate and the
    canonical hyperparameters stay >= 0, and loading says so.

    * ``by`` :math:`b`: any finite number within float32's range.

    >>> import lrcore
    >>> s = lrcore.offset(schedule=lrcore.linear(start=0.0, end=1.0, duration=4), by=0.5)
    >>> lrcore.evaluate(s, range(5)).tolist()
    [0.5, 0.75, 1.0, 1.25, 1.5]
    >>> doc = lrcore.Schedule(schedule=lrcore.constant(value=0.1), hyperparams={
    ...     "log_eps": lrcore.offset(schedule=lrcore.linear(start=0.0, end=1.0, duration=4),
    ...                              by=-0.5)})
    >>> lrcore.evaluate(doc, range(5), hyperparam="log_eps").tolist()
    [-0.5, -0.25, 0.0, 0.25, 0.5]
    """

    type = "offset"
    schedule: Node = param(NodeField(), doc="the inner schedule")
    by: float = param(Float(ge=-FLOAT32_MAX, le=FLOAT32_MAX, what="a number"),
                      doc="added to every value (negative: pass-through hyperparameters only)")

    def rate_bound(self):
        return max(self.schedule.rate_ceiling() + self.by, abs(self.by))

    def build(self, ops):
        f, b = self.schedule.build(ops), ops.const(self.by)
        return lambda t: f(t) + b
