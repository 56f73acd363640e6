"""``onecycle_momentum``: the momentum half of the 1cycle policy (torch ``OneCycleLR``)."""

from __future__ import annotations

import dataclasses
import math

from ..errors import SpecError
from ..fields import RATE, Bool, Choice, Float, param
from ..node import Node
from .onecycle import build_phases, phase_ends


@dataclasses.dataclass(frozen=True, kw_only=True)
class OneCycleMomentum(Node):
    r"""The momentum of a one-cycle run, moving opposite to its rate, exactly as torch
    ``OneCycleLR(cycle_momentum=True)`` sets it.

    The phases are ``onecycle``'s (the same ``pct_start``, ``anneal``, ``three_phase``
    and duration: the same real phase ends :math:`e_i`); over them the value goes
    :math:`m_{hi} \to m_{lo} \to m_{hi}` (three-phase:
    :math:`m_{hi} \to m_{lo} \to m_{hi} \to m_{hi}`), each phase with ``onecycle``'s
    weight, and holds :math:`m_{hi}` from :math:`t = D - 1` on.

    * ``low`` :math:`m_{lo}` (torch ``base_momentum``): at the rate's peak;
    * ``high`` :math:`m_{hi}` (``max_momentum``): at the start and the end.

    >>> import lrcore
    >>> m = lrcore.onecycle_momentum(low=0.85, high=0.95, duration=10, pct_start=0.3,
    ...                              anneal="linear")
    >>> lrcore.evaluate(m, [0, 1, 2, 9, 10]).round(6).tolist()
    [0.95, 0.9, 0.85, 0.95, 0.95]
    """

    type = "onecycle_momentum"
    bounded = True
    whole_steps = ("duration",)
    low: float = param(RATE, doc="base_momentum: the value at the rate's peak")
    high: float = param(RATE, doc="max_momentum: the value at the start and the end")
    pct_start: float = param(Float(gt=0.0, lt=1.0, what="a number in (0, 1)"), 0.3,
                             doc="share of the run spent falling (the rate rises)")
    anneal: str = param(Choice(("cos", "linear")), "cos", doc="shape of each phase")
    three_phase: bool = param(Bool(), False, doc="torch's three_phase: the third phase "
                              "holds high")

    def check(self, path):
        if self.high < self.low:
            raise SpecError(f"{path}.high", f"must be >= low ({self.low:g})", self.high)
        if isinstance(self.duration, int):
            phase_ends(self.duration, self.pct_start, self.three_phase, path)

    def _values(self) -> list[float]:
        hi, lo = self.high, self.low
        return [hi, lo, hi, hi] if self.three_phase else [hi, lo, hi]

    def build(self, ops):
        starts, ends = phase_ends(self.duration, self.pct_start, self.three_phase,
                                  self.type)
        return build_phases(ops, starts, ends, self._values(), self.anneal, self.duration)

    def breakpoints(self):
        _, ends = phase_ends(self.duration, self.pct_start, self.three_phase, self.type)
        return [math.floor(e) + 1 for e in ends[:-1]] + [self.duration - 1]
