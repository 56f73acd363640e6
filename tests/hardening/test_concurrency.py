"""Thread and process safety: concurrent use gives the serial results, bit for bit.

Oracles: the same computation run serially in a separate ``spawn`` process (so no cache
of this process is shared with the run under test), and the objects before pickling.
Concurrent runs use eight threads released together by a barrier, on specs built for
this module only (so their formulas are compiled concurrently, not taken from a cache),
with step arrays that differ per thread (some long enough that ``evaluate`` splits them
over its own worker threads).
"""

from __future__ import annotations

import copy
import io
import multiprocessing
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import mp_workers
import numpy as np
import pytest
from hardening_helpers import catalog_documents, count

import lrcore
from lrcore.node import walk

THREADS = 8
JOBS_PER_THREAD = 3


def _variants(tag: float) -> list[lrcore.Schedule]:
    """Catalog specs scaled by a factor unique to the caller (fresh compile-cache keys)."""
    out = []
    for i, doc in enumerate(catalog_documents()):
        root = doc["schedule"] if doc["schedule"]["type"] == "plateau" else doc
        root["schedule"] = {"type": "scale", "by": tag + i * 1e-3,
                            "schedule": root["schedule"]}
        out.append(lrcore.load(doc))
    return out


def _steps(seed: int, long: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = 300_000 if long else 2_000
    t = rng.integers(0, 20_000, n)
    t[:8] = [0, 1, 2, 10**6, 10**7, 2**30, 2**31 - 2, 2**31 - 1]
    return t


def _jobs(kind: str, tag: float, long_every: int = 0) -> list[tuple[str, Any, np.ndarray]]:
    specs = _variants(tag)
    n = THREADS * JOBS_PER_THREAD
    return [(kind, specs[(7 * k) % len(specs)],
             _steps(int(1000 * tag) + k, long=bool(long_every) and k % long_every == 0))
            for k in range(n)]


def _spawn_serial(jobs: list) -> list:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(mp_workers.serial_baseline, (jobs,))


def _run_threads(jobs: list, fn) -> list:
    """Run ``fn(spec, steps)`` for every job on THREADS threads started together; each
    thread takes every THREADS-th job."""
    barrier = threading.Barrier(THREADS)
    results: list = [None] * len(jobs)

    def worker(i: int) -> None:
        barrier.wait()
        for k in range(i, len(jobs), THREADS):
            _, spec, steps = jobs[k]
            results[k] = fn(spec, steps)

    with ThreadPoolExecutor(THREADS) as pool:
        for f in [pool.submit(worker, i) for i in range(THREADS)]:
            f.result()
    return results


def _assert_identical(got: list, expected: list, what: str) -> None:
    count("concurrency", len(got))
    for k, (g, e) in enumerate(zip(got, expected)):
        g, e = np.asarray(g), np.asarray(e)
        assert g.dtype == e.dtype and g.shape == e.shape, (what, k, g.dtype, e.dtype)
        assert np.array_equal(g, e), f"{what}: job {k} differs from the serial run at " \
            f"{int(np.flatnonzero(g != e)[0])}"


def test_evaluate_from_eight_threads_equals_the_serial_run() -> None:
    """``lrcore.evaluate`` on one shared spec object per job from eight threads at once
    (long arrays included, which evaluate itself splits over threads) gives exactly the
    arrays a serial run in a fresh process gives."""
    jobs = _jobs("evaluate", 1.25, long_every=5)
    expected = _spawn_serial(jobs)
    got = _run_threads(jobs, lambda spec, steps: lrcore.evaluate(spec, steps))
    _assert_identical(got, expected, "evaluate")


def test_compile_spec_for_python_ops_from_eight_threads_equals_the_serial_run() -> None:
    """``compile_spec`` with the scalar Python ops (the torch adapter's backend),
    compiled and called from eight threads at once, equals the serial run."""
    from lrcore.ops import PythonOps

    jobs = [(k, s, t[:400]) for k, s, t in _jobs("python", 2.5)]
    expected = _spawn_serial(jobs)

    def run(spec, steps):
        f = lrcore.compile_spec(spec, PythonOps())
        return [f(int(k)) for k in steps]

    _assert_identical(_run_threads(jobs, run), expected, "compile_spec(PythonOps)")


def test_to_optax_from_eight_threads_equals_the_serial_run() -> None:
    """``lrcore.to_optax`` built and run under ``jax.jit(jax.vmap(...))`` from eight
    threads at once, and one shared optax schedule object called from all of them,
    equal the serial run."""
    jax = pytest.importorskip("jax")
    pytest.importorskip("optax")
    import jax.numpy as jnp

    jobs = [(k, s, t[:512]) for k, s, t in _jobs("optax", 3.75)][:THREADS * 2]
    expected = _spawn_serial(jobs)

    def run(spec, steps):
        fn = jax.jit(jax.vmap(lrcore.to_optax(spec)))
        return np.asarray(fn(jnp.asarray(steps, dtype=jnp.int32)))

    _assert_identical(_run_threads(jobs, run), expected, "to_optax")
    shared = lrcore.to_optax(jobs[0][1])
    same = [(k, jobs[0][1], t) for k, _, t in jobs]
    got = _run_threads(same, lambda _, steps: np.asarray(
        jax.jit(jax.vmap(shared))(jnp.asarray(steps, dtype=jnp.int32))))
    _assert_identical(got, _spawn_serial(same), "shared OptaxSchedule")


def test_concurrent_errors_name_their_own_field_path() -> None:
    """Eight threads loading different bad specs at once: each SpecError names the path
    of its own bad field (the path being built is per thread, not global)."""
    def bad(i: int) -> dict:
        phases = [{"type": "constant", "value": 1.0, "duration": 1} for _ in range(i)]
        phases.append({"type": "sequence", "duration": 2, "phases": [
            {"type": "cosine", "start": -float(i + 1), "duration": 3}]})
        return {"lrcore": 1, "schedule": {"type": "sequence", "phases": phases}}

    barrier = threading.Barrier(THREADS)

    def worker(i: int) -> int:
        barrier.wait()
        for _ in range(200):
            with pytest.raises(lrcore.SpecError) as info:
                lrcore.load(bad(i))
            message = str(info.value)
            assert message.startswith(f"schedule.phases[{i}].phases[0].start: must be "), \
                message
            assert message.endswith(f">= 0), got {-float(i + 1)}") or message.endswith(
                f">= 0, got {-float(i + 1)}"), message
        return i

    with ThreadPoolExecutor(THREADS) as pool:
        assert sorted(pool.map(worker, range(THREADS))) == list(range(THREADS))
    count("concurrency", THREADS * 200)


# ---- pickling -------------------------------------------------------------------------------

def _all_nodes() -> list:
    nodes = []
    for doc in catalog_documents():
        spec = lrcore.load(doc)
        nodes += list(walk(spec.schedule))
        nodes += list(walk(spec.resolve().schedule))
    nodes.append(lrcore.plateau(schedule=lrcore.cosine(start=1.0, duration=10), factor=0.5,
                                patience=2, cooldown=1, min_lr=1e-4))
    return nodes


def test_specs_and_every_node_pickle_and_copy() -> None:
    """Every node of every catalog spec (as written and resolved) and every document
    survives pickle (each protocol) and deepcopy: equal, same fingerprint, same rates."""
    nodes = _all_nodes()
    types = {n.type for n in nodes}
    assert len(types) >= 15, types
    for node in nodes:
        for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
            again = pickle.loads(pickle.dumps(node, protocol=proto))
            assert again == node and type(again) is type(node)
        assert copy.deepcopy(node) == node
    for doc in catalog_documents():
        spec = lrcore.load(doc)
        again = pickle.loads(pickle.dumps(spec))
        assert again == spec and again.fingerprint() == spec.fingerprint()
        t = np.arange(0, 3000, 7)
        assert np.array_equal(lrcore.evaluate(again, t), lrcore.evaluate(spec, t))
    count("pickle", len(nodes))


def test_spec_error_pickles_with_its_parts() -> None:
    """SpecError keeps its message, path, rule and value through pickle and deepcopy."""
    with pytest.raises(lrcore.SpecError) as info:
        lrcore.load({"lrcore": 1, "schedule": {"type": "step", "start": 1.0, "factor": 0.5,
                                               "every": -3}})
    err = info.value
    for again in (pickle.loads(pickle.dumps(err)), copy.deepcopy(err)):
        assert type(again) is lrcore.SpecError
        assert str(again) == str(err) == \
            'schedule.every: must be a positive integer, "Nep" or "N%", got -3'
        assert (again.path, again.rule, again.value) == (err.path, err.rule, err.value)


def test_spawn_pool_evaluates_specs_and_returns_spec_errors() -> None:
    """A ``spawn`` pool of two workers evaluates pickled specs to exactly the in-process
    rates, and a bad spec's SpecError reaches the parent with its path and rule."""
    specs = _variants(5.0)
    steps = [_steps(k) for k in range(len(specs))]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        got = pool.starmap(mp_workers.evaluate_job, list(zip(specs, steps)))
        with pytest.raises(lrcore.SpecError, match=r"^schedule\.phases\[1\]\.duration: "
                           r"must be a number of steps > 0") as info:
            pool.apply(mp_workers.load_job, ({"lrcore": 1, "schedule": {
                "type": "sequence", "phases": [
                    {"type": "constant", "value": 1.0, "duration": 2},
                    {"type": "constant", "value": 1.0, "duration": 0}]}},))
        fingerprints = pool.map(mp_workers.load_job, [s.to_dict() for s in specs])
    assert info.value.path == "schedule.phases[1].duration"
    assert fingerprints == [s.fingerprint() for s in specs]
    _assert_identical(got, [lrcore.evaluate(s, t) for s, t in zip(specs, steps)], "spawn")


PLATEAU = {"lrcore": 1, "schedule": {
    "type": "plateau", "factor": 0.5, "patience": 1, "cooldown": 1, "threshold": 0.01,
    "min_lr": 1e-5, "schedule": {"type": "sequence", "phases": [
        {"type": "linear", "start": 1e-4, "end": 1e-2, "duration": 5},
        {"type": "cosine", "start": 1e-2, "end": 1e-4, "duration": 40}]}}}
METRICS = [3.0, 2.0, 2.0, 2.0, 2.5, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_torch_scheduler_pickles_and_its_state_dict_loads_weights_only() -> None:
    """The torch scheduler object (with its optimizer and plateau state) pickles; the copy
    and the original, stepped and fed the same metrics, give identical rates. Its
    state_dict goes through ``torch.save`` / ``torch.load(weights_only=True)``."""
    torch = pytest.importorskip("torch")
    w = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.SGD([w], lr=0.0)
    sched = lrcore.to_torch(PLATEAU, opt)
    for k in range(4):
        opt.step()
        sched.step()
        sched.report(METRICS[k])
    twin = pickle.loads(pickle.dumps(sched))
    buf = io.BytesIO()
    torch.save(sched.state_dict(), buf)
    buf.seek(0)
    opt3 = torch.optim.SGD([torch.nn.Parameter(torch.zeros(3))], lr=0.0)
    third = lrcore.to_torch(PLATEAU, opt3)
    third.load_state_dict(torch.load(buf, weights_only=True))
    assert twin.plateau == third.plateau == sched.plateau and sched.plateau["scale"] < 1
    for k in range(4, 30):
        lrs = []
        for s in (sched, twin, third):
            s.optimizer.step()
            s.step()
            if k < len(METRICS):
                s.report(METRICS[k])
            lrs.append(s.optimizer.param_groups[0]["lr"])
        assert lrs[0] == lrs[1] == lrs[2], (k, lrs)


def test_optax_schedule_and_plateau_state_pickle() -> None:
    """The optax schedule object pickles to a callable giving the same rates; an optax
    chain's state holding the plateau state pickles and continues identically."""
    pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    from lrcore.adapters.optax import report, scale_by_plateau_schedule

    sched = lrcore.to_optax(catalog_documents()[0])
    again = pickle.loads(pickle.dumps(sched))
    t = jnp.arange(0, 5000, 3, dtype=jnp.int32)
    assert np.array_equal(np.asarray(again(t)), np.asarray(sched(t)))

    tx = optax.chain(optax.scale_by_adam(), scale_by_plateau_schedule(PLATEAU))
    params = jnp.zeros(3)
    state = tx.init(params)
    grads = jnp.ones(3)
    for k in range(4):
        _, state = tx.update(grads, state, params)
        state = report(state, METRICS[k])
    twin = pickle.loads(pickle.dumps(state))
    for k in range(4, 30):
        ua, state = tx.update(grads, state, params)
        ub, twin = tx.update(grads, twin, params)
        if k < len(METRICS):
            state, twin = report(state, METRICS[k]), report(twin, METRICS[k])
        assert np.array_equal(np.asarray(ua), np.asarray(ub)), k
    assert float(state[1].scale) < 1.0
