"""The MLX adapter against independent oracles: MLX's own schedulers, a real ``mlx.nn``
model trained by ``mlx.optimizers`` (eagerly and in a compiled train step), and the
float64 reference at the float32 parity tolerance.

* the rate an optimizer used at each update (``optimizer.learning_rate``, what
  ``apply_single`` reads) is ``lrcore.evaluate(spec, t)`` for updates ``t + 1``;
* MLX's ``cosine_decay``, ``linear_schedule``, ``step_decay``, ``exponential_decay`` and
  ``join_schedules`` draw the curves of the equivalent specs;
* steps outside ``[0, 2**31 - 1]``: a ``SpecError`` eagerly, saturation under
  ``mx.compile`` (clamped in the step's own dtype: uint64 2**40 is the last step, not a
  wrapped one);
* the registry's literal reads without importing MLX.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")
nn = pytest.importorskip("mlx.nn")
optim = pytest.importorskip("mlx.optimizers")
from mlx_helpers import train_step  # noqa: E402
from rates import F32, assert_rates  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore import SpecError, parity  # noqa: E402
from lrcore.adapters import mlx as adapter  # noqa: E402
from lrcore.adapters.mlx import to_mlx  # noqa: E402 - the same function as lrcore.to_mlx

MAX = 2**31 - 1
ROOT = Path(__file__).resolve().parents[2]
WARM_COS = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1e-2, duration=40),
                                   lrcore.cosine(start=1e-2, end=1e-4, duration=260)])
CYCLIC = lrcore.cyclic(low=0.1, high=1.0, up=7, down=5)


def _train(opt, steps: int, *, compiled: bool = False, seed: int = 0) -> tuple:
    """Train a tiny Linear regression ``steps`` updates; returns the rate each update
    used (``optimizer.learning_rate`` after it: the value ``apply_single`` read) and
    the final weights."""
    mx.random.seed(seed)
    model = nn.Linear(4, 1)
    x = mx.random.normal((32, 4))
    y = x @ mx.array([[1.0], [-2.0], [0.5], [3.0]]) + 0.25

    step = train_step(model, opt, compiled=compiled)
    used = []
    for _ in range(steps):
        step(x, y)
        mx.eval(model.parameters(), opt.state)
        used.append(opt.learning_rate.item())
    return np.asarray(used), np.array(model.weight)


# ---- a real model, a real optimizer ---------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda s: optim.SGD(learning_rate=s),
    lambda s: optim.SGD(learning_rate=s, momentum=0.9, nesterov=True),
    lambda s: optim.Adam(learning_rate=s),
    lambda s: optim.AdamW(learning_rate=s, weight_decay=0.05),
], ids=["sgd", "sgd-nesterov", "adam", "adamw"])
def test_training_uses_the_reference_rate_at_every_update(make):
    used, weights = _train(make(to_mlx(WARM_COS)), 300)
    t = np.arange(300)
    assert parity.compare("mlx", t, lrcore.evaluate(WARM_COS, t), used).ok
    assert np.all(np.isfinite(weights))


def test_a_compiled_train_step_uses_the_same_rates():
    eager, w_eager = _train(optim.AdamW(learning_rate=to_mlx(WARM_COS)), 300)
    compiled, w_compiled = _train(optim.AdamW(learning_rate=to_mlx(WARM_COS)), 300,
                                  compiled=True)
    t = np.arange(300)
    assert_rates(compiled, lrcore.evaluate(WARM_COS, t), **F32)
    np.testing.assert_array_equal(compiled, eager)  # the same float32 values
    np.testing.assert_allclose(w_compiled, w_eager, rtol=1e-5, atol=1e-6)


def test_values_are_float32_and_the_first_rate_is_set_at_construction():
    opt = optim.SGD(learning_rate=to_mlx(WARM_COS))
    assert opt.learning_rate.dtype == mx.float32
    assert opt.learning_rate.item() == 0.0  # lr(0) of a warmup from 0
    assert to_mlx(WARM_COS)(mx.array([0, 20, 40], mx.uint64)).dtype == mx.float32


# ---- MLX's own schedulers as oracles ----------------------------------------------------------

# MLX computes its curves in float32 with its own formulas (cosine_decay as
# end + (1 + cos(pi s / D)) / 2 (init - end): 1 + cos cancels near the end, an absolute
# error of about one float32 ulp of the peak); the oracle's own error is the tolerance.
ORACLE = {"rtol": 4e-6, "atol": 2.0**-23}


@pytest.mark.parametrize("mlx_schedule,spec,horizon", [
    (optim.cosine_decay(1e-3, 1000), lrcore.cosine(start=1e-3, end=0.0, duration=1000), 1200),
    (optim.cosine_decay(0.1, 500, 0.01), lrcore.cosine(start=0.1, end=0.01, duration=500),
     700),
    (optim.linear_schedule(0.0, 0.1, 100), lrcore.linear(start=0.0, end=0.1, duration=100),
     150),
    (optim.step_decay(0.1, 0.5, 30), lrcore.step(start=0.1, factor=0.5, every=30), 400),
    (optim.exponential_decay(0.1, 0.99), lrcore.exponential(start=0.1, rate=0.99), 600),
    (optim.join_schedules([optim.linear_schedule(0.0, 1e-3, 100),
                           optim.cosine_decay(1e-3, 900, 1e-5)], [100]),
     lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1e-3, duration=100),
                             lrcore.cosine(start=1e-3, end=1e-5, duration=900)]), 1100),
], ids=["cosine", "cosine-end", "linear", "step", "exponential", "join"])
def test_mlx_schedulers_draw_the_reference_curve(mlx_schedule, spec, horizon):
    t = np.arange(horizon)
    ref = lrcore.evaluate(spec, t)
    oracle = np.array([mlx_schedule(mx.array(k, mx.uint64)).item() for k in t])
    assert_rates(oracle, ref, **ORACLE)  # lrcore's semantics are MLX's
    ours = np.array(to_mlx(spec)(mx.array(t.astype(np.uint64))), dtype=np.float64)
    assert_rates(ours, ref, **F32)  # and lrcore's float32 values are the reference's


# ---- the step domain ---------------------------------------------------------------------

def _mx(value: int, dtype) -> mx.array:
    """An ``mx.array`` of ``dtype`` holding ``value`` (through numpy: MLX cannot take a
    Python int past int64)."""
    return mx.array(np.asarray(value).astype(np.dtype(str(dtype).split(".")[-1])))


STEP_MESSAGE = ("step: must be in [0, 2**31 - 1] (optimizer updates already applied), "
                "got {}")


@pytest.mark.parametrize("step,shown", [
    (-1, -1), (MAX + 1, MAX + 1), (2**64, 2**64),
    (np.int64(-3), -3), (np.uint64(2**40), 2**40),
])
def test_concrete_steps_outside_the_domain_raise(step, shown):
    f = to_mlx(CYCLIC)
    with pytest.raises(SpecError) as err:
        f(step)
    if isinstance(step, int):
        assert str(err.value) == STEP_MESSAGE.format(shown)
    else:
        assert str(err.value) == f"step: must be in [0, 2**31 - 1], got {shown}"


@pytest.mark.parametrize("value,dtype", [(2**40, mx.uint64), (MAX + 1, mx.uint64),
                                         (2**63, mx.uint64), (-5, mx.int32),
                                         (3_000_000_000, mx.uint32), (-(2**40), mx.int64)])
def test_evaluated_mx_steps_outside_the_domain_raise(value, dtype):
    with pytest.raises(SpecError) as err:
        to_mlx(CYCLIC)(_mx(value, dtype))
    assert str(err.value) == STEP_MESSAGE.format(value)


def test_an_optimizer_past_the_last_step_raises_before_updating():
    opt = optim.SGD(learning_rate=to_mlx(CYCLIC))
    model = nn.Linear(2, 1)
    opt.init(model.trainable_parameters())
    opt.state["step"] = mx.array(MAX + 1, mx.uint64)
    grads = {"weight": mx.ones((1, 2)), "bias": mx.ones((1,))}
    with pytest.raises(SpecError) as err:
        opt.update(model, grads)
    assert str(err.value) == STEP_MESSAGE.format(MAX + 1)


@pytest.mark.parametrize("value,dtype,clamped", [
    (2**40, mx.uint64, MAX), (2**64 - 1, mx.uint64, MAX), (MAX + 1, mx.uint64, MAX),
    (MAX, mx.uint64, MAX), (3_000_000_000, mx.uint32, MAX), (-5, mx.int32, 0),
    (-(2**31), mx.int32, 0), (2**40, mx.int64, MAX), (-(2**40), mx.int64, 0),
    (-3, mx.int8, 0), (200, mx.uint8, 200), (17, mx.uint64, 17),
])
def test_traced_steps_saturate_in_their_own_dtype(value, dtype, clamped):
    f = mx.compile(to_mlx(CYCLIC))
    step = _mx(value, dtype)
    got = f(step).item()
    assert got == to_mlx(CYCLIC)(clamped).item()  # exactly the value at the end
    assert_rates([got], lrcore.evaluate(CYCLIC, [clamped]), **F32)


def test_traced_step_arrays_saturate_elementwise():
    f = mx.compile(to_mlx(CYCLIC))
    steps = np.asarray([0, 5, MAX, 2**31 + 5, 2**40, 2**64 - 1], dtype=np.uint64)
    got = np.array(f(mx.array(steps)), dtype=np.float64)
    clamped = np.minimum(steps, MAX).astype(np.int64)
    assert_rates(got, lrcore.evaluate(CYCLIC, clamped), **F32)


@pytest.mark.parametrize("step,dtype", [(mx.array(3.0), "float32"),
                                        (mx.array(True), "bool")])
def test_a_step_that_is_not_an_integer_is_refused(step, dtype):
    with pytest.raises(SpecError) as err:
        to_mlx(CYCLIC)(step)
    assert str(err.value) == f'step: must be an integer step count, got "mlx.core.{dtype}"'
    with pytest.raises(SpecError):  # at trace time too: the dtype is known there
        mx.compile(to_mlx(CYCLIC))(step)


def test_host_steps_follow_evaluate():
    f = to_mlx(WARM_COS)
    got = np.array(f(np.asarray([0, 3.0, 41])), dtype=np.float64)
    assert_rates(got, lrcore.evaluate(WARM_COS, [0, 3, 41]), **F32)
    with pytest.raises(SpecError) as err:
        f(2.5)
    assert str(err.value) == ("step: must be integers (optimizer updates already applied), "
                              "got 2.5")


# ---- construction ----------------------------------------------------------------------------

def test_the_compiled_formula_is_built_once_per_spec():
    assert to_mlx(WARM_COS)._fn is to_mlx(WARM_COS)._fn
    assert to_mlx(WARM_COS)._fn is not to_mlx(CYCLIC)._fn


def test_a_plateau_spec_needs_the_optimizer():
    spec = lrcore.plateau(schedule=lrcore.constant(value=0.1))
    with pytest.raises(SpecError) as err:
        to_mlx(spec)
    assert str(err.value) == (
        "schedule.type: a plateau spec keeps its state in the optimizer state; build the "
        "optimizer with lrcore.to_mlx_optimizer(spec, mlx.optimizers.AdamW, ...), got "
        '"plateau"')


def test_context_arguments_resolve_epochs_and_shares():
    spec = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=0.1, duration="1ep"),
                                   lrcore.cosine(start=0.1, end=0.0, duration="90%")])
    f = to_mlx(spec, steps_per_epoch=10, total_steps=100)
    t = np.arange(101)
    ref = lrcore.evaluate(spec, t, steps_per_epoch=10, total_steps=100)
    assert_rates(np.array(f(mx.array(t.astype(np.uint64))), dtype=np.float64), ref, **F32)


def test_the_registry_reads_the_declaration_without_importing_mlx():
    """``LRCORE_BACKEND`` is a literal the registry reads from the source; every name it
    exports is the adapter's (that listing imports no framework: tests/core)."""
    from lrcore import backends

    b = backends.get("mlx")
    assert (b.dtype, b.needs, b.env) == ("float32", ("mlx.core",), ())
    assert b.module == "lrcore.adapters.mlx"
    assert backends.exports()["to_mlx"] == backends.exports()["to_mlx_optimizer"] == b.module
    for export in ("to_mlx", "to_mlx_optimizer", b.values_function):
        assert callable(getattr(adapter, export))


def test_a_long_written_out_table_is_searched_not_compared_whole():
    """A repeated piecewise_constant of 9,000 rates (a written-out curve) draws its rates,
    rounded once to float32, at every step of two periods and at steps that end each
    rate, through the binary search MLX runs over a table this long (instead of
    comparing each step with all 9,000 entries)."""
    n = 9000
    rates = [float(v) for v in np.random.default_rng(n).uniform(0.1, 1.0, n)]
    spec = lrcore.repeat(schedule=lrcore.piecewise_constant(
        values=rates, boundaries=list(range(1, n))), period=n)
    t = np.concatenate([np.arange(2 * n), [2**31 - 1, 2**31 - 2, 123_456_789]])
    got = np.array(adapter.to_mlx(spec)(mx.array(t.astype(np.int32))))
    np.testing.assert_array_equal(got, np.float32(np.asarray(rates)[t % n]))
