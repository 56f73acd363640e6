"""``step``: ``start * factor ** floor(t / every)``."""

from __future__ import annotations

import dataclasses
import math

from ..fields import MAX_STEP, POSITIVE, RATE, Steps, param
from ..formulas import growth
from ..node import Node, check_growth, growth_bound
from ..ops import horizon


@dataclasses.dataclass(frozen=True, kw_only=True)
class Step(Node):
    r"""Step decay (torch ``StepLR``).

    .. math:: \eta(t) = s \cdot f^{\lfloor t / N \rfloor}

    * ``start`` :math:`s`; ``factor`` :math:`f > 0` (torch ``gamma``); ``every``
      :math:`N` steps (torch ``step_size``). The exponent is an exact integer.

    >>> import lrcore
    >>> lrcore.evaluate(lrcore.step(start=0.1, factor=0.5, every=10), [9, 10, 25]).tolist()
    [0.1, 0.05, 0.025]
    """

    type = "step"
    start: float = param(RATE, doc="rate before the first drop")
    factor: float = param(POSITIVE, doc="multiplier at each drop")
    every: int | str = param(Steps(), doc="steps between drops")

    def check(self, path):
        if isinstance(self.every, int):
            check_growth(f"{path}.factor", self.start, math.log(self.factor),
                         MAX_STEP // self.every, self.factor)

    def rate_bound(self):
        return growth_bound(self.start, math.log(self.factor), MAX_STEP // self.every)

    def build(self, ops):
        n = self.every
        grow = growth(ops, self.start, math.log(self.factor), horizon() // n)
        return lambda t: grow(ops.floordiv(t, n))
