"""Read an fvcore ``ParamScheduler`` (detectron2's schedules included) into a spec.

fvcore evaluates a scheduler at the progress ``where = t / total_steps``; the spec draws
the value fvcore returns at every integer step ``0 <= t <= total_steps`` where fvcore
returns one, and holds its last value afterwards. fvcore's own float arithmetic (its
``WHERE_EPSILON`` included) decides at which step a step schedule or a composite phase
switches, so those boundaries are fvcore's, not the nearest round share.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from .._args import as_int
from .._args import as_real as _real
from ..document import Schedule
from ..errors import SpecError
from ..fields import MAX_STEP, exact
from ..node import Node
from ..nodes.constant import Constant
from ..nodes.cosine import Cosine
from ..nodes.exponential import Exponential
from ..nodes.linear import Linear
from ..nodes.piecewise_constant import PiecewiseConstant
from ..nodes.polynomial import Polynomial, decaying_power
from ..nodes.scale import Scale
from ..nodes.sequence import Sequence
from ..nodes.shift import Shift

__all__ = ["SUPPORTED", "from_fvcore"]

_MODULE = "fvcore.common.param_scheduler"
#: The fvcore classes lrcore reads (subclasses too, when they keep fvcore's ``__call__``:
#: detectron2's ``WarmupParamScheduler`` is a ``CompositeParamScheduler``).
SUPPORTED = ("ConstantParamScheduler", "CosineParamScheduler", "LinearParamScheduler",
             "MultiStepParamScheduler", "StepParamScheduler",
             "StepWithFixedGammaParamScheduler", "PolynomialDecayParamScheduler",
             "ExponentialParamScheduler", "CompositeParamScheduler")


def from_fvcore(scheduler: Any, *, total_steps: int) -> Schedule:
    """The spec of an fvcore param scheduler run over ``total_steps`` steps
    (detectron2's ``LRMultiplier(..., max_iter=total_steps)``; scale the rate by each
    group's base lr with ``to_torch(..., group_scale=[...])``).

    >>> from fvcore.common.param_scheduler import CosineParamScheduler  # doctest: +SKIP
    >>> spec = lrcore.from_fvcore(CosineParamScheduler(1.0, 0.0), total_steps=100)  # doctest: +SKIP
    """
    total = as_int(total_steps, "total_steps", "must be a whole number of steps")
    if not 1 <= total <= MAX_STEP:
        raise SpecError("total_steps", "must be in [1, 2**31 - 1]", total)
    top = _Where(lambda t: t / total, Fraction(0), Fraction(total))
    node = _node(scheduler, top, 0, total + 1, "scheduler")
    return Schedule(schedule=node, total_steps=total,
                    description=f"fvcore {type(scheduler).__name__} over {total} steps")


class _Where:
    """A scheduler's ``where`` at global step t: ``at(t)`` computes it as fvcore does (in
    floats), ``(t - a) / d`` is the exact affine map it rounds (a, d in steps)."""

    def __init__(self, at: Callable[[int], float], a: Fraction, d: Fraction) -> None:
        self.at, self.a, self.d = at, a, d


def _kind(scheduler: Any, path: str) -> str:
    for cls in type(scheduler).__mro__:
        if cls.__module__ == _MODULE and cls.__name__ in SUPPORTED:
            if type(scheduler).__call__ is not cls.__call__:
                raise SpecError(path, f"must compute its value with {cls.__name__}'s "
                                "own __call__; an override is code lrcore cannot read",
                                type(scheduler).__name__)
            return cls.__name__
    raise SpecError(path, "must be an fvcore param scheduler lrcore reads ("
                    + ", ".join(SUPPORTED) + ") or a subclass of one",
                    type(scheduler).__name__)


def _node(s: Any, where: _Where, lo: int, hi: int, path: str) -> Node:
    """``s`` in charge of the global steps ``[lo, hi)`` (and on past ``hi`` when it is
    the last), as a node on local time ``t - lo``."""
    kind = _kind(s, path)
    eps = s.WHERE_EPSILON
    if kind == "ConstantParamScheduler":
        return Constant(value=_real(s._value, f"{path}._value"))
    if kind in ("StepParamScheduler", "StepWithFixedGammaParamScheduler"):
        step = s if kind == "StepParamScheduler" else s._step_param_scheduler
        values = _values(step._param_schedule, f"{path}._param_schedule")
        n = len(values)
        return _steps(lambda t: int((where.at(t) + eps) * n), values, lo, hi)
    if kind == "MultiStepParamScheduler":
        values = _values(s._param_schedule, f"{path}._param_schedule")
        milestones, updates = list(s._milestones), s._num_updates
        return _steps(lambda t: bisect.bisect_right(
            milestones, int((where.at(t) + eps) * updates)), values, lo, hi)
    if kind == "CompositeParamScheduler":
        return _composite(s, where, lo, hi, path)
    return _smooth(kind, s, where, lo, path)


def _values(values: Any, path: str) -> list[float]:
    if not isinstance(values, (list, tuple)) or not values:
        raise SpecError(path, "must be a non-empty list of numbers", values)
    return [_real(v, f"{path}[{i}]") for i, v in enumerate(values)]


def _first(pred: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """The smallest t in [lo, hi) with ``pred(t)`` (monotone in t), or None."""
    if lo >= hi or not pred(hi - 1):
        return None
    while lo < hi - 1:
        mid = (lo + hi - 1) // 2
        if pred(mid):
            hi = mid + 1
        else:
            lo = mid + 1
    return lo


def _steps(index: Callable[[int], int], values: list[float], lo: int, hi: int) -> Node:
    """A step schedule whose value at step t is ``values[index(t)]``, the index growing
    with t; where the index runs past the values (fvcore raises) it holds."""
    last = len(values) - 1
    k = min(max(index(lo), 0), last)
    vals, bounds = [values[k]], []
    while k < last:
        t = _first(lambda t, k=k: index(t) > k, lo, hi)
        if t is None:
            break
        k = index(t)
        if k > last:  # past fvcore's last value (it raises there): hold
            break
        vals.append(values[k])
        bounds.append(t - lo)
    if not bounds:
        return Constant(value=vals[0])
    return PiecewiseConstant(values=vals, boundaries=bounds)


def _steps_of(x: Fraction, scale: Fraction) -> int | Fraction:
    """``x`` steps: an int when it is one up to the float rounding of a share (of
    ``scale`` steps), else the nearest ratio with a denominator up to 10**6 (off by less
    than 1e-12 steps: fvcore's shares are floats such as 0.1)."""
    n = round(x)
    if abs(x - n) <= scale * Fraction(1, 2**40):
        return n
    return x.limit_denominator(10**6)


def _smooth(kind: str, s: Any, where: _Where, lo: int, path: str) -> Node:
    """A formula of ``where``, placed at its step ``a`` with length ``d`` (either may be
    a real number of steps: a share of the run between two steps)."""
    a, d = _steps_of(where.a, where.d), _steps_of(where.d, where.d)
    if d <= 0:
        raise SpecError(path, "must last more than 0 steps to be mapped; pick a larger "
                        "total_steps", f"start {float(where.a):g}, length {float(where.d):g}")
    if kind == "ExponentialParamScheduler":
        start, decay = _real(s._start_value, f"{path}._start_value"), \
            _real(s._decay, f"{path}._decay")
        node: Node = Constant(value=start) if decay == 1.0 else Exponential(
            start=start, rate=decay, every=d, bound=start * decay)  # held from where = 1
    elif kind == "PolynomialDecayParamScheduler":
        node = Polynomial(start=_real(s._base_value, f"{path}._base_value"), end=0.0,
                          power=decaying_power(_real(s._power, f"{path}._power"),
                                               f"{path}._power", "fvcore"), duration=d)
    else:
        cls = Cosine if kind == "CosineParamScheduler" else Linear
        node = cls(start=_real(s._start_value, f"{path}._start_value"),
                   end=_real(s._end_value, f"{path}._end_value"), duration=d)
    first = math.ceil(a)  # the first step the formula is in charge of
    if lo >= first:
        return _from(node, a - lo)
    # fvcore's WHERE_EPSILON hands over up to 1e-6 of the run early (a step or more past
    # 10**6 steps): those steps read the formula before its start, values taken from
    # the scheduler itself
    early = [_real(s(where.at(t)), path) for t in range(lo, first)]
    before = PiecewiseConstant(values=early, boundaries=list(range(1, len(early))),
                               duration=len(early)) if len(early) > 1 else \
        Constant(value=early[0], duration=1)
    return Sequence(phases=[before, _from(node, a - first)])


def _from(node: Node, a: int | Fraction) -> Node:
    """``node`` on local time ``t - a`` for a start ``a <= 0``: shifted by whole steps,
    and by the share ``delta`` of a step left over: a cosine or a line through a leading
    phase that no step reaches, an exponential or a polynomial re-anchored ``delta`` steps
    in (the same curve from there, its start value computed once in float64)."""
    whole = math.floor(-a)
    delta = -a - whole
    if not delta:
        inner = node
    elif isinstance(node, (Cosine, Linear)):
        lead = Constant(value=node.start, duration=1 - delta)
        inner, whole = Sequence(phases=[lead, node]), whole + 1
    elif isinstance(node, Exponential):  # s r**((t + delta)/d) = (s r**(delta/d)) r**(t/d)
        inner = dataclasses.replace(
            node, start=node.start * node.rate ** float(delta / exact(node.every)))
    elif isinstance(node, Polynomial):  # (1 - (t + delta)/d)**p
        # = ((d - delta)/d)**p (1 - t/(d - delta))**p
        d = exact(node.duration)
        inner = Constant(value=0.0) if d <= delta else dataclasses.replace(
            node, start=node.start * float((d - delta) / d) ** node.power, duration=d - delta)
    else:  # a constant
        inner = node
    return Shift(schedule=inner, offset=whole) if whole else inner


def _composite(s: Any, where: _Where, lo: int, hi: int, path: str) -> Node:
    lengths, children, scaling = list(s._lengths), list(s._schedulers), list(s._interval_scaling)
    n = len(children)
    eps = s.WHERE_EPSILON

    def phase(t: int) -> int:  # fvcore's loop in CompositeParamScheduler.__call__
        w, i, running = where.at(t), 0, lengths[0]
        while (w + eps) > running and i < n - 1:
            i += 1
            running += lengths[i]
        return i

    starts = [lo] + [_first(lambda t, i=i: phase(t) >= i, lo, hi) for i in range(1, n)]
    starts = [hi if b is None else b for b in starts]
    first = phase(lo)
    pieces: list[tuple[Node, int | None]] = []
    running = 0.0
    for i in range(n):
        running = lengths[0] if i == 0 else running + lengths[i]
        begin = lo if i == first else starts[i]
        end = starts[i + 1] if i + 1 < n else None
        if i < first or (end is not None and end <= begin):
            continue  # no step of [lo, hi) in this phase
        p = f"{path}._schedulers[{i}]"
        if scaling[i] == "rescaled":
            begin_f, length = running - lengths[i], lengths[i]
            child = _Where(lambda t, b=begin_f, n_=length: (where.at(t) - b) / n_,
                           where.a + Fraction(begin_f) * where.d, Fraction(length) * where.d)
        elif scaling[i] == "fixed":
            child = where
        else:
            raise SpecError(f"{path}._interval_scaling[{i}]", "must be 'rescaled' or 'fixed'",
                            scaling[i])
        node = _node(children[i], child, begin, hi if end is None else end, p)
        pieces.append((node, None if end is None else end - begin))
    if len(pieces) == 1:
        return pieces[0][0]
    # each phase's length: on a neutral wrapper where the node's duration is its formula's
    phases = [Scale(schedule=node, by=1.0, duration=d) if node.bounded
              else dataclasses.replace(node, duration=d) for node, d in pieces[:-1]]
    return Sequence(phases=[*phases, pieces[-1][0]])
