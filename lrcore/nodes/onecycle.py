"""``onecycle``: the 1cycle policy, exactly as torch ``OneCycleLR`` computes it."""

from __future__ import annotations

import dataclasses
import math

from ..errors import SpecError
from ..fields import POSITIVE, RATE, Bool, Choice, Float, param
from ..formulas import interval_curve
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class OneCycle(Node):
    r"""One-cycle schedule (Smith & Topin 2018), torch ``OneCycleLR`` semantics.

    With :math:`\eta_0 = \hat\eta / \text{div}` and
    :math:`\eta_{min} = \eta_0 / \text{final\_div}`, the phases end at the real steps
    :math:`e_1 = pD - 1` and :math:`e_2 = D - 1` (three-phase: :math:`e_1 = pD - 1`,
    :math:`e_2 = 2pD - 2`, :math:`e_3 = D - 1`) and go
    :math:`\eta_0 \to \hat\eta \to \eta_{min}`
    (three-phase: :math:`\eta_0 \to \hat\eta \to \eta_0 \to \eta_{min}`). A step
    :math:`t` is in the first phase with :math:`t \le e_i`; there, with
    :math:`x = (t - e_{i-1}) / (e_i - e_{i-1})` (:math:`e_0 = 0`),

    .. math:: \eta(t) = a\,\tfrac{1 + \cos \pi x}{2} + b\,\tfrac{1 - \cos \pi x}{2}
              \quad\text{(cos)}, \qquad a (1 - x) + b x \quad\text{(linear)}

    The peak is at :math:`\lfloor pD - 1 \rfloor`. From :math:`t = D - 1` on the rate
    holds :math:`\eta_{min}` (torch raises past :math:`t = D` and extrapolates at
    :math:`t = D`, a rate no update of a D-step run uses).

    >>> import lrcore
    >>> s = lrcore.onecycle(peak=1.0, duration=10, pct_start=0.3, anneal="linear",
    ...                     div_factor=10.0, final_div_factor=10.0)
    >>> lrcore.evaluate(s, [0, 1, 2, 9, 10]).round(6).tolist()
    [0.1, 0.55, 1.0, 0.01, 0.01]
    """

    type = "onecycle"
    bounded = True
    whole_steps = ("duration",)
    peak: float = param(RATE, doc="max_lr")
    pct_start: float = param(Float(gt=0.0, lt=1.0, what="a number in (0, 1)"), 0.3,
                             doc="share of the run spent rising")
    div_factor: float = param(POSITIVE, 25.0, doc="initial rate = peak / div_factor")
    final_div_factor: float = param(POSITIVE, 1e4, doc="final rate = initial / this")
    anneal: str = param(Choice(("cos", "linear")), "cos", doc="shape of each phase")
    three_phase: bool = param(Bool(), False, doc="come back to the initial rate first")

    def _phases(self, path: str = "onecycle"):
        initial = self.peak / self.div_factor
        final = initial / self.final_div_factor
        values = [initial, self.peak, initial, final] if self.three_phase \
            else [initial, self.peak, final]
        return (*phase_ends(self.duration, self.pct_start, self.three_phase, path), values)

    def check(self, path):
        from ..fields import FLOAT32_MAX

        if self.peak / self.div_factor > FLOAT32_MAX:
            raise SpecError(f"{path}.div_factor", "makes the initial rate peak / div_factor "
                            "overflow float32", self.div_factor)
        if isinstance(self.duration, int):
            self._phases(path)

    def rate_bound(self):
        initial = self.peak / self.div_factor
        return max(self.peak, initial, initial / self.final_div_factor)

    def build(self, ops):
        return build_phases(ops, *self._phases(), self.anneal, self.duration)

    def breakpoints(self):
        _, ends, _ = self._phases()
        return [math.floor(e) + 1 for e in ends[:-1]] + [self.duration - 1]


def phase_ends(d: int, p: float, three_phase: bool, path: str):
    """torch ``OneCycleLR``'s phases: their real start and end steps."""
    ends = [float(p * d) - 1, float(2 * p * d) - 2, float(d) - 1] if three_phase \
        else [float(p * d) - 1, float(d) - 1]
    starts = [0.0] + ends[:-1]
    for i, (a, b) in enumerate(zip(starts, ends)):
        if not b > a:
            raise SpecError(f"{path}.pct_start", f"leaves phase {i + 1} empty with "
                            f"duration {d} (it must span more than one step; torch "
                            "divides by zero here)", p)
    return starts, ends


def build_phases(ops, starts, ends, values, anneal, duration):
    """Phase ``i`` from ``values[i]`` to ``values[i + 1]``; the last value from ``D`` on."""
    branches = [interval_curve(ops, s, e, values[i], values[i + 1], anneal)
                for i, (s, e) in enumerate(zip(starts, ends))]
    bounds = [math.floor(e) + 1 for e in ends[:-1]] + [duration]
    branches.append(ops.constant(values[-1]))
    return ops.select(bounds, branches)
