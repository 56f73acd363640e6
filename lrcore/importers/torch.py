"""Read a live torch learning-rate scheduler back into an lrcore spec.

``lrcore.from_torch(scheduler)`` looks at the scheduler's class, its parameters, the
base learning rates (``scheduler.base_lrs``) and returns an :class:`lrcore.Schedule`
whose curve is the one torch draws: ``evaluate(spec, k)`` is the learning rate of
param group ``group`` after ``k`` calls of ``scheduler.step()`` from construction.
Recursive schedulers are read as their closed form (``_get_closed_form_lr``), which
their recursion only approximates (it drifts by rounding, about ``k`` ulp after ``k``
steps).

Supported (exact classes; a subclass may change ``get_lr`` and is refused):

============================  =============================================================
torch                         spec
============================  =============================================================
StepLR                        ``step`` (``every = step_size``, ``factor = gamma``)
MultiStepLR                   ``multistep``; repeated milestones or one at 0:
                              ``piecewise_constant`` (torch counts repeats)
ExponentialLR                 ``exponential`` (``rate = gamma``)
CosineAnnealingLR             ``cosine`` with ``periodic: true``: past ``T_max`` torch's
                              curve goes back up (Keras and optax hold ``eta_min``)
LinearLR, ConstantLR          ``linear``, ``piecewise_constant``
PolynomialLR                  ``polynomial`` to 0
CyclicLR                      ``cyclic`` (three modes; integer step sizes)
OneCycleLR                    ``onecycle`` (cos/linear, ``three_phase``): peak at
                              ``floor(pct_start * total) - 1``, the floor held from
                              ``total - 1`` on
CosineAnnealingWarmRestarts   ``cosine_restarts`` (``repeat`` of a ``cosine`` when
                              ``eta_min > base``, ``T_mult = 1``)
MultiplicativeLR              ``step`` with ``every = 1`` — only for a factor written as a
                              literal, ``lambda epoch: 0.95`` (see below)
SequentialLR                  ``sequence`` (each scheduler on local time, switching *at*
                              each milestone; the first from the group's ``initial_lr``)
ChainedScheduler              product of the multiplicative schedulers above (``scale``)
LrcoreScheduler               its own spec (``lrcore.to_torch``'s ``LambdaLR``)
LambdaLR from transformers    ``lrcore.presets.hf`` (``get_scheduler``'s lambdas)
============================  =============================================================

Anything else raises :class:`~lrcore.SpecError` naming the class.

Choices where torch leaves room:

* **Where it stands now.** The spec describes the whole curve from step 0 (the rate at
  construction), whatever ``last_epoch`` is now: the schedule, not its state. The
  current position is ``scheduler.last_epoch``; ``origin="now"`` returns the rest of
  the curve instead (a ``shift`` by ``last_epoch``): then ``evaluate(spec, 0)`` is the
  rate the optimizer holds now, and ``evaluate(spec, j)`` the rate after ``j`` more
  ``scheduler.step()`` calls.
* **A rate changed outside the scheduler** (``param_groups[i]["lr"] *= 0.5``, an
  optimizer state loaded without the scheduler's, another scheduler built later on the
  same optimizer): the group's ``lr`` differs from ``scheduler.get_last_lr()[i]``, and
  ``from_torch`` raises a ``SpecError`` naming the group and both rates, for either
  origin. torch's recursive schedulers continue from the changed rate and its closed
  forms overwrite it at the next step: the scheduler no longer draws the spec's curve,
  from step 0 or from now, and when the change happened is not recorded anywhere.
* **A scheduler that runs from another rate than its base.** torch's recursive
  schedulers (``StepLR``, ``MultiStepLR``, ``ExponentialLR``, ``LinearLR``,
  ``ConstantLR``, ``PolynomialLR``, ``MultiplicativeLR``, ``CosineAnnealingLR``, and a
  ``ChainedScheduler`` of them) start from the rate the group holds when they are
  built, but record the group's ``initial_lr`` as ``base_lrs``. Built after another
  scheduler that changed the rate (``ConstantLR(opt, 0.5, 10); ExponentialLR(opt,
  0.9)`` runs 0.05, 0.045, ..., not 0.1, 0.09, ...), after a rate set by hand, or
  stepped alongside another scheduler (torch's "chaining" idiom), they draw no curve
  that their own parameters describe. ``from_torch`` checks, for either origin, that
  the spec gives the rate the scheduler set at its current step
  (``get_last_lr()[group]``) and raises a ``SpecError`` otherwise. The tolerance is a
  bound on torch's own rounding (its recursions drift: ~1 ulp per step, a float32
  tensor lr much more, ``CosineAnnealingLR`` past ``T_max`` ~``u T_max**2``), so a
  factor 2 is caught at once and any mismatch above ~4e-6 of the largest rate on a
  float64 run of 2**31 steps. The same check refuses a ``CosineAnnealingWarmRestarts``
  stepped with fractional epochs (``step(epoch + i / iters)``): its rate sits between
  the spec's whole steps. The check sees the current step only: a
  ``CosineAnnealingLR`` past its first ``T_max`` has come back onto its base rate's
  wave, so a different start before that no longer shows.
* **lrcore's plateau scheduler** (``to_torch`` of a spec whose root is ``plateau``).
  Its rate is the spec's curve times a scale that reported metrics cut, and the
  scheduler keeps the rule's state (``scheduler.plateau``: best, bad count, cooldown,
  scale), not the reports. ``origin="start"`` returns its spec, the schedule and its
  rule: ``evaluate(spec, k, reports=<the reports it received>)`` is torch's rate, and
  without reports the curve before any cut. ``origin="now"`` returns the same rule on
  the rest of the curve while no report has been made (exact, future reports
  included); after a report it raises a ``SpecError``: a spec's plateau starts from no
  best, no bad reports, no cooldown and scale 1, so folding the scale in would be
  torch's curve only until the next report, and dropping the plateau would drop the
  rule the run still reports to. (With no further report, the rest is the spec's curve
  times ``scheduler.plateau["scale"]``.) A param group scale goes inside the plateau,
  with ``min_lr`` and ``eps`` scaled too: torch's rule judges them against the unscaled
  curve. Inside a ``SequentialLR`` it is refused (its scale multiplies the whole curve).
* **Several param groups.** ``group=i`` (default 0) picks whose base rate (and, for
  ``CyclicLR``/``OneCycleLR``, whose bounds) the spec uses; call once per group.
* **MultiplicativeLR.** Its ``lr_lambda`` is arbitrary code. A factor is accepted only
  when the function's body is a single numeric literal (``lambda epoch: 0.95``, checked
  on its bytecode): probing the function at a few steps cannot prove it returns the same
  value at every other step, and a closure or global can change later. Any other callable
  is refused with a ``SpecError`` (write the spec with ``lrcore.step`` instead).
* **Momentum cycling.** A ``CyclicLR``/``OneCycleLR`` built with ``cycle_momentum=True``
  (torch's default) imports with its momentum curve under the spec's ``hyperparams``
  (``momentum``: SGD's momentum or Adam's ``betas[0]``, as in torch); inside a
  composite scheduler such a momentum cycle is refused. ``CyclicLR`` with a custom
  ``scale_fn`` and ``ReduceLROnPlateau`` (metric driven) are refused.
* **SequentialLR's first scheduler.** ``SequentialLR.__init__`` resets the rate to
  the group's ``initial_lr`` and restarts its first scheduler from it; a ``OneCycleLR``
  built after that scheduler has rewritten ``initial_lr`` to ``max_lr / div_factor``
  (no other scheduler writes it). The recursive schedulers (the ``ChainedScheduler`` list
  below) then run from that rate, read as their base; ``CosineAnnealingLR`` runs its
  first ``T_max`` steps as a cosine from that rate and then torch's wave of its base
  rate (its recursion adds a step of that wave at ``T_max + 1``); closed forms in
  ``base_lrs`` (``LambdaLR``, ``CyclicLR``, ``CosineAnnealingWarmRestarts``) and
  ``OneCycleLR`` (the group's values) are not affected. The later schedulers restart at
  their milestone from their own ``base_lrs``, as read.
* **Numbers.** Scheduler attributes must be real numbers (int, float, numpy scalars,
  0-d tensors; not bools): torch stores constructor arguments as given, so
  ``ExponentialLR(opt, gamma="0.9")`` builds and fails only at its first step. Step
  counts must be whole (``StepLR(step_size=2.5)``: torch's recursion and closed form
  disagree). Otherwise ``SpecError`` naming the attribute (``scheduler.gamma``).
* **Composites.** ``SequentialLR`` holds non-composite schedulers (torch cannot restart
  a nested ``SequentialLR``/``ChainedScheduler`` at a milestone: it calls their
  ``get_lr``); a ``MultiplicativeLR`` may only come first (later it would continue from
  the previous scheduler's last rate). ``ChainedScheduler`` multiplies the schedulers
  whose ``get_lr`` multiplies the current rate by a ratio: ``StepLR``, ``MultiStepLR``,
  ``ExponentialLR``, ``LinearLR``, ``ConstantLR``, ``PolynomialLR``,
  ``MultiplicativeLR``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import dis
import functools
import math
import types
from collections.abc import Iterator
from typing import Any

from .._args import as_int
from .._args import as_real as _real
from .._args import plain_number as _number
from ..document import Schedule
from ..errors import SpecError
from ..evaluate import evaluate
from ..node import Node
from ..nodes.constant import Constant
from ..nodes.cosine import Cosine
from ..nodes.cosine_restarts import CosineRestarts
from ..nodes.cyclic import Cyclic
from ..nodes.exponential import Exponential
from ..nodes.linear import Linear
from ..nodes.multistep import MultiStep
from ..nodes.onecycle import OneCycle
from ..nodes.onecycle_momentum import OneCycleMomentum
from ..nodes.piecewise_constant import PiecewiseConstant
from ..nodes.plateau import Plateau, PlateauState, initial_state
from ..nodes.polynomial import Polynomial
from ..nodes.repeat import Repeat
from ..nodes.scale import Scale
from ..nodes.shift import Shift
from ..nodes.step import Step
from ..presets.optax import chain

__all__ = ["SUPPORTED", "from_torch"]

SUPPORTED = ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
             "ConstantLR", "PolynomialLR", "CyclicLR", "OneCycleLR",
             "CosineAnnealingWarmRestarts", "MultiplicativeLR", "SequentialLR",
             "ChainedScheduler", "LrcoreScheduler", "LambdaLR (transformers)")
_CHAINABLE = ("StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "ConstantLR",
              "PolynomialLR", "MultiplicativeLR")


@functools.lru_cache(maxsize=1)
def _torch():
    """torch's scheduler module and lrcore's scheduler class, imported on first use, so
    nothing under lrcore/ imports a framework when it is loaded."""
    from torch.optim import lr_scheduler

    from ..adapters.torch import LrcoreScheduler

    return lr_scheduler, LrcoreScheduler


def from_torch(scheduler: Any, *, group: int = 0, origin: str = "start") -> Schedule:
    """The spec of a torch scheduler's learning-rate curve for param group ``group``.

    ``origin="start"`` (default): the curve from the scheduler's step 0, so
    ``evaluate(spec, k)`` is the rate after ``k`` calls of ``scheduler.step()``.
    ``origin="now"``: the curve from where the scheduler stands (``last_epoch``).

    >>> import torch, lrcore  # doctest: +SKIP
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)  # doctest: +SKIP
    >>> spec = lrcore.from_torch(torch.optim.lr_scheduler.StepLR(opt, 30))  # doctest: +SKIP
    >>> lrcore.to_optax(spec)  # the same curve in optax  # doctest: +SKIP
    """
    L, LrcoreScheduler = _torch()
    if not isinstance(scheduler, L.LRScheduler):
        raise SpecError("scheduler", "must be a torch learning-rate scheduler "
                        "(torch.optim.lr_scheduler.*)", type(scheduler).__name__)
    if origin not in ("start", "now"):
        raise SpecError("origin", "must be 'start' or 'now'", origin)
    n = len(scheduler.optimizer.param_groups)
    if isinstance(group, bool) or not isinstance(group, int) or not 0 <= group < n:
        raise SpecError("group", f"must be a param group index in [0, {n - 1}]", group)
    _check_rate_held(scheduler, group)
    if isinstance(scheduler, LrcoreScheduler):  # incl. its plateau subclass
        spec, per = _own_spec(scheduler, group, nested=False)
        node, extra = spec.schedule, {k: getattr(spec, k) for k in
                                      ("steps_per_epoch", "total_steps", "name")}
        hyper = dict(spec.hyperparams)
        description = spec.description
    else:
        node, per, extra = _curve(scheduler, group, "scheduler"), 1, {}
        hyper = _momentum(scheduler, group, node)
        description = f"torch {_describe(scheduler)}, param group {group}"
    # a plateau scheduler's rate is its spec's (the curve before any cut) times the scale
    # its reports have left
    state = getattr(scheduler, "plateau", None) if isinstance(scheduler, LrcoreScheduler) \
        else None
    _check_curve(scheduler, group, Schedule(schedule=node, **extra), per,
                 1.0 if state is None else float(state["scale"]))
    if origin == "now":
        k = _position(scheduler) * per
        if state is not None:
            node = _plateau_now(node, k, state)
        elif k > 0:
            node = Shift(schedule=node, offset=k)
        if k > 0:
            hyper = {name: Shift(schedule=tree, offset=k) for name, tree in hyper.items()}
        description = f"{description or 'lrcore spec'}, from step {k}"
    return Schedule(schedule=node, description=description, hyperparams=hyper, **extra)


def _momentum(s: Any, group: int, node: Node) -> dict[str, Node]:
    """The momentum curve a top-level ``OneCycleLR``/``CyclicLR`` cycles
    (``cycle_momentum=True``) in param group ``group`` ("momentum" or ``betas[0]``,
    whichever the optimizer has: lrcore's ``momentum`` means the same), as the spec's
    ``hyperparams``; ``node`` is the rate's node, whose phases it shares."""
    name = _name(s)
    if name not in ("OneCycleLR", "CyclicLR") or not getattr(s, "cycle_momentum", False):
        return {}
    path = "scheduler"
    if name == "OneCycleLR":
        pg = s.optimizer.param_groups[group]
        where = f"optimizer.param_groups[{group}]"
        low, high = (_real(pg[k], f"{where}.{k}") for k in ("base_momentum", "max_momentum"))
        return {"momentum": OneCycleMomentum(
            low=low, high=high, pct_start=node.pct_start, anneal=node.anneal,
            three_phase=node.three_phase, duration=node.duration)}
    low = _real(s.base_momentums[group], f"{path}.base_momentum")
    high = _real(s.max_momentums[group], f"{path}.max_momentum")
    return {"momentum": Cyclic(low=low, high=high, up=node.up, down=node.down, mode=node.mode,
                               gamma=node.gamma, invert=True)}


def _check_rate_held(s: Any, group: int) -> None:
    """The optimizer must hold the rate the scheduler set last (``get_last_lr()``).

    A rate changed outside the scheduler (``param_groups[i]["lr"] *= 0.5``, an optimizer
    state loaded without the scheduler's, another scheduler built on the same optimizer)
    is what torch's recursive schedulers continue from at the next step, and what a
    closed form overwrites there: either way this scheduler no longer draws the spec's
    curve, from step 0 or from now, and lrcore cannot tell when the change happened.
    """
    try:
        last = s.get_last_lr()[group]
    except (AttributeError, IndexError):  # pragma: no cover - every scheduler sets it
        return
    held = s.optimizer.param_groups[group]["lr"]
    h, lst = _number(held), _number(last)
    if h is None or lst is None or float(h) == float(lst):
        return
    raise SpecError(f"optimizer.param_groups[{group}].lr", f"was changed outside the "
                    f"scheduler: {_name(s)} last set {float(lst)!r} (get_last_lr()[{group}]) "
                    f"and the optimizer holds {float(h)!r}; torch continues from the changed "
                    "rate (recursive schedulers) or overwrites it at the next step (closed "
                    "forms), so no spec is this scheduler's curve. Restore it "
                    f"(param_groups[{group}]['lr'] = scheduler.get_last_lr()[{group}]) or "
                    "read a freshly built scheduler", float(h))


def _check_curve(s: Any, group: int, spec: Schedule, per: int, scale: float = 1.0) -> None:
    """The spec must give, at the scheduler's current step, the rate torch set there
    (``get_last_lr()[group]``), up to torch's own rounding.

    The spec is built from the base rate the scheduler records (``base_lrs``, the group's
    ``initial_lr``), but torch's recursive schedulers run from the rate the group holds
    when they are built: after another scheduler on the same optimizer changed it
    (``ConstantLR(opt, 0.5, 10); ExponentialLR(opt, 0.9)`` runs 0.05, 0.045, ..., not
    0.1, 0.09, ...), the scheduler draws the spec times an unknown factor, or not even
    that when the other scheduler keeps stepping alongside. Its current rate shows it.
    """
    try:
        held = s.get_last_lr()[group]
    except (AttributeError, IndexError):  # pragma: no cover - every scheduler sets it
        return
    h = _number(held)
    k = _position(s) * per
    if h is None or k < 0:
        return
    h = float(h)
    expected = float(evaluate(spec, [k])[0]) * scale
    if h == expected:
        return
    # The tolerance bounds torch's own rounding; it is not a guess at how large a real
    # mismatch is. torch computes each rate with unit roundoff u (2**-53 for a Python
    # float; a tensor lr is rounded to its dtype at every step, 2**-24 for float32). One
    # step of a recursive scheduler does at most ~12 roundings (CosineAnnealingLR's ratio
    # of cosines, LinearLR's ratio), each off by at most u x R, the largest rate in play
    # (the rate, base rates, bounds, eta_min), and they add up over the k + 1 steps: a
    # float32 ExponentialLR(gamma=1 - 2**-25) never moves at all, k u behind after k
    # steps. 16 per scheduler per step bounds that (a PolynomialLR counts its power:
    # (a / b) ** p scales the error of its ratio by p). Past T_max, CosineAnnealingLR's
    # recursion adds one step of its wave, (1 - cos(pi / T)) / 2, whose relative error is
    # ~u T**2, and multiplies it up to the wave's height: 2 u T**2 R more (measured: with
    # float64, T = 3e4 is off by 1.1e-8 relative at 2 T; with float32, T = 1e4 stays at
    # eta_min, 2.5 x off, so there the check can tell nothing). Measured on 1e5-step runs
    # (ExponentialLR, CosineAnnealingLR past T_max, float64 and float32 tensors), torch's
    # error stays below 0.1 x this bound. It still catches, at any step where the rate is
    # not far below R, a mismatch above 4e-6 R on a float64 run of 2**31 steps (a factor
    # 2 at once), and a factor 2 on a float32 run of up to ~5e5 steps. The floor: lrcore's
    # closed forms and torch's agree to 1e-12 (tested), not necessarily to the last bit.
    u = 2.0 ** -53
    dtype = getattr(held, "dtype", None)
    if dtype is not None and getattr(dtype, "is_floating_point", False):
        import torch

        u = torch.finfo(dtype).eps / 2
    weight, far, rates = 0.0, 0.0, [abs(h), abs(expected)]
    for m in _members(s):
        power = _number(getattr(m, "power", 1.0)) if _name(m) == "PolynomialLR" else 1.0
        weight += max(1.0, abs(float(power or 1.0)))
        rates.extend(_rates(m, group))
        t_max = _number(getattr(m, "T_max", None)) if _name(m) == "CosineAnnealingLR" else 0
        if t_max and m.last_epoch > t_max:
            far += 2.0 * float(t_max) ** 2
    rates.extend(_rates(s.optimizer.param_groups[group], None))
    big = max((r for r in rates if math.isfinite(r)), default=0.0)
    tol = max(u * big * (16.0 * weight * (k + 1) + far), 1e-12 * big)
    if abs(h - expected) <= tol:
        return
    raise SpecError(f"scheduler.get_last_lr()[{group}]", f"{_name(s)} set {h!r} at step {k}, "
                    f"where the curve read from it gives {expected!r}: it does not run the "
                    "curve its parameters describe. Most often torch runs it from another "
                    "rate than the base rate it records (base_lrs, the group's initial_lr): "
                    "its recursive get_lr goes on from whatever rate the group holds, so a "
                    "scheduler built before it on this optimizer (or stepped alongside it), "
                    "or a rate set by hand in between, moved its whole curve. Build it first "
                    "on the optimizer, or put the schedulers in one ChainedScheduler or "
                    "SequentialLR and read that. (A step(epoch) call, such as a fractional "
                    "epoch for CosineAnnealingWarmRestarts, also leaves the curve.)", h)


def _members(s: Any) -> Iterator[Any]:
    """``s`` and every scheduler nested in it (SequentialLR, ChainedScheduler)."""
    yield s
    for child in getattr(s, "_schedulers", ()):
        yield from _members(child)


def _rates(x: Any, group: int | None) -> list[float]:
    """The magnitudes of the rates a scheduler (``group``) or a param group (``None``)
    holds: base rates, bounds, ``eta_min``, ``initial_lr``/``max_lr``/``min_lr``."""
    if group is None:
        values = [x.get(k) for k in ("lr", "initial_lr", "max_lr", "min_lr")]
    else:
        values = [getattr(x, "eta_min", None)]
        for name in ("base_lrs", "max_lrs"):
            seq = getattr(x, name, None)
            if isinstance(seq, (list, tuple)) and group < len(seq):
                values.append(seq[group])
    out = []
    for v in values:
        n = _number(v)
        if n is not None:
            out.append(abs(float(n)))
    return out


# ---- dispatch ----------------------------------------------------------------------------

def _name(s: Any) -> str:
    return type(s).__name__


def _describe(s: Any) -> str:
    """``Class(arg=value, ...)`` from the constructor arguments the scheduler keeps."""
    import inspect

    try:
        names = list(inspect.signature(type(s).__init__).parameters)[1:]
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        names = []
    params = [f"{k}={getattr(s, k)!r}" for k in names
              if k not in ("optimizer", "last_epoch", "verbose", "cycle_momentum")
              and isinstance(getattr(s, k, None), (int, float, str, bool))]
    return f"{_name(s)}({', '.join(params)})"


def _unsupported(s: Any, path: str, reason: str) -> SpecError:
    return SpecError(path, f"{_name(s)} is not supported: {reason}; from_torch reads "
                     + ", ".join(SUPPORTED), _describe(s))


@contextlib.contextmanager
def _named(s: Any, path: str) -> Iterator[None]:
    """Errors from building a node name the torch scheduler they came from."""
    try:
        yield
    except SpecError as err:
        if err.path.startswith((f"{path}.", "optimizer.")):  # already names its source
            raise
        raise SpecError(f"{path} ({_name(s)})", f"cannot be expressed: {err}") from None


def _int(x: Any, path: str) -> int:
    """A scheduler attribute that must be a whole number of steps (an integral float is
    one: torch's recursion and closed form agree on it, unlike on ``2.5``)."""
    return as_int(x, path, "must be a whole number of steps (torch's recursive and "
                  "closed forms disagree on a fractional one)")


def _base(s: Any, group: int, path: str) -> float:
    return _real(s.base_lrs[group], f"{path}.base_lrs[{group}]")


def _curve(s: Any, group: int, path: str, base: float | None = None,
           chained: bool = False) -> Node:
    """The node for scheduler ``s``; ``base`` overrides the base rate (1.0 gives the
    multiplier curve a ChainedScheduler multiplies in); ``chained``: it sits in a
    ChainedScheduler."""
    name = _name(s)
    L, LrcoreScheduler = _torch()
    if isinstance(s, LrcoreScheduler):
        if chained:
            raise _unsupported(s, path, "in a ChainedScheduler it sets the rate outright "
                               "instead of multiplying it")
        spec, _ = _own_spec(s, group, nested=True)
        if spec.hyperparams:
            raise _unsupported(s, path, "its hyperparameter curves cannot be placed inside "
                               "a composite scheduler; import it on its own")
        return spec.resolve().schedule
    if path != "scheduler" and name in ("OneCycleLR", "CyclicLR") \
            and getattr(s, "cycle_momentum", False):
        raise _unsupported(s, path, "its momentum cycle (cycle_momentum=True) inside a "
                           "composite scheduler is not modelled; build it with "
                           "cycle_momentum=False, or import it on its own")
    if type(s) is not getattr(L, name, None):
        raise _unsupported(s, path, "lrcore reads torch's own scheduler classes only (a "
                           "subclass may compute its rate differently)")
    builder = _BUILDERS.get(name)
    if builder is None:
        raise _unsupported(s, path, _REFUSED.get(name, "lrcore has no mapping for it"))
    if chained and name not in _CHAINABLE:
        raise _unsupported(s, path, "in a ChainedScheduler only schedulers that multiply "
                           "the current rate by a ratio compose: " + ", ".join(_CHAINABLE))
    if name in ("SequentialLR", "ChainedScheduler"):  # they name their own parts
        return builder(s, group, path, base)
    start = _base(s, group, path) if base is None else base
    if name == "LambdaLR":
        return builder(s, group, path, start)
    with _named(s, path):
        return builder(s, group, path, start)


_REFUSED = {
    "ReduceLROnPlateau": "it reacts to reported metrics, not to the step",
    "LambdaLR": "lrcore cannot read a formula out of an arbitrary Python function (it "
                "reads lrcore's own LrcoreScheduler and transformers' get_scheduler "
                "lambdas); write the curve as a spec",
}


# ---- the schedulers ------------------------------------------------------------------------

def _geometric(base: float, factor: float, every: int) -> Node:
    if factor == 0.0:  # the rate drops to 0 at the first multiple and stays there
        return PiecewiseConstant(values=[base, 0.0], boundaries=[every])
    return Step(start=base, factor=factor, every=every)


def _step_lr(s, group, path, base):
    return _geometric(base, _real(s.gamma, f"{path}.gamma"),
                      _int(s.step_size, f"{path}.step_size"))


def _multistep_lr(s, group, path, base):
    counts: dict[int, int] = {}  # torch keeps a Counter: a repeated milestone counts twice
    for m, c in s.milestones.items():
        step = _int(m, f"{path}.milestones")
        if step < 0:
            raise SpecError(f"{path}.milestones", "must be >= 0 (torch's recursive and "
                            "closed forms disagree on negative milestones)", m)
        counts[step] = counts.get(step, 0) + c
    gamma = _real(s.gamma, f"{path}.gamma")
    if all(c == 1 for c in counts.values()) and 0 not in counts and gamma != 0.0:
        return MultiStep(start=base, factor=gamma, milestones=sorted(counts))
    values, bounds, drops = [base], [], 0
    for m in sorted(counts):
        drops += counts[m]
        value = base * gamma**drops  # torch's closed form: base * gamma ** bisect_right
        if m == 0:
            values[0] = value
        else:
            bounds.append(m)
            values.append(value)
    return PiecewiseConstant(values=values, boundaries=bounds) if bounds else \
        Constant(value=values[0])


def _exponential_lr(s, group, path, base):
    return Exponential(start=base, rate=_real(s.gamma, f"{path}.gamma"))


def _cosine_annealing_lr(s, group, path, base, first=None):
    """torch's closed form eta_min + (base - eta_min)(1 + cos(pi t / T_max)) / 2 for all
    t. ``first``: the rate its recursion starts from when that is not its base rate (the
    first scheduler of a SequentialLR after a OneCycleLR rewrote ``initial_lr``)."""
    eta, d = _real(s.eta_min, f"{path}.eta_min"), _int(s.T_max, f"{path}.T_max")
    wave = Cosine(start=base, end=eta, duration=d, periodic=True)
    if first is None or first == base:
        return wave
    # torch multiplies the distance to eta_min by a ratio of cosines: from `first`, that
    # telescopes to eta + (first - eta)(1 + cos(pi t / T)) / 2 down to eta_min at t = T.
    # At t = T + 1 (mod 2 T) the ratio would divide by 0, and torch adds a step of the
    # wave that base_lrs spans instead: from T on, the wave of the base rate, which at
    # T + j is eta + (base - eta)(1 - cos(pi j / T)) / 2, a periodic cosine from eta up.
    return chain([(Cosine(start=first, end=eta, duration=d), d),
                  (Cosine(start=eta, end=base, duration=d, periodic=True), None)])


def _linear_lr(s, group, path, base):
    total = _int(s.total_iters, f"{path}.total_iters")
    if total < 1:
        raise SpecError(f"{path}.total_iters", "must be >= 1 (torch's closed form divides "
                        "by it)", total)
    return Linear(start=base * _real(s.start_factor, f"{path}.start_factor"),
                  end=base * _real(s.end_factor, f"{path}.end_factor"), duration=total)


def _constant_lr(s, group, path, base):
    total = _int(s.total_iters, f"{path}.total_iters")
    if total < 1:
        raise SpecError(f"{path}.total_iters", "must be >= 1 (with 0, torch's recursive "
                        "form keeps the factor forever and its closed form never applies "
                        "it)", total)
    factor = _real(s.factor, f"{path}.factor")
    if factor == 1.0:
        return Constant(value=base)
    return PiecewiseConstant(values=[base * factor, base], boundaries=[total])


def _polynomial_lr(s, group, path, base):
    return Polynomial(start=base, end=0.0, power=_real(s.power, f"{path}.power"),
                      duration=_int(s.total_iters, f"{path}.total_iters"))


def _cyclic_lr(s, group, path, base):
    if s._scale_fn_custom is not None:
        raise SpecError(f"{path}.scale_fn", "a custom scale_fn is Python code lrcore cannot "
                        "read; use mode='triangular', 'triangular2' or 'exp_range'",
                        getattr(s._scale_fn_custom, "__name__", "callable"))
    total, ratio = float(s.total_size), float(s.step_ratio)
    up = round(ratio * total)
    down = total - up
    if up < 1 or down < 1 or down != int(down) or up / total != ratio:
        raise SpecError(f"{path}.step_size_up", "step_size_up and step_size_down must be "
                        "whole numbers of steps >= 1", {"total_size": total, "ratio": ratio})
    down = int(down)
    kwargs = {"gamma": _real(s.gamma, f"{path}.gamma")} if s.mode == "exp_range" else {}
    return Cyclic(low=base, high=_real(s.max_lrs[group], f"{path}.max_lr"), up=up,
                  down=None if down == up else down, mode=s.mode, **kwargs)


def _shortest(approx: float, exact) -> float:
    """The shortest decimal ``x`` with ``exact(x)`` true (the number the user wrote,
    recovered from torch's derived values), else ``approx``."""
    for digits in range(1, 18):
        x = float(f"{approx:.{digits}g}")
        if exact(x):
            return x
    return approx


def _one_cycle_lr(s, group, path, base):
    if getattr(s, "_anneal_func_type", None) not in ("cos", "linear"):
        raise SpecError(f"{path}.anneal_strategy", "must be 'cos' or 'linear'",
                        getattr(s, "_anneal_func_type", None))
    pg = s.optimizer.param_groups[group]
    where = f"optimizer.param_groups[{group}]"
    peak, initial, floor = (_real(pg[k], f"{where}.{k}") for k in ("max_lr", "initial_lr",
                                                                   "min_lr"))
    total = _int(s.total_steps, f"{path}.total_steps")
    ends = [float(p["end_step"]) for p in s._schedule_phases]
    three = len(ends) == 3
    # torch keeps pct_start, div_factor and final_div_factor only through what it derived
    # from them: recover the numbers that reproduce those derived values bit for bit.
    pct = _shortest((ends[0] + 1) / total,
                    lambda p: float(p * total) - 1 == ends[0]
                    and (not three or float(2 * p * total) - 2 == ends[1]))
    div = _shortest(peak / initial, lambda d: peak / d == initial)
    final_div = _shortest(initial / floor, lambda f: (peak / div) / f == floor) \
        if floor > 0 else math.inf
    if not math.isfinite(final_div):
        raise SpecError(f"{path}.final_div_factor", "must give a positive final rate", floor)
    node = OneCycle(peak=peak, pct_start=pct, div_factor=div, final_div_factor=final_div,
                    anneal=s._anneal_func_type, three_phase=three, duration=total)
    _, node_ends, _ = node._phases()
    if node_ends != ends:  # pragma: no cover - the search above makes them equal
        raise SpecError(f"{path}.pct_start", f"phase ends {node_ends} differ from torch's "
                        f"{ends}", pct)
    return node


def _warm_restarts(s, group, path, base):
    eta_min, t0 = _real(s.eta_min, f"{path}.eta_min"), _int(s.T_0, f"{path}.T_0")
    mult = _int(s.T_mult, f"{path}.T_mult")
    if eta_min <= base:
        return CosineRestarts(start=base, end=eta_min, period=t0, period_mult=float(mult))
    if mult == 1:
        return Repeat(schedule=Cosine(start=base, end=eta_min, duration=t0), period=t0)
    raise SpecError(f"{path}.eta_min", f"must be <= the base rate ({base:g}) when "
                    "T_mult > 1 (lrcore's cosine_restarts decays from start to end)", eta_min)


def _literal_factor(fn: Any) -> float | None:
    """The number a function returns when its whole body is ``return <literal>``."""
    if not isinstance(fn, types.FunctionType) or fn.__code__.co_freevars:
        return None
    ops = [i for i in dis.get_instructions(fn) if i.opname not in ("RESUME", "NOP", "CACHE")]
    if len(ops) == 1 and ops[0].opname == "RETURN_CONST":
        value = ops[0].argval
    elif len(ops) == 2 and ops[0].opname == "LOAD_CONST" and ops[1].opname == "RETURN_VALUE":
        value = ops[0].argval
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _multiplicative_lr(s, group, path, base):
    fn = s.lr_lambdas[group]
    factor = _literal_factor(fn)
    if factor is None:
        raise SpecError(f"{path}.lr_lambda", "must return a numeric literal "
                        "(lambda epoch: 0.95): lrcore cannot prove that any other function "
                        "returns the same factor at every step", getattr(
                            fn, "__qualname__", type(fn).__name__))
    # t = 0: the base rate (the initial step leaves it); every step after multiplies
    return _geometric(base, factor, 1)


def _sequential_lr(s, group, path, base):
    children = list(s._schedulers)
    milestones = [_int(m, f"{path}.milestones[{i}]") for i, m in enumerate(s._milestones)]
    for i, m in enumerate(milestones):
        if m < 0 or (i and m < milestones[i - 1]):
            raise SpecError(f"{path}.milestones[{i}]", "must be >= 0 and non-decreasing", m)
    # SequentialLR.__init__ resets the rate to the group's initial_lr and restarts the
    # first scheduler from it. A OneCycleLR built after that scheduler has rewritten
    # initial_lr (to max_lr / div_factor), so its recursion runs from that value, not from
    # the base_lrs it recorded. (The later schedulers restart at their milestone from
    # their own base_lrs or, for OneCycleLR, the group's values: those are right.)
    first = _real(s.optimizer.param_groups[group]["initial_lr"],
                  f"optimizer.param_groups[{group}].initial_lr")
    parts, prev = [], 0
    for i, child in enumerate(children):
        p = f"{path}.schedulers[{i}]"
        if _name(child) in ("SequentialLR", "ChainedScheduler"):
            raise _unsupported(child, p, "torch restarts a SequentialLR's schedulers by "
                               "calling their get_lr, which composites do not have")
        if _name(child) == "MultiplicativeLR" and i > 0:
            raise _unsupported(child, p, "after a milestone it multiplies the previous "
                               "scheduler's last rate, which no spec of its own can hold")
        node = _curve(child, group, p) if i else _first_phase(child, group, p, first)
        if i < len(milestones):
            parts.append((node, milestones[i] - prev))
            prev = milestones[i]
        else:
            parts.append((node, None))
    return chain(parts)


def _first_phase(s: Any, group: int, path: str, first: float) -> Node:
    """The first scheduler of a SequentialLR, whose run starts from the rate ``first``."""
    name = _name(s)
    L, LrcoreScheduler = _torch()
    if isinstance(s, LrcoreScheduler) or type(s) is not getattr(L, name, None) \
            or _base(s, group, path) == first:
        return _curve(s, group, path)
    if name in _CHAINABLE:  # recursive: every rate is the start times a ratio
        return _curve(s, group, path, base=first)
    if name == "CosineAnnealingLR":  # recursive from `first`, then base_lrs' wave
        with _named(s, path):
            return _cosine_annealing_lr(s, group, path, _base(s, group, path), first)
    # LambdaLR, CyclicLR, CosineAnnealingWarmRestarts: closed forms in base_lrs;
    # OneCycleLR: the group's initial_lr/max_lr/min_lr, read as they are now
    return _curve(s, group, path)


def _chained_scheduler(s, group, path, base):
    # each child multiplies the current rate by its own ratio: the rate is the first
    # child's curve times every other child's multiplier curve (its curve from 1.0)
    node = None
    for i, child in enumerate(s._schedulers):
        p = f"{path}.schedulers[{i}]"
        start = base if i == 0 else 1.0
        if _name(child) == "ChainedScheduler":
            factor = _chained_scheduler(child, group, p, start)
        else:
            factor = _curve(child, group, p, base=start, chained=True)
        node = factor if node is None else Scale(schedule=node, by=factor)
    return node


def _own_spec(s: Any, group: int, nested: bool) -> tuple[Schedule, int]:
    """An LrcoreScheduler's document, times its group scale; and its steps per call."""
    fn = s.lr_lambdas[group]
    spec = s.spec
    if fn.per != 1 and nested:
        raise SpecError("scheduler", "an LrcoreScheduler stepped per epoch cannot sit in a "
                        "SequentialLR counted in its steps; build the whole curve as one "
                        "spec", fn.per)
    root = spec.schedule
    if nested and isinstance(root, Plateau):
        raise _unsupported(s, "scheduler", "its plateau scale multiplies the whole curve, so "
                           "it cannot be one phase of a SequentialLR; build the whole curve "
                           "as one spec inside its plateau")
    if fn.scale != 1.0 and isinstance(root, Plateau):
        # the rule runs on the unscaled curve (group 0's multiplier), and the group scale
        # multiplies the result: inside the plateau, min_lr and eps (rates) scale with it
        c = fn.scale
        spec = dataclasses.replace(spec, schedule=dataclasses.replace(
            root, schedule=Scale(schedule=root.schedule, by=c), min_lr=root.min_lr * c,
            eps=root.eps * c))
    elif fn.scale != 1.0:
        spec = dataclasses.replace(spec, schedule=Scale(schedule=root, by=fn.scale))
    return spec, fn.per


def _plateau_now(node: Plateau, k: int, state: dict) -> Node:
    """The rest of a plateau scheduler's run, from step ``k``: exact only while no report
    has changed its state (then the same rule on the shifted curve)."""
    fresh = initial_state(node)
    now = PlateauState.from_dict(state)
    if (now.best, now.bad, now.cool, now.scale) == (fresh.best, fresh.bad, fresh.cool,
                                                     fresh.scale):
        return node if k == 0 else dataclasses.replace(
            node, schedule=Shift(schedule=node.schedule, offset=k))
    raise SpecError("scheduler.plateau", f"origin='now' cannot carry a plateau's state: after "
                    f"{now.reports} report(s) the rule holds best={now.best!r}, bad={now.bad}, "
                    f"cool={now.cool}, scale={now.scale!r}, and a spec's plateau starts with no "
                    "best, no bad reports, no cooldown and scale 1. Its curve would be "
                    "torch's only until the next report, and a spec without the plateau "
                    "would drop the rule the run still reports to. from_torch(scheduler) "
                    "(origin='start') gives the spec, whose curve with the same reports "
                    "(lrcore.evaluate(spec, steps, reports=...)) is torch's; with no further "
                    f"report the rate from step {k} on is the spec's curve times "
                    f"{now.scale!r}", state)


# transformers' get_scheduler builds a LambdaLR over functools.partial(<one of these>)
_HF_LAMBDAS = {
    "_get_constant_lambda": "constant",
    "_get_constant_schedule_with_warmup_lr_lambda": "constant_with_warmup",
    "_get_linear_schedule_with_warmup_lr_lambda": "linear",
    "_get_cosine_schedule_with_warmup_lr_lambda": "cosine",
    "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda": "cosine_with_restarts",
    "_get_polynomial_decay_schedule_with_warmup_lr_lambda": "polynomial",
    "_get_inverse_sqrt_schedule_lr_lambda": "inverse_sqrt",
    "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda":
        "cosine_warmup_with_min_lr",
    "_get_wsd_scheduler_lambda": "warmup_stable_decay",
}


def _lambda_lr(s, group, path, base):
    fn = s.lr_lambdas[group]
    func, kwargs = fn, {}
    if isinstance(fn, functools.partial):
        if fn.args:
            func = None
        else:
            func, kwargs = fn.func, dict(fn.keywords)
    module = getattr(func, "__module__", "")
    name = _HF_LAMBDAS.get(getattr(func, "__name__", ""))
    if module != "transformers.optimization" or name is None:
        raise _unsupported(s, path, _REFUSED["LambdaLR"])
    from ..presets.hf import hf

    w = kwargs.pop("num_warmup_steps", None)
    n = kwargs.pop("num_training_steps", None)
    lr = base
    if name == "cosine" and kwargs.get("min_lr_rate", 0.0) != 0.0:
        name = "cosine_with_min_lr"
    elif name == "cosine":
        kwargs.pop("min_lr_rate", None)
    if name == "polynomial":  # transformers divides by the optimizer's default lr
        lr = _real(kwargs.pop("lr_init"), f"{path}.lr_lambdas[{group}].lr_init")
    if name == "warmup_stable_decay" and n is None and all(
            _number(kwargs.get(k)) is not None for k in ("num_stable_steps",
                                                           "num_decay_steps")) \
            and _number(w) is not None:
        # transformers derived num_stable_steps = N - W - num_decay_steps and kept no N:
        # give hf N back, so that its checks name the number the user passed
        n = w + kwargs.pop("num_stable_steps") + kwargs["num_decay_steps"]
    node = hf(name, lr, w, n, **kwargs).schedule
    return node if lr == base else Scale(schedule=node, by=base / lr)


_BUILDERS = {
    "StepLR": _step_lr,
    "MultiStepLR": _multistep_lr,
    "ExponentialLR": _exponential_lr,
    "CosineAnnealingLR": _cosine_annealing_lr,
    "LinearLR": _linear_lr,
    "ConstantLR": _constant_lr,
    "PolynomialLR": _polynomial_lr,
    "CyclicLR": _cyclic_lr,
    "OneCycleLR": _one_cycle_lr,
    "CosineAnnealingWarmRestarts": _warm_restarts,
    "MultiplicativeLR": _multiplicative_lr,
    "SequentialLR": _sequential_lr,
    "ChainedScheduler": _chained_scheduler,
    "LambdaLR": _lambda_lr,
}


def _position(s: Any) -> int:
    """How many times ``step()`` has been called since construction."""
    if _name(s) == "ChainedScheduler":
        steps = {_position(c) for c in s._schedulers}
        if len(steps) != 1:
            raise SpecError("scheduler", "its schedulers stand at different steps",
                            sorted(steps))
        return steps.pop()
    return int(s.last_epoch)
