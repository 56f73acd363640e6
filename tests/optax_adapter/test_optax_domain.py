"""The optax adapter never returns a rate the spec cannot produce, and its plateau makes the
float64 reference's decisions in every dtype.

* steps outside ``[0, 2**31 - 1]``: an eager call raises ``SpecError``; under ``jit`` the
  count saturates (below 0: the rate at 0; above: the rate at 2**31 - 1), clamped in its
  own integer dtype (uint32, int64) before any cast;
* plateau: the rule's comparisons run in float64 whatever the computing dtype (the issue's
  float32 tie: ``(0, 1.0)`` then ``(0, 0.99989999)`` with the default rel threshold must
  not cut), a Python float is that float, a float32 array that float32 value;
* the plateau state's metadata compares by value: a restored (pickled) state and one from
  a second ``scale_by_plateau_schedule(spec)`` mix with the live one in ``jax.tree.map``
  and ``lax.cond``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
optax = pytest.importorskip("optax")
from rates import F32, F64, assert_rates  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402
from lrcore.adapters.optax import report, scale_by_plateau_schedule  # noqa: E402

MAX = 2**31 - 1
# a cyclic wave between 0.1 and 1 (the issue's case gave 4.0 at a wrapped count) and a
# warmup (the issue's gave -5e-4 at count -5)
CYCLIC = lrcore.cyclic(low=0.1, high=1.0, up=7, down=5)
WARMUP = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1e-3, duration=100),
                                 lrcore.constant(value=1e-3)])


@pytest.mark.parametrize("spec", [CYCLIC, WARMUP], ids=["cyclic", "warmup"])
@pytest.mark.parametrize("count,dtype,clamped", [
    (-5, jnp.int32, 0),
    (-(2**31), jnp.int32, 0),
    (3_000_000_000, jnp.uint32, MAX),
    (2**32 - 1, jnp.uint32, MAX),
    (2**31, jnp.uint32, MAX),
    (MAX, jnp.uint32, MAX),
    (123, jnp.uint8, 123),
    (-3, jnp.int8, 0),
])
def test_jitted_counts_outside_the_domain_saturate(spec, count, dtype, clamped):
    f = jax.jit(lrcore.to_optax(spec))
    got = float(f(jnp.asarray(np.asarray(count).astype(np.dtype(dtype)))))
    # saturation: exactly the value at the clamped step, which is the reference's there
    assert got == float(f(jnp.asarray(clamped, jnp.int32)))
    assert_rates([got], lrcore.evaluate(spec, [clamped]), **F32)
    low, high = (0.1, 1.0) if spec is CYCLIC else (0.0, 1e-3)
    assert low <= got <= np.float32(high)


def test_jitted_int64_counts_saturate_under_x64():
    with jax.enable_x64(True):
        f = jax.jit(lrcore.to_optax(CYCLIC))
        for count, clamped in [(2**40, MAX), (2**31, MAX), (-(2**40), 0), (2**63 - 1, MAX)]:
            got = float(f(jnp.asarray(count, dtype=jnp.int64)))
            assert got == float(f(jnp.asarray(clamped, dtype=jnp.int64))), count
            assert_rates([got], lrcore.evaluate(CYCLIC, [clamped]), **F64)


def test_jitted_vmapped_counts_saturate_elementwise():
    counts = jnp.asarray([-7, 0, 5, MAX, 2**31 + 5, 2**32 - 1], dtype=jnp.int64) \
        if jax.config.jax_enable_x64 else jnp.asarray([0, 5, 2**31 + 5, 2**32 - 1],
                                                       dtype=jnp.uint32)
    f = jax.jit(jax.vmap(lrcore.to_optax(CYCLIC)))
    clamped = np.clip(np.asarray(counts, dtype=np.int64), 0, MAX)
    got = np.asarray(f(counts), dtype=np.float64)
    np.testing.assert_array_equal(got, np.asarray(f(jnp.asarray(clamped, jnp.int32))))
    assert_rates(got, lrcore.evaluate(CYCLIC, clamped), **F32)


@pytest.mark.parametrize("count,shown", [
    (-5, "-5"),
    (np.uint32(3_000_000_000), "3000000000"),
    (np.array([0, 4, 2**31], dtype=np.uint32), "2147483648"),
    (np.array([3, -1], dtype=np.int32), "-1"),
])
def test_eager_counts_outside_the_domain_are_spec_errors(count, shown):
    sched = lrcore.to_optax(WARMUP)
    with pytest.raises(SpecError, match=rf"^count: must be in \[0, 2\*\*31 - 1\] \(optimizer "
                                        rf"updates already applied\), got {shown}$"):
        sched(count)


def test_eager_int64_count_past_the_domain_is_a_spec_error_under_x64():
    with jax.enable_x64(True):
        with pytest.raises(SpecError, match=r"^count: must be in \[0, 2\*\*31 - 1\] .*got "
                                            r"1099511627776$"):
            lrcore.to_optax(WARMUP)(jnp.asarray(2**40, dtype=jnp.int64))


def test_eager_counts_inside_the_domain_still_work():
    sched = lrcore.to_optax(WARMUP)
    assert float(sched(0)) == 0.0
    assert float(sched(np.uint32(MAX))) == float(np.float32(1e-3))
    assert float(sched(50)) == float(np.float32(5e-4))


# ---- plateau decisions ------------------------------------------------------------------

TIE = lrcore.plateau(schedule=lrcore.constant(value=1e-3), factor=0.5, patience=0)


def _rate(state) -> float:
    return float(state.spec(state.count) * state.scale)


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "x64"])
def test_the_issue_tie_makes_the_reference_decision(x64):
    # written out: best 1.0, then 0.99989999 < 1.0 * (1 - 1e-4) = 0.9999 in float64: an
    # improvement, so no cut (float32 arithmetic rounds 0.9999 down to 0.99989998 and cut)
    assert 0.99989999 < 1.0 * (1.0 - 1e-4)
    with jax.enable_x64(x64):
        tx = scale_by_plateau_schedule(TIE)
        state = tx.init(None)
        for metric in (1.0, 0.99989999):
            state = report(state, metric)
        assert float(state.scale) == 1.0
        assert _rate(state) == float(np.asarray(1e-3, dtype=np.float64 if x64 else np.float32))
        assert float(lrcore.evaluate(TIE, [0], reports=[(0, 1.0), (0, 0.99989999)])[0]) \
            == 1e-3


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "x64"])
def test_the_issue_tie_under_jit_with_float32_metrics(x64):
    """A float32 metric is its float32 value, the reference's included: 0.99989999 as
    float32 is 0.9998999834..., still below 0.9999: no cut, everywhere."""
    m = [np.float32(1.0), np.float32(0.99989999)]
    with jax.enable_x64(x64):
        tx = scale_by_plateau_schedule(TIE)
        step = jax.jit(report)
        state = tx.init(None)
        for metric in m:
            state = step(state, jnp.asarray(metric))
        assert float(state.scale) == 1.0
    assert lrcore.evaluate(TIE, [0], reports=[(0, v) for v in m]).tolist() == [1e-3]


def _near_ties(n: int, seed: int) -> list[float]:
    """Metrics that land within a few float64 ulp of the rel threshold edge."""
    rng = np.random.default_rng(seed)
    out, best = [], np.inf
    for _ in range(n):
        if not np.isfinite(best) or rng.random() < 0.2:
            m = float(rng.uniform(0.5, 2.0))
        else:
            edge = best * (1.0 - 1e-4)
            m = float(edge + rng.integers(-3, 4) * np.spacing(edge))
        out.append(m)
        best = min(best, m) if m < best * (1.0 - 1e-4) else best
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("x64", [False, True], ids=["float32", "x64"])
def test_python_float_metrics_near_the_edge_cut_as_the_reference(seed, x64):
    spec = lrcore.plateau(schedule=lrcore.cosine(start=1.0, end=0.1, duration=200),
                          factor=0.5, patience=1, min_lr=0.05)
    metrics = _near_ties(40, seed)
    with jax.enable_x64(x64):
        tx = scale_by_plateau_schedule(spec)
        state = tx.init(None)
        scales = []
        for k, m in enumerate(metrics):
            state = report(state._replace(count=jnp.asarray(3 * k, jnp.int32)), m)
            scales.append(np.asarray(state.exact).view(np.float64)[1])
    reports = []
    for k, m in enumerate(metrics):
        reports.append((3 * k, m))
        ref = lrcore.evaluate(spec, [3 * k], reports=reports)[0]
        inner = lrcore.evaluate(spec, [3 * k])[0]
        assert ref == inner * scales[k], (k, m)
    assert min(scales) < 1.0  # the sequence did cut somewhere


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "x64"])
def test_float32_metrics_under_jit_cut_as_the_reference(x64):
    spec = lrcore.plateau(schedule=lrcore.constant(value=0.5), factor=0.5, patience=0)
    metrics = [np.float32(m) for m in _near_ties(40, 7)]

    with jax.enable_x64(x64):
        tx = scale_by_plateau_schedule(spec)

        @jax.jit
        def run(ms):
            def body(state, m):
                _, state = tx.update(jnp.ones([]), state, value=m)
                return state, state.exact
            return jax.lax.scan(body, tx.init(None), ms)[1]

        exact = np.asarray(run(jnp.asarray(metrics, dtype=jnp.float32)))
    scales = exact.view(np.float64)[:, 1]
    # update k reports at count k (before moving on): the reference's report k at step k
    ref = lrcore.evaluate(spec, np.arange(len(metrics)),
                          reports=[(k, m) for k, m in enumerate(metrics)])
    np.testing.assert_array_equal(scales * 0.5, ref)
    assert scales.min() < 1.0


def test_a_nan_metric_under_jit_is_an_error_and_eagerly_a_spec_error():
    tx = scale_by_plateau_schedule(TIE)
    state = tx.init(None)
    with pytest.raises(SpecError, match=r"^metric: must not be NaN"):
        report(state, float("nan"))
    with pytest.raises(Exception, match="must not be NaN"):
        jax.block_until_ready(jax.jit(report)(state, jnp.asarray(np.nan, jnp.float32)))


@pytest.mark.parametrize("metric", [10**400, "0.3", True])
def test_bad_eager_metrics_are_spec_errors(metric):
    state = scale_by_plateau_schedule(TIE).init(None)
    with pytest.raises(SpecError, match=r"^metric: must be a number"):
        report(state, metric)


# ---- state metadata compares by value ------------------------------------------------

def test_restored_and_rebuilt_states_mix_with_the_live_one():
    live = report(scale_by_plateau_schedule(TIE).init(None), 1.0)
    restored = pickle.loads(pickle.dumps(live))
    rebuilt = scale_by_plateau_schedule(lrcore.load(lrcore.dumps(TIE))).init(None)
    for other in (restored, rebuilt):
        mixed = jax.tree.map(lambda a, b: b, live, other)
        assert int(mixed.reports) == int(other.reports)
        chosen = jax.lax.cond(jnp.asarray(True), lambda: live, lambda: other)
        assert int(chosen.reports) == 1
        assert jax.tree.structure(live) == jax.tree.structure(other)


def test_states_of_different_specs_still_do_not_mix():
    a = scale_by_plateau_schedule(TIE).init(None)
    b = scale_by_plateau_schedule(lrcore.plateau(schedule=lrcore.constant(value=2e-3))).init(
        None)
    with pytest.raises(ValueError):
        jax.tree.map(lambda x, y: x, a, b)
