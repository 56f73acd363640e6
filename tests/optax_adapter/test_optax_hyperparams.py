"""Hyperparameter curves in optax: ``to_optax_optimizer(spec, optax.adamw)`` puts every
scheduled value in ``opt_state.hyperparams``, and the values an update applied are the
float64 reference's at that update's step (float32 tolerance), in a real jitted loop."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
optax = pytest.importorskip("optax")
from rates import F32, assert_rates, onecycle_recipe  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402

N = 80
RECIPE = onecycle_recipe(N)


def _loop(tx, steps, state=None, params=None):
    """A real jitted loop on a tiny regression; after update u the state's hyperparams
    are the values that update applied (optax's inject_hyperparams)."""
    x = jnp.linspace(-1.0, 1.0, 16).reshape(8, 2)
    y = x @ jnp.asarray([0.5, -0.25])
    params = params if params is not None else {"w": jnp.zeros(2)}
    state = state if state is not None else tx.init(params)

    @jax.jit
    def step(params, state):
        grads = jax.grad(lambda p: jnp.mean((x @ p["w"] - y) ** 2))(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    seen = []
    for _ in range(steps):
        params, state = step(params, state)
        seen.append({k: float(v) for k, v in state.hyperparams.items()})
    return seen, state, params


def test_adamw_applies_every_curve():
    seen, _, _ = _loop(lrcore.to_optax_optimizer(RECIPE, optax.adamw), N)
    t = np.arange(N)  # update u + 1 applied the values at step u
    assert_rates([s["learning_rate"] for s in seen], lrcore.evaluate(RECIPE, t), **F32)
    assert_rates([s["b1"] for s in seen], lrcore.evaluate(RECIPE, t, hyperparam="momentum"),
                 **F32)
    assert_rates([s["weight_decay"] for s in seen],
                 lrcore.evaluate(RECIPE, t, hyperparam="weight_decay"), **F32)
    assert {s["b2"] for s in seen} == {float(np.float32(0.999))}  # optax's default, fixed


def test_sgd_momentum_and_fixed_arguments():
    spec = lrcore.Schedule(schedule=lrcore.constant(value=0.05),
                           hyperparams={"momentum": lrcore.cyclic(
                               low=0.8, high=0.9, up=5, invert=True)})
    seen, _, _ = _loop(lrcore.to_optax_optimizer(spec, optax.sgd, nesterov=True), 30)
    assert_rates([s["momentum"] for s in seen],
                 lrcore.evaluate(spec, np.arange(30), hyperparam="momentum"), **F32)


def test_resume_continues_every_curve():
    tx = lrcore.to_optax_optimizer(RECIPE, optax.adamw)
    first, state, params = _loop(tx, 30)
    state = pickle.loads(pickle.dumps(state))  # a checkpoint: the state is plain pytrees
    tx2 = lrcore.to_optax_optimizer(lrcore.load(lrcore.dumps(RECIPE)), optax.adamw)
    rest, _, _ = _loop(tx2, N - 30, state, params)
    whole, _, _ = _loop(tx, N)
    assert first + rest == whole


def test_each_curve_as_a_plain_schedule():
    f = jax.jit(jax.vmap(lrcore.to_optax(RECIPE, hyperparam="weight_decay")))
    t = np.arange(N + 5)
    assert_rates(np.asarray(f(jnp.asarray(t))), lrcore.evaluate(
        RECIPE, t, hyperparam="weight_decay"), **F32)


def _spec(**hyper):
    return lrcore.Schedule(schedule=lrcore.constant(value=0.1), hyperparams={
        k: lrcore.constant(value=v) for k, v in hyper.items()})


@pytest.mark.parametrize("make,hyper,fixed,match", [
    (optax.sgd, {"weight_decay": 0.1}, {},
     r"^hyperparams\.weight_decay: optax\.sgd has no weight_decay; it has: momentum, "
     r'nesterov, accumulator_dtype, got "weight_decay"$'),
    (optax.adam, {"momentum": 0.9, "beta1": 0.8}, {},
     r"^hyperparams\.momentum: is the same b1 as beta1 in optax\.adam; keep one of them, "
     r'got "momentum"$'),
    (optax.adamw, {"beta2": 0.99}, {"b2": 0.98},
     r"^hyperparams\.beta2: is scheduled, so b2= cannot also be given as a fixed value, "
     r"got 0\.98$"),
    (optax.adamw, {"dampening": 0.1}, {},
     r"^hyperparams\.dampening: optax\.adamw has no dampening; it has: b1, b2, eps"),
])
def test_a_hyperparameter_the_optimizer_lacks_is_a_spec_error(make, hyper, fixed, match):
    with pytest.raises(SpecError, match=match):
        lrcore.to_optax_optimizer(_spec(**hyper), make, **fixed)


def test_pass_through_names_reach_inject_hyperparams():
    spec = lrcore.Schedule(schedule=lrcore.constant(value=0.1),
                           hyperparams={"eps": lrcore.linear(start=1e-6, end=1e-8,
                                                             duration=10)})
    seen, _, _ = _loop(lrcore.to_optax_optimizer(spec, optax.adam), 12)
    assert_rates([s["eps"] for s in seen], lrcore.evaluate(spec, np.arange(12),
                                                           hyperparam="eps"), **F32)
