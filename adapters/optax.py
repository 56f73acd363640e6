"""optax adapter: a pure ``jax.numpy`` function of the step count.

Works under ``jax.jit`` and ``jax.vmap``, as ``optax.adam(learning_rate=...)`` and inside
``optax.inject_hyperparams``. Computes in float32, or float64 when ``jax_enable_x64``
is on (checked at each call, so the flag may change after compiling).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lrcore.document import as_schedule
from lrcore.errors import SpecError
from lrcore.evaluate import compile_spec
from lrcore.nodes.plateau import check_metric, initial_state
from lrcore.nodes.plateau import report as plateau_report
from lrcore.ops import Ops

__all__ = ["JaxOps", "OptaxSchedule", "PlateauScheduleState", "report", "scale_by_plateau_schedule",
           "to_optax"]


class JaxOps(Ops):
    """``jax.numpy`` ops. Constants and tables are numpy values (never tracers), so a
    compiled formula can be cached and reused across traces."""

    def __init__(self, x64: bool) -> None:
        self.dtype = np.float64 if x64 else np.float32
        self.int_dtype = np.int64 if x64 else np.int32
        self.name = "optax-x64" if x64 else "optax"

    def __reduce__(self):
        return (JaxOps, (self.dtype == np.float64,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JaxOps) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("jax", self.name))

    def const(self, x: float) -> Any:
        return self.dtype(x)

    def full(self, t: Any, x: float) -> Any:
        return jnp.full(jnp.shape(t), x, dtype=self.dtype)

    def to_float(self, t: Any) -> Any:
        return jnp.asarray(t).astype(self.dtype)

    where = staticmethod(jnp.where)
    minimum = staticmethod(jnp.minimum)
    maximum = staticmethod(jnp.maximum)
    sin = staticmethod(jnp.sin)
    cos = staticmethod(jnp.cos)
    exp = staticmethod(jnp.exp)
    expm1 = staticmethod(jnp.expm1)
    log = staticmethod(jnp.log)
    log1p = staticmethod(jnp.log1p)
    sqrt = staticmethod(jnp.sqrt)
    power = staticmethod(jnp.power)

    # Steps are >= 0 and divisors > 0, so truncating division is floor division: one
    # HLO op each instead of jnp's ten-op sign correction.
    def _floordiv(self, t: Any, n: int) -> Any:
        t = jnp.asarray(t)
        return jax.lax.div(t, jnp.asarray(n, t.dtype))

    def _mod(self, t: Any, n: int) -> Any:
        t = jnp.asarray(t)
        return jax.lax.rem(t, jnp.asarray(n, t.dtype))

    def table(self, values, integer: bool = False) -> Any:
        return np.asarray(values, dtype=self.int_dtype if integer else self.dtype)

    def searchsorted(self, table: Any, t: Any) -> Any:
        return jnp.searchsorted(table, t, side="right") - 1

    def take(self, table: Any, i: Any) -> Any:
        return jnp.take(table, i)


_OPS = {False: JaxOps(False), True: JaxOps(True)}


class OptaxSchedule:
    """``count -> learning rate``: a pure jnp function of an integer step count."""

    def __init__(self, spec: Any, steps_per_epoch: int | None = None,
                 total_steps: int | str | None = None) -> None:
        self.spec = as_schedule(spec)
        ctx = self.spec.context(steps_per_epoch, total_steps)
        self._ctx = (ctx.steps_per_epoch, ctx.total_steps)
        self._fns: dict[bool, Any] = {}
        self._formula(bool(jax.config.jax_enable_x64))  # validate and compile now

    def _formula(self, x64: bool):
        fn = self._fns.get(x64)
        if fn is None:
            fn = self._fns[x64] = compile_spec(self.spec, _OPS[x64], steps_per_epoch=self._ctx[0],
                                               total_steps=self._ctx[1])
        return fn

    def __call__(self, count: Any) -> jax.Array:
        x64 = bool(jax.config.jax_enable_x64)
        t = jnp.asarray(count)
        if not jnp.issubdtype(t.dtype, jnp.integer):
            raise SpecError("count", "must be an integer step count", str(t.dtype))
        t = t.astype(_OPS[x64].int_dtype)
        return self._formula(x64)(t)

    def __repr__(self) -> str:
        return f"OptaxSchedule({self.spec.fingerprint()})"

    def __getstate__(self) -> dict:  # the compiled formulas are a cache, rebuilt on use
        return {"spec": self.spec, "_ctx": self._ctx}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _fns={})


def to_optax(spec: Any, *, steps_per_epoch: int | None = None,
             total_steps: int | str | None = None) -> OptaxSchedule:
    """Compile ``spec`` into an optax schedule (``count -> jax.Array``).

    >>> import lrcore, optax  # doctest: +SKIP
    >>> opt = optax.adam(learning_rate=lrcore.to_optax(spec))  # doctest: +SKIP
    """
    return OptaxSchedule(spec, steps_per_epoch, total_steps)



# ---- reduce-on-plateau ------------------------------------------------------------------

class PlateauScheduleState(NamedTuple):
    """optax state of :func:`scale_by_plateau_schedule`: the step count and the whole
    plateau state, a pytree like any optax state (checkpoint it with the rest)."""

    count: jax.Array
    best: jax.Array
    bad: jax.Array
    cool: jax.Array
    scale: jax.Array
    reports: jax.Array
    spec: Any = None  # static: the compiled plateau spec (an OptaxSchedule); not a leaf


jax.tree_util.register_pytree_node(
    PlateauScheduleState,
    lambda s: (tuple(s[:6]), s.spec),
    lambda spec, leaves: PlateauScheduleState(*leaves, spec=spec),
)


def _check_concrete(value: Any) -> None:
    if not isinstance(value, jax.core.Tracer):
        check_metric(np.asarray(value).item())
    else:  # under jit: fail loudly at run time rather than poison the state with NaN
        jax.debug.callback(_raise_if_nan, value)


def _raise_if_nan(value: Any) -> None:
    check_metric(float(value))


def _report_one(state: PlateauScheduleState, value: Any) -> PlateauScheduleState:
    sched = state.spec
    node = sched.spec.schedule
    ops = _OPS[bool(jax.config.jax_enable_x64)]
    value = jnp.asarray(value, dtype=ops.dtype)
    inner_now = sched(state.count)
    best, bad, cool, scale = plateau_report(node, _PlateauJnp, state.best, state.bad, state.cool,
                                            state.scale, value, inner_now)
    return state._replace(best=best.astype(state.best.dtype), bad=bad.astype(jnp.int32),
                          cool=cool.astype(jnp.int32), scale=scale.astype(state.scale.dtype),
                          reports=state.reports + 1)


class _PlateauJnp:
    """The three ops the plateau rule uses, on jax arrays."""

    where = staticmethod(jnp.where)
    maximum = staticmethod(jnp.maximum)


def report(opt_state: Any, value: Any) -> Any:
    """Report a monitored metric (e.g. validation loss at epoch end) to every
    :class:`PlateauScheduleState` inside ``opt_state`` (a chain's state works as is).
    jit-safe; a NaN metric raises (``SpecError`` eagerly, a runtime error under jit)."""
    _check_concrete(value)
    return jax.tree_util.tree_map(
        lambda s: _report_one(s, value) if isinstance(s, PlateauScheduleState) else s,
        opt_state, is_leaf=lambda s: isinstance(s, PlateauScheduleState))


def scale_by_plateau_schedule(spec: Any, *, steps_per_epoch: int | None = None,
                              total_steps: int | str | None = None):
    """An optax ``GradientTransformationExtraArgs`` that scales updates by ``-lr(count)``
    (like ``optax.scale_by_learning_rate`` with a schedule) for a spec whose root is a
    ``plateau`` node: ``lr = inner(count) * scale``.

    Report a metric either as ``update(..., value=metric)`` (the way
    ``optax.contrib.reduce_on_plateau`` takes it: one report per call) or, once per
    epoch, with ``opt_state = lrcore.adapters.optax.report(opt_state, metric)``.

    >>> tx = optax.chain(optax.scale_by_adam(), scale_by_plateau_schedule(spec))  # doctest: +SKIP
    """
    import optax

    sched = OptaxSchedule(spec, steps_per_epoch, total_steps)
    node = sched.spec.schedule
    if node.type != "plateau":
        raise SpecError("schedule.type", "scale_by_plateau_schedule needs a spec whose "
                        "outermost node is plateau", node.type)
    first = initial_state(node)

    def init_fn(params: Any) -> PlateauScheduleState:
        del params
        dtype = _OPS[bool(jax.config.jax_enable_x64)].dtype
        return PlateauScheduleState(
            count=jnp.zeros([], jnp.int32), best=jnp.asarray(first.best, dtype),
            bad=jnp.zeros([], jnp.int32), cool=jnp.zeros([], jnp.int32),
            scale=jnp.ones([], dtype), reports=jnp.zeros([], jnp.int32), spec=sched)

    def update_fn(updates: Any, state: PlateauScheduleState, params: Any = None, *,
                  value: Any = None, **extra: Any):
        del params, extra
        if value is not None:
            _check_concrete(value)
            state = _report_one(state, value)
        lr = sched(state.count) * state.scale
        updates = jax.tree_util.tree_map(lambda g: (-lr).astype(g.dtype) * g, updates)
        count = jnp.minimum(state.count, jnp.iinfo(jnp.int32).max - 1) + 1
        return updates, state._replace(count=count)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


del math
