"""``polynomial``: ``end + (start - end) * (1 - t / D) ** power``."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

from .. import twofloat
from ..errors import SpecError
from ..fields import _DURATION, FLOAT32_MAX, MAX_STEP, RATE, Bool, Float, exact, param
from ..formulas import exponent_bound, mul_div, power_mix, power_of_log, times
from ..node import Node


class _Power(Float):
    """A number in [-1e4, 1e4] other than 0 (beyond 1e4 every step after 0 is the end
    value; a power of 0 is the constant start)."""

    def coerce(self, value, path):
        x = super().coerce(value, path)
        if x == 0.0:
            raise SpecError(path, f"must be {self.what} (a power of 0 is a constant: use "
                            "constant)", value)
        return x

    def schema(self):
        return dict(super().schema(), **{"not": {"const": 0}})


#: A positive power decays from start to end; a negative one (no cycle, start >= end)
#: grows from start toward a pole at D, where the curve drops to end.
POWER = _Power(ge=-1e4, le=1e4, what="a number in [-1e4, 0) or (0, 1e4]")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Polynomial(Node):
    r"""Polynomial decay (Keras ``PolynomialDecay``, torch ``PolynomialLR``).

    .. math:: w = \Big(1 - \frac{t}{D'}\Big)^{p}, \qquad \eta(t) = s\,w + e\,(1 - w)

    Without ``cycle``, :math:`D' = D` and :math:`t` stops at :math:`D` (the rate holds
    :math:`e`). With ``cycle``, :math:`D' = D \lceil t / D \rceil` (and :math:`D` at
    :math:`t = 0`), Keras's restart rule.

    A negative power (no ``cycle``, :math:`s \ge e`) grows from :math:`s` toward a pole
    at :math:`D` (the inverse of a falling line, :math:`p = -1`), then holds :math:`e`:
    its largest rate is at the last integer step before :math:`D`, and must stay within
    float32's range. On float32 backends its ``log(base)`` is a two-float pair down to
    :math:`1/D`.

    * ``start`` :math:`s`, ``end`` :math:`e`, ``power`` :math:`p \ne 0`, ``duration`` :math:`D`:
      a real number of steps too (Keras's ``decay_steps=2.5``). Without ``cycle``,
      :math:`D - t` is the exact integer :math:`\lfloor D \rfloor - t` plus a constant.
      With ``cycle``, :math:`D = a/b` (lowest terms, :math:`a, b \le 2^{31} - 1`, below
      1 step too): :math:`t = k a + r` gives :math:`c = \lceil t / D \rceil = k b +
      \lceil r b / a \rceil` and :math:`D' - t = n / b` with the integer :math:`n = a
      \lceil r b / a \rceil - r b \in [0, a)`, so :math:`(D' - t) / D' = n / (a c)`,
      ``r b`` divided by ``a`` exactly within int32 (:func:`lrcore.formulas.mul_div`).

    >>> import lrcore
    >>> s = lrcore.polynomial(start=1.0, end=0.0, power=2.0, duration=4)
    >>> lrcore.evaluate(s, range(6)).tolist()
    [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """

    type = "polynomial"
    bounded = True
    start: float = param(RATE, doc="rate at t = 0")
    end: float = param(RATE, 0.0, doc="rate at t = D")
    power: float = param(POWER, 1.0, doc="exponent p: > 0 decays from start to end; < 0 "
                         "(no cycle, start >= end) grows from start as (1 - t / D)**p toward "
                         "D, then holds end")
    cycle: bool = param(Bool(), False, doc="restart with D' = D * ceil(t / D) (Keras)")

    def check(self, path):
        if self.power < 0:
            if self.cycle:
                raise SpecError(f"{path}.power", "must be > 0 with cycle (a negative power "
                                "grows without bound toward each restart); drop cycle",
                                self.power)
            if self.start < self.end:
                raise SpecError(f"{path}.power", f"must be > 0 when end ({self.end:g}) "
                                f"exceeds start ({self.start:g}) (a negative power would "
                                "fall below 0 before duration); swap start and end",
                                self.power)
        d = self.duration
        if d is None or (isinstance(d, str) and _DURATION.match(d)):
            return  # resolves later; checked again then
        x = exact(d)
        if self.cycle and x <= MAX_STEP and cycle_rule(x) is not None:
            raise SpecError(f"{path}.duration", cycle_rule(x), d)
        if not self.real_ok("duration", x):
            if self.cycle:
                raise SpecError(f"{path}.duration", "must be <= 2**31 - 1 for polynomial "
                                "with cycle", d)
            raise SpecError(f"{path}.duration", "must be <= 2**31 - 1 for polynomial (linear "
                            "and cosine take longer durations)", d)
        if self.power < 0 and self.rate_bound() > FLOAT32_MAX:
            raise SpecError(f"{path}.power", "must keep the rate at the last step before "
                            f"duration ({_peak_text(self.start, self.end, self.power, x)}) "
                            "inside float32's range; use a power nearer 0 or a shorter "
                            "duration", self.power)

    def rate_bound(self):
        if self.power > 0:
            return super().rate_bound()
        return _peak(self.start, self.end, self.power, exact(self.duration))

    def real_ok(self, name, value):
        return name != "duration" or value <= MAX_STEP and (
            not self.cycle or cycle_rule(value) is None)

    def build(self, ops):
        if self.power != 1.0 and twofloat.wanted(ops):
            return self._build_2f(ops)
        d = exact(self.duration)
        if self.cycle:
            return self._build_cycle(ops, d)
        if not isinstance(d, int):  # a real D: D - t = (floor(D) - t) + frac, both exact
            d_int = math.floor(d)
            of_real = times(ops, float(1 / d), d_int)
            rest = ops.const(float((d - d_int) / d))
            mix = power_mix(ops, self.start, self.end, self.power)
            return ops.select([d_int + 1], [lambda t: mix(of_real(d_int - t) + rest,
                                                          of_real(t)),
                                            ops.constant(self.end)])
        of_d = times(ops, 1.0 / d, d)
        mix = power_mix(ops, self.start, self.end, self.power)

        def decay(t):
            return mix(of_d(d - t), of_d(t))

        return ops.select([d], [decay, ops.constant(self.end)])

    def _build_cycle(self, ops, d):
        a, b = d.numerator, d.denominator  # an int D: a = D, b = 1
        of_a = times(ops, 1.0 / a, a)
        of_d = times(ops, float(1 / d), MAX_STEP)
        mix = power_mix(ops, self.start, self.end, self.power)

        def cyclic(t):  # t >= 1: D' = D * c with c = ceil(t / D); D' - t exact
            c, n = cycle_split(ops, t, a, b)
            return mix(of_a(n) / c, of_d(t) / c)

        return ops.select([1], [ops.constant(self.start), cyclic])

    def _build_2f(self, ops):
        """Float32 backends: ``w = base ** p`` from ``log(base)`` as a two-float pair
        (:func:`lrcore.formulas.power_of_log`), ``base = (D' - t) / D'`` as a pair from
        the exact integers (a float ``base`` has an error that the power multiplies by
        ``p``: 15 ulp at ``p = 30``)."""
        d = exact(self.duration)
        cycle = self.cycle
        rate = power_of_log(ops, ops.const(min(self.start, self.end)),
                            ops.const(abs(self.start - self.end)), self.power,
                            rising=self.start < self.end)
        if not isinstance(d, int) and not cycle:  # base = (floor(D) - t) / D + a constant
            d_int = math.floor(d)
            frac = d - d_int
            of_real = twofloat.times(ops, float(1 / d), d_int)
            rest = twofloat.pair(ops, float(frac / d))
            bits = max(d_int.bit_length() + 1, math.ceil(math.log2(float(d / frac))) + 1)
            bound = exponent_bound(self.power, bits)

            def real_decay(t):
                b_hi, b_lo = of_real(d_int - t)
                hi, err = twofloat.two_sum(b_hi, rest[0])
                lo = err + (b_lo + rest[1])
                return rate(*twofloat.log(ops, hi, lo, bound))

            return ops.select([d_int + 1], [real_decay, ops.constant(self.end)])
        a, b = d.numerator, d.denominator
        ratio = twofloat.from_ratio(ops, a, a)
        if not cycle:
            bound = exponent_bound(self.power, d.bit_length() + 1)

            def decay(t):
                return rate(*twofloat.log(ops, *ratio(d - t), bound))

            return ops.select([d], [decay, ops.constant(self.end)])
        # base = n / (a c) >= 1 / (a c), a c < b t + a <= b 2**31 + a
        bound = exponent_bound(self.power, (b * 2**31 + a).bit_length() + 1)

        def cyclic(t):  # t >= 1: D' = D * c with c = ceil(t / D); D' - t exact
            c, n = cycle_split(ops, t, a, b)
            hi, lo = twofloat.div_int(ops, *ratio(n), c)
            zero = n <= 0
            return rate(*twofloat.log(ops, ops.where(zero, ops.const(1.0), hi), lo, bound),
                        zero)

        return ops.select([1], [ops.constant(self.start), cyclic])


def _last_base(d) -> Fraction:
    """``D / (D - j)`` at the last integer step before ``D``, ``j = ceil(D) - 1`` (exact):
    the inverse of ``1 - j / D``, which a negative power raises to ``-p``."""
    d = Fraction(d)
    return d / (d - (math.ceil(d) - 1))


def _peak(start: float, end: float, p: float, d) -> float:
    """The largest rate of a negative power ``p`` (``start >= end``, no cycle) on integer
    steps, at the last one before ``D``: ``end + (start - end) (D / (D - j)) ** -p``
    (``inf`` past float64). The weight alone must stay a float32 too (``0 * inf`` is NaN
    where ``start == end``)."""
    log_w = -p * math.log(_last_base(d))
    if log_w >= math.log(FLOAT32_MAX):
        return math.inf
    return end + (start - end) * math.exp(log_w)


def _peak_text(start: float, end: float, p: float, d) -> str:
    """:func:`_peak` for a message, written from its logarithm past float64."""
    x = -p * math.log10(_last_base(d)) + (math.log10(start - end) if start > end else 0.0)
    e = math.floor(x)
    return f"{10 ** (x - e):.4g}e+{e:02d}" if e >= 300 else f"{10 ** x:.4g}"


def decaying_power(p: float, path: str, who: str) -> float:
    """A framework's polynomial power, read only when > 0: at the end of its decay the
    framework raises 0 to it (a ZeroDivisionError or inf below 0), where lrcore's
    negative power holds ``end``."""
    if not p > 0:
        raise SpecError(path, f"must be > 0 for {who} (at the end of its decay it raises 0 "
                        "to this power, which is infinite below 0)", p)
    return p


def cycle_rule(d, name: str = "duration") -> str | None:
    """Why a cycling polynomial cannot take the duration ``d`` (None when it can): the
    distance to its restart is ``n / q`` with an integer ``n < p`` that int32 holds."""
    if isinstance(d, int) or d > MAX_STEP or (d.numerator <= MAX_STEP
                                              and d.denominator <= MAX_STEP):
        return None
    return ("must be a ratio p/q with p and q <= 2**31 - 1 with cycle (the distance to "
            f"each restart, q (ceil(t / {name}) {name} - t), is found by integer "
            'arithmetic); write the exact ratio, "1000/3"')


def cycle_split(ops, t, a: int, b: int):
    """``(c, n)`` for integer steps ``t >= 1`` and ``D = a / b`` (``a, b <= 2**31 - 1``):
    the cycle count ``c = ceil(t / D)`` as a float and the integer ``n = b (D c - t)`` in
    ``[0, a)``, from ``t = k a + r`` and ``r b = Q a + R`` (:func:`mul_div`, exact):
    ``c = k b + Q + [R > 0]``, ``n = (a - R) mod a``. Below 1 step (``b > a``) ``c``
    passes int32 and ``k b`` is a float product."""
    k, r = ops.floordiv(t, a), ops.mod(t, a)
    if b == 1:
        return ops.to_float(k + 1 - ops.floordiv(a - r, a)), ops.mod(a - r, a)
    quot, rem = mul_div(ops, r, b, a)
    m = quot + 1 - ops.floordiv(a - rem, a)
    n = ops.mod(a - rem, a)
    if b <= a:
        return ops.to_float(k * b + m), n
    return ops.to_float(k) * ops.const(float(b)) + ops.to_float(m), n
