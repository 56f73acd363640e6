"""``cosine_restarts``: SGDR, cosine annealing with warm restarts (Keras semantics)."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

from .. import twofloat
from ..errors import SpecError
from ..fields import MAX_LIST, MAX_STEP, POSITIVE, RATE, Float, Steps, exact, param
from ..formulas import _split_hi, angle_pair, growth, half_cosine, interval_curve
from ..node import Node, check_growth, growth_bound


@dataclasses.dataclass(frozen=True, kw_only=True)
class CosineRestarts(Node):
    r"""Cosine annealing with warm restarts (SGDR; Keras ``CosineDecayRestarts``).

    Cycle :math:`i` starts at :math:`B_i = P\,\frac{m^i - 1}{m - 1}` (:math:`iP` when
    :math:`m = 1`) and lasts :math:`L_i = P m^i`; a step belongs to the cycle whose
    real-valued span holds it, decided by exact integer comparison. With
    :math:`x = (t - B_i) / L_i`:

    .. math:: \eta(t) = e + (s - e)\,\mu^{i}\,\frac{1 + \cos(\pi x)}{2}

    * ``start`` :math:`s`, ``end`` :math:`e` (Keras ``alpha * initial``); with
      :math:`e > s` (Keras ``alpha > 1``) every cycle rises from
      :math:`e - (e - s)\mu^i` towards :math:`e`, and ``peak_mult`` must be
      :math:`\le 1` (above 1 the rates fall below 0);
    * ``period`` :math:`P` (``first_decay_steps``, a real number of steps too),
      ``period_mult`` :math:`m > 0` (``t_mul``; below 1 the cycles shrink, and must
      not all end inside the step domain: :math:`P / (1 - m) > 2^{31} - 1`),
      ``peak_mult`` :math:`\mu > 0`
      (``m_mul``: it scales the height above ``end``, as in Keras; above 1 the peaks
      grow, and must stay inside float32 up to step 2**31 - 1).

    >>> import lrcore
    >>> s = lrcore.cosine_restarts(start=1.0, end=0.0, period=2, period_mult=2.0, peak_mult=0.5)
    >>> lrcore.evaluate(s, range(7)).round(6).tolist()
    [1.0, 0.5, 0.5, 0.426777, 0.25, 0.073223, 0.25]
    """

    type = "cosine_restarts"
    start: float = param(RATE, doc="rate at the start of the first cycle")
    end: float = param(RATE, 0.0, doc="rate at the end of every cycle")
    period: int | float | str = param(Steps(real=True), doc="length of the first cycle")
    period_mult: float = param(Float(gt=0.0, what="a number > 0"), 1.0,
                               doc="each cycle is this many times longer than the last")
    peak_mult: float = param(POSITIVE, 1.0,
                             doc="each cycle's height is this many times the last's")

    def check(self, path):
        if self.end > self.start and self.peak_mult > 1:
            raise SpecError(f"{path}.peak_mult", "must be <= 1 when end > start (the "
                            "cycles' lowest rates e - (e - s) peak_mult**i fall below 0); "
                            "use a peak_mult <= 1 or an end <= start", self.peak_mult)
        if isinstance(self.period, str) and self.period[-1] in "p%":
            return  # resolves later; checked again then
        p = exact(self.period)
        if self.period_mult < 1:
            total = p / (1 - Fraction(self.period_mult))  # every cycle together
            if total <= MAX_STEP:
                raise SpecError(f"{path}.period_mult", "must be >= 1 unless the cycles' total "
                                f"length period / (1 - period_mult) = {float(total):.10g} is "
                                "past 2**31 - 1 (Keras's schedule is NaN from step "
                                f"{math.ceil(total)} on); use a period_mult >= 1 or a longer "
                                "period", self.period_mult)
        if p <= MAX_STEP and self.period_mult != 1:
            _cycle_table(p, self.period_mult, path)
        if not self.real_ok("period", p):
            raise SpecError(f"{path}.period", "must be a ratio p/q with p * max(q, 2) <= "
                            "2**31 - 1 when period_mult is 1 (restarts are found by integer "
                            "arithmetic); use a simpler fraction", self.period)
        if self.end > self.start:
            return
        check_growth(f"{path}.peak_mult", self.start - self.end, math.log(self.peak_mult),
                     self._restarts(), self.peak_mult)

    def real_ok(self, name, value):
        # restarts every real P (period_mult 1) are found in int32 when p max(q, 2) fits
        return name != "period" or value > MAX_STEP or self.period_mult != 1 \
            or isinstance(value, int) or value.numerator * max(value.denominator, 2) <= MAX_STEP

    def _restarts(self) -> int:
        """How many restarts happen in [0, 2**31 - 1] (the largest cycle index)."""
        p = exact(self.period)
        if p > MAX_STEP:
            return 0
        if self.period_mult == 1.0:
            return math.floor(MAX_STEP / p)
        return len(_cycle_table(p, self.period_mult, "")[0]) - 1

    def rate_bound(self):
        if self.end > self.start:  # every cycle rises towards end
            return self.end
        return self.end + growth_bound(self.start - self.end, math.log(self.peak_mult),
                                       self._restarts())

    def build(self, ops):
        e, p, m, mu = ops.const(self.end), exact(self.period), self.period_mult, self.peak_mult
        height = self.start - self.end
        log_mu = ops.const(math.log(mu))
        if p > MAX_STEP:  # one cycle on the whole domain: a half cosine over P
            return interval_curve(ops, 0, p, self.start, self.end, "cos")
        rising = self.end > self.start
        if m == 1.0:
            scaled = growth(ops, height, math.log(mu), self._restarts()) if mu != 1.0 else None
            if isinstance(p, int):
                angle = angle_pair(ops, math.pi / (2.0 * p), p)
                amp = ops.const(height)
                if rising:
                    return _rising(ops, self.start, -height, log_mu, mu, lambda t: (
                        ops.floordiv(t, p), angle(ops.mod(t, p))))

                def sgdr(t):
                    i = ops.floordiv(t, p)
                    scale = amp if mu == 1.0 else scaled(i) if scaled is not None else \
                        amp * ops.exp(ops.to_float(i) * log_mu)
                    return e + scale * half_cosine(ops, *angle(p - ops.mod(t, p)))

                return sgdr
            return _real_period(ops, e, p, height, mu, log_mu, scaled, self.start, rising)
        starts, next_start, halfpi_over_len = _cycle_table(p, m, "")
        # the integer step at or after each cycle's real end, kept inside int32, and the
        # (float) rest: the real end is next_int + extra; extra is -frac(end) except for
        # a last cycle that ends past the domain.
        next_int = [min(math.ceil(b), MAX_STEP) for b in next_start]
        extra = [b - n for b, n in zip(next_start, next_int)]
        t_start = ops.table(starts, integer=True)
        t_next = ops.table(next_int, integer=True)
        t_extra = ops.table(extra)
        t_h = ops.table(halfpi_over_len)
        t_amp = ops.table([height * mu**i for i in range(len(starts))])
        if rising:  # the distance from the cycle's real start: an integer plus a float rest
            t_from = ops.table([math.ceil(b) - b for b in [0.0, *next_start[:-1]]])

            def cycle(t):
                i = ops.searchsorted(t_start, t)
                d = ops.to_float(t - ops.take(t_start, i)) + ops.take(t_from, i)
                return i, (ops.take(t_h, i) * d, None)

            return _rising(ops, self.start, -height, log_mu, mu, cycle)

        if twofloat.wanted(ops):
            # the angle as a pair (see formulas.angle_pair): each cycle's pi / (2 L_i)
            # split so that its high part times the integer distance is exact (a cycle
            # past 2**20 steps keeps one rounding there)
            k_hi = [_split_hi(h, min(n - b + 1, 2**20 - 1)) for h, n, b in zip(
                halfpi_over_len, next_int, starts, strict=True)]
            c = [x * h for x, h in zip(extra, halfpi_over_len, strict=True)]
            c_hi = [float(ops.dtype(x)) for x in c]
            t_khi, t_klo = ops.table(k_hi), ops.table([h - k for h, k in zip(
                halfpi_over_len, k_hi, strict=True)])
            t_chi, t_clo = ops.table(c_hi), ops.table([x - y for x, y in zip(
                c, c_hi, strict=True)])

            def sgdr_pair(t):
                i = ops.searchsorted(t_start, t)
                x = ops.to_float(ops.take(t_next, i) - t)
                hi, lo = twofloat._fast_two_sum(x * ops.take(t_khi, i), x * ops.take(t_klo, i))
                u, err = twofloat.two_sum(hi, ops.take(t_chi, i))
                u, u_lo = twofloat.two_sum(u, err + (lo + ops.take(t_clo, i)))
                return e + ops.take(t_amp, i) * half_cosine(ops, u, u_lo)

            return sgdr_pair

        def sgdr_mult(t):
            i = ops.searchsorted(t_start, t)
            # distance to the real end of the cycle: an exact integer plus a float rest
            left = ops.to_float(ops.take(t_next, i) - t) + ops.take(t_extra, i)
            return e + ops.take(t_amp, i) * half_cosine(ops, ops.take(t_h, i) * left)

        return sgdr_mult


def _rising(ops, start, rise, log_mu, mu, cycle):
    """A rising restart (``end > start``, ``peak_mult <= 1``): ``e - |h| mu^i w`` as
    ``s + |h| ((1 - mu^i) + mu^i (1 - w))``, every term non-negative, so float32 does not
    cancel for a large ``end / start``; ``1 - mu^i = -expm1(i log mu)`` and ``1 - w`` is
    the squared sine of the angle from the cycle's start (``cycle(t) -> (i, (angle,
    low part or None))``, :func:`lrcore.formulas.half_cosine`)."""
    s, amp = ops.const(start), ops.const(rise)

    def sgdr_rising(t):
        i, (angle, lo) = cycle(t)
        sin2 = half_cosine(ops, angle, lo)
        if mu == 1.0:
            return s + amp * sin2
        k = ops.to_float(i) * log_mu
        return s + amp * (-ops.expm1(k) + ops.exp(k) * sin2)

    return sgdr_rising


def _real_period(ops, e, p, height, mu, log_mu, scaled, start=0.0, rising=False):
    """Restarts every real ``P = a / b`` steps (lowest terms): ``t = n a + r`` and
    ``X = r b mod a`` give the cycle ``i = n b + (r b) // a`` and the distance to its end
    ``(a - X) / b``, so the angle is ``pi (a - X) / (2 a)`` (an integer times a
    constant)."""
    a, b = p.numerator, p.denominator
    amp = ops.const(height)
    angle = angle_pair(ops, math.pi / (2.0 * a), a)

    def cycle(t):
        r = ops.mod(t, a)
        rb = r * b  # < a b <= 2**31 - 1 (checked)
        x = ops._mod(rb, a)
        i = ops.floordiv(t, a) * b + ops._floordiv(rb - x, a)  # exact: a divides rb - x
        return i, x

    if rising:
        return _rising(ops, start, -height, log_mu, mu, lambda t: (
            lambda i, x: (i, angle(x)))(*cycle(t)))

    def sgdr_real(t):
        i, x = cycle(t)
        if mu == 1.0:
            scale = amp
        elif scaled is not None:
            scale = scaled(i)
        else:
            scale = amp * ops.exp(ops.to_float(i) * log_mu)
        return e + scale * half_cosine(ops, *angle(a - x))

    return sgdr_real


def _keras_cycle(t: int, p: float, m: float) -> int:
    """The cycle Keras's ``CosineDecayRestarts`` finds for step ``t`` (float64, its
    order of operations): ``floor(log(1 - t / P (1 - m)) / log(m))``."""
    x = 1.0 - t / p * (1.0 - m)
    return math.floor(math.log(x) / math.log(m)) if x > 0 else MAX_LIST + 2**40


def _cycle_table(p, m: float, path: str):
    """First integer step of each cycle, the real start of the next, and pi / (2 L_i).

    Real starts are float64, snapped to an integer when float64 misses one only by
    rounding (``P (m^i - 1) / (m - 1)`` is often an exact integer)."""
    starts, next_start, hs = [], [], []
    i, b = 0, 0.0
    while math.ceil(b) <= MAX_STEP:
        try:
            b_next = float(p) * (m ** (i + 1) - 1) / (m - 1)
        except OverflowError:  # the next cycle starts far past the domain
            b_next = math.inf
        b_next = min(b_next, float(2**62))
        if abs(b_next - round(b_next)) <= 8 * math.ulp(b_next):  # float64 rounding only
            b_next = float(round(b_next))
        start = math.ceil(b)
        if m < 1 and i > 0:  # shrinking cycles: the cycle Keras's log formula finds
            while _keras_cycle(start, float(p), m) < i:
                start += 1
            while start > starts[-1] and _keras_cycle(start - 1, float(p), m) >= i:
                start -= 1
        starts.append(start)
        next_start.append(b_next)
        hs.append(math.pi / (2.0 * float(p) * m**i))
        if len(starts) > MAX_LIST:
            raise SpecError(f"{path}.period_mult", f"gives more than {MAX_LIST} restarts "
                            "before step 2**31 - 1; use a longer period or a larger "
                            "period_mult", m)
        i, b = i + 1, b_next
    return starts, next_start, hs
