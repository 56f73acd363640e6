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

import base64
import dataclasses
import importlib.machinery
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from . import backends as registry
from .document import Schedule, as_schedule
from .errors import SpecError
from .evaluate import compile_spec, evaluate, grid
from .fields import _is_real

__all__ = ["ULP_BINS", "BackendResult", "ParityError", "Report", "UlpHistogram", "WorkerError",
           "Workers",
           "available_backends", "backend_names", "check", "check_many", "dtype_of",
           "ulp_distance", "ulp_histogram", "values"]

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

#: The ulp histogram's bins: a point counts in bin ``k`` when the backend's value is at
#: most ``k`` ulps from the reference rounded to the backend's dtype (cumulative).
ULP_BINS = (0, 1, 2, 4)


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
    #: points of the grid within 0, 1, 2 and 4 ulps (:data:`ULP_BINS`, cumulative) of the
    #: reference rounded to ``dtype``; see :func:`ulp_distance`
    ulp_counts: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["ulp_counts"] = list(self.ulp_counts)
        return out


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
    if _runs_in_process(registry.get(backend)):
        return registry.get(backend).values(list(specs), list(steps), reports)
    with Workers([backend], concurrent=False) as pool:
        pool.submit(specs, steps, reports)
        return pool.result(backend)


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


# ---- worker processes -------------------------------------------------------------------

class WorkerError(RuntimeError):
    """A parity worker process died or gave no values."""


def _runs_in_process(b: registry.Backend, isolate: bool = False) -> bool:
    """Whether a backend runs in this process: always without a process environment of
    its own; a Keras backend when this process runs (or, unless ``isolate``, would run)
    Keras on it. ``isolate`` keeps a framework not imported yet, and its log lines, out
    of this process (the command line)."""
    if not b.env or not b.runs_here():
        return not b.env
    return b.module in sys.modules or not isolate


def _encode(values: np.ndarray) -> str:
    """A worker's values for the parent: the float64 bytes (little-endian) in base64,
    exact and about ten times faster to write and read than JSON numbers."""
    return base64.b64encode(np.asarray(values, dtype="<f8").tobytes()).decode("ascii")


def _decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8").astype(np.float64)


class _Worker:
    """One ``python -m lrcore.parity NAME...`` process: it imports its backends' modules
    (so their frameworks) at once, then reads one job on stdin and writes the values of
    every spec on each of its backends as the last line of stdout."""

    def __init__(self, names: list[str], env: dict[str, str], verbose: bool) -> None:
        self.names = names
        self.log = None if verbose else tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "lrcore.parity", *names],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, env=env)
        self.out: bytes | None = None
        self.talk: threading.Thread | None = None

    def submit(self, job: bytes) -> None:
        def talk() -> None:  # a thread: the worker may still be importing its framework
            self.out, _ = self.proc.communicate(job)  # (a dead worker: BrokenPipe ignored)

        self.talk = threading.Thread(target=talk, name=f"lrcore-parity-{self.names[0]}",
                                     daemon=True)
        self.talk.start()

    def result(self) -> dict[str, list]:
        assert self.talk is not None
        self.talk.join()
        code = self.proc.wait()
        try:
            lines = (self.out or b"").decode().strip().splitlines()
            data = json.loads(lines[-1])["values"] if code == 0 and lines else None
        except (ValueError, KeyError, TypeError):
            data = None
        if data is None or sorted(data) != sorted(self.names):
            raise WorkerError(f"the parity worker for {', '.join(self.names)} "
                              f"{'exited with status ' + str(code) if code else 'gave no values'}"
                              f"{self._last_words()}")
        return data

    def _last_words(self) -> str:
        if self.log is None:
            return " (its output is above)"
        self.log.seek(0)
        lines = [ln for ln in self.log.read().decode(errors="replace").splitlines()
                 if ln.strip()]
        return f": {lines[-1].strip()[:300]}" if lines else ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.talk is not None:
            self.talk.join()
        for f in (self.proc.stdin, self.proc.stdout, self.log):
            if f is not None:
                f.close()


class Workers:
    """The worker processes of one parity run, for the backends that cannot run in this
    process (each Keras backend other than this process's: Keras fixes its backend per
    process).

    ``isolate``: a Keras backend this process would run but has not imported runs in a
    worker too (`lrcore parity` keeps TensorFlow out of its own process).
    ``concurrent`` (the default): every worker starts now, importing its framework
    while this process goes on (reading specs, the reference, its own backends), and a
    backend with no environment of its own whose framework is not imported here runs in
    the worker that imports that framework anyway (``torch`` with ``keras-torch``,
    ``optax`` with ``keras-jax``), so each framework is imported once. Otherwise one
    worker per backend, started and waited for in turn. The values are the same either
    way. ``verbose``: the workers' stderr (framework log lines) passes through; else it
    is kept for the error message if a worker fails."""

    def __init__(self, backends: Sequence[str], *, concurrent: bool = True,
                 verbose: bool = False, isolate: bool = False) -> None:
        self.concurrent, self.verbose = concurrent, verbose
        self.job: bytes | None = None
        self.groups: dict[tuple, list[str]] = {}  # env -> backend names
        chosen = [registry.get(b) for b in dict.fromkeys(backends)]
        for b in chosen:
            if not _runs_in_process(b, isolate):
                self.groups.setdefault(b.env if concurrent else (b.name,), []).append(b.name)
        if concurrent:
            needs = {env: {m for n in names for m in registry.get(n).needs}
                     for env, names in self.groups.items()}
            for b in chosen:
                if b.env or not b.needs or b.needs[0] in sys.modules:
                    continue
                env = next((e for e, m in needs.items() if b.needs[0] in m), None)
                if env is not None:
                    self.groups[env].append(b.name)
        self.workers: dict[str, _Worker] = {}
        if concurrent:
            for names in self.groups.values():
                self._start(names)

    def __contains__(self, backend: str) -> bool:
        return any(backend in names for names in self.groups.values())

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _start(self, names: list[str]) -> _Worker:
        env = dict(os.environ)
        for n in names:
            env.update(registry.get(n).env)
        if not self.verbose:
            env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        worker = _Worker(names, env, self.verbose)
        for n in names:
            self.workers[n] = worker
        return worker

    def submit(self, specs: Sequence[Schedule], steps: Sequence[np.ndarray],
               reports: Sequence[Sequence | None]) -> None:
        """Send every worker the specs (one job per run); concurrent workers start
        computing now."""
        if self.job is not None:
            raise RuntimeError("a Workers instance runs one job")
        self.job = json.dumps({"jobs": [
            {"spec": s.to_dict(), "signed": s.signed, "steps": t.tolist(),
             "reports": None if r is None else [[int(a), float(b)] for a, b in r]}
            for s, t, r in zip(specs, steps, reports)]}).encode()
        if self.concurrent:
            for w in dict.fromkeys(self.workers.values()):
                w.submit(self.job)

    def result(self, backend: str) -> list[np.ndarray]:
        """The backend's values (float64 arrays), waiting for its worker."""
        assert self.job is not None, "submit() first"
        worker = self.workers.get(backend)
        if worker is None:  # not concurrent: start it now and wait
            names = next(n for n in self.groups.values() if backend in n)
            worker = self._start(names)
            worker.submit(self.job)
        try:
            data = worker.result()
        finally:
            if not self.concurrent:
                worker.close()
        return [_decode(v) for v in data[backend]]

    def close(self) -> None:
        """Stop every worker still running (after a failure elsewhere)."""
        for w in dict.fromkeys(self.workers.values()):
            w.close()


#: Modules Keras imports when they are installed but never uses to compute a rate
#: (``keras.visualization`` imports matplotlib's pyplot); a worker does without them.
_UNUSED_IN_WORKERS = ("matplotlib",)


class _Unused:
    """In a worker, in place of ``importlib.machinery.PathFinder`` on ``sys.meta_path``:
    the frameworks of the backends it does not run, and ``_UNUSED_IN_WORKERS``, are
    not found (as if not installed: ``import`` raises ModuleNotFoundError,
    ``importlib.util.find_spec`` gives None); everything else is found as usual. Keras
    imports JAX whatever its backend (``keras.callbacks.orbax_checkpoint``, inside
    ``try: import jax``) and pyplot in ``keras.visualization``: 1.2 and 0.6 CPU seconds
    in every Keras worker, for nothing a rate depends on."""

    def __init__(self, modules: Iterable[str]) -> None:
        self.modules = tuple(sorted(set(modules)))

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if any(name == m or name.startswith(m + ".") for m in self.modules):
            return None
        return importlib.machinery.PathFinder.find_spec(name, path, target)

    def __getattr__(self, attr: str) -> Any:  # find_distributions, invalidate_caches
        return getattr(importlib.machinery.PathFinder, attr)


def _unused_modules(chosen: Sequence[registry.Backend]) -> set[str]:
    """What a worker running ``chosen`` does without: every other backend's needs (less
    its own) and ``_UNUSED_IN_WORKERS``."""
    own = {m for b in chosen for m in b.needs}
    others = {m for b in registry.all_backends() for m in b.needs}
    return (others | set(_UNUSED_IN_WORKERS)) - own


def _worker(names: Sequence[str]) -> None:
    """``python -m lrcore.parity NAME...``: import the backends, then compute the job
    read from stdin on each."""
    from .document import SignedCurve

    chosen = [registry.get(n) for n in names]
    unused = _Unused(_unused_modules(chosen))
    sys.meta_path[:] = [unused if f is importlib.machinery.PathFinder else f
                        for f in sys.meta_path]
    for b in chosen:  # the framework's import, before the job comes
        b.load()
    job = json.loads(sys.stdin.read())
    specs = [(SignedCurve if j.get("signed") else Schedule).from_dict(j["spec"])
             for j in job["jobs"]]
    steps = [np.asarray(j["steps"], dtype=np.int64) for j in job["jobs"]]
    reports = [j.get("reports") for j in job["jobs"]]
    out = {}
    for b in chosen:
        if not b.runs_here():
            raise SystemExit(f"worker for {b.name} runs in the wrong environment "
                             f"{dict(b.env)}")
        out[b.name] = [_encode(v) for v in b.values(specs, steps, reports)]
    sys.stdout.write("\n" + json.dumps({"values": out}) + "\n")


# ---- comparing ------------------------------------------------------------------------

def ulp_distance(ref: np.ndarray, got: np.ndarray, dtype: str) -> np.ndarray:
    """Per point, how many ``dtype`` numbers ``got`` lies from ``ref`` rounded to
    ``dtype``: 0 when they are equal after rounding, 1 for the neighbouring number, and so
    on across binades (so it is a whole number, unlike the worst-step ``ulps``, which
    divides the error by the spacing at the value). Infinite where ``got`` is not finite."""
    np_dtype, ints = (np.float32, np.int32) if dtype == "float32" else (np.float64, np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        r, g = np.asarray(ref, np.float64).astype(np_dtype), \
            np.asarray(got, np.float64).astype(np_dtype)

    def ordinal(x: np.ndarray) -> np.ndarray:  # monotone in x; +0 and -0 both 0
        i = x.view(ints).astype(np.int64)
        return np.where(i < 0, -(i & np.iinfo(ints).max), i)

    a, b = ordinal(r), ordinal(g)
    same_sign = (a >= 0) == (b >= 0)  # then a - b cannot overflow int64
    cap = np.int64(2**61)
    dist = np.where(same_sign, np.abs(a - b),
                    np.minimum(np.abs(a), cap) + np.minimum(np.abs(b), cap))
    finite = np.isfinite(np.asarray(got, np.float64)) & np.isfinite(r) & np.isfinite(g)
    return np.where(finite, dist.astype(np.float64), np.inf)


@dataclasses.dataclass(frozen=True)
class UlpHistogram:
    """One backend's ulp histogram over several reports: ``points`` checked and
    ``counts[k]``, the points within ``ULP_BINS[k]`` ulps (:func:`ulp_distance`)."""

    backend: str
    dtype: str
    points: int
    counts: tuple[int, ...]

    @property
    def shares(self) -> dict[int, float]:
        """``{0: share at 0 ulp, 1: share within 1 ulp, 2: ..., 4: ...}``."""
        return {k: (c / self.points if self.points else 1.0)
                for k, c in zip(ULP_BINS, self.counts, strict=True)}

    def to_dict(self) -> dict:
        return {"backend": self.backend, "dtype": self.dtype, "points": self.points,
                "counts": list(self.counts),
                "shares": {str(k): v for k, v in self.shares.items()}}


def ulp_histogram(reports: Iterable[Report]) -> list[UlpHistogram]:
    """Per backend (in first-seen order), the ulp histogram summed over ``reports`` and
    their hyperparameter curves."""
    acc: dict[str, list] = {}
    for rep in reports:
        for one in (rep, *rep.curves):
            for r in one.results:
                dtype, points, counts = acc.setdefault(
                    r.backend, [r.dtype, 0, [0] * len(ULP_BINS)])
                acc[r.backend][1] = points + r.n_steps
                acc[r.backend][2] = [c + k for c, k in
                                     zip(counts, r.ulp_counts or (0,) * len(ULP_BINS))]
    return [UlpHistogram(b, d, n, tuple(c)) for b, (d, n, c) in acc.items()]


def histogram_table(hists: Sequence[UlpHistogram]) -> str:
    """The histogram as text: shares rounded down to 0.1 %, so 100.0 % means every
    point."""
    head = f"{'ulps per point':18} {'points':>9} " + " ".join(
        f"{('0 ulp' if k == 0 else f'<={k} ulp'):>8}" for k in ULP_BINS)
    lines = [head]
    for h in hists:
        cells = " ".join(f"{math.floor(s * 1000) / 10:>7.1f}%" for s in h.shares.values())
        lines.append(f"{h.backend:18} {h.points:>9} {cells}")
    return "\n".join(lines)


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
    dist = ulp_distance(ref, got, dtype)
    return BackendResult(
        backend=backend, dtype=dtype, ok=bool(np.all(err <= tol)), worst_step=int(t[i]),
        reference=float(ref[i]), value=float(got[i]), abs_err=float(err[i]),
        rel_err=float(err[i] / abs(ref[i])) if ref[i] else float(err[i] > 0) * np.inf,
        ulps=float(err[i] / ulp) if np.isfinite(err[i]) else np.inf,
        rtol=rtol, atol=atol, n_steps=int(t.size),
        ulp_counts=tuple(int(np.count_nonzero(dist <= k)) for k in ULP_BINS))


def check_many(specs: Iterable[Any], backends: Sequence[str] | None = None,
               steps: Any = None, rtol: float | None = None, atol: float | None = None, *,
               steps_per_epoch: int | None = None, total_steps: int | str | None = None,
               names: Sequence[str] | None = None,
               reports: Sequence[Sequence | None] | None = None,
               concurrent: bool = True, workers: Workers | None = None,
               progress: Callable[[str], None] | None = None) -> list[Report]:
    """:func:`check` for many specs, running each backend once for all of them;
    ``reports[i]``: the metric sequence for spec ``i`` (see :func:`check`).

    The backends that run in worker processes (see :class:`Workers`) compute while this
    process computes the reference and its own backends; ``concurrent=False`` runs them
    one at a time instead (same reports). ``workers``: processes started earlier for
    these backends (this call sends them their one job; the caller closes them).
    ``progress(backend)`` is called as each backend starts here."""
    originals = [as_schedule(s) for s in specs]
    docs = [s.resolve(steps_per_epoch, total_steps) for s in originals]
    names = list(names) if names is not None else [d.name or d.schedule.type for d in docs]
    if any(d.hyperparams for d in docs):  # every curve is a spec of its own to the backends
        return _with_curves(originals, docs, names, backends, steps, rtol, atol, reports,
                            concurrent=concurrent, workers=workers, progress=progress)
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
    pool = workers if workers is not None else Workers(backends, concurrent=concurrent)
    try:
        if any(b in pool for b in backends):
            pool.submit(docs, grids, reports)  # they compute while this process does
        refs = [evaluate(d, t, reports=r) for d, t, r in zip(docs, grids, reports)]
        got: dict[str, list] = {}
        for b in backends:
            if b not in pool:
                if progress is not None:
                    progress(b)
                got[b] = registry.get(b).values(docs, grids, reports)
        for b in backends:
            if b in pool:
                if progress is not None:
                    progress(b)
                got[b] = pool.result(b)
    finally:
        if workers is None:
            pool.close()
    results: list[list[BackendResult]] = [[] for _ in docs]
    for b in backends:  # in the order asked, wherever each ran
        for i, (t, ref, g) in enumerate(zip(grids, refs, got[b])):
            results[i].append(compare(b, t, ref, g, rtol, atol))
    # the fingerprint of the spec as written (Schedule.fingerprint), not of its resolution
    return [Report(name=n, fingerprint=o.fingerprint(),
                   peak=float(np.max(np.abs(r))) if r.size else 0.0, results=tuple(res))
            for n, o, r, res in zip(names, originals, refs, results, strict=True)]


def _with_curves(originals, docs, names, backends, steps, rtol, atol, reports,
                 **run: Any) -> list[Report]:
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
                      reports=flat_reports, **run)
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
    _worker(sys.argv[1:])
