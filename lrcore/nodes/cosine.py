"""``cosine``: half a cosine wave from ``start`` to ``end`` over D steps."""

from __future__ import annotations

import dataclasses

from ..errors import SpecError
from ..fields import RATE, Bool, Float, param
from ..formulas import cosine_curve
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
    * ``duration`` :math:`D`.

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

    def build(self, ops):
        d = self.duration
        wave = cosine_curve(ops, d, self.start, self.end, self.exponent)
        if self.periodic:
            return lambda t: wave(d - abs(d - ops.mod(t, 2 * d)))
        return ops.select([d], [wave, ops.constant(self.end)])
