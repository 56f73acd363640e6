"""``cyclic``: triangular cycles between ``low`` and ``high`` (torch ``CyclicLR``)."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

from .. import limbs, twofloat
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
    integers :math:`k` and :math:`Q q = t Q \bmod (u + d)`, in 24-bit limbs where
    :math:`u + d` passes int32):

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
        for name in ("up", "down"):
            value = getattr(self, name)
            if isinstance(value, int) and value > MAX_STEP:
                raise SpecError(f"{path}.{name}", f"must be <= 2**31 - 1 = {MAX_STEP}", value)

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
        # b Q mod P and the cycle count a Q + floor(b Q / P), exact within int32 (mul_div);
        # a P past int32 takes the position in limbs (_wide)
        up, down, scale = self.scaled()
        period = up + down
        last = self._last_cycle()
        if scale == 1:
            position = lambda t: ops.mod(t, period)  # noqa: E731
            cycles = lambda t: ops.floordiv(t, period)  # noqa: E731
        else:
            def position(t):
                return mul_div(ops, ops.mod(t, period), scale % period, period)[1]

            stop = self._count_steps() if self.mode == "triangular2" else horizon()
            n = Fraction(period, scale)
            if stop // n > MAX_STEP:  # cycles under 1 / (2**31 - 1) step: past step 0
                # the count passes int32, and 2**-k is 0 long before (k stops at last)
                cycles = lambda t: ops.minimum(t, 1) * last  # noqa: E731
            else:
                def cycles(t):
                    return floor_ratio(ops, ops.minimum(t, stop), n, stop)
        if scale > 1 and period > MAX_STEP:
            return self._wide(ops, up, down, scale, cycles, last)
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

    def _last_cycle(self) -> int:
        """The last cycle count ``triangular2`` meets (its count stops where 2**-k is 0,
        and within int32), else the horizon (``exp_range`` counts steps)."""
        if self.mode != "triangular2":
            return horizon()
        up, down, scale = self.scaled()
        if scale == 1:
            return horizon() // (up + down)
        return min(self._count_steps() * scale // (up + down), MAX_STEP)

    def _sigma(self, cycles):
        """``(c, count)``: ``sigma = exp(c count(t))`` (``c = None``: triangular)."""
        if self.mode == "triangular":
            return None, None
        if self.mode == "triangular2":
            return math.log(0.5), cycles
        return math.log(self.gamma), lambda t: t

    def _wide(self, ops, up, down, scale, cycles, last):
        """``(up + down) Q`` past 2**31 - 1: the position ``x = t Q mod P`` as 24-bit
        limbs (:func:`lrcore.limbs.mul_mod`), its distances ``m`` (from the start
        rising, to the end falling) and ``n = |x - U Q|`` as limbs, each limb ``i`` times
        the float64 constant ``(h - l) 2**(24 i) / L`` (``L``: the branch's length in
        ``1/Q`` steps), summed as a pair on float32 backends (every limb is exact in
        float32): ``y_m = (h - l) phi`` and ``y_n = (h - l) (1 - phi)``, then the rate
        as the narrow formulas have it (``low + y_m sigma``, or ``low + y_n + y_m (1 -
        sigma)`` with ``invert``)."""
        period = up + down
        n = limbs.count(period)
        position = limbs.mul_mod(ops, scale, period, horizon())
        u_l, p_l = limbs.split(up, n), limbs.split(period, n)
        amp = self.high - self.low

        def weights(length):  # 0 where no distance on the branch (<= length) has limb i
            return [amp * float(Fraction(1 << (limbs.BITS * i), length))
                    if length >> (limbs.BITS * i) else 0.0 for i in range(n)]

        w_up = weights(up)
        w_down = weights(down) if down else w_up  # down 0: the position is never past up
        two = twofloat.wanted(ops)

        def weight(w_u, w_d, rising):
            (uh, ul), (dh, dl) = twofloat.pair(ops, w_u), twofloat.pair(ops, w_d)
            if w_u == w_d:
                return uh, ul
            return ops.where(rising, uh, dh), ops.where(rising, ul, dl)

        def scaled(digits, rising):  # sum_i digits_i w_i, top limb first
            hi = lo = None
            for i in reversed(range(n)):
                if w_up[i] == 0.0 and w_down[i] == 0.0:
                    continue
                f = ops.to_float(digits[i])
                if not two:  # the products first: a where of two constants may be float32
                    a, b = f * ops.const(w_up[i]), f * ops.const(w_down[i])
                    term = a if w_up[i] == w_down[i] else ops.where(rising, a, b)
                    hi = term if hi is None else hi + term
                    continue
                c_hi, c_lo = weight(w_up[i], w_down[i], rising)
                p, e = twofloat.two_prod(ops, f, c_hi)
                e = e + f * c_lo
                if hi is None:
                    hi, lo = p, e
                else:
                    hi, err = twofloat.two_sum(hi, p)
                    lo = lo + (err + e)
            return twofloat._fast_two_sum(hi, lo) if two else (hi, None)

        def distances(t):
            x = position(t)
            zero = t - t
            one = zero + 1
            below = limbs.sub(ops, u_l, x, zero, one)  # U Q - x
            rising = below[-1] >= 0
            if not down:
                return rising, x, below
            above = limbs.sub(ops, x, u_l, zero, one)  # x - U Q
            to_end = limbs.sub(ops, p_l, x, zero, one)  # P - x
            m = [ops.where(rising, a, b) for a, b in zip(x, to_end)]
            r = [ops.where(rising, a, b) for a, b in zip(below, above)]
            return rising, m, r

        c, count = self._sigma(cycles)
        if c is not None:
            sigma = exp_pair(ops, c, last) if two else exp_times(ops, c, last)
            log_c = ops.const(c)
        low_hi, low_lo = twofloat.pair(ops, self.low) if two else (ops.const(self.low), None)
        one_f = ops.const(1.0)

        def rate(t):
            rising, m, r = distances(t)
            if c is None:
                y_hi, y_lo = scaled(r if self.invert else m, rising)
            elif not two:
                y_m = scaled(m, rising)[0]
                if not self.invert:
                    return low_hi + y_m * sigma(count(t))
                y_r = scaled(r, rising)[0]
                return low_hi + (y_r - y_m * ops.expm1(ops.to_float(count(t)) * log_c))
            else:
                s_hi, s_lo = sigma(count(t))
                m_hi, m_lo = scaled(m, rising)
                if self.invert:  # y_n + y_m (1 - sigma), every term >= 0
                    d_hi, d_lo = twofloat.two_sum(-s_hi, one_f)
                    p, e = twofloat.two_prod(ops, m_hi, d_hi)
                    e = e + (m_hi * (d_lo - s_lo) + m_lo * d_hi)
                    r_hi, r_lo = scaled(r, rising)
                    y_hi, err = twofloat.two_sum(r_hi, p)
                    y_lo = err + (e + r_lo)
                else:
                    y_hi, y_lo = twofloat.two_prod(ops, m_hi, s_hi)
                    y_lo = y_lo + (m_hi * s_lo + m_lo * s_hi)
            if not two:
                return low_hi + y_hi
            r_hi, r_err = twofloat.two_sum(y_hi, low_hi)
            return r_hi + (r_err + (y_lo + low_lo))

        return rate

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
