"""``cosine``: half a cosine wave from ``start`` to ``end`` over D steps."""

from __future__ import annotations

import dataclasses
import math

from ..errors import SpecError
from ..fields import MAX_STEP, RATE, Bool, Float, exact, param
from ..formulas import angle_pair, cosine_curve, half_cosine, interval_curve
from ..node import Node

#: Largest cosine exponent: past it float32 backends drift from the reference by more
#: than half the parity tolerance (optax, exponent 4: 0.51 of it; 3: 0.42).
MAX_EXPONENT = 3.0


@dataclasses.dataclass(frozen=True)
class _Exponent(Float):
    """A number in (0, MAX_EXPONENT], refused with the reason past the bound."""

    def coerce(self, value, path):
        x = super().coerce(value, path)
        if x > MAX_EXPONENT:
            raise SpecError(path, f"must be <= {MAX_EXPONENT:g}: float32 backends cannot "
                            "follow a steeper cosine power within parity tolerance (for a "
                            "steeper decay, use polynomial with a larger power)", value)
        return x

    def schema(self):
        return dict(super().schema(), maximum=MAX_EXPONENT)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Cosine(Node):
    r"""Cosine annealing (SGDR without restarts; optax ``cosine_decay_schedule``).

    .. math:: w(t) = \Big(\tfrac{1 + \cos(\pi t / D)}{2}\Big)^{p}, \qquad
              \eta(t) = s\,w(t) + e\,(1 - w(t)), \qquad 0 \le t \le D

    After :math:`D` the rate holds :math:`e`, unless ``periodic``: then the wave goes on
    (:math:`\eta(t) = \eta(D - |D - (t \bmod 2D)|)`), which is what torch's
    ``CosineAnnealingLR`` does past ``T_max``.

    * ``start`` :math:`s`, ``end`` :math:`e` — rates at :math:`0` and :math:`D`;
    * ``exponent`` :math:`0 < p \le 3` — optax's ``exponent`` (1: the plain cosine);
    * ``periodic`` — continue the wave past :math:`D` instead of holding;
    * ``duration`` :math:`D`: a real number of steps (``1000.5``, ``"2000/3"``) too, and
      with exponent 1 one past the step domain (``1e10``) or a real periodic one.

    >>> import lrcore
    >>> lrcore.evaluate(lrcore.cosine(start=1.0, end=0.0, duration=4), range(6)).round(6).tolist()
    [1.0, 0.853553, 0.5, 0.146447, 0.0, 0.0]
    """

    type = "cosine"
    bounded = True
    start: float = param(RATE, doc="rate at t = 0")
    end: float = param(RATE, 0.0, doc="rate at t = D")
    exponent: float = param(_Exponent(gt=0.0, what=f"a number in (0, {MAX_EXPONENT:g}]"), 1.0,
                            doc="power of the cosine term (optax)")
    periodic: bool = param(Bool(), False, doc="continue the wave past D (torch)")

    def check(self, path):
        if self.duration is None or (isinstance(self.duration, str)
                                     and self.duration[-1] in "p%"):
            return  # resolves later; checked again then
        d = exact(self.duration)
        if isinstance(d, int) and d <= MAX_STEP:
            return
        if self.exponent != 1.0 and d > MAX_STEP:
            raise SpecError(f"{path}.duration", "must be <= 2**31 - 1 for a cosine with an "
                            "exponent (with exponent 1 it may be longer)", self.duration)
        if self.exponent != 1.0 and self.periodic:
            raise SpecError(f"{path}.duration", "must be a whole number of steps for a "
                            "periodic cosine with an exponent", self.duration)
        if self.periodic and d <= MAX_STEP:
            if not _simple(d):
                raise SpecError(f"{path}.duration", "must be a ratio p/q with 2p * max(q, 2) "
                                "<= 2**31 - 1 for a periodic cosine (its wave is found by "
                                "integer arithmetic); use a simpler fraction", self.duration)

    def real_ok(self, name, value):
        if name != "duration" or value > MAX_STEP:
            return self.exponent == 1.0
        if self.periodic:
            return self.exponent == 1.0 and _simple(value)
        return True

    def takes_real_start(self):
        return not self.periodic and self.exponent == 1.0

    def build(self, ops):
        return self.build_at(ops, 0)

    def build_at(self, ops, phi):
        d = exact(self.duration)
        if phi == 0 and d <= MAX_STEP and (isinstance(d, int) or self.exponent != 1.0):
            wave = cosine_curve(ops, d, self.start, self.end, self.exponent)
            if self.periodic:
                return lambda t: wave(d - abs(d - ops.mod(t, 2 * d)))
            return ops.select([math.ceil(d)], [wave, ops.constant(self.end)])
        if self.periodic and d <= MAX_STEP:
            return _real_wave(ops, d, self.start, self.end)
        # a real D or start: the half cosine over the real interval [-phi, D - phi]
        wave = interval_curve(ops, -phi, d - phi, self.start, self.end, "cos")
        return ops.select([math.ceil(d - phi)], [wave, ops.constant(self.end)])


def _simple(d):
    """A periodic wave over ``D`` (``2D = p/q``) is found in int32 when ``p max(q, 2)``
    fits in it."""
    return (2 * d).numerator * max((2 * d).denominator, 2) <= MAX_STEP


def _real_wave(ops, d, a, b):
    """The periodic cosine over a real half-period ``D``, ``2D = p/q`` (lowest terms):
    ``t = n p + r`` and ``X = r q mod p`` place ``t`` in its double period exactly
    (``t mod 2D = X / q``); the distance to the wave's low end, ``|D - t mod 2D|``, is
    ``|p - 2X| / (2q)``, an integer times a constant, so the angle is
    ``pi |p - 2X| / (2p)`` (falling) and its complement ``pi (p - |p - 2X|) / (2p)``."""
    p, q = (2 * d).numerator, (2 * d).denominator
    low, height = ops.const(min(a, b)), ops.const(abs(a - b))
    angle = angle_pair(ops, math.pi / (2.0 * p), p)
    falling = a >= b

    def wave(t):
        # r q < p q <= 2**31 - 1 (checked); the outer remainder is taken even when p lies
        # past the horizon (r q may exceed p there)
        x = ops._mod(ops.mod(t, p) * q, p) if q > 1 else ops.mod(t, p)
        far = abs(p - 2 * x)  # 2q times the distance to the end of the half period
        return low + height * half_cosine(ops, *angle(far if falling else p - far))

    return wave
