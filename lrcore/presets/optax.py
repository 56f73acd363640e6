"""optax's schedule builders, same names and signatures, returning lrcore specs.

Replace ``optax.`` by ``lrcore.presets.optax.`` in a schedule call and you get a spec
(:class:`OptaxSpec`, an :class:`lrcore.Schedule`) that draws optax's curve exactly, and
that is still a schedule optax can call (``optax.adam(learning_rate=spec)`` compiles it
with :func:`lrcore.to_optax` on first use). This module imports no framework.

Every builder follows optax's own code (``optax/schedules/_schedule.py``, 0.2.x),
including the cases optax documents as fall-backs:

* ``transition_steps <= 0`` (``polynomial_schedule``, ``linear_schedule``,
  ``exponential_decay``) and ``decay_rate == 0`` give the constant ``init_value``; a
  negative ``transition_begin`` counts as 0. So ``warmup_*_schedule(warmup_steps=0)``
  starts right at the decay, as in optax.
* ``warmup_cosine_decay_schedule`` counts ``decay_steps`` *including* the warmup (Keras
  ``CosineDecay`` counts them after it); the cosine runs over ``decay_steps -
  warmup_steps``, and that must be positive (optax raises too).
* ``piecewise_constant_schedule`` switches *at* each boundary (``count >= b``, torch's
  convention; Keras ``PiecewiseConstantDecay`` switches one step later).
* ``piecewise_interpolate_schedule`` interpolates between the accumulated values
  (``init * s_1 * ... * s_i``), as optax does.
* ``join_schedules`` gives each schedule local time (``count - boundary``) and the
  curve it has on its own: a document is resolved on its own context first.

Where optax accepts what lrcore cannot express, the builder raises
:class:`~lrcore.SpecError` instead of guessing: negative or non-integral boundaries in
``piecewise_interpolate_schedule`` and ``join_schedules``, an ``end_value`` on the wrong
side of ``init_value`` in ``exponential_decay`` (optax then returns the constant
``end_value``), negative rates, and ``power``/``exponent`` <= 0.

Numbers must be numbers: an int, a float, a numpy scalar or a 0-d array (numpy, jax)
holding one. A string is refused even when it reads as a number (``"1e-3"``: optax
would fail on it only when the schedule is first called), and so is a bool (``True``
is not 1 step); the :class:`~lrcore.SpecError` names the parameter
(``cosine_kwargs[1].peak_value``, ``boundaries_and_scales[10]``). Arguments that optax
ignores in a fall-back (``end_value`` of a constant ``exponential_decay``) are checked
all the same.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any

from .._args import as_int as _int
from .._args import as_real as _real
from ..document import Schedule
from ..errors import SpecError
from ..node import Context, Node
from ..nodes.constant import Constant
from ..nodes.cosine import Cosine
from ..nodes.exponential import Exponential
from ..nodes.linear import Linear
from ..nodes.piecewise_constant import PiecewiseConstant
from ..nodes.piecewise_linear import PiecewiseLinear
from ..nodes.polynomial import Polynomial, decaying_power
from ..nodes.sequence import Sequence as SequenceNode

__all__ = [
    "OptaxSpec",
    "constant_schedule",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "exponential_decay",
    "join_schedules",
    "linear_onecycle_schedule",
    "linear_schedule",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polynomial_schedule",
    "sgdr_schedule",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
]


@dataclasses.dataclass(frozen=True, eq=False)
class OptaxSpec(Schedule):
    """An :class:`lrcore.Schedule` that optax can also call as a schedule.

    ``spec(count)`` compiles the spec once with :func:`lrcore.to_optax` (importing jax
    then, not before) and evaluates it: a jit-safe, jnp-only function of the count.
    It equals (and hashes like) the plain ``Schedule`` with the same content.
    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        names = [f.name for f in dataclasses.fields(Schedule)]
        return all(getattr(self, n) == getattr(other, n) for n in names)

    __hash__ = Schedule.__hash__

    def __call__(self, count: Any) -> Any:
        fn = self.__dict__.get("_optax")
        if fn is None:
            from ..adapters.optax import to_optax

            fn = to_optax(self)
            object.__setattr__(self, "_optax", fn)
        return fn(count)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_optax"}

    def __setstate__(self, state: dict) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)


# ---- argument helpers --------------------------------------------------------------------

def _spec(node: Node, call: str) -> OptaxSpec:
    return OptaxSpec(schedule=node, description=f"optax.{call}")


def _args(**kwargs: Any) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _resolved(spec: Any, path: str) -> tuple[Node, dict]:
    """The tree of a schedule given to join_schedules, resolved on its own context (every
    duration an integer, every omitted D filled in), and that context.

    Resolving first is what keeps each schedule's own curve once it is a phase of the
    join: left unresolved, a last phase that runs to the document's ``total_steps``
    would run to the join boundary instead, and ``"Nep"``/``"N%"`` would resolve
    against the joined document's context (or none).
    """
    if isinstance(spec, Schedule):
        try:
            res = spec.resolve()
        except SpecError as err:  # a cosine without a duration and no total_steps, ...
            raise _under(err, path) from None
        ctx = {k: getattr(res, k) for k in ("steps_per_epoch", "total_steps")
               if getattr(res, k) is not None}
        return res.schedule, ctx
    if isinstance(spec, Node):
        try:
            return spec.resolve(Context(), None, path), {}
        except SpecError as err:  # "3ep", "25%" or an omitted D: no context to resolve
            raise _under(err, None, " (a bare node has no context: pass an "
                         "lrcore.Schedule that holds its steps_per_epoch/total_steps)") \
                from None
    raise SpecError(path, "must be an lrcore spec (an lrcore.Schedule or a node); an optax "
                    "function cannot be read back: build it with lrcore.presets.optax",
                    type(spec).__name__)


def _under(err: SpecError, prefix: str | None, hint: str = "") -> SpecError:
    """``err`` with its path under ``prefix`` (if any) and ``hint`` added to its rule."""
    head = f"{err.path}: {err.rule}" if err.path else err.rule
    tail = str(err)[len(head):]  # ", got <value>" or nothing
    path = err.path if prefix is None else f"{prefix}.{err.path}" if err.path else prefix
    new = SpecError.__new__(SpecError)
    new.path, new.rule, new.value = path, err.rule + hint, err.value
    ValueError.__init__(new, (f"{path}: " if path else "") + f"{err.rule}{hint}{tail}")
    return new


def phase(node: Node, length: int) -> Node:
    """``node`` as a phase of exactly ``length`` steps that keeps its own curve.

    A node whose ``duration`` already is ``length`` is used as is; a leaf whose formula
    does not use its ``duration`` takes ``length`` directly; anything else is wrapped in
    a one-phase ``sequence`` of that duration (so a cosine keeps its own D).
    """
    if node.duration == length:
        return node
    if node.duration is None and not node.bounded and not any(True for _ in node.children()):
        return dataclasses.replace(node, duration=length)
    return SequenceNode(phases=(node,), duration=length)


def chain(parts: Sequence[tuple[Node, int | None]]) -> Node:
    """A ``sequence`` of ``(node, length)`` parts; zero-length parts are dropped (a
    schedule whose span is empty never shows, as in optax ``join_schedules``); the
    last part's length may be ``None`` (it runs on)."""
    phases = []
    for node, length in parts:
        if length is None:  # the last part: it runs on
            phases.append(node)
        elif length > 0:
            phases.append(phase(node, length))
    if not phases:
        raise SpecError("schedules", "leave no step to any schedule", None)
    if len(phases) == 1:
        return phases[0]
    return SequenceNode(phases=tuple(phases))


# ---- the builders (optax's names, order and defaults) ------------------------------------

def constant_schedule(value) -> OptaxSpec:
    """``optax.constant_schedule``: ``value`` at every step."""
    return _spec(Constant(value=_real(value, "value")),
                 f"constant_schedule({_args(value=value)})")


def _polynomial_node(init_value, end_value, power, transition_steps, transition_begin):
    init = _real(init_value, "init_value")
    end = _real(end_value, "end_value")
    p = decaying_power(_real(power, "power"), "power", "optax")
    steps = _int(transition_steps, "transition_steps")
    begin = max(_int(transition_begin, "transition_begin"), 0)  # optax: negative -> 0
    if steps <= 0:  # optax: "the entire annealing process is disabled"
        return Constant(value=init)
    core = Linear(start=init, end=end, duration=steps) if p == 1.0 else \
        Polynomial(start=init, end=end, power=p, duration=steps)
    return chain([(Constant(value=init), begin), (core, None)])


def polynomial_schedule(init_value, end_value, power, transition_steps,
                        transition_begin=0) -> OptaxSpec:
    r"""``optax.polynomial_schedule``: ``init_value`` until ``transition_begin`` (B),
    then :math:`(I - E)(1 - (t - B)/T)^P + E` over ``transition_steps`` (T), then E."""
    node = _polynomial_node(init_value, end_value, power, transition_steps, transition_begin)
    return _spec(node, "polynomial_schedule(" + _args(
        init_value=init_value, end_value=end_value, power=power,
        transition_steps=transition_steps, transition_begin=transition_begin) + ")")


def linear_schedule(init_value, end_value, transition_steps, transition_begin=0) -> OptaxSpec:
    """``optax.linear_schedule``: the polynomial schedule with ``power=1``."""
    node = _polynomial_node(init_value, end_value, 1.0, transition_steps, transition_begin)
    return _spec(node, "linear_schedule(" + _args(
        init_value=init_value, end_value=end_value, transition_steps=transition_steps,
        transition_begin=transition_begin) + ")")


def _sorted_scales(boundaries_and_scales, fn: str) -> list[tuple[float, float]]:
    if not boundaries_and_scales:
        return []
    if not isinstance(boundaries_and_scales, dict):
        raise SpecError("boundaries_and_scales", "must be a dict {step: scale}",
                        type(boundaries_and_scales).__name__)
    items = sorted((_real(b, "boundaries_and_scales (a step)"),
                    _real(s, f"boundaries_and_scales[{b!r}]"))
                   for b, s in boundaries_and_scales.items())
    for b, s in items:
        if s < 0:  # optax raises ValueError here too
            raise SpecError(f"boundaries_and_scales[{b:g}]", f"{fn} expects non-negative "
                            "scale factors", s)
    return items


def piecewise_constant_schedule(init_value, boundaries_and_scales=None) -> OptaxSpec:
    """``optax.piecewise_constant_schedule``: from step ``b`` on (``count >= b``) the
    value is multiplied by ``scale``. A boundary ``b`` acts at the first integer step
    ``>= b``; boundaries ``<= 0`` act from the start."""
    init = _real(init_value, "init_value")
    value, values, bounds = init, [init], []
    for b, s in _sorted_scales(boundaries_and_scales, "piecewise_constant_schedule"):
        value = value * s  # optax multiplies in ascending boundary order
        at = math.ceil(b)
        if at <= 0:
            values[0] = value
        elif bounds and bounds[-1] == at:
            values[-1] = value
        else:
            bounds.append(at)
            values.append(value)
    node = PiecewiseConstant(values=values, boundaries=bounds) if bounds else \
        Constant(value=values[0])
    return _spec(node, "piecewise_constant_schedule(" + _args(
        init_value=init_value, boundaries_and_scales=boundaries_and_scales) + ")")


def exponential_decay(init_value, transition_steps, decay_rate, transition_begin=0,
                      staircase=False, end_value=None) -> OptaxSpec:
    r"""``optax.exponential_decay``: ``init_value`` until ``transition_begin`` (B), then
    :math:`I\,r^{(t - B)/T}` (``staircase``: integer exponent), clipped at ``end_value``
    (a floor when :math:`r < 1`, a ceiling otherwise)."""
    init = _real(init_value, "init_value")
    steps = _int(transition_steps, "transition_steps")
    rate = _real(decay_rate, "decay_rate")
    begin = max(_int(transition_begin, "transition_begin"), 0)
    if not isinstance(staircase, bool):
        raise SpecError("staircase", "must be True or False", staircase)
    # checked even where optax ignores it (a constant schedule below)
    bound = None if end_value is None else _real(end_value, "end_value")
    call = "exponential_decay(" + _args(
        init_value=init_value, transition_steps=transition_steps, decay_rate=decay_rate,
        transition_begin=transition_begin, staircase=staircase, end_value=end_value) + ")"
    if steps <= 0 or rate == 0:  # optax: a constant schedule with value init_value
        return _spec(Constant(value=init), call)
    if rate == 1.0:  # a constant; optax clips it with jnp.minimum (decay_rate < 1 is False)
        return _spec(Constant(value=init if bound is None else min(init, bound)), call)
    return _spec(Exponential(start=init, rate=rate, every=steps, staircase=staircase,
                             begin=begin, bound=bound), call)


def _cosine_node(init_value, decay_steps, alpha, exponent, end=None):
    init = _real(init_value, "init_value")
    steps = _int(decay_steps, "decay_steps")
    if not steps > 0:  # optax raises ValueError
        raise SpecError("decay_steps", "must be positive (the cosine runs over it)", steps)
    a = _real(alpha, "alpha")
    return Cosine(start=init, end=init * a if end is None else end,
                  exponent=_real(exponent, "exponent"), duration=steps)


def cosine_decay_schedule(init_value, decay_steps, alpha=0.0, exponent=1.0) -> OptaxSpec:
    r"""``optax.cosine_decay_schedule``:
    :math:`I\,((1 - \alpha)\,(\tfrac{1 + \cos(\pi t / T)}{2})^p + \alpha)` over
    ``decay_steps`` T, then :math:`\alpha I`."""
    return _spec(_cosine_node(init_value, decay_steps, alpha, exponent),
                 "cosine_decay_schedule(" + _args(init_value=init_value,
                                                   decay_steps=decay_steps, alpha=alpha,
                                                   exponent=exponent) + ")")


def _interpolate_node(interpolate_type, init_value, boundaries_and_scales) -> Node:
    if interpolate_type not in ("linear", "cosine"):
        raise SpecError("interpolate_type", "must be either 'cosine' or 'linear'",
                        interpolate_type)
    init = _real(init_value, "init_value")
    items = _sorted_scales(boundaries_and_scales, "piecewise_interpolate_schedule")
    bounds, values = [0], [init]
    for b, s in items:
        if b < 0 or b != int(b):
            raise SpecError(f"boundaries_and_scales[{b:g}]", "must be an integer step >= 0 "
                            "(lrcore interpolates between integer steps)", b)
        bounds.append(int(b))
        values.append(values[-1] * s)  # optax: jnp.cumprod of (init, *scales)
    # interval i runs over [bounds[i], bounds[i+1]) from values[i] to values[i+1]
    # (an interval of length 0, a first boundary at 0, is empty and never shows)
    if interpolate_type == "linear":
        points = [[b, v] for b, v in zip(bounds, values)]
        if len(points) > 1 and points[1][0] == 0:
            points = points[1:]
        if len(points) == 1:
            return Constant(value=points[0][1])
        return PiecewiseLinear(points=points)
    parts = []
    for i in range(len(bounds) - 1):
        length = bounds[i + 1] - bounds[i]
        if length > 0:
            parts.append((Cosine(start=values[i], end=values[i + 1], duration=length), length))
    parts.append((Constant(value=values[-1]), None))
    return chain(parts)


def piecewise_interpolate_schedule(interpolate_type, init_value,
                                   boundaries_and_scales=None) -> OptaxSpec:
    """``optax.piecewise_interpolate_schedule``: linear or half-cosine interpolation
    between the accumulated values ``init * s_1 * ... * s_i`` at the boundaries, then
    the last value."""
    node = _interpolate_node(interpolate_type, init_value, boundaries_and_scales)
    return _spec(node, "piecewise_interpolate_schedule(" + _args(
        interpolate_type=interpolate_type, init_value=init_value,
        boundaries_and_scales=boundaries_and_scales) + ")")


def linear_onecycle_schedule(transition_steps, peak_value, pct_start=0.3, pct_final=0.85,
                             div_factor=25.0, final_div_factor=1e4) -> OptaxSpec:
    """``optax.linear_onecycle_schedule``: three linear phases through
    ``int(pct_start * T)``, ``int(pct_final * T)`` and ``T`` (optax's dict, key
    collisions included)."""
    steps = _int(transition_steps, "transition_steps")
    if steps <= 0:
        raise SpecError("transition_steps", "must be positive", steps)
    peak, div = _real(peak_value, "peak_value"), _real(div_factor, "div_factor")
    scales = {int(_real(pct_start, "pct_start") * steps): div,
              int(_real(pct_final, "pct_final") * steps): 1.0 / div,
              steps: 1.0 / _real(final_div_factor, "final_div_factor")}
    node = _interpolate_node("linear", peak / div, scales)
    return _spec(node, "linear_onecycle_schedule(" + _args(
        transition_steps=transition_steps, peak_value=peak_value, pct_start=pct_start,
        pct_final=pct_final, div_factor=div_factor, final_div_factor=final_div_factor) + ")")


def cosine_onecycle_schedule(transition_steps, peak_value, pct_start=0.3, div_factor=25.0,
                             final_div_factor=1e4) -> OptaxSpec:
    """``optax.cosine_onecycle_schedule``: half-cosines from ``peak / div_factor`` up to
    ``peak`` at ``int(pct_start * T)`` and down to ``peak / (div * final_div)`` at T.
    (torch ``OneCycleLR`` puts its phase ends at ``pct_start * T - 1`` and ``T - 1``:
    import a torch one-cycle with :func:`lrcore.from_torch` to get torch's curve.)"""
    steps = _int(transition_steps, "transition_steps")
    if steps <= 0:
        raise SpecError("transition_steps", "must be positive", steps)
    peak, div = _real(peak_value, "peak_value"), _real(div_factor, "div_factor")
    scales = {int(_real(pct_start, "pct_start") * steps): div,
              int(steps): 1.0 / (div * _real(final_div_factor, "final_div_factor"))}
    node = _interpolate_node("cosine", peak / div, scales)
    return _spec(node, "cosine_onecycle_schedule(" + _args(
        transition_steps=transition_steps, peak_value=peak_value, pct_start=pct_start,
        div_factor=div_factor, final_div_factor=final_div_factor) + ")")


def warmup_constant_schedule(init_value, peak_value, warmup_steps) -> OptaxSpec:
    """``optax.warmup_constant_schedule``: linear from ``init_value`` to ``peak_value``
    over ``warmup_steps``, then ``peak_value`` (optax's ``linear_schedule``; with
    ``warmup_steps <= 0`` that is the constant ``init_value``, as in optax)."""
    peak = _real(peak_value, "peak_value")  # named here: the linear schedule's end_value
    warm = _int(warmup_steps, "warmup_steps")  # and transition_steps
    node = _polynomial_node(init_value, peak, 1.0, warm, 0)
    return _spec(node, "warmup_constant_schedule(" + _args(
        init_value=init_value, peak_value=peak_value, warmup_steps=warmup_steps) + ")")


def _join_nodes(nodes: Sequence[Node], boundaries: Sequence[int]) -> Node:
    parts, prev = [], 0
    for i, node in enumerate(nodes):
        if i < len(boundaries):
            b = boundaries[i]
            parts.append((node, b - prev))
            prev = b
        else:
            parts.append((node, None))
    return chain(parts)


def warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps, decay_steps,
                                 end_value=0.0, exponent=1.0) -> OptaxSpec:
    r"""``optax.warmup_cosine_decay_schedule``: linear from ``init_value`` to
    ``peak_value`` over ``warmup_steps`` W, then a cosine to ``end_value`` over
    ``decay_steps - W`` (``decay_steps`` counts the warmup), then ``end_value``."""
    warm = _int(warmup_steps, "warmup_steps")
    if warm < 0:
        raise SpecError("warmup_steps", "must be >= 0 (join_schedules would shift the "
                        "cosine backwards)", warm)
    peak = _real(peak_value, "peak_value")
    end = _real(end_value, "end_value")
    if peak == 0.0:  # optax: alpha = end / peak, which it takes as 0 here
        end = 0.0
    total = _int(decay_steps, "decay_steps")
    if not total - warm > 0:
        raise SpecError("decay_steps", f"must exceed warmup_steps ({warm}): it counts the "
                        "warmup, and the cosine runs over decay_steps - warmup_steps", total)
    node = _join_nodes(
        [_polynomial_node(init_value, peak, 1.0, warm, 0),
         _cosine_node(peak, total - warm, 0.0, exponent, end=end)], [warm])
    return _spec(node, "warmup_cosine_decay_schedule(" + _args(
        init_value=init_value, peak_value=peak_value, warmup_steps=warmup_steps,
        decay_steps=decay_steps, end_value=end_value, exponent=exponent) + ")")


def warmup_exponential_decay_schedule(init_value, peak_value, warmup_steps, transition_steps,
                                      decay_rate, transition_begin=0, staircase=False,
                                      end_value=None) -> OptaxSpec:
    """``optax.warmup_exponential_decay_schedule``: linear warmup over ``warmup_steps``,
    then ``exponential_decay`` from ``peak_value`` on local time."""
    warm = _int(warmup_steps, "warmup_steps")
    if warm < 0:
        raise SpecError("warmup_steps", "must be >= 0", warm)
    peak = _real(peak_value, "peak_value")  # here, so that an error names peak_value
    decay = exponential_decay(peak, transition_steps, decay_rate, transition_begin,
                              staircase, end_value).schedule
    node = _join_nodes([_polynomial_node(init_value, peak, 1.0, warm, 0), decay], [warm])
    return _spec(node, "warmup_exponential_decay_schedule(" + _args(
        init_value=init_value, peak_value=peak_value, warmup_steps=warmup_steps,
        transition_steps=transition_steps, decay_rate=decay_rate,
        transition_begin=transition_begin, staircase=staircase, end_value=end_value) + ")")


def sgdr_schedule(cosine_kwargs: Iterable[dict]) -> OptaxSpec:
    """``optax.sgdr_schedule``: one ``warmup_cosine_decay_schedule(**kwargs)`` per cycle,
    each lasting its ``decay_steps``, joined."""
    nodes, bounds, step = [], [], 0
    for i, kwargs in enumerate(cosine_kwargs):
        if not isinstance(kwargs, dict) or "decay_steps" not in kwargs:
            raise SpecError(f"cosine_kwargs[{i}]", "must be a dict of "
                            "warmup_cosine_decay_schedule arguments with decay_steps", kwargs)
        try:
            nodes.append(warmup_cosine_decay_schedule(**kwargs).schedule)
        except TypeError as err:
            raise SpecError(f"cosine_kwargs[{i}]", str(err), sorted(kwargs)) from None
        except SpecError as err:  # name the cycle: cosine_kwargs[1].peak_value
            raise _under(err, f"cosine_kwargs[{i}]") from None
        step += _int(kwargs["decay_steps"], f"cosine_kwargs[{i}].decay_steps")
        bounds.append(step)
    if not nodes:
        raise SpecError("cosine_kwargs", "must hold at least one cycle", [])
    return _spec(_join_nodes(nodes, bounds[:-1]), f"sgdr_schedule({len(nodes)} cycles)")


def join_schedules(schedules, boundaries) -> OptaxSpec:
    """``optax.join_schedules`` over lrcore specs: schedule ``i`` runs from
    ``boundaries[i-1]`` (0 for the first) on local time ``count - boundaries[i-1]``.

    Boundaries must be integers, ``>= 0`` and non-decreasing; an empty span (a first
    boundary at 0, two equal boundaries) hides its schedule, as in optax.

    Each schedule keeps the curve it has on its own: it is resolved on its own context
    first (``"Nep"`` on its ``steps_per_epoch``, ``"N%"`` and a last phase without a
    duration on its ``total_steps``), so a cosine that runs to its document's end still
    ends there, not at the next boundary. A schedule that does not resolve on its own (a
    bare node with ``"3ep"`` or a bounded family without ``duration``) raises
    :class:`~lrcore.SpecError`. The result keeps a ``steps_per_epoch`` the documents
    agree on and no ``total_steps`` (a part's run length is not the joined run's).
    """
    schedules = list(schedules)
    bounds = [_int(b, f"boundaries[{i}]") for i, b in enumerate(boundaries)]
    if not schedules:
        raise SpecError("schedules", "must hold at least one schedule", [])
    if len(bounds) != len(schedules) - 1:
        raise SpecError("boundaries", f"must have one entry fewer than schedules "
                        f"({len(schedules) - 1}); optax would silently drop the extra "
                        "ones", bounds)
    for i, b in enumerate(bounds):
        if b < 0 or (i and b < bounds[i - 1]):
            raise SpecError(f"boundaries[{i}]", "must be >= 0 and >= the previous boundary",
                            b)
    nodes, ctxs = [], []
    for i, s in enumerate(schedules):
        node, own = _resolved(s, f"schedules[{i}]")
        nodes.append(node)
        ctxs.append(own)
    # each tree is resolved: a context no longer changes its curve. A steps_per_epoch
    # the documents agree on is kept (`lrcore show` prints epochs with it); a part's
    # total_steps is its own run's length, not the joined run's, so it is dropped.
    ctx = {}
    values = {c["steps_per_epoch"] for c in ctxs if "steps_per_epoch" in c}
    if len(values) == 1:
        ctx["steps_per_epoch"] = values.pop()
    return OptaxSpec(schedule=_join_nodes(nodes, bounds),
                     description=f"optax.join_schedules({len(nodes)} schedules, "
                     f"boundaries={bounds})", **ctx)
