"""``multistep``: ``start * factor ** (number of milestones <= t)``."""

from __future__ import annotations

import dataclasses
import math

from ..fields import MAX_STEP, POSITIVE, RATE, Steps, StepsList, exact, param
from ..node import Node, check_growth, check_increasing, growth_bound, step_at


@dataclasses.dataclass(frozen=True, kw_only=True)
class MultiStep(Node):
    r"""Multi-step decay (torch ``MultiStepLR``): the rate drops *at* each milestone.

    .. math:: \eta(t) = s \cdot f^{\,|\{m_i \le t\}|}

    * ``start`` :math:`s`; ``factor`` :math:`f`; ``milestones`` :math:`m_1 < m_2 < \dots`
      (real numbers of steps too: the rate drops at the first step :math:`t \ge m_i`,
      as optax's ``piecewise_constant_schedule`` does; past 2**31 - 1 never).

    The values :math:`s f^i` are folded in float64 and selected by integer comparison.

    >>> import lrcore
    >>> lrcore.evaluate(lrcore.multistep(start=1.0, factor=0.1, milestones=[2, 4]),
    ...                 range(6)).round(12).tolist()
    [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]
    """

    type = "multistep"
    start: float = param(RATE, doc="rate before the first milestone")
    factor: float = param(POSITIVE, doc="multiplier at each milestone")
    milestones: tuple | list = param(StepsList(Steps(real=True)),
                                     doc="steps at which the rate drops")

    def check(self, path):
        check_increasing(f"{path}.milestones", self.milestones)
        check_growth(f"{path}.factor", self.start, math.log(self.factor), self._drops(),
                     self.factor)

    def _drops(self) -> int:
        """Milestones inside the step domain (all of them while some are unresolved)."""
        try:
            return sum(1 for m in self.milestones if exact(m) <= MAX_STEP)
        except TypeError:  # "Nep" / "N%": counted once resolved
            return len(self.milestones)

    def rate_bound(self):
        return growth_bound(self.start, math.log(self.factor), self._drops())

    def build(self, ops):
        values = [self.start * self.factor**i for i in range(len(self.milestones) + 1)]
        return ops.select([step_at(m) for m in self.milestones],
                          [ops.constant(v) for v in values])

    def breakpoints(self):
        return [step_at(m) for m in self.milestones]

