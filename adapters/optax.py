"""optax adapter: a pure ``jax.numpy`` function of the step count.

Works under ``jax.jit`` and ``jax.vmap``, as ``optax.adam(learning_rate=...)`` and inside
``optax.inject_hyperparams``. Computes in float32, or float64 when ``jax_enable_x64``
is on (checked at each call, so the flag may change after compiling).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lrcore.backends import segments
from lrcore.document import as_schedule
from lrcore.errors import SpecError
from lrcore.evaluate import compile_spec, evaluate
from lrcore.fields import MAX_STEP
from lrcore.hyperparams import assign
from lrcore.nodes.plateau import check_metric, initial_state
from lrcore.nodes.plateau import report as plateau_report
from lrcore.ops import Ops, PythonOps

#: Read by lrcore.backends without importing this module (a literal).
LRCORE_BACKEND = {
    "backends": {"optax": {"dtype": "float32", "needs": ["jax", "optax"]},
                 "optax-x64": {"dtype": "float64", "needs": ["jax", "optax"]}},
    "values": "parity_values",
    "exports": ["to_optax", "to_optax_optimizer"],
    "order": 30,
}

__all__ = ["JaxOps", "OptaxSchedule", "PlateauScheduleState", "report", "scale_by_plateau_schedule",
           "to_optax", "to_optax_optimizer"]


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
        # formulas index inside their tables (select clips the step first): a plain
        # dynamic slice (3 HLO ops), not jnp.take's bounds checks and fill (14)
        return jnp.asarray(table).at[i].get(mode="promise_in_bounds",
                                            wrap_negative_indices=False)


_OPS = {False: JaxOps(False), True: JaxOps(True)}


def _domain(count: Any, int_dtype: Any) -> jax.Array:
    """The step as the formula's integer dtype. A concrete count outside
    ``[0, 2**31 - 1]`` is a SpecError; a traced one (under jit, where nothing can be
    raised) saturates into that range, clamped in its own dtype before the cast (a uint32
    3e9 or an int64 2**40 would wrap)."""
    t = jnp.asarray(count)
    if not jnp.issubdtype(t.dtype, jnp.integer):
        raise SpecError("count", "must be an integer step count", str(t.dtype))
    if not isinstance(t, jax.core.Tracer):
        host = np.asarray(t)
        if host.size and (host.min() < 0 or host.max() > MAX_STEP):
            bad = host.min() if host.min() < 0 else host.max()
            raise SpecError("count", "must be in [0, 2**31 - 1] (optimizer updates already "
                            "applied)", int(bad))
        return t.astype(int_dtype)
    info = jnp.iinfo(t.dtype)
    if info.min < 0:
        t = jnp.maximum(t, jnp.zeros((), t.dtype))
    if info.max > MAX_STEP:
        t = jnp.minimum(t, jnp.asarray(MAX_STEP, t.dtype))
    return t.astype(int_dtype)


class OptaxSchedule:
    """``count -> learning rate``: a pure jnp function of an integer step count."""

    def __init__(self, spec: Any, steps_per_epoch: int | None = None,
                 total_steps: int | str | None = None, hyperparam: str | None = None) -> None:
        self.spec = as_schedule(spec).bind(steps_per_epoch, total_steps)
        self.hyperparam = hyperparam
        self._fns: dict[bool, Any] = {}
        self._formula(bool(jax.config.jax_enable_x64))  # validate and compile now

    def _formula(self, x64: bool):
        fn = self._fns.get(x64)
        if fn is None:
            fn = self._fns[x64] = compile_spec(self.spec, _OPS[x64],
                                               hyperparam=self.hyperparam)
        return fn

    def __call__(self, count: Any) -> jax.Array:
        x64 = bool(jax.config.jax_enable_x64)
        return self._formula(x64)(_domain(count, _OPS[x64].int_dtype))

    def __repr__(self) -> str:
        return f"OptaxSchedule({self.spec.fingerprint()})"

    # equal schedules are equal (and hash alike): a plateau state carries its schedule as
    # pytree metadata, and jax compares metadata when it combines two states
    def __eq__(self, other: object) -> bool:
        return isinstance(other, OptaxSchedule) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple:
        return self.spec, self.hyperparam

    def __getstate__(self) -> dict:  # the compiled formulas are a cache, rebuilt on use
        return {"spec": self.spec, "hyperparam": self.hyperparam}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _fns={})


def to_optax(spec: Any, *, steps_per_epoch: int | None = None,
             total_steps: int | str | None = None,
             hyperparam: str | None = None) -> OptaxSchedule:
    """Compile ``spec`` into an optax schedule (``count -> jax.Array``): the learning
    rate, or the curve of ``hyperparam`` (a name under the spec's ``hyperparams``).

    >>> import lrcore, optax  # doctest: +SKIP
    >>> opt = optax.adam(learning_rate=lrcore.to_optax(spec))  # doctest: +SKIP
    """
    return OptaxSchedule(spec, steps_per_epoch, total_steps, hyperparam)


#: The optax argument each canonical hyperparameter is, in order of preference
#: (``momentum`` is ``optax.sgd``'s momentum, else an Adam-style optimizer's ``b1``).
_ARGS = {"momentum": ("momentum", "b1"), "beta1": ("b1",), "beta2": ("b2",),
         "weight_decay": ("weight_decay",)}


def to_optax_optimizer(spec: Any, optimizer: Any, *, steps_per_epoch: int | None = None,
                       total_steps: int | str | None = None, **fixed: Any) -> Any:
    """The whole optimizer from a spec: ``optax.inject_hyperparams(optimizer)`` with the
    spec's learning rate and every hyperparameter curve as schedules, so each scheduled
    value is in ``opt_state.hyperparams`` (where ``opt_state.hyperparams["b1"]`` and the
    rest can be logged). ``fixed`` holds the optimizer's other arguments.

    ``momentum`` is ``optimizer``'s ``momentum`` argument (``optax.sgd``) or else ``b1``
    (Adam-style); ``beta1``/``beta2`` are ``b1``/``b2``; ``weight_decay`` and any other
    name are the argument of that name. A name ``optimizer`` does not take is a
    ``SpecError`` listing the arguments it does take.

    >>> tx = to_optax_optimizer(spec, optax.adamw, eps=1e-8)  # doctest: +SKIP
    """
    import inspect

    import optax

    doc = as_schedule(spec)
    try:
        accepted = [p for p in inspect.signature(optimizer).parameters
                    if p != "learning_rate"]
    except (TypeError, ValueError):
        raise SpecError("optimizer", "must be an optax optimizer factory such as optax.adamw",
                        repr(optimizer)) from None
    kwargs: dict[str, Any] = {"learning_rate": OptaxSchedule(doc, steps_per_epoch,
                                                             total_steps)}
    owner = f"optax.{getattr(optimizer, '__name__', optimizer)}"
    args = assign([name for name, _ in doc.hyperparams],
                  lambda name: _ARGS.get(name, (name,)), accepted, owner)
    for name, arg in args.items():
        if arg in fixed:
            raise SpecError(f"hyperparams.{name}", f"is scheduled, so {arg}= cannot also be "
                            "given as a fixed value", fixed[arg])
        kwargs[arg] = OptaxSchedule(doc, steps_per_epoch, total_steps, name)
    return optax.inject_hyperparams(optimizer)(**kwargs, **fixed)



# ---- reduce-on-plateau ------------------------------------------------------------------

class PlateauScheduleState(NamedTuple):
    """optax state of :func:`scale_by_plateau_schedule`: the step count and the whole
    plateau state, a pytree like any optax state (checkpoint it with the rest).

    ``best`` and ``scale`` are in the computing dtype (float32 unless x64), for logging
    and for the rate ``spec(count) * scale``; ``exact`` holds both as float64 bits
    (``uint32[4]``), the values the rule itself compares, so every dtype makes the float64
    reference's decisions."""

    count: jax.Array
    best: jax.Array
    bad: jax.Array
    cool: jax.Array
    scale: jax.Array
    reports: jax.Array
    exact: jax.Array
    spec: Any = None  # static: the compiled plateau spec (an OptaxSchedule); not a leaf


jax.tree_util.register_pytree_node(
    PlateauScheduleState,
    lambda s: (tuple(s[:7]), s.spec),
    lambda spec, leaves: PlateauScheduleState(*leaves, spec=spec),
)


def _bits(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.uint32)


def _host_report(sched: OptaxSchedule, exact_metric: bool, dtype: Any, count, exact, bad,
                 cool, metric):
    """The plateau rule on the host, in float64 (the reference's own rule and inner
    rate): a float32 metric is its float32 value, an exact one its float64 bits."""
    best, scale = np.asarray(exact, dtype=np.uint32).view(np.float64).tolist()
    if exact_metric:
        value = float(np.asarray(metric, dtype=np.uint32).view(np.float64)[0])
    else:
        value = float(np.asarray(metric).reshape(-1)[0])
    check_metric(value)  # NaN: an error at run time, never a poisoned state
    inner_now = float(evaluate(sched.spec, int(count)))
    best, bad, cool, scale = plateau_report(sched.spec.schedule, _PYTHON, best, int(bad),
                                            int(cool), scale, value, inner_now)
    return (_bits(best, scale), np.int32(bad), np.int32(cool),
            np.asarray([best, scale], dtype=dtype))


def _report_one(state: PlateauScheduleState, value: Any) -> PlateauScheduleState:
    dtype = _OPS[bool(jax.config.jax_enable_x64)].dtype
    exact_metric = not isinstance(value, jax.core.Tracer)
    if exact_metric:  # a concrete metric keeps its float64 value (a Python float is that)
        metric = _bits(check_metric(np.asarray(value).item()))
    else:  # under jit: the traced value, in its own dtype
        metric = jnp.reshape(value, (1,))
    out = (jax.ShapeDtypeStruct((4,), jnp.uint32), jax.ShapeDtypeStruct((), jnp.int32),
           jax.ShapeDtypeStruct((), jnp.int32), jax.ShapeDtypeStruct((2,), dtype))
    exact, bad, cool, pair = jax.pure_callback(
        functools.partial(_host_report, state.spec, exact_metric, dtype), out, state.count,
        state.exact, state.bad, state.cool, metric, vmap_method="sequential")
    return state._replace(best=pair[0], bad=bad, cool=cool, scale=pair[1], exact=exact,
                          reports=state.reports + 1)


def report(opt_state: Any, value: Any) -> Any:
    """Report a monitored metric (e.g. validation loss at epoch end) to every
    :class:`PlateauScheduleState` inside ``opt_state`` (a chain's state works as is).

    The rule runs in float64 on the host (a ``jax.pure_callback``), so it makes the
    reference's decisions in every dtype: a Python float is that float, a float32 array
    its float32 value. Under ``jit`` jax turns a Python float argument into float32
    before lrcore sees it; call ``report`` outside jit to keep a float64 metric exact.
    A NaN metric raises (``SpecError`` eagerly, a runtime error under jit)."""
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
            scale=jnp.ones([], dtype), reports=jnp.zeros([], jnp.int32),
            exact=jnp.asarray(_bits(first.best, first.scale)), spec=sched)

    def update_fn(updates: Any, state: PlateauScheduleState, params: Any = None, *,
                  value: Any = None, **extra: Any):
        del params, extra
        if value is not None:
            state = _report_one(state, value)
        lr = sched(state.count) * state.scale
        updates = jax.tree_util.tree_map(lambda g: (-lr).astype(g.dtype) * g, updates)
        count = jnp.minimum(state.count, jnp.iinfo(jnp.int32).max - 1) + 1
        return updates, state._replace(count=count)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


_PYTHON = PythonOps()


def parity_values(name: str, specs: list, steps: list, reports: list) -> list:
    """The ``optax`` and ``optax-x64`` backends for :mod:`lrcore.parity`: each schedule
    ``jax.jit(jax.vmap(schedule))`` over its steps, every spec without reports in one
    jitted call (one compilation, not one per spec)."""
    x64 = name == "optax-x64"
    out: list = [None] * len(specs)
    plain = [i for i, r in enumerate(reports) if r is None]
    with jax.enable_x64(x64):
        itype = np.int64 if x64 else np.int32  # cast here: jax compiles a cast per shape
        schedules = [jax.vmap(to_optax(specs[i])) for i in plain]
        rates = jax.jit(lambda ts: [f(t) for f, t in zip(schedules, ts, strict=True)])
        for i, v in zip(plain, rates([np.asarray(steps[i], dtype=itype) for i in plain]),
                        strict=True):
            out[i] = np.asarray(v, dtype=np.float64)
    for i, r in enumerate(reports):
        if r is not None:
            out[i] = _values(specs[i], steps[i], x64, r)
    return out


def _values(spec: Any, t: np.ndarray, x64: bool, reports: Any) -> np.ndarray:
    """A plateau spec's rates: an optimizer's transformation with ``reports`` reported
    at their steps."""
    with jax.enable_x64(x64):
        tx = scale_by_plateau_schedule(spec)
        one = jnp.ones([], jnp.float64 if x64 else jnp.float32)

        @jax.jit
        def rates(state, counts):
            return jax.vmap(lambda c: -tx.update(one, state._replace(count=c))[0])(counts)

        # reported eagerly, as a loop does once per epoch: a Python float metric keeps its
        # float64 value (a jitted call would make it float32 before lrcore sees it)
        state = tx.init(None)
        parts = []
        for due, seg in segments(t, reports):
            for s, m in due:
                state = report(state._replace(count=jnp.asarray(int(s), jnp.int32)), m)
            if seg.size:
                parts.append(np.asarray(rates(state, jnp.asarray(seg, dtype=jnp.int32)),
                                        dtype=np.float64))
        return np.concatenate(parts) if parts else np.empty(0)
