"""``exponential``: ``start * rate ** (t / every)``."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import twofloat
from ..errors import SpecError
from ..fields import _DURATION, MAX_STEP, POSITIVE, RATE, Bool, Steps, exact, param
from ..formulas import equivalent_ratio, floor_ratio, growth, mul_div
from ..node import Node, check_growth, growth_bound
from ..ops import horizon

#: The largest staircase drawn from a table on float32 backends (see Exponential._stairs).
_MAX_STAIRS = 2048


@dataclasses.dataclass(frozen=True, kw_only=True)
class Exponential(Node):
    r"""Exponential decay (Keras ``ExponentialDecay``, optax ``exponential_decay``).

    .. math:: \eta(t) = s \cdot r^{\,u / N}, \qquad u = \max(t - b, 0)

    with :math:`u / N` replaced by :math:`\lfloor u / N \rfloor` when ``staircase``, and
    the result clipped at ``bound`` (a floor when :math:`r < 1`, a ceiling when
    :math:`r > 1`; optax's ``end_value``).

    * ``start`` :math:`s`; ``rate`` :math:`r > 0` per ``every`` :math:`N` steps;
    * ``begin`` :math:`b` — hold ``start`` until this step (optax ``transition_begin``);
    * ``staircase`` — integer exponent; ``bound`` — see above;
    * ``every`` :math:`N`: a real number of steps too (Keras's ``decay_steps=2.5``),
      exact: :math:`\lfloor u / N \rfloor` by integer arithmetic on :math:`N = p/q`
      (:func:`lrcore.formulas.floor_ratio`); below 1 step the count stops where the
      rate does (its bound, or 0 in float64), and where it passes int32 before that it
      is ``u (q div p)`` plus an int32 rest (:meth:`_many_stairs`).

    Computed as :math:`s\,e^{u \ln(r)/N}` with :math:`\ln(r)/N` folded in float64.

    >>> import lrcore
    >>> lrcore.evaluate(lrcore.exponential(start=1.0, rate=0.5, every=2), [0, 1, 2, 4]).tolist()
    [1.0, 0.7071067811865476, 0.5, 0.25]
    """

    type = "exponential"
    start: float = param(RATE, doc="rate at t = begin")
    rate: float = param(POSITIVE, doc="factor per `every` steps")
    every: int | float | str = param(Steps(real=True), 1,
                                    doc="steps over which the rate multiplies by `rate`")
    staircase: bool = param(Bool(), False, doc="integer exponent floor(u / every)")
    begin: int | str = param(Steps(positive=False), 0, doc="hold `start` until this step")
    bound: float | None = param(RATE, None, doc="floor (rate < 1) or ceiling (rate > 1)")

    def check(self, path):
        if self.bound is not None:
            if self.rate == 1 and self.bound > self.start:
                raise SpecError(f"{path}.bound", f"must be <= start ({self.start:g}) with "
                                "rate 1: it is a ceiling that is never reached", self.bound)
            if self.rate < 1 and self.bound > self.start:
                raise SpecError(f"{path}.bound", f"must be <= start ({self.start:g}) for a "
                                "decay: it is the floor the rate decays to", self.bound)
            if self.rate > 1 and self.bound < self.start:
                raise SpecError(f"{path}.bound", f"must be >= start ({self.start:g}) for a "
                                "growth: it is the ceiling", self.bound)
            if self.rate > 1 and self.start > 0 and self.bound / self.start > 1e30:
                raise SpecError(f"{path}.bound", "must be at most 1e30 times start (the "
                                "growth factor must stay inside float32's exp range)",
                                self.bound)
        elif _known(self.every) and isinstance(self.begin, int):
            check_growth(f"{path}.rate", self.start, math.log(self.rate) / exact(self.every),
                         MAX_STEP - self.begin, self.rate)

    def rate_bound(self):
        if self.bound is not None and self.rate > 1:
            return self.bound
        return growth_bound(self.start, math.log(self.rate) / exact(self.every),
                            MAX_STEP - self.begin)

    def _stair_steps(self, last):
        """The ``u <= last`` past which a staircase's rate no longer changes (its count
        of stairs needs no more), for an ``every`` below 1 step; else ``last``. The rate
        stops at its bound, or where ``start * exp(k ln(rate))`` is 0 in float64."""
        n = exact(self.every)
        if isinstance(n, int) or n >= 1:
            return last
        c = math.log(self.rate)
        if self.start == 0.0 or c == 0.0:
            k = 0
        elif self.bound is not None and self.bound > 0.0:
            k = math.ceil(math.log(self.bound / self.start) / c) + 1
        elif c < 0.0:
            k = math.ceil(746.0 / -c) + 1  # exp(k c) is 0 from there
        else:
            return last
        return min(last, math.ceil(k * n))

    def _stairs(self, ops, k_last):
        """Float32 backends, a staircase: every stair's rate ``start * rate**k`` (bound
        applied) folded in float64, when the stairs up to where the rate stops changing
        in float32 (its bound, float32's range, or ``k_last``) are at most
        ``_MAX_STAIRS``: each rate is then the reference rounded once. Returns the table
        and the last index, or None."""
        if not twofloat.wanted(ops) or self.start == 0.0 or self.rate == 1.0:
            return None
        c = math.log(self.rate)
        tiny = float(np.finfo(ops.dtype).smallest_subnormal)
        edge = self.bound if self.bound is not None else (tiny / 2 if c < 0 else math.inf)
        if math.isinf(edge):
            return None
        steps = math.ceil(abs(math.log(edge / self.start) / c)) + 1
        top = min(k_last, steps)
        if top > _MAX_STAIRS:
            return None
        clip = max if c < 0 else min
        values = [self.start * math.exp(k * c) for k in range(top + 1)]
        if self.bound is not None:
            values = [clip(v, self.bound) for v in values]
        return ops.table(values), top

    def _many_stairs(self, ops, u_last):
        """A staircase under 1 step whose count ``k = floor(u / N)`` passes int32 before
        the rate stops changing: with ``N`` replaced by :func:`equivalent_ratio`'s
        ``p/q`` (the same count at every ``u <= u_last``), ``q = g p + h`` and ``u = a p +
        r``, ``k = g u + j`` with ``j = a h + floor(r h / p) < u`` in int32
        (:func:`mul_div`), and the exponent ``k c = u (g c) + j c`` (``c = ln(rate)``,
        ``g c`` folded in float64): a float64 sum, or on float32 backends the sum of two
        pairs (:func:`twofloat.times`), so ``exp`` sees no rounded count (``rate ** k``,
        then the bound, as the narrow staircase)."""
        m = equivalent_ratio(exact(self.every), u_last)
        p, q = m.numerator, m.denominator
        g, h = divmod(q, p)
        c = math.log(self.rate)

        def counts(u):
            u = ops.minimum(u, u_last)
            return u, ops.floordiv(u, p) * h + mul_div(ops, ops.mod(u, p), h, p)[0]

        if twofloat.wanted(ops):
            whole, part = twofloat.times(ops, g * c, u_last), twofloat.times(ops, c, u_last)
            s_hi, s_lo = twofloat.pair(ops, self.start)

            def power(u):
                u, j = counts(u)
                a_hi, a_lo = whole(u)
                b_hi, b_lo = part(j)
                e_hi, e_err = twofloat.two_sum(a_hi, b_hi)
                w = twofloat.exp(ops, e_hi, e_err + (a_lo + b_lo))
                return w * s_hi + w * s_lo
        else:
            gc, c_f, start = ops.const(g * c), ops.const(c), ops.const(self.start)

            def power(u):
                u, j = counts(u)
                return start * ops.exp(ops.to_float(u) * gc + ops.to_float(j) * c_f)
        decay = power
        if self.bound is not None:
            bound, clip = ops.const(self.bound), (ops.minimum if self.rate > 1 else
                                                  ops.maximum)
            decay = lambda u: clip(power(u), bound)  # noqa: E731
        if self.begin == 0:
            return decay
        return ops.select([self.begin], [ops.constant(self.start),
                                         lambda t: decay(t - self.begin)])

    def build(self, ops):
        n, b = exact(self.every), self.begin
        log_rate = math.log(self.rate)
        last = max(horizon() - b, 0)  # the largest u = t - begin this formula sees
        if self.staircase:  # the exponent is k c with an integer k
            u_last = self._stair_steps(last)  # u past it: the rate no longer changes
            c, k_last = log_rate, math.floor(u_last / n)
            if k_last > MAX_STEP:  # stairs under a step, counted past int32
                return self._many_stairs(ops, u_last)
            if u_last < last:
                count = lambda u: floor_ratio(ops, ops.minimum(u, u_last), n, u_last)  # noqa: E731
            else:
                count = lambda u: floor_ratio(ops, u, n, last)  # noqa: E731
            table = self._stairs(ops, k_last)
            if table is not None:
                stairs, top = table
                decay = lambda u: ops.take(stairs, ops.minimum(count(u), top))  # noqa: E731
                if b == 0:
                    return decay
                return ops.select([b], [ops.constant(self.start), lambda t: decay(t - b)])
        else:
            c, k_last = log_rate / n, last  # ln(r) q / p, rounded once
            count = lambda u: u  # noqa: E731
        if self.bound is not None and self.rate > 1 and self.start > 0:
            # a ceiling (optax): k stops where the rate has passed it, so the growth never
            # overflows on the way, and the rate is clipped so the bound is met exactly
            k_last = min(k_last, math.ceil(math.log(self.bound / self.start) / c))
            grow = growth(ops, self.start, c, k_last, ceiling=self.bound)
            bound = ops.const(self.bound)
            decay = lambda u: ops.minimum(grow(ops.minimum(count(u), k_last)), bound)  # noqa: E731
        else:
            grow = growth(ops, self.start, c, k_last)
            decay = lambda u: grow(count(u))  # noqa: E731
            if self.bound is not None:  # a floor (decay), or min(start, bound) at rate 1
                bound, clip = ops.const(self.bound), (
                    ops.maximum if self.rate < 1 else ops.minimum)
                plain = decay
                decay = lambda u: clip(plain(u), bound)  # noqa: E731
        if b == 0:
            return decay
        return ops.select([b], [ops.constant(self.start), lambda t: decay(t - b)])


def _known(steps):
    """Whether a step value is resolved (not ``"Nep"``/``"N%"``)."""
    return not (isinstance(steps, str) and _DURATION.match(steps))
