"""``cyclic``: triangular cycles between ``low`` and ``high`` (torch ``CyclicLR``)."""

from __future__ import annotations

import dataclasses
import math

from ..errors import SpecError
from ..fields import RATE, Bool, Choice, Float, Steps, param
from ..formulas import exp_times
from ..node import Node
from ..ops import horizon


@dataclasses.dataclass(frozen=True, kw_only=True)
class Cyclic(Node):
    r"""Cyclical learning rates (Smith 2017; torch ``CyclicLR``, exactly).

    With :math:`T = U + D`, cycle :math:`k = \lfloor t / T \rfloor` and position
    :math:`q = t \bmod T` (integers):

    .. math:: \phi = q / U \ (q \le U), \qquad \phi = (T - q) / D \ (q > U), \qquad
              \eta(t) = l + (h - l)\,\phi\,\sigma

    :math:`\sigma = 1` (``triangular``), :math:`2^{-k}` (``triangular2``) or
    :math:`\gamma^{t}` (``exp_range``). With ``invert`` the curve dips instead:
    :math:`\eta(t) = h - (h - l)\,\phi\,\sigma`, torch's momentum cycle
    (``cycle_momentum``: ``base_momentum`` :math:`l`, ``max_momentum`` :math:`h`).

    * ``low`` :math:`l` (torch ``base_lr``), ``high`` :math:`h` (``max_lr``);
    * ``up`` :math:`U` (``step_size_up``), ``down`` :math:`D` (default :math:`U`);
    * ``mode``, ``gamma`` :math:`\gamma \in (0, 1]`.

    >>> import lrcore
    >>> s = lrcore.cyclic(low=0.0, high=1.0, up=2, mode="triangular2")
    >>> lrcore.evaluate(s, range(9)).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.25, 0.5, 0.25, 0.0]
    """

    type = "cyclic"
    low: float = param(RATE, doc="rate at the bottom of each cycle")
    high: float = param(RATE, doc="rate at the top of the first cycle")
    up: int | str = param(Steps(), doc="steps from low to high")
    down: int | str | None = param(Steps(), None, doc="steps from high back to low (default up)")
    mode: str = param(Choice(("triangular", "triangular2", "exp_range")), "triangular",
                      doc="amplitude scaling per cycle")
    gamma: float = param(Float(gt=0.0, le=1.0, what="a number in (0, 1]"), 1.0,
                         doc="exp_range: amplitude multiplier per step")
    invert: bool = param(Bool(), False, doc="dip from high toward low instead of rising "
                         "(a momentum moving opposite to the rate)")

    def check(self, path):
        if self.high < self.low:
            raise SpecError(f"{path}.high", f"must be >= low ({self.low:g})", self.high)

    def build(self, ops):
        up = self.up
        down = self.down if self.down is not None else up
        period = up + down
        low, amp = ops.const(self.low), ops.const(self.high - self.low)
        fup, fdown = ops.const(float(up)), ops.const(float(down))
        phase = ops.select([up + 1], [lambda q: ops.to_float(q) / fup,
                                      # period - q, kept in int32 (period may not be)
                                      lambda q: ops.to_float(down - (q - up)) / fdown])
        if self.mode == "triangular":
            log_sigma = None
        elif self.mode == "triangular2":
            k = ops.const(math.log(0.5))
            log_sigma = lambda t: ops.to_float(ops.floordiv(t, period)) * k  # noqa: E731
        else:
            g = ops.const(math.log(self.gamma))
            log_sigma = lambda t: ops.to_float(t) * g  # noqa: E731
        if not self.invert:
            if log_sigma is None:
                return lambda t: low + amp * phase(ops.mod(t, period))
            sigma = exp_times(ops, math.log(0.5), horizon() // period) \
                if self.mode == "triangular2" else exp_times(ops, math.log(self.gamma), horizon())
            count = (lambda t: ops.floordiv(t, period)) if self.mode == "triangular2" \
                else (lambda t: t)
            return lambda t: low + amp * phase(ops.mod(t, period)) * sigma(count(t))
        # the dip, high - amp * phi * sigma, as low + amp * (1 - phi * sigma) with
        # 1 - phi sigma = (1 - phi) + phi (1 - sigma): two non-negative terms, the first
        # from an exact integer distance, the second from expm1 (no cancellation near low)
        rest = ops.select([up + 1], [lambda q: ops.to_float(up - q) / fup,
                                     lambda q: ops.to_float(q - up) / fdown])
        if log_sigma is None:
            return lambda t: low + amp * rest(ops.mod(t, period))

        def dip(t):
            q = ops.mod(t, period)
            return low + amp * (rest(q) - phase(q) * ops.expm1(log_sigma(t)))

        return dip

    def breakpoints(self):
        down = self.down if self.down is not None else self.up
        return [self.up, self.up + down]
