"""Keras 3 adapter: a ``LearningRateSchedule`` written with ``keras.ops`` only.

Runs on every Keras backend (tensorflow, jax, torch), inside ``model.fit`` with
``jit_compile=True``; ``get_config()`` is the spec document and the class is
registered with ``keras.saving``, so ``model.save`` / ``load_model`` keep the curve.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops as K

from lrcore.document import Schedule, as_schedule
from lrcore.errors import SpecError
from lrcore.evaluate import compile_spec, evaluate
from lrcore.nodes.plateau import PlateauState, check_metric, initial_state, report
from lrcore.ops import Ops, PythonOps

__all__ = ["KerasOps", "LrcoreSchedule", "PlateauCallback", "to_keras"]


class KerasOps(Ops):
    """``keras.ops`` on the active backend. Constants are Python floats (weakly typed
    on every backend); tables become tensors at call time, so nothing built inside one
    trace leaks into another."""

    def __init__(self, floatx: str, intx: str) -> None:
        self.floatx, self.intx = floatx, intx
        self.dtype = np.dtype(floatx).type
        self.name = f"keras-{keras.backend.backend()}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KerasOps) and (other.floatx, other.intx, other.name) == (
            self.floatx, self.intx, self.name)

    def __hash__(self) -> int:
        return hash((self.floatx, self.intx, self.name))

    def const(self, x: float) -> float:
        return float(x)

    def full(self, t: Any, x: float) -> Any:
        return K.full_like(t, x, dtype=self.floatx)

    def to_float(self, t: Any) -> Any:
        return K.cast(t, self.floatx)

    where = staticmethod(K.where)
    minimum = staticmethod(K.minimum)
    maximum = staticmethod(K.maximum)
    sin = staticmethod(K.sin)
    cos = staticmethod(K.cos)
    exp = staticmethod(K.exp)
    expm1 = staticmethod(K.expm1)
    log = staticmethod(K.log)
    log1p = staticmethod(K.log1p)
    sqrt = staticmethod(K.sqrt)

    def power(self, x: Any, y: Any) -> Any:
        # convert, not cast: a cast of a Python float goes through float32 on TensorFlow
        return K.power(x, K.convert_to_tensor(y, dtype=self.floatx))

    def _floordiv(self, t: Any, n: int) -> Any:
        return K.floor_divide(t, n)

    def _mod(self, t: Any, n: int) -> Any:
        return K.mod(t, n)

    def table(self, values, integer: bool = False) -> Any:
        return _Table(values, self.intx if integer else self.floatx)

    def searchsorted(self, table: Any, t: Any) -> Any:
        seq = K.convert_to_tensor(table.values, dtype=table.dtype)
        flat = K.reshape(t, (-1,))
        idx = K.searchsorted(seq, flat, side="right") - 1
        return K.reshape(K.cast(idx, self.intx), K.shape(t))

    def take(self, table: Any, i: Any) -> Any:
        return K.take(K.convert_to_tensor(table.values, dtype=table.dtype), i)


class _Table:
    def __init__(self, values, dtype: str) -> None:
        self.values, self.dtype = list(values), dtype


def _int_dtype() -> str:
    if keras.backend.backend() == "jax":
        import jax

        return "int64" if jax.config.jax_enable_x64 else "int32"
    return "int64"


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
        schedule = as_schedule(spec)
        ctx = schedule.context(steps_per_epoch, total_steps)
        import dataclasses

        self.spec = dataclasses.replace(schedule, steps_per_epoch=ctx.steps_per_epoch,
                                        total_steps=ctx.total_steps)
        if gradient_accumulation_steps is not None and (
                isinstance(gradient_accumulation_steps, bool)
                or not isinstance(gradient_accumulation_steps, int)
                or gradient_accumulation_steps < 1):
            raise SpecError("gradient_accumulation_steps", "must be an integer >= 1",
                            gradient_accumulation_steps)
        self.gradient_accumulation_steps = gradient_accumulation_steps
        # compiled formulas by (floatx, int dtype, backend): built here, outside any trace,
        # so a traced __call__ (tf.function, jax.jit, torch.compile) only does a lookup
        self._fns: dict[tuple[str, str, str], Any] = {}
        self._formula(keras.config.floatx(), _int_dtype())  # validates the spec now
        # reduce-on-plateau: the rule's state lives here in float64 Python values (and in
        # get_config, so model.save keeps it); the scale the graph reads is a
        # non-trainable variable, assigned by report()
        self.plateau: PlateauState | None = None
        self.scale: keras.Variable | None = None
        if self.spec.schedule.type == "plateau":
            self.plateau = (PlateauState.from_dict(plateau_state) if plateau_state
                            else initial_state(self.spec.schedule))
            self.scale = keras.Variable(self.plateau.scale, dtype=keras.config.floatx(),
                                        trainable=False, name="lrcore_plateau_scale")
        elif plateau_state:
            raise SpecError("plateau_state", "needs a spec whose outermost node is plateau",
                            self.spec.schedule.type)

    def _formula(self, floatx: str, intx: str):
        key = (floatx, intx, keras.backend.backend())
        fn = self._fns.get(key)
        if fn is None:
            fn = self._fns[key] = compile_spec(self.spec, KerasOps(floatx, intx))
        return fn

    def __call__(self, step: Any) -> Any:
        floatx, intx = keras.config.floatx(), _int_dtype()
        t = K.cast(step, intx)
        if self.gradient_accumulation_steps and self.gradient_accumulation_steps > 1:
            t = K.floor_divide(t, self.gradient_accumulation_steps)
        lr = self._formula(floatx, intx)(t)
        return lr if self.scale is None else lr * K.cast(self.scale, floatx)

    def report(self, metric: Any, step: int) -> bool:
        """Report a monitored metric at optimizer step ``step`` (updates applied so
        far); returns True when the scale changed. ``PlateauCallback`` calls this."""
        if self.plateau is None:
            raise SpecError("report", "needs a spec whose outermost node is plateau",
                            self.spec.schedule.type)
        value = check_metric(metric)
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
        config = self.spec.to_dict()
        if self.gradient_accumulation_steps:
            config["gradient_accumulation_steps"] = self.gradient_accumulation_steps
        if self.plateau is not None:
            config["plateau_state"] = self.plateau.to_dict()
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LrcoreSchedule:
        config = dict(config)
        k = config.pop("gradient_accumulation_steps", None)
        state = config.pop("plateau_state", None)
        return cls(Schedule.from_dict(config), gradient_accumulation_steps=k,
                   plateau_state=state)


_PY = PythonOps()


class PlateauCallback(keras.callbacks.Callback):
    """Report ``monitor`` to a plateau schedule at the end of every epoch.

    Unlike Keras's ``ReduceLROnPlateau`` it works with a learning-rate schedule (the
    schedule's scale changes, not a fixed rate) and follows torch's rule (see the
    ``plateau`` node). On the jax backend a reduction retraces the train step, since
    jax captures the scale as a constant when it compiles.
    """

    def __init__(self, schedule: LrcoreSchedule, monitor: str = "val_loss") -> None:
        super().__init__()
        if not isinstance(schedule, LrcoreSchedule) or schedule.plateau is None:
            raise SpecError("schedule", "must be an lrcore schedule of a plateau spec",
                            type(schedule).__name__)
        self.schedule, self.monitor = schedule, monitor

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise SpecError("monitor", "is not among the logged metrics ("
                            + ", ".join(sorted(logs)) + ")", self.monitor)
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if self.schedule.report(logs[self.monitor], step) and \
                keras.backend.backend() == "jax":
            self.model.make_train_function(force=True)


def to_keras(spec: Any, *, gradient_accumulation_steps: int | None = None,
             steps_per_epoch: int | None = None,
             total_steps: int | str | None = None) -> LrcoreSchedule:
    """Compile ``spec`` into a ``keras.optimizers.schedules.LearningRateSchedule``."""
    return LrcoreSchedule(spec, gradient_accumulation_steps=gradient_accumulation_steps,
                          steps_per_epoch=steps_per_epoch, total_steps=total_steps)
