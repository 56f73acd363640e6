"""Functions run in ``spawn`` worker processes by the thread- and process-safety tests.

Kept apart from the test modules so a worker imports lrcore and numpy only (spawn
starts a fresh interpreter that imports the module of every function it runs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import lrcore


def evaluate_job(spec: Any, steps: np.ndarray, reports: Any = None) -> np.ndarray:
    """The float64 reference, computed in this process."""
    return lrcore.evaluate(spec, steps, reports=reports)


def python_job(spec: Any, steps: np.ndarray) -> list[float]:
    """The scalar Python backend (what the torch adapter runs), one step at a time."""
    from lrcore.ops import PythonOps

    f = lrcore.compile_spec(spec, PythonOps())
    return [f(int(k)) for k in steps]


def optax_job(spec: Any, steps: np.ndarray) -> np.ndarray:
    """The optax schedule under ``jax.jit(jax.vmap(...))`` in float32."""
    import jax
    import jax.numpy as jnp

    fn = jax.jit(jax.vmap(lrcore.to_optax(spec)))
    return np.asarray(fn(jnp.asarray(steps, dtype=jnp.int32)))


def serial_baseline(jobs: list[tuple[str, Any, np.ndarray]]) -> list:
    """Every job one after the other: the serial run the concurrent ones must equal."""
    run = {"evaluate": evaluate_job, "python": python_job, "optax": optax_job}
    return [run[kind](spec, steps) for kind, spec, steps in jobs]


def load_job(doc: Any) -> str:
    """Load ``doc``; a SpecError propagates to the parent through the pool."""
    return lrcore.load(doc).fingerprint()
