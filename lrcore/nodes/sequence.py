"""``sequence``: phases one after another, each on its own local time."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

from ..errors import SpecError
from ..fields import _DURATION, MAX_STEP, NodeList, Steps, exact, param, real_form
from ..node import Node
from ..ops import horizon, local_time, within


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
        start = 0
        for i, phase in enumerate(self.phases):
            if isinstance(phase.duration, str) and _DURATION.match(phase.duration):
                return  # resolves later; checked again then
            _check_start(phase, start, f"{path}.phases[{i}]")
            start += exact(phase.duration) if phase.duration is not None else 0

    real_start = True

    def resolve(self, ctx, span, path):
        own = self._steps(ctx, "duration", Steps(real=True), self.duration,
                          f"{path}.duration") if self.duration is not None else span
        phases, start = [], 0
        last = len(self.phases) - 1
        # before a phase that cannot start between steps, "Nep"/"N%" stay whole steps
        whole = dataclasses.replace(ctx, whole=True)
        strict = [any(not q.takes_real_start() for q in self.phases[i + 1:])
                  for i in range(len(self.phases))]
        for i, phase in enumerate(self.phases):
            p = f"{path}.phases[{i}]"
            ctx_i = whole if strict[i] else ctx
            d = phase._steps(ctx_i, "duration", Steps(real=True), phase.duration,
                             f"{p}.duration") if phase.duration is not None else None
            if d is None and i == last and own is not None and (own > start or phase.bounded):
                d = own - start
                if d <= 0:
                    raise SpecError(f"{p}.duration", f"has no steps left: the phases before "
                                    f"it take {real_form(Fraction(start))} of the "
                                    f"{real_form(Fraction(own))} available")
            resolved = phase.resolve(ctx_i, d, p)
            _check_start(resolved, start, p)
            phases.append(resolved)
            if phase.duration is not None:
                start += exact(resolved.duration)
        values = {"phases": tuple(phases)}
        if self.duration is not None:
            values["duration"] = own
        return self._rebuilt(values, path)

    def takes_real_start(self):
        return all(p.takes_real_start() for p in self.phases)

    def starts(self) -> list[Fraction | int]:
        """The exact real start of every phase (the sum of the durations before it)."""
        out, s = [], 0
        for phase in self.phases:
            out.append(s)
            s += exact(phase.duration) if phase.duration is not None else 0
        return out

    def build(self, ops):
        return self.build_at(ops, 0)

    def build_at(self, ops, phi):
        # phase k covers the real local times [S_k, S_k+1): the integer steps from
        # ceil(S_k - phi) on, where it sees u + phi_k with phi_k = ceil(S_k - phi) - (S_k - phi)
        reals = [s - phi for s in self.starts()]
        firsts = [math.ceil(s) for s in reals]
        last = horizon()
        branches = []
        for k, (phase, first) in enumerate(zip(self.phases, firsts)):
            # phase k sees local steps up to its length (the last: up to the horizon)
            end = last - first if k == len(firsts) - 1 else min(last - first,
                                                                firsts[k + 1] - first - 1)
            with within(end):
                branches.append(local_time(ops, phase.build_at(ops, first - reals[k]),
                                           first))
        return ops.select(firsts[1:], branches)

    def breakpoints(self):
        out = []
        for phase, s in zip(self.phases, self.starts()):
            first = math.ceil(s)
            out.append(first)
            out += [first + b for b in phase.breakpoints()]
            if phase.duration is not None:
                out.append(math.ceil(s + exact(phase.duration)))
        return out


def _check_start(phase, start, path):
    if start != int(start) and start <= MAX_STEP and not phase.takes_real_start():
        raise SpecError(path, "starts between two steps, which only constant, linear, "
                        "cosine (exponent 1, not periodic) and sequence phases can; "
                        "make the durations before it whole", real_form(Fraction(start)))
