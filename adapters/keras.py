"""Keras 3 adapter: a ``LearningRateSchedule`` written with ``keras.ops`` only.

Runs on every Keras backend (tensorflow, jax, torch), inside ``model.fit`` with
``jit_compile=True``; ``get_config()`` is the spec document and the class is
registered with ``keras.saving``, so ``model.save`` / ``load_model`` keep the curve.
The formula runs in float64 (float32 on jax without x64) and is cast once to
``keras.config.floatx()``; steps outside ``[0, 2**31 - 1]`` raise eagerly and
saturate inside a compiled function.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras
import numpy as np
from keras import ops as K

from lrcore.backends import blocks, segments
from lrcore.document import KERAS_KEY, Schedule, as_schedule, keras_settings
from lrcore.errors import SpecError
from lrcore.evaluate import _steps as _checked_steps
from lrcore.evaluate import compile_spec, evaluate
from lrcore.fields import MAX_STEP
from lrcore.hyperparams import assign
from lrcore.nodes.plateau import PlateauState, check_metric, initial_state, report
from lrcore.ops import Ops, PythonOps

#: Read by lrcore.backends without importing this module (a literal). Keras fixes its
#: backend per process: parity runs each name whose KERAS_BACKEND is not this process's
#: in a worker process.
LRCORE_BACKEND = {
    "backends": {
        "keras-tensorflow": {"dtype": "float32", "needs": ["keras", "tensorflow"],
                             "env": {"KERAS_BACKEND": "tensorflow"}},
        "keras-jax": {"dtype": "float32", "needs": ["keras", "jax"],
                      "env": {"KERAS_BACKEND": "jax"}},
        "keras-torch": {"dtype": "float32", "needs": ["keras", "torch"],
                        "env": {"KERAS_BACKEND": "torch"}},
    },
    "env_defaults": {"KERAS_BACKEND": "tensorflow"},
    "here": "runs_here",
    "values": "parity_values",
    "exports": ["to_keras", "to_keras_optimizer"],
    "order": 20,
}

__all__ = ["KerasOps", "LrcoreSchedule", "PlateauCallback", "custom_objects", "schedule_of",
           "to_keras", "to_keras_optimizer"]


class KerasOps(Ops):
    """``keras.ops`` on the active backend. Constants are Python floats (weakly typed
    on every backend); tables become tensors at call time, so nothing built inside one
    trace leaks into another."""

    def __init__(self, float_dtype: str, intx: str) -> None:
        self.float_dtype, self.intx = float_dtype, intx
        self.dtype = np.dtype(float_dtype).type
        self.name = f"keras-{keras.backend.backend()}"
        if keras.backend.backend() == "jax" and float_dtype == "float64":
            # Keras's jax backend computes sin and cos of float64 in float32 (its dtype
            # rules turn 64-bit results into 32-bit ones outside tensorflow)
            import jax.numpy as jnp

            self.sin, self.cos = jnp.sin, jnp.cos

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KerasOps) and (other.float_dtype, other.intx, other.name) == (
            self.float_dtype, self.intx, self.name)

    def __hash__(self) -> int:
        return hash((self.float_dtype, self.intx, self.name))

    def const(self, x: float) -> float:
        return float(x)

    def full(self, t: Any, x: float) -> Any:
        return K.full_like(t, x, dtype=self.float_dtype)

    def to_float(self, t: Any) -> Any:
        return K.cast(t, self.float_dtype)

    where = staticmethod(K.where)
    sin = staticmethod(K.sin)
    cos = staticmethod(K.cos)
    exp = staticmethod(K.exp)
    expm1 = staticmethod(K.expm1)
    log = staticmethod(K.log)
    log1p = staticmethod(K.log1p)
    sqrt = staticmethod(K.sqrt)

    def power(self, x: Any, y: Any) -> Any:
        # convert, not cast: a cast of a Python float goes through float32 on TensorFlow
        return K.power(x, K.convert_to_tensor(y, dtype=self.float_dtype))

    # Keras's torch backend computes minimum, maximum and floor_divide of 64-bit
    # tensors in 32 bits (float64 becomes float32); torch.clamp keeps the dtype in one
    # op (where would take three). Formulas bound a tensor by a Python number.
    def minimum(self, x: Any, y: Any) -> Any:
        if self.name == "keras-torch":
            return _torch_clamp(x, y, "max")
        return K.minimum(x, y)

    def maximum(self, x: Any, y: Any) -> Any:
        if self.name == "keras-torch":
            return _torch_clamp(x, y, "min")
        return K.maximum(x, y)

    def table(self, values, integer: bool = False) -> Any:
        return _Table(values, self.intx if integer else self.float_dtype)

    def searchsorted(self, table: Any, t: Any) -> Any:
        seq = K.convert_to_tensor(table.values, dtype=table.dtype)
        flat = K.reshape(t, (-1,))
        idx = K.searchsorted(seq, flat, side="right") - 1
        return K.reshape(K.cast(idx, self.intx), K.shape(t))

    def take(self, table: Any, i: Any) -> Any:
        return K.take(K.convert_to_tensor(table.values, dtype=table.dtype), i)


def _torch_clamp(x: Any, y: Any, side: str) -> Any:
    import torch

    if isinstance(x, (int, float)):
        x, y = y, x
    if isinstance(y, (int, float)):
        return torch.clamp(x, **{side: y})
    return (torch.minimum if side == "max" else torch.maximum)(x, y)


class _Table:
    def __init__(self, values, dtype: str) -> None:
        self.values, self.dtype = list(values), dtype


def _x64() -> bool:
    """Whether the backend holds 64-bit values: always, except jax without x64."""
    if keras.backend.backend() == "jax":
        import jax

        return bool(jax.config.jax_enable_x64)
    return True


def _int_dtype() -> str:
    return "int64" if _x64() else "int32"


def _compute_dtype() -> str:
    """The formula's dtype: float64 where the backend has it (one scalar per step costs
    nothing), so the float32 rate is the reference rounded once; float32 on jax
    without x64. Never floatx itself: float16 cannot hold pi / (2 D) or D - t."""
    return "float64" if _x64() else "float32"


_HOST = (int, float, np.generic, np.ndarray, list, tuple)


def _traced(x: Any) -> bool:
    """Whether the tensor ``x`` is a value inside a trace (tf.function, jax.jit,
    torch.compile), where no value can be read and nothing raised."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.executing_eagerly()
    if backend == "jax":
        import jax

        return isinstance(x, jax.core.Tracer)
    if backend == "torch":
        import torch

        return torch.compiler.is_compiling()
    return True  # another backend: assume a trace, and saturate


def _steps(step: Any, k: int, intx: str) -> Any:
    """The optimizer updates ``step // k`` as an ``intx`` tensor in ``[0, 2**31 - 1]``.

    A concrete step (a Python or numpy value, an eager tensor) follows
    ``lrcore.evaluate``'s rules (``3.0`` is step 3; 2.5 or a step outside the domain is
    a ``SpecError`` naming ``iterations``). A traced one saturates (:func:`_saturated`)."""
    if isinstance(step, keras.Variable):
        step = step.value  # the tracer, inside a jax train step
    if isinstance(step, int) and not isinstance(step, bool):  # any size: not via numpy
        if not 0 <= step // k <= MAX_STEP:
            raise SpecError("iterations", "must be in [0, 2**31 - 1]", step // k)
        return K.convert_to_tensor(step // k, dtype=intx)
    if not isinstance(step, _HOST):
        if _traced(step):
            return _saturated(step, k, intx)
        step = np.asarray(K.convert_to_numpy(step))
    a = np.asarray(step)
    if a.dtype.kind == "f" and a.dtype.itemsize < 8:
        # exactly, into a dtype that holds the bound: float32 compares 2**31 as 2**31 - 1
        step = a = a.astype(np.float64)
    if k > 1 and a.dtype != bool and (np.issubdtype(a.dtype, np.integer) or (
            np.issubdtype(a.dtype, np.floating) and np.all(a == np.floor(a)))):
        step = a // k  # before the range check: the domain is on optimizer updates
    return K.convert_to_tensor(_checked_steps(step, "iterations"), dtype=intx)


def _saturated(t: Any, k: int, intx: str) -> Any:
    """A traced step, divided by ``k``, clamped to ``[0, 2**31 - 1]`` in its own dtype
    before the cast (a uint32 3e9 or an int64 2**40 cast to int32 first would wrap to
    another step); a float step is floored too (NaN gives 0)."""
    dtype = keras.backend.standardize_dtype(t.dtype)
    if dtype == "bool" or (dtype.startswith("uint") and intx == "int64" and dtype != "uint64"):
        t, dtype = K.cast(t, intx), intx  # widening is exact (and torch's uint32 has no //)
    # //, % and where, not keras.ops.floor_divide/minimum/floor: those compute 64-bit
    # tensors in 32 bits on Keras's torch backend (see KerasOps.minimum)
    if k > 1:
        t = t // k
    if dtype.startswith("float"):
        t = K.where(t > MAX_STEP, K.full_like(t, MAX_STEP), t)
        t = K.where(t >= 0, t, K.zeros_like(t))  # NaN too
        t, dtype = K.cast(t - t % 1, intx), intx  # float32 MAX_STEP is 2**31: clamp again
    info = np.iinfo(dtype)
    if info.min < 0:
        t = K.where(t < 0, K.zeros_like(t), t)
    if info.max > MAX_STEP:
        t = K.where(t > MAX_STEP, K.full_like(t, MAX_STEP), t)
    return K.cast(t, intx)


@keras.saving.register_keras_serializable(package="lrcore", name="LrcoreSchedule")
class LrcoreSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A Keras schedule compiled from an lrcore spec.

    Keras calls a schedule with the optimizer's raw iteration counter. With
    ``gradient_accumulation_steps=k`` that counter advances once per micro-batch
    (Keras documents that schedules "look at the real iterations value"), so the
    optimizer applies update ``u + 1`` at counter ``k (u + 1) - 1``; pass the same
    ``k`` here and the schedule divides the counter by ``k``, following optimizer
    updates: update ``u + 1`` uses ``lr(u)``.
    """

    def __init__(self, spec: Any, *, gradient_accumulation_steps: int | None = None,
                 steps_per_epoch: int | None = None,
                 total_steps: int | str | None = None,
                 plateau_state: dict | None = None) -> None:
        super().__init__()
        #: the document as given (a file's epochs and shares kept): get_config() returns
        #: it, so its fingerprint is the file's; ``spec`` is it with the context arguments
        self.document = as_schedule(spec)
        self.spec = self.document.bind(steps_per_epoch, total_steps)
        self._context = {k: v for k, v in (("steps_per_epoch", steps_per_epoch),
                                           ("total_steps", total_steps)) if v is not None}
        if gradient_accumulation_steps is not None and (
                isinstance(gradient_accumulation_steps, bool)
                or not isinstance(gradient_accumulation_steps, int)
                or gradient_accumulation_steps < 1):
            raise SpecError("gradient_accumulation_steps", "must be an integer >= 1",
                            gradient_accumulation_steps)
        self.gradient_accumulation_steps = gradient_accumulation_steps
        # compiled formulas by (compute dtype, int dtype, backend): built here, outside any
        # trace, so a traced __call__ (tf.function, jax.jit, torch.compile) only looks up
        self._fns: dict[tuple[str, str, str], Any] = {}
        self._formula(_compute_dtype(), _int_dtype())  # validates the spec now
        # reduce-on-plateau: the rule's state lives here in float64 Python values (and in
        # get_config, so model.save keeps it); the scale the graph reads is a
        # non-trainable variable, assigned by report()
        self.plateau: PlateauState | None = None
        self.scale: keras.Variable | None = None
        if self.spec.schedule.type == "plateau":
            self.plateau = (PlateauState.from_dict(plateau_state) if plateau_state
                            else initial_state(self.spec.schedule))
            # in the compute dtype: rate * scale is rounded once, like the reference's
            self.scale = keras.Variable(self.plateau.scale, dtype=_compute_dtype(),
                                        trainable=False, name="lrcore_plateau_scale")
        elif plateau_state:
            raise SpecError("plateau_state", "needs a spec whose outermost node is plateau",
                            self.spec.schedule.type)

    def _formula(self, float_dtype: str, intx: str):
        key = (float_dtype, intx, keras.backend.backend())
        fn = self._fns.get(key)
        if fn is None:
            fn = self._fns[key] = compile_spec(self.spec, KerasOps(float_dtype, intx))
        return fn

    def __call__(self, step: Any) -> Any:
        """The rate at ``step`` (the optimizer's counter), in ``keras.config.floatx()``.

        A concrete step outside ``[0, 2**31 - 1]`` (after dividing by
        ``gradient_accumulation_steps``) is a ``SpecError``; inside a compiled function,
        where nothing can be raised, it saturates: below 0 gives the rate at 0, above
        2**31 - 1 the rate at 2**31 - 1."""
        compute, intx = _compute_dtype(), _int_dtype()
        t = _steps(step, self.gradient_accumulation_steps or 1, intx)
        lr = self._formula(compute, intx)(t)
        if self.scale is not None:
            lr = lr * K.cast(self.scale, compute)
        return K.cast(lr, keras.config.floatx())

    def report(self, metric: Any, step: int) -> bool:
        """Report a monitored metric at optimizer step ``step`` (updates applied so
        far); returns True when the scale changed. ``PlateauCallback`` calls this."""
        if self.plateau is None:
            raise SpecError("report", "needs a spec whose outermost node is plateau",
                            self.spec.schedule.type)
        value = check_metric(_metric(metric))
        inner_now = float(evaluate(self.spec, int(step)))
        p = self.plateau
        best, bad, cool, scale = report(self.spec.schedule, _PY, p.best, p.bad, p.cool,
                                        p.scale, value, inner_now)
        changed = scale != p.scale
        self.plateau = PlateauState(best, bad, cool, scale, p.reports + 1)
        if changed:
            self.scale.assign(scale)
        return changed

    def get_config(self) -> dict[str, Any]:
        """The spec document as written and, under ``"keras"``, this schedule's other
        arguments and its plateau state (``lrcore.load`` reads the document alone)."""
        config = self.document.to_dict()
        settings = dict(self._context)
        if self.gradient_accumulation_steps:
            settings["gradient_accumulation_steps"] = self.gradient_accumulation_steps
        if self.plateau is not None:
            settings["plateau_state"] = self.plateau.to_dict()
        if settings:
            config[KERAS_KEY] = settings
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LrcoreSchedule:
        config = dict(config)
        settings = keras_settings(config.pop(KERAS_KEY, {}))
        # saved before the settings had their key: beside the document's keys
        for key in ("gradient_accumulation_steps", "plateau_state"):
            if key in config:
                settings.setdefault(key, config.pop(key))
        return cls(Schedule.from_dict(config), **settings)


_PY = PythonOps()


def _describe(lr: Any) -> str:
    """What an optimizer's learning rate is, for a message: its class, and for an
    lrcore schedule its spec's fingerprint."""
    if isinstance(lr, LrcoreSchedule):
        return f"LrcoreSchedule {lr.document.fingerprint()}"
    return type(lr).__name__


def _optimizer_of(model_or_optimizer: Any) -> Any:
    opt = model_or_optimizer
    if isinstance(opt, keras.Model):
        opt = getattr(opt, "optimizer", None)  # an uncompiled model has no attribute
        if opt is None:
            raise SpecError("model.optimizer", "must be set (compile the model first)",
                            type(model_or_optimizer).__name__)
    if isinstance(opt, keras.optimizers.LossScaleOptimizer):  # mixed_float16 wraps it
        opt = opt.inner_optimizer
    if not isinstance(opt, keras.optimizers.Optimizer):
        raise SpecError("model_or_optimizer", "must be a Keras model or optimizer",
                        type(model_or_optimizer).__name__)
    return opt


def schedule_of(model_or_optimizer: Any) -> LrcoreSchedule:
    """The :class:`LrcoreSchedule` a model's (or an optimizer's) updates use.

    ``keras.models.load_model`` builds a new schedule object, with the saved plateau
    state; this is how to reach it (Keras itself has no public accessor:
    ``optimizer.learning_rate`` is the rate at the current step). A
    ``LossScaleOptimizer`` (``mixed_float16``) is looked through."""
    lr = _optimizer_of(model_or_optimizer)._learning_rate
    if not isinstance(lr, LrcoreSchedule):
        raise SpecError("optimizer.learning_rate", "must be an lrcore schedule "
                        "(lrcore.to_keras(spec))", _describe(lr))
    return lr


def _metric(metric: Any) -> Any:
    """A tensor or array metric as a numpy scalar of its own dtype (a float32 metric is
    that float32 value); anything else as given, for ``check_metric`` to judge."""
    if isinstance(metric, (int, float, np.generic, str, bytes)) or not hasattr(metric, "dtype"):
        return metric
    try:
        a = np.asarray(K.convert_to_numpy(metric))
    except (TypeError, ValueError):
        return metric
    return a.reshape(())[()] if a.size == 1 else a


class PlateauCallback(keras.callbacks.Callback):
    """Report ``monitor`` to a plateau schedule at the end of every epoch.

    Without ``schedule`` the callback reports to the schedule the model's optimizer
    uses, found at the start of every ``fit`` (so it follows ``load_model``). Given
    one, ``fit`` refuses to start unless the optimizer uses that very object: a
    callback built before ``load_model`` would otherwise cut a schedule nothing reads.

    Unlike Keras's ``ReduceLROnPlateau`` it works with a learning-rate schedule (the
    schedule's scale changes, not a fixed rate) and follows torch's rule (see the
    ``plateau`` node). On the jax backend a reduction retraces the train step, since
    jax captures the scale as a constant when it compiles.
    """

    def __init__(self, schedule: LrcoreSchedule | None = None,
                 monitor: str = "val_loss") -> None:
        super().__init__()
        if schedule is not None:
            _check_plateau(schedule, "schedule")
        self.given, self.schedule, self.monitor = schedule, schedule, monitor

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.schedule = self._live()

    def _live(self) -> LrcoreSchedule:
        """The optimizer's schedule: the one given, checked, or the one found."""
        lr = _optimizer_of(self.model)._learning_rate
        if self.given is None:
            return _check_plateau(lr, "optimizer.learning_rate")
        if lr is not self.given:
            raise SpecError("schedule", f"is not the schedule the optimizer uses "
                            f"({_describe(lr)}); after load_model, pass "
                            "schedule_of(model), or no schedule", _describe(self.given))
        return lr

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise SpecError("monitor", "is not among the logged metrics ("
                            + ", ".join(sorted(logs)) + ")", self.monitor)
        self.schedule = self._live()  # still the optimizer's (cheap: an identity check)
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if self.schedule.report(logs[self.monitor], step) and \
                keras.backend.backend() == "jax":
            self.model.make_train_function(force=True)


def _check_plateau(schedule: Any, path: str) -> LrcoreSchedule:
    if not isinstance(schedule, LrcoreSchedule) or schedule.plateau is None:
        raise SpecError(path, "must be an lrcore schedule of a plateau spec",
                        _describe(schedule))
    return schedule


def to_keras(spec: Any, *, gradient_accumulation_steps: int | None = None,
             steps_per_epoch: int | None = None,
             total_steps: int | str | None = None) -> LrcoreSchedule:
    """Compile ``spec`` into a ``keras.optimizers.schedules.LearningRateSchedule``."""
    return LrcoreSchedule(spec, gradient_accumulation_steps=gradient_accumulation_steps,
                          steps_per_epoch=steps_per_epoch, total_steps=total_steps)


# ---- hyperparameter curves: scheduled optimizers ------------------------------------------

#: The Keras argument each canonical hyperparameter is, in order of preference
#: (``momentum`` is SGD's/RMSprop's momentum, else an Adam-style ``beta_1``).
_KERAS_ARGS = {"momentum": ("momentum", "beta_1"), "beta1": ("beta_1",),
               "beta2": ("beta_2",), "weight_decay": ("weight_decay",)}
#: Arguments a Keras optimizer branches on in Python inside its update step (so a tensor
#: cannot stand there): RMSprop asks ``if self.momentum > 0`` on every update.
_BRANCHED = {("RMSprop", "momentum")}


def _curve_args(base: type) -> list[str]:
    """The hyperparameters of ``base`` a curve can drive."""
    params = inspect.signature(base.__init__).parameters
    return [a for a in ("momentum", "beta_1", "beta_2", "weight_decay")
            if a in params and (base.__name__, a) not in _BRANCHED]


#: Keras optimizers with a scheduled twin (registered with keras.saving at import, so
#: ``load_model`` finds them; ``import lrcore`` imports this module once keras is imported).
_SCHEDULABLE = ("SGD", "RMSprop", "Adam", "AdamW", "Adamax", "Nadam", "Adagrad", "Adadelta",
                "Lion", "Lamb", "Ftrl", "Adafactor")
_SCHEDULED: dict[type, type] = {}


class _Curve:
    """A data descriptor for one hyperparameter of a scheduled optimizer: reading it
    gives the curve at ``optimizer.iterations`` (a tensor, inside the compiled train
    step too); while no curve is set (the base ``__init__`` assigning its default) it
    holds a plain value."""

    def __init__(self, attr: str) -> None:
        self.attr = attr

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        curve = obj.__dict__.get("_lrcore_curves", {}).get(self.attr)
        if curve is None:
            return obj.__dict__.get(f"_lrcore_fixed_{self.attr}")
        if obj.__dict__.get("_lrcore_building"):
            return 1.0  # build() asks "is momentum != 0?" to create its slots: yes
        return curve(obj.iterations)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[f"_lrcore_fixed_{self.attr}"] = value


def _sgd_update_step(self: Any, gradient: Any, variable: Any, learning_rate: Any) -> None:
    """``keras.optimizers.SGD.update_step`` (keras/src/optimizers/sgd.py), with its
    Python ``if self.momentum != 0`` taken as true when a momentum curve is set (the
    curve is a tensor there): the same arithmetic, in the same order."""
    if "momentum" not in self.__dict__.get("_lrcore_curves", {}):
        return keras.optimizers.SGD.update_step(self, gradient, variable, learning_rate)
    learning_rate = K.cast(learning_rate, variable.dtype)
    gradient = K.cast(gradient, variable.dtype)
    m = self.momentums[self._get_variable_index(variable)]
    momentum = K.cast(self.momentum, variable.dtype)
    self.assign(m, K.subtract(K.multiply(m, momentum), K.multiply(gradient, learning_rate)))
    if self.nesterov:
        self.assign_add(variable, K.subtract(K.multiply(m, momentum),
                                             K.multiply(gradient, learning_rate)))
    else:
        self.assign_add(variable, m)
    return None


def _scheduled_class(base: type) -> type:
    cls = _SCHEDULED.get(base)
    if cls is not None:
        return cls
    attrs = {a: _Curve(a) for a in _curve_args(base)}
    name = f"Scheduled{base.__name__}"

    def __init__(self, *args: Any, lrcore_spec: Any = None, **kwargs: Any) -> None:
        base.__init__(self, *args, **kwargs)
        self._lrcore_spec = None
        self.__dict__["_lrcore_curves"] = {}
        if lrcore_spec is not None:
            _attach(self, as_schedule(lrcore_spec))

    def build(self, var_list: Any) -> None:
        self.__dict__["_lrcore_building"] = True
        try:
            base.build(self, var_list)
        finally:
            self.__dict__["_lrcore_building"] = False

    def get_config(self) -> dict[str, Any]:
        config = base.get_config(self)
        for attr in self.__dict__.get("_lrcore_curves", {}):
            config[attr] = self.__dict__.get(f"_lrcore_fixed_{attr}")
        if self._lrcore_spec is not None:
            config["lrcore_spec"] = self._lrcore_spec.to_dict()
        return config

    extra = {"update_step": _sgd_update_step} if base is keras.optimizers.SGD else {}
    cls = type(name, (base,), {**attrs, **extra, "__init__": __init__, "build": build,
                               "get_config": get_config, "__module__": __name__,
                               "__doc__": f"keras.optimizers.{base.__name__} whose "
                               "hyperparameters follow an lrcore spec's curves."})
    cls = keras.saving.register_keras_serializable(package="lrcore", name=name)(cls)
    _SCHEDULED[base] = cls
    return cls


def _attach(opt: Any, doc: Schedule) -> None:
    """Point each of ``doc``'s hyperparameter curves at the optimizer argument it is."""
    base = type(opt).__mro__[1]
    accepted = [p for p in inspect.signature(base.__init__).parameters
                if p not in ("self", "learning_rate", "name", "kwargs")]
    owner = f"keras.optimizers.{base.__name__}"
    args = assign([hp for hp, _ in doc.hyperparams], lambda hp: _KERAS_ARGS.get(hp, (hp,)),
                  accepted, owner)
    curves = {}
    for hp, arg in args.items():
        if arg not in _curve_args(base):
            raise SpecError(f"hyperparams.{hp}", f"{owner} reads {arg} as a fixed number in "
                            "its update step; lrcore schedules "
                            + (", ".join(_curve_args(base)) or "nothing") + " there", hp)
        # the optimizer's own iterations already count updates (accumulation divided)
        curves[arg] = LrcoreSchedule(doc.curve(hp), gradient_accumulation_steps=None)
    opt._lrcore_spec = doc
    opt.__dict__["_lrcore_curves"] = curves


def to_keras_optimizer(spec: Any, optimizer: Any = "AdamW", *,
                       steps_per_epoch: int | None = None,
                       total_steps: int | str | None = None, **kwargs: Any) -> Any:
    """A Keras optimizer whose learning rate and every hyperparameter curve follow
    ``spec``: ``optimizer`` is a class of ``keras.optimizers`` (or its name), ``kwargs``
    its other arguments. ``momentum`` is the optimizer's ``momentum`` (SGD, RMSprop) or
    else ``beta_1``; ``beta1``/``beta2`` are ``beta_1``/``beta_2``; ``weight_decay`` is
    ``weight_decay``. Each is read at ``optimizer.iterations`` inside the compiled train
    step; ``model.save``/``load_model`` keep the spec.

    >>> opt = to_keras_optimizer(spec, keras.optimizers.AdamW)  # doctest: +SKIP
    """
    base = getattr(keras.optimizers, optimizer, None) if isinstance(optimizer, str) \
        else optimizer
    if not (isinstance(base, type) and issubclass(base, keras.optimizers.Optimizer)
            and base.__name__ in _SCHEDULABLE):
        raise SpecError("optimizer", "must be one of keras.optimizers." + ", ".join(
            _SCHEDULABLE), getattr(optimizer, "__name__", optimizer))
    written = as_schedule(spec)
    doc = written.bind(steps_per_epoch, total_steps)
    doc.resolve()  # every curve validated (ranges included) before anything is built
    k = kwargs.get("gradient_accumulation_steps")
    rate = LrcoreSchedule(written.curve(None), gradient_accumulation_steps=k,
                          steps_per_epoch=steps_per_epoch, total_steps=total_steps)
    return _scheduled_class(base)(learning_rate=rate, lrcore_spec=doc, **kwargs)


for _name in _SCHEDULABLE:
    if hasattr(keras.optimizers, _name):
        _scheduled_class(getattr(keras.optimizers, _name))


def custom_objects() -> dict[str, type]:
    """Every lrcore class a Keras file can hold, by the name Keras looks up (its
    registered name, ``"lrcore>LrcoreSchedule"``): for ``load_model(path,
    custom_objects=...)`` or ``keras.saving.custom_object_scope(...)`` where lrcore's
    registrations are not in place. ``import lrcore`` registers them (see the README)."""
    classes = [LrcoreSchedule, *_SCHEDULED.values()]
    return {keras.saving.get_registered_name(cls): cls for cls in classes}


def runs_here(name: str) -> bool:
    """Whether this process's Keras backend is ``name``'s (the registry asks once Keras
    is imported: its backend is fixed then)."""
    return name == f"keras-{keras.backend.backend()}"


def parity_values(name: str, specs: list, steps: list, reports: list) -> list:
    """The ``keras-*`` backends for :mod:`lrcore.parity`, in a process on that backend."""
    if not runs_here(name):
        raise RuntimeError(f"{name} asked of a process on keras-{keras.backend.backend()}")
    return [_values(s, t, r) for s, t, r in zip(specs, steps, reports)]


#: parity calls a schedule on blocks of this many steps (:func:`lrcore.backends.blocks`):
#: one shape for every spec, so JAX compiles each eager op once per run, not per spec
_PARITY_BLOCK = 16384


def _values(spec: Any, t: np.ndarray, reports: Any) -> np.ndarray:
    sched = to_keras(spec)
    parts = []
    for due, seg in segments(t, reports):
        for s, m in due:
            sched.report(m, int(s))
        for block, n in blocks(seg, _PARITY_BLOCK):
            # cast by numpy first: jax would compile a cast for each new shape
            steps = keras.ops.convert_to_tensor(np.asarray(block, dtype=_int_dtype()),
                                                dtype=_int_dtype())
            rates = np.asarray(keras.ops.convert_to_numpy(sched(steps)), dtype=np.float64)
            parts.append(rates[:n])
    return np.concatenate(parts) if parts else np.empty(0)
