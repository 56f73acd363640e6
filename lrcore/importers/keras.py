"""Read a Keras 3 learning-rate schedule (object or config) back into an lrcore spec.

``lrcore.from_keras(schedule)`` accepts

* a schedule object: every built-in of ``keras.optimizers.schedules`` (exact classes)
  and lrcore's own ``LrcoreSchedule`` (the spec it draws: its document with the context
  it was given; a plateau spec's runtime state is the schedule's, not the spec's);
* its serialized form, ``keras.saving.serialize_keras_object(schedule)`` or
  ``keras.optimizers.schedules.serialize(schedule)`` (a dict with ``class_name`` and
  ``config``);
* a plain ``schedule.get_config()`` dict, with ``class_name="CosineDecay"``.

Dicts need no Keras: only an object makes this module import ``keras``.

The spec draws Keras's curve in exact arithmetic: ``evaluate(spec, t)`` is what
``schedule(t)`` computes, ``t`` being ``optimizer.iterations``.

=====================  ===================================================================
Keras                  spec
=====================  ===================================================================
ExponentialDecay       ``exponential`` (``every = decay_steps``, ``staircase``)
InverseTimeDecay       ``inverse_time``
PiecewiseConstantDecay ``piecewise_constant`` with boundaries ``b + 1``: Keras keeps
                       ``values[i]`` while ``step <= b`` and switches one step later than
                       torch ``MultiStepLR`` / optax ``piecewise_constant_schedule``
PolynomialDecay        ``polynomial`` (``cycle`` is Keras's restart rule)
CosineDecay            ``cosine`` to ``alpha * initial``; with ``warmup_target``: a
                       ``linear`` warmup over ``warmup_steps`` *then* ``decay_steps`` of
                       cosine (optax's ``decay_steps`` includes the warmup)
CosineDecayRestarts    ``cosine_restarts`` (``t_mul``, ``m_mul``, ``alpha``)
LrcoreSchedule         its spec
=====================  ===================================================================

Every parameter must be a real number (int, float, a numpy scalar or a 0-d array; not
a bool, and not a string even when it reads as one, ``"100"``), or ``SpecError`` names
it. Numbers of steps may be real (``decay_steps=2.5``); with ``staircase`` or ``cycle`` a
real ``decay_steps`` is the simplest fraction float64 rounds to it (``1000/3``);
``CosineDecayRestarts`` needs ``t_mul >= 1``, ``m_mul > 0`` (above 1 within float32, and
at most 1 with ``alpha > 1``, whose rates Keras takes below 0). An ``LrcoreSchedule`` built
with ``gradient_accumulation_steps`` returns its spec, which counts optimizer updates
(Keras's raw counter divided by the accumulation steps), as ``to_keras`` took it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .._args import as_real as _real
from ..document import KERAS_KEY, Schedule, keras_settings
from ..errors import SpecError
from ..formulas import simplest_rounding_to
from ..node import Node
from ..nodes.constant import Constant
from ..nodes.cosine import Cosine
from ..nodes.cosine_restarts import CosineRestarts
from ..nodes.exponential import Exponential
from ..nodes.inverse_time import InverseTime
from ..nodes.linear import Linear
from ..nodes.piecewise_constant import PiecewiseConstant
from ..nodes.polynomial import Polynomial, decaying_power
from ..presets.optax import chain

__all__ = ["SUPPORTED", "from_keras"]

#: class name -> (required config keys, optional config keys with Keras's defaults)
SUPPORTED: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "ExponentialDecay": (("initial_learning_rate", "decay_steps", "decay_rate"),
                         {"staircase": False}),
    "InverseTimeDecay": (("initial_learning_rate", "decay_steps", "decay_rate"),
                         {"staircase": False}),
    "PiecewiseConstantDecay": (("boundaries", "values"), {}),
    "PolynomialDecay": (("initial_learning_rate", "decay_steps"),
                        {"end_learning_rate": 0.0001, "power": 1.0, "cycle": False}),
    "CosineDecay": (("initial_learning_rate", "decay_steps"),
                    {"alpha": 0.0, "warmup_target": None, "warmup_steps": 0}),
    "CosineDecayRestarts": (("initial_learning_rate", "first_decay_steps"),
                            {"t_mul": 2.0, "m_mul": 1.0, "alpha": 0.0}),
}
_LRCORE = "LrcoreSchedule"


def from_keras(schedule: Any, *, class_name: str | None = None) -> Schedule:
    """The spec of a Keras learning-rate schedule, its serialized dict, or its
    ``get_config()`` dict together with ``class_name``.

    >>> import lrcore
    >>> config = {"initial_learning_rate": 0.1, "decay_steps": 100, "decay_rate": 0.96,
    ...           "staircase": True}
    >>> spec = lrcore.from_keras(config, class_name="ExponentialDecay")
    >>> lrcore.evaluate(spec, [99, 100]).tolist()
    [0.1, 0.096]
    """
    if isinstance(schedule, dict):
        config = schedule
        if "config" in schedule and "class_name" in schedule:
            if class_name is not None and class_name != schedule["class_name"]:
                raise SpecError("class_name", f"differs from the serialized class "
                                f"{schedule['class_name']!r}", class_name)
            class_name, config = schedule["class_name"], schedule["config"]
        elif class_name is None:
            raise SpecError("class_name", "is required with a plain get_config() dict "
                            "(one of: " + ", ".join([*SUPPORTED, _LRCORE]) + ")", None)
        if not isinstance(config, dict):
            raise SpecError("config", "must be a dict", config)
    else:
        class_name, config, spec = _from_object(schedule)
        if spec is not None:
            return spec
    if class_name == _LRCORE:
        return _lrcore_spec(config)
    if class_name not in SUPPORTED:
        raise SpecError("class_name", "must be a Keras schedule lrcore reads: "
                        + ", ".join([*SUPPORTED, _LRCORE]), class_name)
    args = _arguments(class_name, config)
    node = _BUILDERS[class_name](**args)
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return Schedule(schedule=node, description=f"keras {class_name}({shown})")


def _lrcore_spec(config: dict) -> Schedule:
    """The spec an ``LrcoreSchedule`` config draws: its document with the context the
    schedule was given; its other settings (the plateau state, gradient accumulation)
    are the Keras schedule's, not the spec's."""
    settings = keras_settings(config.get(KERAS_KEY, {}))
    # configs saved before the settings had their key keep two of them beside the document
    doc = {k: v for k, v in config.items()
           if k not in ("gradient_accumulation_steps", "plateau_state")}
    return Schedule.from_dict(doc).bind(settings.get("steps_per_epoch"),
                                        settings.get("total_steps"))


def _from_object(schedule: Any) -> tuple[str, dict, Schedule | None]:
    try:
        import keras
    except ImportError:
        raise SpecError("schedule", "a schedule object needs keras installed; pass its "
                        "serialized dict instead", type(schedule).__name__) from None
    from ..adapters.keras import LrcoreSchedule

    if type(schedule) is LrcoreSchedule:
        return _LRCORE, {}, schedule.spec
    name = type(schedule).__name__
    if name not in SUPPORTED or type(schedule) is not getattr(
            keras.optimizers.schedules, name, None):
        raise SpecError("schedule", "must be a Keras schedule lrcore reads ("
                        + ", ".join([*SUPPORTED, _LRCORE]) + "); a subclass or a custom "
                        "schedule computes its rate in code lrcore cannot read", name)
    return name, schedule.get_config(), None


def _arguments(class_name: str, config: dict) -> dict[str, Any]:
    required, optional = SUPPORTED[class_name]
    known = set(required) | set(optional) | {"name"}
    for key in config:
        if key not in known:
            raise SpecError(f"{class_name}.{key}", "is not an argument of "
                            f"{class_name} (known: " + ", ".join(sorted(known)) + ")",
                            config[key])
    for key in required:
        if key not in config:
            raise SpecError(f"{class_name}.{key}", "is required", None)
    args = {k: config[k] for k in required}
    args.update({k: config.get(k, v) for k, v in optional.items()})
    return args


def _real_steps(value: Any, path: str) -> int | float:
    """A real number of steps (``decay_steps=1000.5``), taken as its decimal text; whole
    values as ints. The spec checks the range."""
    x = _real(value, path)
    return int(x) if x == int(x) else x


def _ratio_steps(decay_steps: Any, flag: Any, flag_name: str) -> int | float | Fraction:
    """``decay_steps`` of a schedule with a ``staircase`` or ``cycle`` flag. With the flag
    set, a real length is the simplest fraction that float64 rounds to it (``1000/3`` for
    ``333.3333333333333``; ``117/5`` for ``23.4``, its decimal text): Keras floors or
    ceils ``step / decay_steps`` in floating point, which meets that fraction's whole
    quotients (at ``step = 1000`` the decimal text's ceiling would be 4, Keras's is 3)."""
    x = _real(decay_steps, "decay_steps")
    if _bool(flag, flag_name) and x > 0 and x != int(x):
        return simplest_rounding_to(x)
    return _real_steps(x, "decay_steps")


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, "must be True or False", value)
    return value


# ---- the schedules ------------------------------------------------------------------------

def _exponential_decay(initial_learning_rate, decay_steps, decay_rate, staircase) -> Node:
    return Exponential(start=_real(initial_learning_rate, "initial_learning_rate"),
                       rate=_real(decay_rate, "decay_rate"),
                       every=_ratio_steps(decay_steps, staircase, "staircase"),
                       staircase=staircase)


def _inverse_time_decay(initial_learning_rate, decay_steps, decay_rate, staircase) -> Node:
    start, rate = _real(initial_learning_rate, "initial_learning_rate"), \
        _real(decay_rate, "decay_rate")
    every = _ratio_steps(decay_steps, staircase, "staircase")
    if rate == 0.0:  # s / (1 + 0) at every step
        return Constant(value=start)
    return InverseTime(start=start, rate=rate, every=every, staircase=staircase)


def _piecewise_constant_decay(boundaries, values) -> Node:
    if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)):
        raise SpecError("PiecewiseConstantDecay", "needs lists of boundaries and values",
                        {"boundaries": boundaries, "values": values})
    if len(values) != len(boundaries) + 1:
        raise SpecError("PiecewiseConstantDecay.values", "must have one more entry than "
                        f"boundaries ({len(boundaries)})", len(values))
    vals = [_real(v, f"values[{i}]") for i, v in enumerate(values)]
    bounds = []
    for i, b in enumerate(boundaries):
        # Keras casts a boundary to the step's integer dtype (truncation) and keeps
        # values[i] while step <= b: values[i + 1] starts at b + 1.
        x = _real(b, f"boundaries[{i}]")
        bounds.append(int(x) + 1)
    out_values, out_bounds = [vals[0]], []
    for b, v in zip(bounds, vals[1:]):
        if b <= 0:  # reached before step 0
            out_values[0] = v
        elif out_bounds and b <= out_bounds[-1]:
            raise SpecError("PiecewiseConstantDecay.boundaries", "must be strictly "
                            "increasing", list(boundaries))
        else:
            out_bounds.append(b)
            out_values.append(v)
    if not out_bounds:
        return Constant(value=out_values[0])
    return PiecewiseConstant(values=out_values, boundaries=out_bounds)


def _polynomial_decay(initial_learning_rate, decay_steps, end_learning_rate, power,
                      cycle) -> Node:
    return Polynomial(start=_real(initial_learning_rate, "initial_learning_rate"),
                      end=_real(end_learning_rate, "end_learning_rate"),
                      power=decaying_power(_real(power, "power"), "power",
                                           "Keras PolynomialDecay"), cycle=_bool(cycle, "cycle"),
                      duration=_ratio_steps(decay_steps, cycle, "cycle"))


def _cosine_decay(initial_learning_rate, decay_steps, alpha, warmup_target,
                  warmup_steps) -> Node:
    initial = _real(initial_learning_rate, "initial_learning_rate")
    a = _real(alpha, "alpha")
    steps = _real_steps(decay_steps, "decay_steps")
    if not steps > 0:  # Keras divides by it
        raise SpecError("decay_steps", "must be > 0", steps)
    if warmup_target is None:  # Keras ignores warmup_steps then
        return Cosine(start=initial, end=a * initial, duration=steps)
    target = _real(warmup_target, "warmup_target")
    warm = _real_steps(warmup_steps, "warmup_steps")
    if warm < 0:
        raise SpecError("warmup_steps", "must be >= 0", warm)
    return chain([(Linear(start=initial, end=target, duration=max(warm, 1)), warm),
                  (Cosine(start=target, end=a * target, duration=steps), None)])


def _cosine_decay_restarts(initial_learning_rate, first_decay_steps, t_mul, m_mul,
                           alpha) -> Node:
    initial = _real(initial_learning_rate, "initial_learning_rate")
    return CosineRestarts(start=initial, end=_real(alpha, "alpha") * initial,
                          period=_real_steps(first_decay_steps, "first_decay_steps"),
                          period_mult=_real(t_mul, "t_mul"), peak_mult=_real(m_mul, "m_mul"))


_BUILDERS = {
    "ExponentialDecay": _exponential_decay,
    "InverseTimeDecay": _inverse_time_decay,
    "PiecewiseConstantDecay": _piecewise_constant_decay,
    "PolynomialDecay": _polynomial_decay,
    "CosineDecay": _cosine_decay,
    "CosineDecayRestarts": _cosine_decay_restarts,
}
