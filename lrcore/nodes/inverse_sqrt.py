"""``inverse_sqrt``: linear warmup, then ``peak * sqrt(timescale / (t - warmup + timescale))``."""

from __future__ import annotations

import dataclasses

from ..fields import RATE, Steps, param
from ..formulas import linear_curve
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class InverseSqrt(Node):
    r"""Inverse square root decay (Transformers ``get_inverse_sqrt_schedule``; Noam).

    .. math:: \eta(t) = \hat\eta\,\frac{t}{W} \quad (t < W), \qquad
              \eta(t) = \hat\eta\,\sqrt{\frac{\tau}{t - W + \tau}} \quad (t \ge W)

    * ``peak`` :math:`\hat\eta`; ``warmup`` :math:`W` (0: no warmup);
      ``timescale`` :math:`\tau` (default :math:`W`, or 10 000 when :math:`W = 0`, as
      in Transformers).

    The Noam schedule of "Attention is all you need",
    :math:`d^{-1/2} \min(n^{-1/2}, n W^{-3/2})` with the 1-based step :math:`n = t + 1`,
    is ``shift(offset=1)`` over this family with ``timescale = warmup`` and
    :math:`\hat\eta = (d W)^{-1/2}`.

    >>> import lrcore
    >>> s = lrcore.inverse_sqrt(peak=1.0, warmup=4)
    >>> lrcore.evaluate(s, [0, 2, 4, 16]).tolist()
    [0.0, 0.5, 1.0, 0.5]
    """

    type = "inverse_sqrt"
    peak: float = param(RATE, doc="rate at t = warmup")
    warmup: int | str = param(Steps(positive=False), 0, doc="linear warmup steps")
    timescale: int | str | None = param(Steps(), None, doc="decay timescale (default warmup)")

    def build(self, ops):
        w = self.warmup
        tau = self.timescale if self.timescale is not None else (w or 10_000)
        peak, ftau = ops.const(self.peak), ops.const(float(tau))

        def decay(t):
            return peak * ops.sqrt(ftau / (ops.to_float(t - w) + ftau))

        if w == 0:
            return decay

        return ops.select([w], [linear_curve(ops, w, 0.0, self.peak), decay])

    def breakpoints(self):
        return [self.warmup] if self.warmup else []
