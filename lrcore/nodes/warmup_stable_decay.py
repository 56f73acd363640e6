"""``warmup_stable_decay``: linear warmup, a plateau at the peak, then a decay (WSD)."""

from __future__ import annotations

import dataclasses

from ..errors import SpecError
from ..fields import RATE, Choice, Steps, param
from ..formulas import cosine_curve, linear_curve
from ..node import Node


@dataclasses.dataclass(frozen=True, kw_only=True)
class WarmupStableDecay(Node):
    r"""Warmup-stable-decay (Transformers ``get_wsd_schedule``; MiniCPM, DeepSeek).

    Linear from ``start`` to ``peak`` over :math:`W` steps, ``peak`` for :math:`S`
    steps, then from ``peak`` to ``end`` over :math:`K` steps with
    :math:`x = (t - W - S) / K`:

    .. math:: \eta = \hat\eta\,w + e\,(1 - w), \quad
              w = 1 - x \ \text{(linear)}, \quad \tfrac{1 + \cos \pi x}{2} \ \text{(cosine)},
              \quad 1 - \sqrt{x} = \tfrac{1 - x}{1 + \sqrt{x}} \ \text{(1-sqrt)}

    and ``end`` from :math:`W + S + K` on. ``decay`` defaults to the rest of the span
    (``duration`` or ``total_steps``).

    >>> import lrcore
    >>> s = lrcore.warmup_stable_decay(peak=1.0, warmup=2, stable=2, decay=4,
    ...                                decay_shape="1-sqrt")
    >>> lrcore.evaluate(s, [0, 1, 2, 3, 4, 5, 8, 9]).round(6).tolist()
    [0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    """

    type = "warmup_stable_decay"
    peak: float = param(RATE, doc="rate of the stable phase")
    warmup: int | str = param(Steps(positive=False), 0, doc="steps of linear warmup")
    stable: int | str = param(Steps(positive=False), 0, doc="steps held at peak")
    decay: int | str | None = param(Steps(), None, doc="steps of decay (default: the rest)")
    decay_shape: str = param(Choice(("linear", "cosine", "1-sqrt")), "linear",
                             doc="shape of the decay")
    start: float = param(RATE, 0.0, doc="rate at t = 0")
    end: float = param(RATE, 0.0, doc="rate after the decay")

    @property
    def bounded(self) -> bool:  # runs to the end of its span only when decay is omitted
        return self.decay is None

    @property
    def whole_steps(self) -> tuple[str, ...]:  # its duration is then the formula's length
        return ("duration",) if self.decay is None else ()

    def _lengths(self, path="warmup_stable_decay"):
        w, s = self.warmup, self.stable
        k = self.decay if self.decay is not None else self.duration - w - s
        if k < 1:
            raise SpecError(f"{path}.decay", f"leaves no steps to decay: warmup {w} and "
                            f"stable {s} fill the duration {self.duration}", k)
        return w, s, k

    def check(self, path):
        steps = (self.warmup, self.stable, self.duration if self.decay is None else self.decay)
        if all(isinstance(v, int) for v in steps):  # strings resolve later; re-checked then
            self._lengths(path)

    def build(self, ops):
        w, s, k = self._lengths()
        peak, end = ops.const(self.peak), ops.const(self.end)
        fk, one = ops.const(float(k)), ops.const(1.0)
        warm = linear_curve(ops, w, self.start, self.peak) if w else None
        if self.decay_shape == "linear":
            shape = linear_curve(ops, k, self.peak, self.end)
        elif self.decay_shape == "cosine":
            shape = cosine_curve(ops, k, self.peak, self.end)
        else:
            def shape(u):  # 1 - sqrt(x) == (1 - x) / (1 + sqrt(x)): no cancellation
                root = ops.sqrt(ops.to_float(u) / fk)
                return peak * ((ops.to_float(k - u) / fk) / (one + root)) + end * root

        def dec(t):
            return shape(t - (w + s))

        return ops.select([w, w + s, w + s + k],
                          [warm, ops.constant(self.peak), dec,
                           ops.constant(self.end)])

    def breakpoints(self):
        w, s, k = self._lengths()
        return [w, w + s, w + s + k]
