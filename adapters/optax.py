"""optax adapter: a pure ``jax.numpy`` function of the step count.

Works under ``jax.jit`` and ``jax.vmap``, as ``optax.adam(learning_rate=...)`` and inside
``optax.inject_hyperparams``. Computes in float32, or float64 when ``jax_enable_x64``
is on (checked at each call, so the flag may change after compiling).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lrcore.document import as_schedule
from lrcore.errors import SpecError
from lrcore.evaluate import compile_spec
from lrcore.ops import Ops

__all__ = ["JaxOps", "OptaxSchedule", "to_optax"]


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


def to_optax(spec: Any, *, steps_per_epoch: int | None = None,
             total_steps: int | str | None = None) -> OptaxSchedule:
    """Compile ``spec`` into an optax schedule (``count -> jax.Array``).

    >>> import lrcore, optax  # doctest: +SKIP
    >>> opt = optax.adam(learning_rate=lrcore.to_optax(spec))  # doctest: +SKIP
    """
    return OptaxSchedule(spec, steps_per_epoch, total_steps)


del math
