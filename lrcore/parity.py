"""Parity: does every backend draw the reference curve?

For a spec S, backend b passes at step t when

    |lr_b(t) - ref(t)| <= rtol_b * |ref(t)| + atol_b * peak(S)

with ``ref`` the float64 numpy reference and ``peak(S)`` the largest rate on the grid.
Defaults (DESIGN.md): float32 backends rtol 2e-6 (about 16 ulp), atol 1e-9; float64
backends rtol 1e-12, atol 1e-15. The grid (:func:`lrcore.grid`) is every step to the
horizon, the neighbourhood of every breakpoint and a few far steps (10**6, 10**7,
2**31 - 1).

Backends: ``reference``, ``python`` (scalar floats, what the torch adapter runs),
``torch``, ``keras-tensorflow``, ``keras-jax``, ``keras-torch``, ``optax``,
``optax-x64``. Keras fixes its backend per process, so Keras backends other than this
process's run in one subprocess each (``python -m lrcore.parity``), all specs at once.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .document import Schedule, as_schedule
from .errors import SpecError
from .evaluate import compile_spec, evaluate, grid

__all__ = ["BACKENDS", "BackendResult", "ParityError", "Report", "available_backends",
           "check", "check_many", "values"]

BACKENDS = ("reference", "python", "torch", "keras-tensorflow", "keras-jax", "keras-torch",
            "optax", "optax-x64")
FLOAT64 = {"reference", "python", "torch", "optax-x64"}
DEFAULT_TOL = {"float32": (2e-6, 1e-9), "float64": (1e-12, 1e-15)}
_NEEDS = {"torch": ("torch",), "keras-tensorflow": ("keras", "tensorflow"),
          "keras-jax": ("keras", "jax"), "keras-torch": ("keras", "torch"),
          "optax": ("jax", "optax"), "optax-x64": ("jax", "optax")}


class ParityError(AssertionError):
    """A backend drew a different curve than the reference."""


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available_backends() -> list[str]:
    """The backends whose frameworks are installed here."""
    return [b for b in BACKENDS if all(_installed(m) for m in _NEEDS.get(b, ()))]


def dtype_of(backend: str) -> str:
    return "float64" if backend in FLOAT64 else "float32"


@dataclasses.dataclass(frozen=True)
class BackendResult:
    """One backend's verdict on one spec; ``worst_step`` is where the error came
    closest to (or went furthest past) the tolerance."""

    backend: str
    dtype: str
    ok: bool
    worst_step: int
    reference: float
    value: float
    abs_err: float
    rel_err: float
    ulps: float
    rtol: float
    atol: float
    n_steps: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Report:
    """Parity of one spec on several backends."""

    name: str
    fingerprint: str
    peak: float
    results: tuple[BackendResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[BackendResult]:
        return [r for r in self.results if not r.ok]

    def table(self) -> str:
        head = f"{'backend':18} {'worst step':>11} {'reference':>15} {'value':>15} " \
               f"{'ulps':>8}  verdict"
        lines = [f"{self.name} ({self.fingerprint}, peak {self.peak:.6g})", head]
        for r in self.results:
            lines.append(f"{r.backend:18} {r.worst_step:>11} {r.reference:>15.9g} "
                         f"{r.value:>15.9g} {r.ulps:>8.1f}  {'ok' if r.ok else 'FAIL'}")
        return "\n".join(lines)

    def raise_for_failure(self) -> None:
        if not self.ok:
            bad = ", ".join(f"{r.backend} at step {r.worst_step}: {r.value!r} vs reference "
                            f"{r.reference!r} ({r.ulps:.1f} ulp, rtol {r.rtol:g})"
                            for r in self.failures)
            raise ParityError(f"{self.name}: parity failed on {bad}\n{self.table()}")

    def to_dict(self) -> dict:
        return {"name": self.name, "fingerprint": self.fingerprint, "peak": self.peak,
                "ok": self.ok, "results": [r.to_dict() for r in self.results]}


# ---- evaluating a backend ---------------------------------------------------------------

def values(backend: str, specs: Sequence[Schedule], steps: Sequence[np.ndarray]) -> list:
    """Each spec's rates at its steps on ``backend``, as float64 arrays (exact copies of
    the backend's own values)."""
    if backend == "reference":
        return [evaluate(s, t) for s, t in zip(specs, steps)]
    if backend == "python":
        from .ops import PythonOps

        py = PythonOps()
        return [np.array([compile_spec(s, py)(int(k)) for k in t], dtype=np.float64)
                for s, t in zip(specs, steps)]
    if backend == "torch":
        return [_torch_values(s, t) for s, t in zip(specs, steps)]
    if backend in ("optax", "optax-x64"):
        return [_optax_values(s, t, backend == "optax-x64") for s, t in zip(specs, steps)]
    if backend.startswith("keras-"):
        wanted = backend[len("keras-"):]
        if _current_keras_backend() == wanted:
            return [_keras_values(s, t) for s, t in zip(specs, steps)]
        return _subprocess_values(backend, specs, steps)
    raise SpecError("backends", "must be among " + ", ".join(BACKENDS), backend)


def _current_keras_backend() -> str | None:
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def _torch_values(spec: Schedule, t: np.ndarray) -> np.ndarray:
    """Drive a real optimizer and scheduler: the lr torch puts in the param group."""
    import torch

    from .adapters.torch import to_torch

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.0)
    sched = to_torch(spec, opt)
    opt.step()  # the documented order: optimizer.step() before scheduler.step()
    out = np.empty(t.shape, dtype=np.float64)
    for i, k in enumerate(t.tolist()):
        if k != sched.last_epoch + 1:
            sched.last_epoch = k - 1  # jump ahead: torch's own counter, then one step()
        sched.step()
        out[i] = opt.param_groups[0]["lr"]
    return out


def _optax_values(spec: Schedule, t: np.ndarray, x64: bool) -> np.ndarray:
    import jax
    import jax.numpy as jnp

    from .adapters.optax import to_optax

    with jax.enable_x64(x64):
        f = jax.jit(jax.vmap(to_optax(spec)))
        steps = jnp.asarray(t, dtype=jnp.int64 if x64 else jnp.int32)
        return np.asarray(f(steps), dtype=np.float64)


def _keras_values(spec: Schedule, t: np.ndarray) -> np.ndarray:
    import keras

    from .adapters.keras import _int_dtype, to_keras

    sched = to_keras(spec)
    steps = keras.ops.convert_to_tensor(t, dtype=_int_dtype())
    return np.asarray(keras.ops.convert_to_numpy(sched(steps)), dtype=np.float64)


def _subprocess_values(backend: str, specs, steps) -> list:
    job = {"backend": backend, "jobs": [{"spec": s.to_dict(), "steps": t.tolist()}
                                        for s, t in zip(specs, steps)]}
    env = dict(os.environ, KERAS_BACKEND=backend[len("keras-"):], TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-m", "lrcore.parity"], input=json.dumps(job),
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} worker failed:\n{proc.stderr[-4000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return [np.asarray(v, dtype=np.float64) for v in data["values"]]


def _worker() -> None:
    job = json.loads(sys.stdin.read())
    backend = job["backend"]
    specs = [Schedule.from_dict(j["spec"]) for j in job["jobs"]]
    steps = [np.asarray(j["steps"], dtype=np.int64) for j in job["jobs"]]
    import keras

    if keras.backend.backend() != backend[len("keras-"):]:
        raise SystemExit(f"worker got keras backend {keras.backend.backend()}")
    vals = [_keras_values(s, t).tolist() for s, t in zip(specs, steps)]
    sys.stdout.write("\n" + json.dumps({"values": vals}) + "\n")


# ---- comparing ------------------------------------------------------------------------

def compare(backend: str, t: np.ndarray, ref: np.ndarray, got: np.ndarray,
            rtol: float | None = None, atol: float | None = None) -> BackendResult:
    dtype = dtype_of(backend)
    d_rtol, d_atol = DEFAULT_TOL[dtype]
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    peak = float(np.max(np.abs(ref))) if ref.size else 0.0
    err = np.abs(got - ref)
    err = np.where(np.isnan(got), np.inf, err)
    tol = rtol * np.abs(ref) + atol * peak
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(tol > 0, err / tol, np.where(err > 0, np.inf, 0.0))
    i = int(np.argmax(ratio)) if ratio.size else 0
    np_dtype = np.float64 if dtype == "float64" else np.float32
    scale = max(abs(float(ref[i])), abs(float(got[i])) if np.isfinite(got[i]) else 0.0)
    ulp = float(np.spacing(np_dtype(scale))) if scale else float(np.spacing(np_dtype(0)))
    return BackendResult(
        backend=backend, dtype=dtype, ok=bool(np.all(err <= tol)), worst_step=int(t[i]),
        reference=float(ref[i]), value=float(got[i]), abs_err=float(err[i]),
        rel_err=float(err[i] / abs(ref[i])) if ref[i] else float(err[i] > 0) * np.inf,
        ulps=float(err[i] / ulp) if np.isfinite(err[i]) else np.inf,
        rtol=rtol, atol=atol, n_steps=int(t.size))


def check_many(specs: Iterable[Any], backends: Sequence[str] | None = None,
               steps: Any = None, rtol: float | None = None, atol: float | None = None, *,
               steps_per_epoch: int | None = None, total_steps: int | str | None = None,
               names: Sequence[str] | None = None) -> list[Report]:
    """:func:`check` for many specs, running each backend once for all of them."""
    docs = [as_schedule(s).resolve(steps_per_epoch, total_steps) for s in specs]
    names = list(names) if names is not None else [d.name or d.schedule.type for d in docs]
    backends = list(backends) if backends is not None else available_backends()
    for b in backends:
        if b not in BACKENDS:
            raise SpecError("backends", "must be among " + ", ".join(BACKENDS), b)
    if steps is None:
        grids = [grid(d) for d in docs]
    elif isinstance(steps, int):
        grids = [grid(d, steps) for d in docs]
    else:
        from .evaluate import _steps

        t = np.unique(_steps(steps).reshape(-1))
        grids = [t for _ in docs]
    refs = [evaluate(d, t) for d, t in zip(docs, grids)]
    results: list[list[BackendResult]] = [[] for _ in docs]
    for b in backends:
        got = values(b, docs, grids)
        for i, (t, ref, g) in enumerate(zip(grids, refs, got)):
            results[i].append(compare(b, t, ref, g, rtol, atol))
    return [Report(name=n, fingerprint=d.fingerprint(),
                   peak=float(np.max(np.abs(r))) if r.size else 0.0, results=tuple(res))
            for n, d, r, res in zip(names, docs, refs, results)]


def check(spec: Any, backends: Sequence[str] | None = None, steps: Any = None,
          rtol: float | None = None, atol: float | None = None, *,
          steps_per_epoch: int | None = None, total_steps: int | str | None = None) -> Report:
    """Check ``spec`` on ``backends`` (default: every installed one) over ``steps``
    (default: the parity grid; an int: the grid with that horizon; an array: exactly
    those steps). ``rtol``/``atol`` override the dtype defaults for every backend."""
    return check_many([spec], backends, steps, rtol, atol, steps_per_epoch=steps_per_epoch,
                      total_steps=total_steps)[0]


if __name__ == "__main__":
    _worker()
