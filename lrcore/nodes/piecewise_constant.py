"""``piecewise_constant``: ``values[i]`` from step ``boundaries[i-1]`` on."""

from __future__ import annotations

import dataclasses

from ..errors import SpecError
from ..fields import FloatList, Steps, StepsList, param
from ..node import Node, check_increasing, step_at


@dataclasses.dataclass(frozen=True, kw_only=True)
class PiecewiseConstant(Node):
    r"""Piecewise constant: :math:`v_0` before :math:`b_1`, :math:`v_i` from :math:`b_i` on.

    .. math:: \eta(t) = v_i, \qquad b_i \le t < b_{i+1} \quad (b_0 = 0,\ b_{n+1} = \infty)

    torch's convention (the value changes *at* the boundary). Keras
    ``PiecewiseConstantDecay`` changes one step later (``t > b``): its boundaries map to
    ``b + 1`` here (``lrcore.from_keras`` does this).

    >>> import lrcore
    >>> s = lrcore.piecewise_constant(values=[1.0, 0.5, 0.1], boundaries=[2, 4])
    >>> lrcore.evaluate(s, range(6)).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    """

    type = "piecewise_constant"
    values: tuple | list = param(FloatList(), doc="v0..vn")
    boundaries: tuple | list = param(StepsList(Steps(real=True), min_len=0),
                                     doc="b1..bn (n = len(values) - 1)")

    def check(self, path):
        if len(self.values) != len(self.boundaries) + 1:
            raise SpecError(f"{path}.values", "must have exactly one more entry than "
                            f"boundaries ({len(self.boundaries)})",
                            f"{len(self.values)} entries")
        check_increasing(f"{path}.boundaries", self.boundaries)

    def rate_bound(self):
        return max(self.values)

    def build(self, ops):
        return ops.select([step_at(b) for b in self.boundaries],
                          [ops.constant(v) for v in self.values])

    def breakpoints(self):
        return [step_at(b) for b in self.boundaries]
