"""``cyclic``: triangular cycles between ``low`` and ``high`` (torch ``CyclicLR``)."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

from .. import twofloat
from ..errors import SpecError
from ..fields import MAX_STEP, RATE, Bool, Choice, Float, Steps, exact, param
from ..formulas import exp_pair, exp_times, floor_ratio, mul_div
from ..node import Node
from ..ops import horizon, within
from .exponential import _known

#: Cycles past which triangular2's amplitude 2**-k times any float64 height is 0.
_LAST_CYCLE = 2200


@dataclasses.dataclass(frozen=True, kw_only=True)
class Cyclic(Node):
    r"""Cyclical learning rates (Smith 2017; torch ``CyclicLR``, exactly).

    With :math:`T = U + D`, cycle :math:`k = \lfloor t / T \rfloor` and position
    :math:`q = t \bmod T` (exact: for real :math:`U = u / Q`, :math:`D = d / Q` the
    integers :math:`k` and :math:`Q q = t Q \bmod (u + d)`):

    .. math:: \phi = q / U \ (q \le U), \qquad \phi = (T - q) / D \ (q > U), \qquad
              \eta(t) = l + (h - l)\,\phi\,\sigma

    :math:`\sigma = 1` (``triangular``), :math:`2^{-k}` (``triangular2``) or
    :math:`\gamma^{t}` (``exp_range``). With ``invert`` the curve dips instead:
    :math:`\eta(t) = h - (h - l)\,\phi\,\sigma`, torch's momentum cycle
    (``cycle_momentum``: ``base_momentum`` :math:`l`, ``max_momentum`` :math:`h`).

    * ``low`` :math:`l` (torch ``base_lr``), ``high`` :math:`h` (``max_lr``);
    * ``up`` :math:`U` (``step_size_up``), ``down`` :math:`D` (default :math:`U`): real
      numbers of steps (``2.5``, ``"7/3"``); ``down: 0`` is torch's
      ``step_size_down=0``, a sawtooth: :math:`\phi = q / U` rising from ``low`` at each
      cycle start toward ``high``, never reaching it, and back to ``low`` at the next;
    * ``mode``, ``gamma`` :math:`\gamma \in (0, 1]`.

    >>> import lrcore
    >>> s = lrcore.cyclic(low=0.0, high=1.0, up=2, mode="triangular2")
    >>> lrcore.evaluate(s, range(9)).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.25, 0.5, 0.25, 0.0]
    """

    type = "cyclic"
    low: float = param(RATE, doc="rate at the bottom of each cycle")
    high: float = param(RATE, doc="rate at the top of the first cycle")
    up: int | float | str = param(Steps(real=True), doc="steps from low to high")
    down: int | float | str | None = param(Steps(real=True, positive=False), None,
                                           doc="steps from high back to low (default up; "
                                           "0: torch's sawtooth)")
    mode: str = param(Choice(("triangular", "triangular2", "exp_range")), "triangular",
                      doc="amplitude scaling per cycle")
    gamma: float = param(Float(gt=0.0, le=1.0, what="a number in (0, 1]"), 1.0,
                         doc="exp_range: amplitude multiplier per step")
    invert: bool = param(Bool(), False, doc="dip from high toward low instead of rising "
                         "(a momentum moving opposite to the rate)")

    def check(self, path):
        if self.high < self.low:
            raise SpecError(f"{path}.high", f"must be >= low ({self.low:g})", self.high)
        if not all(_known(v) for v in (self.up, self.down)):
            return  # checked again once "Nep" / "N%" are resolved
        u, d, q = self.scaled()
        for name in ("up", "down"):
            value = getattr(self, name)
            if isinstance(value, int) and value > MAX_STEP:
                raise SpecError(f"{path}.{name}", f"must be <= 2**31 - 1 = {MAX_STEP}", value)
        if q > 1 and u + d > MAX_STEP:
            raise SpecError(f"{path}.up", "up and down over their common denominator q must "
                            "have (up + down) * q <= 2**31 - 1 (the position in the cycle is "
                            "an integer count of 1/q steps); use simpler fractions", self.up)
        if q > 1 and self.mode == "triangular2" and self._count_steps() * q // (u + d) \
                > MAX_STEP:
            raise SpecError(f"{path}.up", "up + down must be >= 1 / (2**31 - 2201) steps "
                            "with triangular2 (its count of cycles k must stay within "
                            "2**31 - 1 until the amplitude 2**-k is 0)", self.up)

    def scaled(self) -> tuple[int, int, int]:
        """``(u, d, Q)``: the integers with ``up = u / Q`` and ``down = d / Q``, ``Q``
        the common denominator (1 for whole numbers of steps)."""
        up = Fraction(exact(self.up))
        down = Fraction(exact(self.down)) if self.down is not None else up
        q = math.lcm(up.denominator, down.denominator)
        return int(up * q), int(down * q), q

    def _count_steps(self) -> int:
        """The last step whose cycle count triangular2 needs: past ``_LAST_CYCLE`` cycles
        its amplitude ``2**-k`` times any float64 height is 0, so the count stops there."""
        u, d, q = self.scaled()
        return min(horizon(), math.ceil(Fraction(_LAST_CYCLE * (u + d), q)))

    def build(self, ops):
        # in units of 1/Q step: t = a P + b (P = u + d) gives the position Q (t mod T) =
        # b Q mod P and the cycle count a Q + floor(b Q / P), exact within int32 (mul_div)
        up, down, scale = self.scaled()
        period = up + down
        if scale == 1:
            position = lambda t: ops.mod(t, period)  # noqa: E731
            cycles = lambda t: ops.floordiv(t, period)  # noqa: E731
        else:
            def position(t):
                return mul_div(ops, ops.mod(t, period), scale % period, period)[1]

            stop = self._count_steps() if self.mode == "triangular2" else horizon()
            n = Fraction(period, scale)

            def cycles(t):
                return floor_ratio(ops, ops.minimum(t, stop), n, stop)
        low, amp = ops.const(self.low), ops.const(self.high - self.low)
        fup, fdown = ops.const(float(up)), ops.const(float(down))
        # the selects below take the position q in [0, period - 1], not the step: in units
        # of 1/Q step it passes the last step a finite phase sees, so their horizon is q's
        with within(period - 1):
            if down == 0:  # torch's sawtooth: q < up always
                phase = lambda q: ops.to_float(q) / fup  # noqa: E731
                rest = lambda q: ops.to_float(up - q) / fup  # noqa: E731
            else:
                phase = ops.select([up + 1], [lambda q: ops.to_float(q) / fup,
                                              # period - q, kept in int32 (period may not be)
                                              lambda q: ops.to_float(down - (q - up)) / fdown])
                rest = ops.select([up + 1], [lambda q: ops.to_float(up - q) / fup,
                                             lambda q: ops.to_float(q - up) / fdown])
        if self.mode == "triangular":
            log_sigma = None
        elif self.mode == "triangular2":
            k = ops.const(math.log(0.5))
            log_sigma = lambda t: ops.to_float(cycles(t)) * k  # noqa: E731
        else:
            g = ops.const(math.log(self.gamma))
            log_sigma = lambda t: ops.to_float(t) * g  # noqa: E731
        # the last cycle count triangular2 meets (its count stops where 2**-k is 0)
        last = (self._count_steps() * scale // period if scale > 1 else horizon() // period) \
            if self.mode == "triangular2" else horizon()
        if log_sigma is not None and twofloat.wanted(ops):
            return self._amplitude_2f(ops, up, down, last, position, cycles)
        if not self.invert:
            if log_sigma is None:
                return lambda t: low + amp * phase(position(t))
            if self.mode == "triangular2":
                sigma, count = exp_times(ops, math.log(0.5), last), cycles
            else:
                sigma, count = exp_times(ops, math.log(self.gamma), last), lambda t: t
            return lambda t: low + amp * phase(position(t)) * sigma(count(t))
        # the dip, high - amp * phi * sigma, as low + amp * (1 - phi * sigma) with
        # 1 - phi sigma = (1 - phi) + phi (1 - sigma): two non-negative terms, the first
        # from an exact integer distance, the second from expm1 (no cancellation near low)
        if log_sigma is None:
            return lambda t: low + amp * rest(position(t))

        def dip(t):
            q = position(t)
            return low + amp * (rest(q) - phase(q) * ops.expm1(log_sigma(t)))

        return dip

    def _amplitude_2f(self, ops, up, down, last, position, cycles):
        """Float32 backends, ``triangular2`` and ``exp_range``: the rate
        ``low + (A / L) (m sigma)`` (rising) or ``low + (A / L) (n + m (1 - sigma))``
        (``invert``), ``L`` the branch's length (up or down), ``m`` and ``n = L - m``
        its exact integer distances, ``sigma`` a pair (:func:`exp_pair`) and each
        product a pair: one rounding at the end where the float formula rounded the
        phase, the amplitude, ``sigma`` and each product (4.5 ulp)."""
        if self.mode == "triangular2":
            sigma = exp_pair(ops, math.log(0.5), last)
            count = cycles
        else:
            sigma = exp_pair(ops, math.log(self.gamma), last)
            count = lambda t: t  # noqa: E731
        amp = self.high - self.low
        a_up = twofloat.pair(ops, amp / up)
        a_down = twofloat.pair(ops, amp / down) if down else a_up  # down 0: q < up always
        low_hi, low_lo = twofloat.pair(ops, self.low)
        one = ops.const(1.0)

        def rate(t):
            q = position(t)
            rising = q <= up
            m = ops.to_float(ops.where(rising, q, down - (q - up)))  # in int32
            n = ops.to_float(ops.where(rising, up - q, q - up))
            s_hi, s_lo = sigma(count(t))
            if self.invert:  # n + m (1 - sigma), every term >= 0
                d_hi, d_lo = twofloat.two_sum(-s_hi, one)  # see linear_curve
                p, e = twofloat.two_prod(ops, m, d_hi)
                x_hi, x_err = twofloat.two_sum(n, p)
                x_lo = x_err + (e + m * (d_lo - s_lo))
            else:
                x_hi, x_lo = twofloat.two_prod(ops, m, s_hi)
                x_lo = x_lo + m * s_lo
            c_hi = ops.where(rising, a_up[0], a_down[0])
            c_lo = ops.where(rising, a_up[1], a_down[1])
            p, e = twofloat.two_prod(ops, x_hi, c_hi)
            e = e + (x_hi * c_lo + x_lo * c_hi)
            r_hi, r_err = twofloat.two_sum(p, low_hi)
            return r_hi + (r_err + (e + low_lo))

        return rate

    def breakpoints(self):
        up, down, scale = self.scaled()
        return sorted({math.ceil(Fraction(up, scale)), math.ceil(Fraction(up + down, scale))})
