"""Scheduled hyperparameters in MLX (``to_mlx_optimizer``): each curve's value at every
update is the reference's, and the update itself uses it.

Oracles: ``lrcore.evaluate(spec, t, hyperparam=...)`` for the values, and SGD with
momentum written out in numpy (float32) from the reference's rate and momentum for the
arithmetic of the scheduled SGD update.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")
nn = pytest.importorskip("mlx.nn")
optim = pytest.importorskip("mlx.optimizers")
from rates import F32, assert_rates  # noqa: E402

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402
from lrcore.adapters.mlx import to_mlx_optimizer  # noqa: E402

N = 200
ONECYCLE = lrcore.Schedule.from_dict({
    "lrcore": 1,
    "schedule": {"type": "onecycle", "peak": 0.05, "duration": N},
    "hyperparams": {"momentum": {"type": "onecycle_momentum", "low": 0.85, "high": 0.95,
                                 "duration": N}},
})
ADAMW = lrcore.Schedule.from_dict({
    "lrcore": 1,
    "schedule": {"type": "cosine", "start": 1e-3, "end": 1e-5, "duration": N},
    "hyperparams": {
        "beta1": {"type": "linear", "start": 0.95, "end": 0.85, "duration": N},
        "beta2": {"type": "constant", "value": 0.98},
        "weight_decay": {"type": "cosine", "start": 0.1, "end": 0.0, "duration": N},
    },
})


def _run(opt, steps: int, keys: list[str], *, compiled: bool = False):
    """Train a tiny Linear ``steps`` updates; returns, per key of ``optimizer.state``,
    the value every update used."""
    mx.random.seed(0)
    model = nn.Linear(3, 1)
    x = mx.random.normal((16, 3))
    y = x @ mx.array([[0.5], [-1.0], [2.0]])

    def step(xb, yb):
        loss, g = nn.value_and_grad(model, lambda m, a, b: mx.mean(mx.square(m(a) - b)))(
            model, xb, yb)
        opt.update(model, g)
        return loss

    if compiled:
        state = [model.state, opt.state]
        step = functools.partial(mx.compile, inputs=state, outputs=state)(step)
    seen = {k: [] for k in keys}
    for _ in range(steps):
        step(x, y)
        mx.eval(model.parameters(), opt.state)
        for k in keys:
            seen[k].append(opt.state[k].item())
    return {k: np.asarray(v) for k, v in seen.items()}, model


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_sgd_momentum_follows_the_curve(compiled):
    opt = to_mlx_optimizer(ONECYCLE, optim.SGD)
    seen, _ = _run(opt, N, ["learning_rate", "momentum"], compiled=compiled)
    t = np.arange(N)
    assert_rates(seen["learning_rate"], lrcore.evaluate(ONECYCLE, t), **F32)
    assert_rates(seen["momentum"], lrcore.evaluate(ONECYCLE, t, hyperparam="momentum"), **F32)


def test_the_scheduled_sgd_update_is_momentum_sgd():
    """The update itself, against SGD with momentum written out in float32 numpy with
    the reference's rate and momentum at each step (and a fixed gradient)."""
    opt = to_mlx_optimizer(ONECYCLE, optim.SGD, weight_decay=0.01)
    w = mx.array([1.0, -2.0, 0.5])
    g = mx.array([0.3, 0.1, -0.2])
    ref_w, v = np.array([1.0, -2.0, 0.5], np.float32), np.zeros(3, np.float32)
    t = np.arange(50)
    lr = lrcore.evaluate(ONECYCLE, t).astype(np.float32)
    mu = lrcore.evaluate(ONECYCLE, t, hyperparam="momentum").astype(np.float32)
    gn = np.array(g)
    for k in t:
        w = opt.apply_gradients({"w": g}, {"w": w})["w"]
        mx.eval(w, opt.state)
        grad = gn + np.float32(0.01) * ref_w
        v = mu[k] * v + grad
        ref_w = ref_w - lr[k] * v
    np.testing.assert_allclose(np.array(w), ref_w, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_adamw_betas_and_weight_decay_follow_their_curves(compiled):
    opt = to_mlx_optimizer(ADAMW, optim.AdamW, eps=1e-7)
    keys = ["learning_rate", "beta1", "beta2", "weight_decay"]
    seen, model = _run(opt, N, keys, compiled=compiled)
    t = np.arange(N)
    assert_rates(seen["learning_rate"], lrcore.evaluate(ADAMW, t), **F32)
    for key in keys[1:]:
        assert_rates(seen[key], lrcore.evaluate(ADAMW, t, hyperparam=key), **F32)
    assert np.all(np.isfinite(np.array(model.weight)))
    assert opt.eps == 1e-7 and isinstance(opt, optim.AdamW)


def test_adam_momentum_is_beta1():
    spec = lrcore.Schedule.from_dict({
        "lrcore": 1, "schedule": {"type": "constant", "value": 1e-3},
        "hyperparams": {"momentum": {"type": "linear", "start": 0.9, "end": 0.8,
                                     "duration": 10}}})
    opt = to_mlx_optimizer(spec, optim.Adam)
    seen, _ = _run(opt, 12, ["beta1"])
    assert_rates(seen["beta1"], lrcore.evaluate(spec, np.arange(12), hyperparam="momentum"),
                 **F32)
    assert opt.betas[1] == 0.999  # the other entry keeps MLX's default


def _spec(**curves) -> lrcore.Schedule:
    return lrcore.Schedule.from_dict({
        "lrcore": 1, "schedule": {"type": "constant", "value": 0.1},
        "hyperparams": {k: {"type": "constant", "value": v} for k, v in curves.items()}})


def test_a_name_the_optimizer_lacks_lists_what_it_has():
    with pytest.raises(SpecError) as err:
        to_mlx_optimizer(_spec(foo=0.5), optim.AdamW)
    assert str(err.value) == ('hyperparams.foo: mlx.optimizers.AdamW has no foo; it has: '
                              'betas[0], betas[1], eps, weight_decay, bias_correction, '
                              'got "foo"')
    with pytest.raises(SpecError) as err:
        to_mlx_optimizer(_spec(beta2=0.9), optim.SGD)
    assert str(err.value) == ('hyperparams.beta2: mlx.optimizers.SGD has no betas[1]; it '
                              'has: momentum, weight_decay, dampening, nesterov, got "beta2"')


def test_an_argument_mlx_branches_on_is_refused():
    with pytest.raises(SpecError) as err:
        to_mlx_optimizer(_spec(weight_decay=0.1), optim.Lion)
    assert str(err.value) == ("hyperparams.weight_decay: mlx.optimizers.Lion does not read "
                              "weight_decay as a number in its update; lrcore schedules "
                              'betas[0], betas[1] there, got "weight_decay"')
    with pytest.raises(SpecError) as err:
        to_mlx_optimizer(_spec(bias_correction=1.0), optim.Adam)
    assert str(err.value) == ("hyperparams.bias_correction: mlx.optimizers.Adam does not "
                              "read bias_correction as a number in its update; lrcore "
                              'schedules betas[0], betas[1], eps there, got "bias_correction"')


def test_a_scheduled_argument_cannot_also_be_fixed():
    with pytest.raises(SpecError) as err:
        to_mlx_optimizer(_spec(weight_decay=0.1), optim.AdamW, weight_decay=0.01)
    assert str(err.value) == ("hyperparams.weight_decay: is scheduled, so weight_decay= "
                              "cannot also be given as a fixed value, got 0.01")


def test_the_optimizer_must_be_an_mlx_optimizer_class():
    with pytest.raises(SpecError) as err:
        to_mlx_optimizer(_spec(), optim.SGD(learning_rate=0.1))
    assert str(err.value).startswith("optimizer: must be an mlx.optimizers optimizer class "
                                     "such as mlx.optimizers.AdamW, got ")
    with pytest.raises(SpecError):
        to_mlx_optimizer(_spec(), optim.MultiOptimizer)


@pytest.mark.parametrize("cls,name,curve", [
    (optim.RMSprop, "alpha", {"type": "linear", "start": 0.9, "end": 0.99, "duration": 20}),
    (optim.Adam, "eps", {"type": "exponential", "start": 1e-6, "rate": 0.5, "every": 5}),
    (optim.Muon, "momentum", {"type": "linear", "start": 0.9, "end": 0.95, "duration": 20}),
], ids=["rmsprop-alpha", "adam-eps", "muon-momentum"])
def test_other_float_arguments_follow_their_curves(cls, name, curve):
    spec = lrcore.Schedule.from_dict({"lrcore": 1,
                                      "schedule": {"type": "constant", "value": 1e-3},
                                      "hyperparams": {name: curve}})
    seen, model = _run(to_mlx_optimizer(spec, cls), 24, [name], compiled=True)
    assert_rates(seen[name], lrcore.evaluate(spec, np.arange(24), hyperparam=name), **F32)
    assert np.all(np.isfinite(np.array(model.weight)))
