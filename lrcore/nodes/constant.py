"""``constant``: one rate for every step."""

from __future__ import annotations

import dataclasses

from ..fields import RATE, param
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class Constant(Node):
    r"""A constant rate.

    .. math:: \eta(t) = v

    * ``value`` — the rate :math:`v \ge 0`.

    >>> import lrcore
    >>> lrcore.evaluate(lrcore.constant(value=0.1), [0, 10**9]).tolist()
    [0.1, 0.1]
    """

    type = "constant"
    value: float = param(RATE, doc="the rate")

    real_start = True

    def build_at(self, ops, phi):  # the same at every real time
        return self.build(ops)

    def build(self, ops):
        v = self.value
        return ops.constant(v)
