"""``sequence``: phases one after another, each on its own local time."""

from __future__ import annotations

import dataclasses

from ..errors import SpecError
from ..fields import NodeList, param
from ..node import Node
from ..ops import horizon, within


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sequence(Node):
    r"""Phases in order: phase :math:`k` runs on :math:`[S_k, S_k + D_k)` and sees local
    time :math:`t - S_k` (optax ``join_schedules``).

    .. math:: \eta(t) = \eta_k(t - S_k), \qquad S_k \le t < S_{k+1},
              \qquad S_k = \textstyle\sum_{j<k} D_j

    Every phase but the last needs a ``duration``. The last one runs on past the end;
    when it has no ``duration`` and is a family that runs over a length (linear, cosine,
    ...), its length is the rest of the span (the sequence's ``duration``, else
    ``total_steps``).

    >>> import lrcore
    >>> s = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1.0, duration=2),
    ...                             lrcore.constant(value=0.5)])
    >>> lrcore.evaluate(s, range(4)).tolist()
    [0.0, 0.5, 0.5, 0.5]
    """

    type = "sequence"
    phases: tuple | list = param(NodeList(), doc="the phases, in order")

    def check(self, path):
        for i, phase in enumerate(self.phases[:-1]):
            if phase.duration is None:
                raise SpecError(f"{path}.phases[{i}].duration", "is required on every phase "
                                "but the last")

    def resolve(self, ctx, span, path):
        own = ctx.steps(self.duration, f"{path}.duration") if self.duration is not None else span
        phases, start = [], 0
        last = len(self.phases) - 1
        for i, phase in enumerate(self.phases):
            p = f"{path}.phases[{i}]"
            d = ctx.steps(phase.duration, f"{p}.duration") if phase.duration is not None else None
            if d is None and i == last and own is not None and (own > start or phase.bounded):
                d = own - start
                if d < 1:
                    raise SpecError(f"{p}.duration", f"has no steps left: the phases before "
                                    f"it take {start} of the {own} available")
            phases.append(phase.resolve(ctx, d, p))
            start += d if d is not None else 0
        values = {"phases": tuple(phases)}
        if self.duration is not None:
            values["duration"] = own
        return self._rebuilt(values, path)

    def starts(self) -> list[int]:
        out, s = [], 0
        for phase in self.phases:
            out.append(s)
            s += phase.duration or 0
        return out

    def build(self, ops):
        starts, last = self.starts(), horizon()
        branches = []
        for k, (phase, s) in enumerate(zip(self.phases, starts)):
            # phase k sees local steps up to its length - 1 (the last: up to the horizon)
            end = last - s if k == len(starts) - 1 else min(last - s, phase.duration - 1)
            with within(end):
                branches.append(_local(phase.build(ops), s))
        return ops.select(starts[1:], branches)

    def breakpoints(self):
        out = []
        for phase, s in zip(self.phases, self.starts()):
            out.append(s)
            out += [s + b for b in phase.breakpoints()]
            if phase.duration:
                out.append(s + phase.duration)
        return out


def _local(f, s):
    return f if s == 0 else (lambda t: f(t - s))
