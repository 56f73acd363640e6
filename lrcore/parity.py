"""Parity: does every backend draw the reference curve?

For a spec S, backend b passes at step t when

    |lr_b(t) - ref(t)| <= rtol_b * |ref(t)| + atol_b * peak(S)

with ``ref`` the float64 numpy reference and ``peak(S)`` the largest rate on the grid.
Defaults (:data:`DEFAULT_TOL`): float32 backends rtol 1e-6 (about 8 ulp), atol 1e-9; float64
backends rtol 1e-12, atol 1e-15. The grid (:func:`lrcore.grid`) is every step to the
horizon, the neighbourhood of every breakpoint and a few far steps (10**6, 10**7,
2**31 - 1).

Backends are found through :mod:`lrcore.backends`: each declares its name, dtype and
how to obtain its values. Those that need another process environment (the Keras
backends fix their backend per process) run in one worker process each
(``python -m lrcore.parity``), all specs at once.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import backends as registry
from .document import Schedule, as_schedule
from .errors import SpecError
from .evaluate import compile_spec, evaluate, grid
from .fields import _is_real

__all__ = ["BackendResult", "ParityError", "Report", "available_backends", "backend_names",
           "check", "check_many", "dtype_of", "values"]

#: Read by lrcore.backends without importing this module: the two backends in core.
LRCORE_BACKEND = {
    "backends": {"reference": {"dtype": "float64", "needs": []},
                 "python": {"dtype": "float64", "needs": []}},
    "values": "core_values",
    "order": 0,
}

#: The default tolerances, (rtol, atol) by dtype: the one definition (tests read it too).
#: float32: 1e-6 (about 8 ulp; the catalog and random trees measure at most 6.1 ulp,
#: 0.44 of it, on optax, keras-jax and mlx; keras-tensorflow and keras-torch round the
#: float64 reference once, 0.5 ulp).
DEFAULT_TOL = {"float32": (1e-6, 1e-9), "float64": (1e-12, 1e-15)}


class ParityError(AssertionError):
    """A backend drew a different curve than the reference."""


def backend_names() -> tuple[str, ...]:
    """Every known backend, installed or not, in table order."""
    return registry.names()


def available_backends() -> list[str]:
    """The backends whose frameworks are installed here."""
    return registry.available()


def dtype_of(backend: str) -> str:
    return registry.get(backend).dtype


def __getattr__(name: str) -> Any:
    if name == "BACKENDS":  # the name this tuple had before the registry
        return registry.names()
    raise AttributeError(f"module 'lrcore.parity' has no attribute {name!r}")


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
    """Parity of one spec on several backends. A spec with ``hyperparams`` has one more
    report per hyperparameter curve in ``curves`` (named ``spec:name``), checked on the
    same backends at the same tolerances; ``ok`` covers them all."""

    name: str
    fingerprint: str
    peak: float
    results: tuple[BackendResult, ...]
    curves: tuple[Report, ...] = ()

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and all(c.ok for c in self.curves)

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
        return "\n".join(lines + [c.table() for c in self.curves])

    def raise_for_failure(self) -> None:
        if not self.ok:
            bad = ", ".join(("" if rep is self else f"{rep.name} ")
                            + f"{r.backend} at step {r.worst_step}: {r.value!r} vs "
                            f"reference {r.reference!r} ({r.ulps:.1f} ulp, rtol {r.rtol:g})"
                            for rep in (self, *self.curves) for r in rep.failures)
            raise ParityError(f"{self.name}: parity failed on {bad}\n{self.table()}")

    def to_dict(self) -> dict:
        out = {"name": self.name, "fingerprint": self.fingerprint, "peak": self.peak,
               "ok": self.ok, "results": [r.to_dict() for r in self.results]}
        if self.curves:
            out["curves"] = [c.to_dict() for c in self.curves]
        return out


# ---- evaluating a backend ---------------------------------------------------------------

def values(backend: str, specs: Sequence[Schedule], steps: Sequence[np.ndarray],
           reports: Sequence[Sequence | None] | None = None) -> list:
    """Each spec's rates at its steps on ``backend``, as float64 arrays (exact copies of
    the backend's own values). ``reports[i]`` is the ``(step, metric)`` sequence reported
    to spec ``i`` (a plateau spec), or None."""
    reports = list(reports) if reports is not None else [None] * len(specs)
    b = registry.get(backend)
    if b.runs_here():
        return b.values(list(specs), list(steps), reports)
    return _subprocess_values(b, specs, steps, reports)


def core_values(name: str, specs: Sequence[Schedule], steps: Sequence[np.ndarray],
                reports: Sequence) -> list:
    """The core backends: ``reference`` (numpy) and ``python`` (scalar floats)."""
    if name == "reference":
        return [evaluate(s, t, reports=r) for s, t, r in zip(specs, steps, reports)]
    return [_python_values(s, t, r) for s, t, r in zip(specs, steps, reports)]


def _python_values(spec: Schedule, t: np.ndarray, reports) -> np.ndarray:
    from .evaluate import plateau_scales
    from .ops import PythonOps

    f = compile_spec(spec, PythonOps())
    out = np.array([f(int(k)) for k in t], dtype=np.float64)
    if reports is not None:
        at, scales = plateau_scales(spec, lambda k: np.array([f(int(k[0]))]), reports)
        idx = np.searchsorted(at, t, side="right") - 1
        out = out * np.where(idx >= 0, scales[np.maximum(idx, 0)] if at.size else 1.0, 1.0)
    return out


def _subprocess_values(b: registry.Backend, specs, steps, reports) -> list:
    job = {"backend": b.name, "jobs": [{"spec": s.to_dict(), "signed": s.signed,
                                        "steps": t.tolist(),
                                        "reports": None if r is None else
                                        [[int(a), float(b)] for a, b in r]}
                                       for s, t, r in zip(specs, steps, reports)]}
    env = dict(os.environ, **dict(b.env), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-m", "lrcore.parity"], input=json.dumps(job),
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{b.name} worker failed:\n{proc.stderr[-4000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return [np.asarray(v, dtype=np.float64) for v in data["values"]]


def _worker() -> None:
    job = json.loads(sys.stdin.read())
    from .document import SignedCurve

    b = registry.get(job["backend"])
    specs = [(SignedCurve if j.get("signed") else Schedule).from_dict(j["spec"])
             for j in job["jobs"]]
    steps = [np.asarray(j["steps"], dtype=np.int64) for j in job["jobs"]]
    reports = [j.get("reports") for j in job["jobs"]]
    if not b.runs_here():
        raise SystemExit(f"worker for {b.name} runs in the wrong environment {dict(b.env)}")
    vals = [v.tolist() for v in b.values(specs, steps, reports)]
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
               names: Sequence[str] | None = None,
               reports: Sequence[Sequence | None] | None = None) -> list[Report]:
    """:func:`check` for many specs, running each backend once for all of them;
    ``reports[i]``: the metric sequence for spec ``i`` (see :func:`check`)."""
    originals = [as_schedule(s) for s in specs]
    docs = [s.resolve(steps_per_epoch, total_steps) for s in originals]
    names = list(names) if names is not None else [d.name or d.schedule.type for d in docs]
    if any(d.hyperparams for d in docs):  # every curve is a spec of its own to the backends
        return _with_curves(originals, docs, names, backends, steps, rtol, atol, reports)
    backends = list(backends) if backends is not None else available_backends()
    for b in backends:
        registry.get(b)  # a SpecError naming the known backends
    for field, value in (("rtol", rtol), ("atol", atol)):
        if value is not None and not (_is_real(value) and 0 <= value <= 1):
            raise SpecError(field, "must be a number in [0, 1] (None: the dtype's default)",
                            value)
    if steps is None:
        grids = [grid(d) for d in docs]
    elif isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):  # a horizon
        grids = [grid(d, steps) for d in docs]
    else:
        from .evaluate import _steps

        t = np.unique(_steps(steps).reshape(-1))
        grids = [t for _ in docs]
    reports = list(reports) if reports is not None else [None] * len(docs)
    if len(reports) != len(docs):
        raise SpecError("reports", f"must have one entry per spec ({len(docs)})", len(reports))
    for i, r in enumerate(reports):
        if r is not None:  # report steps belong on the grid, with their neighbours
            near = [k for s, _ in r for k in (int(s) - 1, int(s), int(s) + 1) if k >= 0]
            grids[i] = np.unique(np.concatenate([grids[i], np.asarray(near, np.int64)]))
    refs = [evaluate(d, t, reports=r) for d, t, r in zip(docs, grids, reports)]
    results: list[list[BackendResult]] = [[] for _ in docs]
    for b in backends:
        got = values(b, docs, grids, reports)
        for i, (t, ref, g) in enumerate(zip(grids, refs, got)):
            results[i].append(compare(b, t, ref, g, rtol, atol))
    # the fingerprint of the spec as written (Schedule.fingerprint), not of its resolution
    return [Report(name=n, fingerprint=o.fingerprint(),
                   peak=float(np.max(np.abs(r))) if r.size else 0.0, results=tuple(res))
            for n, o, r, res in zip(names, originals, refs, results, strict=True)]


def _with_curves(originals, docs, names, backends, steps, rtol, atol, reports) -> list[Report]:
    """:func:`check_many` over every curve of every spec (the learning rate and each
    hyperparameter, with reports for the rate only); the hyperparameter reports go under
    their spec's ``curves``."""
    reports = list(reports) if reports is not None else [None] * len(docs)
    owner, flat, flat_names, flat_reports = [], [], [], []
    for i, d in enumerate(docs):
        for c in d.curves():
            owner.append((i, c))
            flat.append(d.curve(c))  # resolved: context overrides already applied
            flat_names.append(names[i] if c is None else f"{names[i]}:{c}")
            flat_reports.append(reports[i] if c is None else None)
    done = check_many(flat, backends, steps, rtol, atol, names=flat_names,
                      reports=flat_reports)
    out: list[Report] = []
    for (i, c), rep in zip(owner, done):
        if c is None:
            out.append(dataclasses.replace(rep, fingerprint=originals[i].fingerprint()))
        else:
            out[-1] = dataclasses.replace(out[-1], curves=out[-1].curves + (rep,))
    return out


def check(spec: Any, backends: Sequence[str] | None = None, steps: Any = None,
          rtol: float | None = None, atol: float | None = None, *,
          steps_per_epoch: int | None = None, total_steps: int | str | None = None,
          reports: Sequence | None = None) -> Report:
    """Check ``spec`` on ``backends`` (default: every installed one) over ``steps``
    (default: the parity grid; an int: the grid with that horizon; an array: exactly
    those steps). ``rtol``/``atol`` override the dtype defaults for every backend.

    For a plateau spec, ``reports`` is the sequence of ``(step, metric)`` pairs reported
    (in order): every backend is fed the same metrics at the same steps and must give
    the same rate at every step."""
    return check_many([spec], backends, steps, rtol, atol, steps_per_epoch=steps_per_epoch,
                      total_steps=total_steps,
                      reports=None if reports is None else [reports])[0]


if __name__ == "__main__":
    _worker()
