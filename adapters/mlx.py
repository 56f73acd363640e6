"""MLX adapter: a schedule that ``mlx.optimizers`` take as ``learning_rate``.

MLX's optimizers call ``learning_rate(optimizer.step)`` before each update, with the
count of updates already applied (a ``uint64`` array): lrcore's ``t``. The schedule is an
``mlx.core`` function of that count, in float32, and works eagerly and inside
``mx.compile`` (a compiled train step). A concrete step outside ``[0, 2**31 - 1]`` is a
``SpecError``; a traced one saturates to the nearest end, clamped in its own dtype before
any cast.

:func:`to_mlx_optimizer` builds the whole optimizer: the rate, every hyperparameter curve
of the spec (``momentum``, ``beta1``, ...) and, for a reduce-on-plateau spec, the plateau
state, kept in ``optimizer.state`` so it is saved and restored with the rest of it.
"""

from __future__ import annotations

import dataclasses
import inspect
import weakref
from collections.abc import Sequence
from typing import Any

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np

from lrcore.backends import segments
from lrcore.document import Schedule, as_schedule
from lrcore.errors import SpecError
from lrcore.evaluate import _steps as _checked_steps
from lrcore.evaluate import compile_spec, evaluate
from lrcore.fields import MAX_STEP
from lrcore.hyperparams import assign
from lrcore.nodes.plateau import PlateauState, check_metric, initial_state
from lrcore.nodes.plateau import report as plateau_rule
from lrcore.ops import Ops, PythonOps

#: Read by lrcore's backend registry without importing this module (a literal).
LRCORE_BACKEND = {
    "backends": {"mlx": {"dtype": "float32", "needs": ["mlx.core"]}},  # mlx: a namespace
    "exports": ["to_mlx", "to_mlx_optimizer"],
    "values": "parity_values",
    "order": 40,
}

__all__ = ["MlxOps", "MlxSchedule", "parity_values", "plateau_state", "report", "to_mlx",
           "to_mlx_optimizer"]


# exp's range reduction (MlxOps.exp): ln 2 as a 9-bit head (n * head is exact for
# |n| < 2**15) and the float32 rest
_LOG2E = mx.array(1.4426950408889634, dtype=mx.float32)
_LN2_HI = mx.array(0.693359375, dtype=mx.float32)
_LN2_LO = mx.array(0.6931471805599453 - 0.693359375, dtype=mx.float32)
_TWO = mx.array(2.0, dtype=mx.float32)


class MlxOps(Ops):
    """``mlx.core`` in float32, steps as int32. Constants and tables are concrete
    arrays made once, at build time: a compiled formula is cached and ``mx.compile``
    captures them as constants."""

    name = "mlx"
    dtype = np.float32

    def const(self, x: float) -> Any:
        return mx.array(x, dtype=mx.float32)  # rounded once, to nearest

    # (mx.array(t) of an array is a copy: a node in the graph, so steps are used as is)
    def full(self, t: Any, x: float) -> Any:
        shape = t.shape if isinstance(t, mx.array) else np.shape(t)
        return mx.array(x, dtype=mx.float32) if not shape else \
            mx.full(shape, x, dtype=mx.float32)

    def to_float(self, t: Any) -> Any:
        return t.astype(mx.float32) if isinstance(t, mx.array) else \
            mx.array(t, dtype=mx.float32)

    where = staticmethod(mx.where)
    minimum = staticmethod(mx.minimum)
    maximum = staticmethod(mx.maximum)
    sin = staticmethod(mx.sin)
    cos = staticmethod(mx.cos)

    @staticmethod
    def exp(x: Any) -> Any:
        """``exp`` to about an ulp. MLX's own float32 ``exp`` loses precision with the
        size of its argument (measured 30 ulp at -40, 61 at 75: it scales ``x`` by
        ``log2(e)`` in float32 first); a decay ``0.5 ** 49`` then missed parity. So:
        ``2**n exp(r)`` with ``n = round(x / ln 2)`` and ``r = x - n ln 2`` in two exact
        parts (Cody and Waite: ``n * LN2_HI`` is exact), MLX's ``exp`` only on
        ``|r| <= ln(2) / 2`` (1 ulp), and ``2**n`` as two exact powers of two (so
        ``n = 128`` cannot overflow before the product). ``x`` is held in
        ``[-104, 89]`` first, where float32's ``exp`` is already 0 or inf."""
        if not isinstance(x, mx.array):
            x = mx.array(x, dtype=mx.float32)
        x = mx.clip(x, -104.0, 89.0)
        n = mx.round(x * _LOG2E)
        r = (x - n * _LN2_HI) - n * _LN2_LO
        half = mx.floor(n * 0.5)
        return mx.exp(r) * mx.power(_TWO, half) * mx.power(_TWO, n - half)

    expm1 = staticmethod(mx.expm1)
    log = staticmethod(mx.log)
    log1p = staticmethod(mx.log1p)
    sqrt = staticmethod(mx.sqrt)
    power = staticmethod(mx.power)

    def table(self, values: Sequence[float] | Sequence[int], integer: bool = False) -> Any:
        return mx.array(np.asarray(values, dtype=np.int32 if integer else np.float32))

    def searchsorted(self, table: Any, t: Any) -> Any:
        # entries <= t, minus one: for a few breakpoints one compare and one sum, no
        # gather; for a long table (a written-out curve) a binary search, log2(n) gathers
        # instead of an n-wide compare per step
        n = table.shape[0]
        if n <= 64:
            return mx.sum(mx.expand_dims(t, -1) >= table, axis=-1).astype(mx.int32) - 1
        count = mx.zeros(t.shape, dtype=mx.int32)
        step = 1 << (n.bit_length() - 1)
        while step:
            cand = count + step
            ok = (cand <= n) & (mx.take(table, mx.minimum(cand, n) - 1) <= t)
            count = mx.where(ok, cand, count)
            step >>= 1
        return count - 1

    def take(self, table: Any, i: Any) -> Any:
        return mx.take(table, i)


_OPS = MlxOps()
_PYTHON = PythonOps()


def _concrete(x: Any) -> Any:
    """The value of an ``mx.array`` (a Python number for a scalar, else numpy), or None
    inside ``mx.compile``/``vmap``, where MLX refuses to evaluate (the only way MLX
    tells a trace from a value)."""
    try:
        return x.item() if x.ndim == 0 else np.array(x)
    except ValueError as err:
        if "function transformations" in str(err):
            return None
        raise


#: MLX's integer dtypes (a step count is one of them; a bool is not) and their ranges
_INTEGER = {d: np.iinfo(np.dtype(str(d).split(".")[-1])) for d in (
    mx.uint8, mx.uint16, mx.uint32, mx.uint64, mx.int8, mx.int16, mx.int32, mx.int64)}
_STEP_RULE = "must be in [0, 2**31 - 1] (optimizer updates already applied)"


def _domain(step: Any) -> Any:
    """The step as int32. A concrete step (a Python or numpy integer, an evaluated
    ``mx.array``) outside ``[0, 2**31 - 1]`` is a ``SpecError``; a traced one saturates
    into that range, clamped in its own dtype before the cast (a uint64 2**40 cast to
    int32 would wrap to another step)."""
    if isinstance(step, mx.array):
        info = _INTEGER.get(step.dtype)
        if info is None:
            raise SpecError("step", "must be an integer step count", str(step.dtype))
        host = _concrete(step)
        if host is None:  # traced: saturate in the step's own dtype, then cast
            if info.min < 0:
                step = mx.maximum(step, mx.array(0, step.dtype))
            if info.max > MAX_STEP:
                step = mx.minimum(step, mx.array(MAX_STEP, step.dtype))
            return step.astype(mx.int32)
        if step.ndim == 0:  # MLX's optimizers: one count, already evaluated
            if not 0 <= host <= MAX_STEP:
                raise SpecError("step", _STEP_RULE, int(host))
            return mx.array(host, dtype=mx.int32)
        if host.size and (host.min() < 0 or host.max() > MAX_STEP):
            raise SpecError("step", _STEP_RULE, int(host.min() if host.min() < 0
                                                    else host.max()))
        return mx.array(host.astype(np.int32))
    if isinstance(step, int) and not isinstance(step, bool):  # any size: not via numpy
        if not 0 <= step <= MAX_STEP:
            raise SpecError("step", _STEP_RULE, step)
        return mx.array(step, dtype=mx.int32)
    return mx.array(_checked_steps(step, "step").astype(np.int32))


class MlxSchedule:
    """``step -> rate``: a float32 ``mlx.core`` function of the optimizer's step count
    (a scalar or an array of counts), for ``learning_rate=`` of any ``mlx.optimizers``
    optimizer, or the curve of one hyperparameter (``hyperparam``)."""

    def __init__(self, spec: Any, steps_per_epoch: int | None = None,
                 total_steps: int | str | None = None, hyperparam: str | None = None) -> None:
        self.spec = as_schedule(spec)
        ctx = self.spec.context(steps_per_epoch, total_steps)
        self._ctx = (ctx.steps_per_epoch, ctx.total_steps)
        self.hyperparam = hyperparam
        # validated and compiled now (compile_spec caches it per spec): a compiled
        # train step only calls it
        self._fn = compile_spec(self.spec, _OPS, steps_per_epoch=self._ctx[0],
                                total_steps=self._ctx[1], hyperparam=hyperparam)

    def __call__(self, step: Any) -> mx.array:
        return self._fn(_domain(step))

    def __repr__(self) -> str:
        what = "" if self.hyperparam is None else f", {self.hyperparam}"
        return f"MlxSchedule({self.spec.fingerprint()}{what})"


def to_mlx(spec: Any, *, steps_per_epoch: int | None = None,
           total_steps: int | str | None = None,
           hyperparam: str | None = None) -> MlxSchedule:
    """Compile ``spec`` into a schedule for ``mlx.optimizers``: the learning rate, or the
    curve of ``hyperparam`` (a name under the spec's ``hyperparams``).

    A reduce-on-plateau spec keeps its state in the optimizer: build that with
    :func:`to_mlx_optimizer`.

    >>> opt = mlx.optimizers.AdamW(learning_rate=lrcore.to_mlx(spec))  # doctest: +SKIP
    """
    doc = as_schedule(spec)
    if doc.schedule.type == "plateau" and hyperparam is None:
        raise SpecError("schedule.type", "a plateau spec keeps its state in the optimizer "
                        "state; build the optimizer with lrcore.to_mlx_optimizer(spec, "
                        "mlx.optimizers.AdamW, ...)", "plateau")
    return MlxSchedule(doc, steps_per_epoch, total_steps, hyperparam)


# ---- the whole optimizer: hyperparameter curves and the plateau state ---------------------

#: The key of the plateau state in ``optimizer.state`` (saved with it).
STATE_KEY = "lrcore_plateau"

#: Where each canonical hyperparameter lives in an MLX optimizer, in order of preference:
#: (argument, index or None) -- ``momentum`` is SGD's momentum, else an Adam-style
#: ``betas[0]``.
_PLACES = {"momentum": (("momentum", None), ("betas", 0)), "beta1": (("betas", 0),),
           "beta2": (("betas", 1),), "weight_decay": (("weight_decay", None),)}

#: Arguments MLX reads in a Python branch of the update (``if weight_decay > 0``), where
#: an array cannot stand inside ``mx.compile``. SGD's are scheduled through
#: :func:`_sgd_apply_single` instead.
_BRANCHED = {("Lion", "weight_decay"), ("Muon", "weight_decay"),
             ("Adafactor", "weight_decay")}


def _show(place: tuple) -> str:
    return place[0] if place[1] is None else f"{place[0]}[{place[1]}]"


def _state_key(place: tuple) -> str:
    """The ``optimizer.state`` key a curve's current value lives under (as MLX keeps
    ``learning_rate``): the argument, or ``beta1``/``beta2`` for an entry of ``betas``."""
    return place[0] if place[1] is None else f"beta{place[1] + 1}"


def _places(base: type) -> tuple[list, list]:
    """Every place of ``base``'s arguments, and those a curve can drive: a float
    argument (or an entry of ``betas``) that the update uses as a number."""
    params = inspect.signature(base.__init__).parameters
    places, drivable = [], []
    for name, p in params.items():
        if name in ("self", "learning_rate") or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        default = p.default
        if name == "betas":
            places += [("betas", 0), ("betas", 1)]
            drivable += [("betas", 0), ("betas", 1)]
            continue
        places.append((name, None))
        if isinstance(default, float) and not isinstance(default, bool) and \
                (base.__name__, name) not in _BRANCHED:
            drivable.append((name, None))
    return places, drivable


class _Curve:
    """A data descriptor for one argument of a scheduled optimizer: the update reads
    the curve's current value (``optimizer.state[key]``, set before every update as
    MLX sets ``learning_rate``); the base ``__init__`` stores the fixed value."""

    def __init__(self, attr: str) -> None:
        self.attr = attr

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        fixed = obj.__dict__.get(f"_lrcore_fixed_{self.attr}")
        keys = obj.__dict__.get("_lrcore_keys", {})
        if self.attr == "betas":
            out = list(fixed)
            for i in (0, 1):
                if ("betas", i) in keys:
                    out[i] = obj.state[keys["betas", i]]
            return out
        key = keys.get((self.attr, None))
        return fixed if key is None else obj.state[key]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[f"_lrcore_fixed_{self.attr}"] = value


def _sgd_apply_single(self: Any, gradient: mx.array, parameter: mx.array,
                      state: dict) -> mx.array:
    """``mlx.optimizers.SGD.apply_single`` with each Python branch on a scheduled
    argument (``if self.momentum <= 0``, ``if self.weight_decay != 0``, ``if
    self.dampening > 0``) taken as the branch that holds for every value (an array
    cannot be branched on under ``mx.compile``): the same arithmetic, in the same order.
    A momentum of 0 then keeps ``v = g`` (the update MLX makes without momentum)."""
    keys = self.__dict__.get("_lrcore_keys", {})
    if not any(k[0] in ("momentum", "weight_decay", "dampening") for k in keys):
        return optim.SGD.apply_single(self, gradient, parameter, state)
    scheduled = {k[0] for k in keys}
    if "weight_decay" in scheduled or self.weight_decay != 0:
        gradient = gradient + self.weight_decay * parameter
    if "momentum" not in scheduled and self.momentum <= 0:
        return parameter - self.learning_rate.astype(gradient.dtype) * gradient
    v = self.momentum * state.get("v")
    if "dampening" in scheduled or self.dampening > 0:
        v += (1 - self.dampening) * gradient
    else:
        v += gradient
    update = gradient + self.momentum * v if self.nesterov else v
    state["v"] = v
    return parameter - self.learning_rate.astype(gradient.dtype) * update


_SCHEDULED: dict[type, type] = {}


def _scheduled_class(base: type) -> type:
    cls = _SCHEDULED.get(base)
    if cls is None:
        attrs: dict[str, Any] = {a: _Curve(a) for a in {p[0] for p in _places(base)[1]}}
        if issubclass(base, optim.SGD):
            attrs["apply_single"] = _sgd_apply_single
        attrs.update(__module__=__name__, __doc__=f"mlx.optimizers.{base.__name__} whose "
                     "learning rate and hyperparameters follow an lrcore spec.")
        cls = _SCHEDULED[base] = type(f"Scheduled{base.__name__}", (base,), attrs)
    return cls


class _Rate:
    """The learning rate of a scheduled optimizer: the spec's rate, times the plateau
    scale in ``optimizer.state`` for a plateau spec (read at every call, so a state
    restored by assigning ``optimizer.state`` is the one used)."""

    def __init__(self, schedule: MlxSchedule, plateau: bool) -> None:
        self.schedule, self.plateau = schedule, plateau
        self.owner: Any = None  # a weak reference to the optimizer, once it exists

    def __call__(self, step: Any) -> mx.array:
        rate = self.schedule(step)
        opt = self.owner() if self.owner is not None else None
        if not self.plateau or opt is None:  # the optimizer's __init__: no report yet
            return rate
        return rate * _plateau_arrays(opt)["scale"]


def _plateau_arrays(opt: Any) -> dict:
    entry = opt.state.get(STATE_KEY)
    if not isinstance(entry, dict) or not {"scale", "exact", "bad", "cool",
                                           "reports"} <= set(entry):
        raise SpecError(f"optimizer.state.{STATE_KEY}", "must hold the plateau state "
                        "(restore the whole optimizer.state this optimizer saved)",
                        type(entry).__name__)
    return entry


def _bits(best: float, scale: float) -> mx.array:
    """``best`` and ``scale`` as float64 bits (``uint32[4]``): the values the rule
    compares, exactly, in a dtype every MLX device and safetensors hold."""
    return mx.array(np.asarray([best, scale], dtype=np.float64).view(np.uint32))


def _write_state(opt: Any, state: PlateauState) -> None:
    opt.state[STATE_KEY] = {
        # float32 copies for logging and for the rate (rate * scale, in float32)
        "best": mx.array(state.best, dtype=mx.float32),
        "scale": mx.array(state.scale, dtype=mx.float32),
        "exact": _bits(state.best, state.scale),
        "bad": mx.array(state.bad, dtype=mx.int32),
        "cool": mx.array(state.cool, dtype=mx.int32),
        "reports": mx.array(state.reports, dtype=mx.int32),
    }


def _rate_of(opt: Any) -> _Rate:
    rate = getattr(opt, "_schedulers", {}).get("learning_rate")
    if not isinstance(rate, _Rate):
        raise SpecError("optimizer", "must be built by lrcore.to_mlx_optimizer",
                        type(opt).__name__)
    return rate


def plateau_state(optimizer: Any) -> PlateauState:
    """The plateau state of a scheduled optimizer, in float64 (what the rule uses)."""
    rate = _rate_of(optimizer)
    if not rate.plateau:
        raise SpecError("optimizer", "needs a spec whose outermost node is plateau",
                        rate.schedule.spec.schedule.type)
    entry = _plateau_arrays(optimizer)
    best, scale = np.array(entry["exact"]).astype(np.uint32).view(np.float64).tolist()
    return PlateauState(best=best, bad=int(entry["bad"].item()),
                        cool=int(entry["cool"].item()), scale=scale,
                        reports=int(entry["reports"].item()))


def _metric(metric: Any) -> Any:
    """An ``mx.array`` metric as a numpy scalar of its own dtype (a float32 loss is
    that float32 value); anything else as given, for ``check_metric`` to judge."""
    if not isinstance(metric, mx.array):
        return metric
    try:
        host = np.array(metric)
    except ValueError:  # inside mx.compile: MLX cannot give the value
        raise SpecError("metric", "must be a concrete value: report outside mx.compile "
                        "(once per epoch, after mx.eval)", "a traced array") from None
    return host.reshape(())[()] if host.size == 1 else host


def report(optimizer: Any, metric: Any) -> bool:
    """Report a monitored metric (a validation loss at epoch end, say) to the plateau
    state of an optimizer from :func:`to_mlx_optimizer`, at its current step (updates
    applied so far). The rule runs on the host in float64, the reference's own rule, so
    every decision is the reference's; a reduction applies from the next update on.
    Returns True when the scale changed. A NaN metric is a ``SpecError``."""
    value = check_metric(_metric(metric))
    state = plateau_state(optimizer)
    step = int(optimizer.step.item())
    if not 0 <= step <= MAX_STEP:
        raise SpecError("step", "must be in [0, 2**31 - 1] (optimizer updates already "
                        "applied)", step)
    rate = _rate_of(optimizer)
    inner_now = float(evaluate(rate.schedule.spec, step))
    best, bad, cool, scale = plateau_rule(rate.schedule.spec.schedule, _PYTHON, state.best,
                                          state.bad, state.cool, state.scale, value, inner_now)
    _write_state(optimizer, PlateauState(best, int(bad), int(cool), scale,
                                         state.reports + 1))
    return scale != state.scale


def to_mlx_optimizer(spec: Any, optimizer: Any = None, *, steps_per_epoch: int | None = None,
                     total_steps: int | str | None = None, **fixed: Any) -> Any:
    """The whole optimizer from a spec: an instance of a subclass of ``optimizer`` (a
    class of ``mlx.optimizers``, default ``AdamW``) whose learning rate and every
    hyperparameter curve follow ``spec``; ``fixed`` holds its other arguments.

    ``momentum`` is the optimizer's ``momentum`` (SGD) or else ``betas[0]``;
    ``beta1``/``beta2`` are ``betas[0]``/``betas[1]``; ``weight_decay`` and any other name
    the argument of that name. Each curve's value at the current step is in
    ``optimizer.state`` beside ``learning_rate`` (``momentum``, ``beta1``, ...), set
    before every update as MLX sets the rate. A name the optimizer does not take is a
    ``SpecError`` listing what it takes.

    A plateau spec's state is ``optimizer.state["lrcore_plateau"]``: report metrics with
    :func:`report`, and save/restore ``optimizer.state`` as usual.

    >>> opt = to_mlx_optimizer(spec, mlx.optimizers.SGD, nesterov=True)  # doctest: +SKIP
    """
    base = optim.AdamW if optimizer is None else optimizer
    if not (isinstance(base, type) and issubclass(base, optim.Optimizer)
            and not issubclass(base, optim.MultiOptimizer)):
        raise SpecError("optimizer", "must be an mlx.optimizers optimizer class such as "
                        "mlx.optimizers.AdamW", getattr(base, "__name__", repr(base)))
    if base in _SCHEDULED.values():
        base = base.__mro__[1]
    doc = as_schedule(spec)
    ctx = doc.context(steps_per_epoch, total_steps)
    doc = dataclasses.replace(doc, steps_per_epoch=ctx.steps_per_epoch,
                              total_steps=ctx.total_steps)
    doc.resolve()  # every curve validated before anything is built
    owner = f"mlx.optimizers.{base.__name__}"
    places, drivable = _places(base)
    args = assign([name for name, _ in doc.hyperparams],
                  lambda name: _PLACES.get(name, ((name, None),)), places, owner, _show)
    curves = {}
    for name, place in args.items():
        if place not in drivable:
            raise SpecError(f"hyperparams.{name}", f"{owner} does not read {_show(place)} "
                            "as a number in its update; lrcore schedules "
                            + (", ".join(map(_show, drivable)) or "nothing") + " there", name)
        if place[1] is None and place[0] in fixed:
            raise SpecError(f"hyperparams.{name}", f"is scheduled, so {place[0]}= cannot "
                            "also be given as a fixed value", fixed[place[0]])
        curves[place] = MlxSchedule(doc, hyperparam=name)
    kwargs = dict(fixed)
    # the base __init__ validates (Adam: each beta in [0, 1)) the curve's first value
    for (arg, index), curve in curves.items():
        first = float(evaluate(curve.spec, 0, hyperparam=curve.hyperparam))
        if index is None:
            kwargs[arg] = first
        else:
            betas = list(kwargs.get("betas", inspect.signature(base.__init__)
                                    .parameters["betas"].default))
            betas[index] = first
            kwargs["betas"] = betas
    plateau = doc.schedule.type == "plateau"
    rate = _Rate(MlxSchedule(doc.curve(None)), plateau)
    opt = _scheduled_class(base)(learning_rate=rate, **kwargs)
    rate.owner = weakref.ref(opt)
    opt._lrcore_spec = doc
    opt.__dict__["_lrcore_keys"] = {place: _state_key(place) for place in curves}
    for place, curve in curves.items():
        opt._maybe_schedule(_state_key(place), curve)  # MLX's own hook for schedules
    if plateau:
        _write_state(opt, initial_state(doc.schedule))
    return opt


# ---- parity -------------------------------------------------------------------------------

def parity_values(name: str, specs: Sequence[Schedule], steps: Sequence[np.ndarray],
                  reports: Sequence[Sequence | None]) -> list[np.ndarray]:
    """Each spec's rates at its steps, as float64 copies of exactly what an MLX
    optimizer uses: the schedule called with ``uint64`` step counts (MLX's own dtype);
    for a plateau spec, the rate of an optimizer from :func:`to_mlx_optimizer` after
    ``reports[i]`` were reported at their steps."""
    del name  # one backend: "mlx"
    out = []
    reports = list(reports) if reports is not None else [None] * len(specs)
    for spec, t, rep in zip(specs, steps, reports):
        t = np.asarray(t, dtype=np.int64)
        if rep is None:
            f = MlxSchedule(spec)
            out.append(np.array(f(mx.array(t.astype(np.uint64))), dtype=np.float64))
            continue
        opt = to_mlx_optimizer(spec, optim.SGD)
        rate = _rate_of(opt)
        parts = []
        for due, seg in segments(t, rep):
            for s, m in due:
                opt.state["step"] = mx.array(int(s), dtype=mx.uint64)
                report(opt, m)
            if seg.size:
                parts.append(np.array(rate(mx.array(seg.astype(np.uint64))),
                                      dtype=np.float64))
        out.append(np.concatenate(parts) if parts else np.empty(0))
    return out
