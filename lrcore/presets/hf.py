"""transformers' schedulers by name (``TrainingArguments.lr_scheduler_type``), as specs.

``lrcore.presets.hf(name, lr, num_warmup_steps, num_training_steps, **kwargs)`` returns
the spec of ``transformers.get_scheduler(name, optimizer, num_warmup_steps,
num_training_steps, scheduler_specific_kwargs=kwargs)`` for an optimizer whose learning
rate is ``lr``: the rate ``lr * lr_lambda(t)`` that the ``LambdaLR`` sets after ``t``
calls of ``scheduler.step()``. transformers is not needed (nor imported).

Every scheduler that is a pure function of the step is covered, following
``transformers/optimization.py`` exactly:

``constant``, ``constant_with_warmup``, ``linear``, ``cosine`` (``num_cycles``),
``cosine_with_restarts`` (``num_cycles``), ``polynomial`` (``lr_end``, ``power``),
``inverse_sqrt`` (``timescale``), ``cosine_with_min_lr`` (``num_cycles``, ``min_lr`` or
``min_lr_rate``), ``cosine_warmup_with_min_lr`` (the same and ``warmup_lr_rate``),
``warmup_stable_decay`` (``num_decay_steps``, ``num_stable_steps``, ``warmup_type``,
``decay_type``, ``min_lr_ratio``, ``num_cycles``).

Conventions worth knowing (all reproduced, not corrected):

* warmup is ``t / W`` for ``t < W``: the first update runs at rate 0;
  ``cosine_warmup_with_min_lr`` warms up as ``(t + 1) / W`` instead and evaluates its
  cosine one step ahead (``progress = (t - W + 1) / (N - W)``);
* ``cosine`` and ``cosine_with_min_lr`` do not hold their floor past
  ``num_training_steps``: the cosine goes on as a wave (like torch
  ``CosineAnnealingLR``); ``linear``, ``polynomial`` and ``cosine_with_restarts`` hold;
* a cosine with ``num_cycles`` c is a wave of half-period ``(N - W) / (2c)`` steps and a
  restart cycle lasts ``(N - W) / c`` steps, exactly (``c`` read as its decimal text):
  a real number of steps where it is not whole (``num_cycles=0.75``);
* ``cosine_with_restarts`` finds its place in a cycle with a float modulo
  (``(c * progress) % 1``); the spec restarts by integer arithmetic (``repeat`` of a
  cosine over whole cycles, ``cosine_restarts`` over real ones). At a restart step the
  float product ``c * (k P / (N - W))`` could in principle round to just below ``k`` (a
  rate near 0 instead of ``lr``); it rounds back to ``k`` for every ``num_cycles`` we
  scanned (integers 2 to 25, halves, quarters and tenths, spans up to 3000 steps), and
  the tests check every step;
* ``warmup_stable_decay`` uses ``num_stable_steps`` when given (transformers then
  ignores ``num_training_steps`` and warns); otherwise ``N - W - num_decay_steps``.

``reduce_lr_on_plateau`` and ``greedy`` depend on reported metrics, not on the step:
``SpecError``. So is every ``lr``, step count and argument that is not a real number
(int, float, a numpy scalar; a string such as ``"1e-3"`` or a bool is not), named by
its parameter.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .._args import as_int as _int
from .._args import as_real as _real
from ..document import Schedule
from ..errors import SpecError
from ..node import Node
from ..nodes.constant import Constant
from ..nodes.cosine import Cosine
from ..nodes.cosine_restarts import CosineRestarts
from ..nodes.inverse_sqrt import InverseSqrt
from ..nodes.linear import Linear
from ..nodes.piecewise_linear import PiecewiseLinear
from ..nodes.polynomial import Polynomial, decaying_power
from ..nodes.repeat import Repeat
from ..nodes.shift import Shift
from ..nodes.warmup_stable_decay import WarmupStableDecay
from .optax import chain

__all__ = ["NAMES", "hf"]

#: name -> (needs num_warmup_steps, needs num_training_steps, {kwarg: default})
NAMES: dict[str, tuple[bool, bool, dict[str, Any]]] = {
    "linear": (True, True, {}),
    "cosine": (True, True, {"num_cycles": 0.5}),
    "cosine_with_restarts": (True, True, {"num_cycles": 1}),
    "polynomial": (True, True, {"lr_end": 1e-7, "power": 1.0}),
    "constant": (False, False, {}),
    "constant_with_warmup": (True, False, {}),
    "inverse_sqrt": (True, False, {"timescale": None}),
    "cosine_with_min_lr": (True, True, {"num_cycles": 0.5, "min_lr": None,
                                        "min_lr_rate": None}),
    "cosine_warmup_with_min_lr": (True, True, {"num_cycles": 0.5, "min_lr": None,
                                               "min_lr_rate": None, "warmup_lr_rate": None}),
    "warmup_stable_decay": (True, False, {"num_decay_steps": None, "num_stable_steps": None,
                                          "warmup_type": "linear", "decay_type": "cosine",
                                          "min_lr_ratio": 0.0, "num_cycles": 0.5}),
}
_STATEFUL = ("reduce_lr_on_plateau", "greedy")


def hf(name: Any, lr: float, num_warmup_steps: int | None = None,
       num_training_steps: int | None = None, **kwargs: Any) -> Schedule:
    """The spec of transformers' scheduler ``name`` for base learning rate ``lr``.

    ``kwargs`` are transformers' ``scheduler_specific_kwargs`` for that scheduler.

    >>> import lrcore
    >>> spec = lrcore.presets.hf("linear", 1.0, num_warmup_steps=2, num_training_steps=6)
    >>> lrcore.evaluate(spec, range(8)).tolist()
    [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    key = getattr(name, "value", name)  # transformers.SchedulerType is a str enum
    if key in _STATEFUL:
        raise SpecError("name", "is driven by reported metrics, not by the step: it has no "
                        "spec (lrcore supports: " + ", ".join(NAMES) + ")", key)
    if key not in NAMES:
        raise SpecError("name", "must be a transformers scheduler name: "
                        + ", ".join(NAMES), key)
    needs_w, needs_n, defaults = NAMES[key]
    unknown = sorted(set(kwargs) - set(defaults))
    if unknown:
        known = ", ".join(defaults) or "none"
        raise SpecError(f"{key}.{unknown[0]}", f"is not an argument of {key} (known: "
                        f"{known})", kwargs[unknown[0]])
    args = {**defaults, **kwargs}
    lr = _real(lr, "lr")
    w = _steps(num_warmup_steps, "num_warmup_steps", needs_w, key)
    n = _steps(num_training_steps, "num_training_steps", needs_n, key)
    node = _BUILDERS[key](lr, w, n, **args)
    call = [f"{key!r}", f"lr={lr!r}"]
    if num_warmup_steps is not None:
        call.append(f"num_warmup_steps={w}")
    if num_training_steps is not None:
        call.append(f"num_training_steps={n}")
    call += [f"{k}={v!r}" for k, v in kwargs.items()]
    return Schedule(schedule=node, description="transformers get_scheduler("
                    + ", ".join(call) + ")")


def _steps(value: Any, name: str, required: bool, key: str) -> int | None:
    if value is None:
        if required:
            raise SpecError(name, f"is required for {key}", None)
        return None
    n = _int(value, name)
    if n < 0:
        raise SpecError(name, "must be >= 0", n)
    return n


def _warmup(lr: float, w: int) -> tuple[Node, int]:
    """``lr * t / W`` for ``t < W`` (transformers' ``t / max(1, W)``)."""
    return (Linear(start=0.0, end=lr, duration=w) if w else Constant(value=0.0)), w


def _half_period(span: int, cycles: Any, where: str) -> Fraction:
    """The half-period ``span / (2 c)`` of ``0.5 (1 + cos(2 pi c (t / span)))``, exactly
    (``c`` read as its decimal text: 0.75 is 3/4)."""
    c = _cycles(cycles, where)
    return Fraction(span) / (2 * c)


def _cycles(cycles: Any, where: str) -> Fraction:
    c = _real(cycles, f"{where}.num_cycles")
    if not c > 0:
        raise SpecError(f"{where}.num_cycles", "must be > 0", c)
    return Fraction(repr(c))


def _linear(lr, w, n):
    span = n - w
    decay = Linear(start=lr, end=0.0, duration=span) if span >= 1 else Constant(value=0.0)
    return chain([_warmup(lr, w), (decay, None)])


def _wave(lr, w, n, num_cycles, end, where, ahead=False):
    """The transformers cosine after warmup: a wave between lr and end (no hold)."""
    span = max(1, n - w)
    d = _half_period(span, num_cycles, where)
    wave: Node = Cosine(start=lr, end=end, duration=d, periodic=True)
    if ahead:  # cosine_warmup_with_min_lr evaluates progress at t - W + 1
        wave = Shift(schedule=wave, offset=1)
    return wave


def _cosine(lr, w, n, num_cycles):
    return chain([_warmup(lr, w), (_wave(lr, w, n, num_cycles, 0.0, "cosine"), None)])


def _cosine_with_restarts(lr, w, n, num_cycles):
    span = max(1, n - w)
    if span == 1:  # one step at progress 0 (rate lr), then progress >= 1 (rate 0)
        cycles: Node = Constant(value=lr)
    else:
        p = Fraction(span) / _cycles(num_cycles, "cosine_with_restarts")
        cycles = Repeat(schedule=Cosine(start=lr, end=0.0, duration=int(p)), period=int(p)) \
            if p.denominator == 1 else CosineRestarts(start=lr, end=0.0, period=p)
    return chain([_warmup(lr, w), (cycles, span), (Constant(value=0.0), None)])


def _polynomial(lr, w, n, lr_end, power):
    end, p = _real(lr_end, "polynomial.lr_end"), decaying_power(
        _real(power, "polynomial.power"), "polynomial.power", "transformers")
    if not lr > end:  # transformers raises ValueError
        raise SpecError("polynomial.lr_end", f"must be smaller than the initial lr ({lr:g})",
                        end)
    if n == w:  # transformers divides by num_training_steps - num_warmup_steps = 0
        raise SpecError("num_training_steps", f"must differ from num_warmup_steps ({w}) "
                        "for polynomial (transformers divides by zero at step "
                        f"{w})", n)
    decay = Polynomial(start=lr, end=end, power=p, duration=n - w) if n > w else \
        Constant(value=end)
    return chain([_warmup(lr, w), (decay, None)])


def _constant(lr, w, n):
    return Constant(value=lr)


def _constant_with_warmup(lr, w, n):
    return chain([_warmup(lr, w), (Constant(value=lr), None)])


def _inverse_sqrt(lr, w, n, timescale):
    tau = (w or 10_000) if timescale is None else _int(timescale, "inverse_sqrt.timescale")
    return InverseSqrt(peak=lr, warmup=w, timescale=tau)


def _min_lr(lr, min_lr, min_lr_rate, where):
    if min_lr is not None and min_lr_rate is not None:
        raise SpecError(where, "takes min_lr or min_lr_rate, not both",
                        {"min_lr": min_lr, "min_lr_rate": min_lr_rate})
    if min_lr is not None:
        return _real(min_lr, f"{where}.min_lr")
    if min_lr_rate is None:
        raise SpecError(where, "needs min_lr or min_lr_rate", None)
    return lr * _real(min_lr_rate, f"{where}.min_lr_rate")


def _cosine_with_min_lr(lr, w, n, num_cycles, min_lr, min_lr_rate):
    end = _min_lr(lr, min_lr, min_lr_rate, "cosine_with_min_lr")
    wave = _wave(lr, w, n, num_cycles, end, "cosine_with_min_lr")
    return chain([_warmup(lr, w), (wave, None)])


def _cosine_warmup_with_min_lr(lr, w, n, num_cycles, min_lr, min_lr_rate, warmup_lr_rate):
    end = _min_lr(lr, min_lr, min_lr_rate, "cosine_warmup_with_min_lr")
    wave = _wave(lr, w, n, num_cycles, end, "cosine_warmup_with_min_lr", ahead=True)
    if w == 0:
        return wave
    if warmup_lr_rate is None:  # (t + 1) / W
        warm: Node = Shift(schedule=Linear(start=0.0, end=lr, duration=w), offset=1)
    else:  # r + (1 - r) t / max(1, W - 1)
        r = _real(warmup_lr_rate, "cosine_warmup_with_min_lr.warmup_lr_rate")
        warm = Constant(value=lr * r) if w == 1 else \
            PiecewiseLinear(points=[[0, lr * r], [w - 1, lr]])
    return chain([(warm, w), (wave, None)])


def _warmup_stable_decay(lr, w, n, num_decay_steps, num_stable_steps, warmup_type,
                         decay_type, min_lr_ratio, num_cycles):
    where = "warmup_stable_decay"
    if num_decay_steps is None:
        raise SpecError(f"{where}.num_decay_steps", "is required", None)
    k = _int(num_decay_steps, f"{where}.num_decay_steps")
    if k < 0:
        raise SpecError(f"{where}.num_decay_steps", "must be >= 0", k)
    if num_stable_steps is None:
        if n is None:
            raise SpecError("num_training_steps", f"or num_stable_steps is required for "
                            f"{where}", None)
        s = n - w - k
        if s < 0:
            raise SpecError(f"{where}.num_stable_steps", f"comes out negative: warmup {w} "
                            f"and decay {k} exceed num_training_steps {n}", s)
    else:  # given, it wins over num_training_steps (transformers warns and ignores N)
        s = _int(num_stable_steps, f"{where}.num_stable_steps")
        if s < 0:
            raise SpecError(f"{where}.num_stable_steps", "must be >= 0", s)
    for arg, value in (("warmup_type", warmup_type), ("decay_type", decay_type)):
        if value not in ("linear", "cosine", "1-sqrt"):
            raise SpecError(f"{where}.{arg}", "must be 'linear', 'cosine' or '1-sqrt'", value)
    floor = lr * _real(min_lr_ratio, f"{where}.min_lr_ratio")
    c = _real(num_cycles, f"{where}.num_cycles")
    half = c == 0.5
    if k >= 1 and warmup_type == "linear" and (decay_type != "cosine" or half):
        return WarmupStableDecay(peak=lr, warmup=w, stable=s, decay=k, decay_shape=decay_type,
                                 start=floor, end=floor)
    if warmup_type == "linear":
        warm: Node = Linear(start=floor, end=lr, duration=max(w, 1))
    elif warmup_type == "cosine":
        warm = Cosine(start=floor, end=lr, duration=max(w, 1))
    else:  # 1 - sqrt(1 - x): the polynomial with power 1/2, rising
        warm = Polynomial(start=floor, end=lr, power=0.5, duration=max(w, 1))
    if decay_type == "cosine":
        decay: Node = Cosine(start=lr, end=floor, duration=k) if half else \
            Cosine(start=lr, end=floor, periodic=True,
                   duration=_half_period(max(k, 1), c, where))
    else:
        decay = WarmupStableDecay(peak=lr, decay=max(k, 1), decay_shape=decay_type, end=floor)
    return chain([(warm, w), (Constant(value=lr), s), (decay, k),
                  (Constant(value=floor), None)])


_BUILDERS = {
    "linear": _linear,
    "cosine": _cosine,
    "cosine_with_restarts": _cosine_with_restarts,
    "polynomial": _polynomial,
    "constant": _constant,
    "constant_with_warmup": _constant_with_warmup,
    "inverse_sqrt": _inverse_sqrt,
    "cosine_with_min_lr": _cosine_with_min_lr,
    "cosine_warmup_with_min_lr": _cosine_warmup_with_min_lr,
    "warmup_stable_decay": _warmup_stable_decay,
}
