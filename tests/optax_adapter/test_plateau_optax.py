"""Reduce-on-plateau through the optax adapter (``scale_by_plateau_schedule``).

* oracle test: with a constant inner schedule and eps 0, lrcore's plateau and optax's
  own ``optax.contrib.reduce_on_plateau`` (an independent implementation) give the same
  scale after every update. Their rules line up once optax's ``patience`` is lrcore's
  plus one (optax cuts when ``plateau_count == patience``, torch/lrcore when the count
  of bad reports exceeds ``patience``); optax knows only mode min, ``rtol`` is the
  relative threshold and ``atol`` (with ``rtol=0``) the absolute one;
* adapter tests: the rate of every update (read off the updates, ``-lr * 1``) against
  the float64 reference ``lrcore.evaluate(spec, steps, reports=...)``, float32 at rtol
  2e-6 and x64 at rtol 1e-12, for both ways of reporting (``report(opt_state, m)`` into
  a chain, ``update(..., value=m)``), eagerly and under ``jax.jit``; resume from saved
  state leaves in the middle of a patience window; NaN and other errors;
* the example ``examples/plateau_optax.py`` in a subprocess.
"""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
optax = pytest.importorskip("optax")
from optax.contrib import reduce_on_plateau  # noqa: E402
from rates import F32, F64, assert_rates, check_plateau_example, warm_cos_spec  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402
from lrcore.adapters.optax import (  # noqa: E402
    PlateauScheduleState,
    report,
    scale_by_plateau_schedule,
)


def _metrics(n: int = 30) -> list[float]:
    """A noisy, stalling loss. Each value is a float32 (what a float32 model reports)
    and none lies within 1e-4 (relative) of a threshold boundary, so float32 and
    float64 arithmetic take the same decisions (asserted in ``_float32_safe``)."""
    rng = np.random.default_rng(1)
    m = 0.3 + 0.2 * np.exp(-np.arange(n) / 3.0) + 0.004 * rng.standard_normal(n)
    return [float(np.float32(v)) for v in m]


def _float32_safe(metrics, threshold: float) -> None:
    best = np.inf
    for m in metrics:
        edge = best * (1.0 - threshold)
        if np.isfinite(edge):
            assert abs(m - edge) > 1e-4 * abs(edge), (m, edge)
        best = min(best, m) if m < edge else best


# ---- against optax.contrib.reduce_on_plateau -------------------------------------------

CONTRIB_SETS = {
    "rel": (dict(factor=0.5, patience=1, threshold=0.02),
            dict(factor=0.5, patience=2, rtol=0.02, atol=0.0)),
    "abs-cooldown": (dict(factor=0.3, patience=0, threshold=0.01, threshold_mode="abs",
                          cooldown=2),
                     dict(factor=0.3, patience=1, rtol=0.0, atol=0.01, cooldown=2)),
    "min_scale": (dict(factor=0.25, patience=2, threshold=1e-3, cooldown=1, min_scale=0.01),
                  dict(factor=0.25, patience=3, rtol=1e-3, atol=0.0, cooldown=1,
                       min_scale=0.01)),
}


def _contrib_metrics() -> dict[str, list[float]]:
    rng = np.random.default_rng(5)
    return {"constant": [0.7] * 30,
            "noisy": (0.5 + 0.05 * rng.standard_normal(30)).tolist(),
            "improving-then-flat": [1.0 / (k + 1) for k in range(10)] + [0.1] * 20}


def _scan_scales(tx, metrics, dtype, params=None):
    """Feed ``value=m`` to ``tx`` on every update (one jit-compiled scan): the update of a
    gradient of ones after each report."""
    def body(state, m):
        u, state = tx.update(jnp.ones(1, dtype), state, value=m)
        return state, u[0]

    run = jax.jit(lambda ms: jax.lax.scan(body, tx.init(params), ms)[1])
    return np.asarray(run(jnp.asarray(metrics, dtype)), dtype=np.float64)


@pytest.mark.parametrize("name", sorted(CONTRIB_SETS))
def test_same_scale_as_optax_contrib_reduce_on_plateau(name):
    """x64: optax's reduce_on_plateau (fed ``value=m`` on every update, float64 params)
    and lrcore's reference with a report before every update agree on the scale of
    every update at rtol 1e-12; each set cuts somewhere."""
    ours, theirs = CONTRIB_SETS[name]
    base = 0.2
    spec = lrcore.plateau(schedule=lrcore.constant(value=base), eps=0.0, **ours)
    cuts = 0
    with jax.enable_x64(True):
        for metrics in _contrib_metrics().values():
            scales = _scan_scales(reduce_on_plateau(**theirs), metrics, jnp.float64,
                                  jnp.zeros(1, jnp.float64))
            reports = [(k, m) for k, m in enumerate(metrics)]
            got = lrcore.evaluate(spec, np.arange(len(metrics)), reports=reports) / base
            assert_rates(got, scales, **F64)
            cuts += int(np.sum(scales[1:] < scales[:-1]))
    assert cuts > 0


def test_adapter_equals_optax_contrib_in_float32():
    """The same in float32: our adapter's update(value=m) and optax's take the same
    decisions (the same float32 threshold arithmetic) and scale alike (rtol 2e-6)."""
    base = 0.2
    for ours, theirs in CONTRIB_SETS.values():
        spec = lrcore.plateau(schedule=lrcore.constant(value=base), eps=0.0, **ours)
        metrics = _contrib_metrics()["noisy"]
        got = -_scan_scales(scale_by_plateau_schedule(spec), metrics, jnp.float32)
        want = _scan_scales(reduce_on_plateau(**theirs), metrics, jnp.float32,
                            jnp.zeros(1, jnp.float32)) * base
        assert_rates(got, want, **F32)
        assert want[-1] < base


# ---- against the reference ----------------------------------------------------------------

def _chain(spec):
    return optax.chain(optax.identity(), scale_by_plateau_schedule(spec))


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "x64"])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_report_into_a_chain_follows_the_reference(x64, jit):
    """Gradients of ones through ``chain(identity, scale_by_plateau_schedule)``: each
    update is ``-lr``; a report after every 4 updates (``report(opt_state, m)``); the
    rates are ``evaluate(spec, k, reports)`` at the dtype's tolerance, and cut."""
    spec = warm_cos_spec()
    metrics = _metrics()
    _float32_safe(metrics, 0.01)
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        tx = _chain(spec)
        grads = {"w": jnp.ones(3, dtype)}
        update = jax.jit(tx.update) if jit else tx.update
        rep = jax.jit(report) if jit else report
        state = tx.init(grads)
        rates, reports = [], []
        for m in metrics:
            for _ in range(4):
                upd, state = update(grads, state)
                assert upd["w"].dtype == dtype
                rates.append(-float(upd["w"][0]))
            state = rep(state, m)
            reports.append((int(state[1].count), m))
        assert int(state[1].reports) == len(metrics)
    steps = np.arange(len(rates))
    ref = lrcore.evaluate(spec, steps, reports=reports)
    assert_rates(rates, ref, **(F64 if x64 else F32))
    assert np.any(ref < 0.6 * lrcore.evaluate(spec, steps))


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "x64"])
def test_update_with_value_reports_before_the_update(x64):
    """``update(g, state, value=m)`` (optax.contrib's way, under jit): the report is
    made at the current count, so update k + 1 uses ``evaluate(spec, k, reports)``."""
    spec = warm_cos_spec(patience=1, cooldown=0)
    metrics = _metrics(40)
    _float32_safe(metrics, 0.01)
    with jax.enable_x64(x64):
        tx = scale_by_plateau_schedule(spec)
        g = jnp.ones([], jnp.float64 if x64 else jnp.float32)
        update = jax.jit(lambda g, s, v: tx.update(g, s, value=v))
        state = tx.init(None)
        rates = []
        for m in metrics:
            u, state = update(g, state, m)
            rates.append(-float(u))
    reports = [(k, m) for k, m in enumerate(metrics)]
    ref = lrcore.evaluate(spec, np.arange(len(metrics)), reports=reports)
    assert_rates(rates, ref, **(F64 if x64 else F32))
    assert np.any(ref < 0.6 * lrcore.evaluate(spec, np.arange(len(metrics))))


# ---- resume ---------------------------------------------------------------------------------

def _problem():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((96, 4)).astype(np.float32)
    y = (np.sin(x.sum(axis=1, keepdims=True)) + 0.4 * rng.standard_normal((96, 1))
         ).astype(np.float32)
    return x[:64], y[:64], x[64:], y[64:]


def _loss(params, x, y):
    return jnp.mean((jnp.tanh(x @ params["w1"]) @ params["w2"] - y) ** 2)


def _init_params():
    k1, k2 = jax.random.split(jax.random.PRNGKey(4))
    return {"w1": jax.random.normal(k1, (4, 8)) * 0.5, "w2": jax.random.normal(k2, (8, 1))}


def _make_steps(tx):
    @jax.jit
    def train(params, state, xb, yb):
        grads = jax.grad(_loss)(params, xb, yb)
        updates, state = tx.update(grads, state, params)
        p = state[1]
        return optax.apply_updates(params, updates), state, p.spec(p.count - 1) * p.scale

    return train, jax.jit(report), jax.jit(_loss)


def _epochs(tx, params, state, epochs: range, log: dict):
    x, y, xv, yv = _problem()
    train, rep, val = _make_steps(tx)
    for _ in epochs:
        for b in range(4):
            params, state, rate = train(params, state, x[16 * b:16 * (b + 1)],
                                        y[16 * b:16 * (b + 1)])
            log["rates"].append(float(rate))
        m = float(val(params, xv, yv))
        state = rep(state, m)
        log["reports"].append((int(state[1].count), m))
        log["states"].append({k: float(getattr(state[1], k))
                              for k in ("best", "bad", "cool", "scale", "reports")})
    return params, state


def _save_numpy(tree) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, *[np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(tree)])
    return buf.getvalue()


def _load_numpy(data: bytes, like):
    with np.load(io.BytesIO(data)) as npz:
        leaves = [jnp.asarray(npz[f"arr_{i}"]) for i in range(len(npz.files))]
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), leaves)


def _save_pickle(tree) -> bytes:
    return pickle.dumps([np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(tree)])


def _load_pickle(data: bytes, like):
    leaves = [jnp.asarray(a) for a in pickle.loads(data)]
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), leaves)


@pytest.mark.parametrize("fmt", ["numpy", "pickle"])
def test_resume_mid_patience_window(fmt):
    """Save params and opt_state leaves in the middle of a patience window (numpy
    ``savez`` or pickle of the leaves; no flax here), rebuild the optimizer, unflatten
    the leaves into a fresh state's structure and continue: the same rates, reports
    and plateau state as the uninterrupted run, bit for bit."""
    save, load = {"numpy": (_save_numpy, _load_numpy),
                  "pickle": (_save_pickle, _load_pickle)}[fmt]
    spec = warm_cos_spec(patience=3, cooldown=2, threshold=0.02)
    epochs = 24
    tx = optax.chain(optax.trace(decay=0.9), scale_by_plateau_schedule(spec))
    full = {"rates": [], "reports": [], "states": []}
    params = _init_params()
    _epochs(tx, params, tx.init(params), range(epochs), full)
    # break inside the patience window that ends in the first cut: the cut itself
    # happens after the restore, decided by the restored counters
    first_cut = next(e for e, s in enumerate(full["states"]) if s["scale"] < 1.0)
    cut = max(e for e, s in enumerate(full["states"][:first_cut]) if 0 < s["bad"] <= 3)

    part = {"rates": [], "reports": [], "states": []}
    params = _init_params()
    params, state = _epochs(tx, params, tx.init(params), range(cut + 1), part)
    blob_params, blob_state = save(params), save(state)
    del params, state

    tx = optax.chain(optax.trace(decay=0.9), scale_by_plateau_schedule(spec))  # a new process
    fresh = _init_params()
    params = load(blob_params, fresh)
    state = load(blob_state, tx.init(fresh))
    assert isinstance(state[1], PlateauScheduleState)
    assert {k: float(getattr(state[1], k)) for k in full["states"][cut]} == full["states"][cut]
    _epochs(tx, params, state, range(cut + 1, epochs), part)

    assert part == full
    ref = lrcore.evaluate(spec, np.arange(len(full["rates"])), reports=full["reports"])
    assert_rates(full["rates"], ref, **F32)
    assert min(s["scale"] for s in full["states"]) < 1.0


# ---- errors ---------------------------------------------------------------------------------

def test_needs_a_plateau_spec():
    with pytest.raises(SpecError, match="schedule.type: scale_by_plateau_schedule needs a "
                                        "spec whose outermost node is plateau, got \"cosine\""):
        scale_by_plateau_schedule(lrcore.cosine(start=0.1, end=0.0, duration=10))


def test_nan_metric_eagerly_is_a_spec_error():
    tx = _chain(warm_cos_spec())
    state = tx.init(None)
    with pytest.raises(SpecError, match="metric: must not be NaN"):
        report(state, float("nan"))
    with pytest.raises(SpecError, match="metric: must not be NaN"):
        report(state, jnp.float32(jnp.nan))
    with pytest.raises(SpecError, match="metric: must not be NaN"):
        tx.update(jnp.ones(2), state, value=float("nan"))


@pytest.mark.parametrize("how", ["report", "update"])
def test_nan_metric_under_jit_is_a_runtime_error(how):
    """Under jit the metric is a tracer: the NaN surfaces when the step runs, as jax's
    runtime error carrying lrcore's message (never a state poisoned with NaN)."""
    tx = _chain(warm_cos_spec())
    state = tx.init(None)
    if how == "report":
        fn = jax.jit(report)
        call = lambda: fn(state, jnp.float32(jnp.nan))
    else:
        fn = jax.jit(lambda s, v: tx.update(jnp.ones(2), s, value=v))
        call = lambda: fn(state, jnp.float32(jnp.nan))
    with pytest.raises(jax.errors.JaxRuntimeError, match="metric: must not be NaN"):
        jax.block_until_ready(call())


def test_report_needs_a_metric_number():
    state = _chain(warm_cos_spec()).init(None)
    for bad in ("low", "0.3", True):  # a string is not parsed, a bool is not a number
        with pytest.raises(SpecError, match="^metric: must be a number, got "):
            report(state, bad)


# ---- the example -----------------------------------------------------------------------------

def test_example_cuts_and_matches_the_reference():
    """``python examples/plateau_optax.py --epochs 14``: at least one cut, and every rate
    it printed is (float32 tolerance) ``evaluate(spec, step, reports=<its metrics>)``."""
    check_plateau_example("plateau_optax.py", 14, **F32)
