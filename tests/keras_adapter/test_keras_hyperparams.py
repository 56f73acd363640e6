"""Hyperparameter curves in Keras 3 (run once per backend): ``to_keras_optimizer`` gives
an optimizer whose compiled train step reads momentum, beta_1, beta_2 and weight_decay
at ``optimizer.iterations``.

Oracle: the optimizers' update rules written out in float64 numpy (Keras's SGD and AdamW
formulas, fed the reference curves), against the weights a real ``model.fit`` under
``jit_compile`` produces; a wrong value at any step moves the weights far past the
float32 tolerance used here (checked: the same oracle with a constant momentum)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402
from lrcore.adapters.keras import to_keras_optimizer  # noqa: E402

STEPS = 30
X = np.linspace(-1, 1, 32).reshape(16, 2).astype("float32")
Y = (X @ np.array([0.5, -0.25])).astype("float32")[:, None]
X64, Y64 = X.astype(np.float64), Y[:, 0].astype(np.float64)


def _grad(w):  # mse of a linear model without bias, full batch
    return 2 * X64.T @ (X64 @ w - Y64) / len(X64)


def _fit(opt, epochs=STEPS, model=None):
    if model is None:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(
            1, use_bias=False, kernel_initializer="zeros")])
        model.compile(optimizer=opt, loss="mse", jit_compile=True)
    model.fit(X, Y, batch_size=16, epochs=epochs, verbose=0, shuffle=False)
    return model


def _weights(model):
    return model.get_weights()[0].ravel().astype(np.float64)


SGD_SPEC = lrcore.load("""
lrcore: 1
total_steps: 40
schedule: {type: constant, value: 0.05}
hyperparams:
  momentum: {type: linear, start: 0.0, end: 0.9, duration: 20}
""")


def _sgd_oracle(momenta):
    w, m = np.zeros(2), np.zeros(2)
    for mu in momenta:  # keras SGD: m = mu m - lr g; w += m
        m = mu * m - 0.05 * _grad(w)
        w = w + m
    return w


def test_sgd_applies_the_momentum_curve_at_each_update():
    model = _fit(to_keras_optimizer(SGD_SPEC, keras.optimizers.SGD))
    momenta = lrcore.evaluate(SGD_SPEC, np.arange(STEPS), hyperparam="momentum")
    want = _sgd_oracle(momenta)
    np.testing.assert_allclose(_weights(model), want, rtol=1e-5)
    # the oracle tells momenta apart: a constant 0.9 lands far away
    assert np.max(np.abs(_sgd_oracle([0.9] * STEPS) - want) / np.abs(want)) > 1e-2


ADAMW_SPEC = lrcore.load("""
lrcore: 1
total_steps: 40
schedule: {type: cosine, start: 0.05, end: 0.005}
hyperparams:
  beta1: {type: linear, start: 0.5, end: 0.9, duration: 25}
  beta2: {type: linear, start: 0.9, end: 0.999, duration: 30}
  weight_decay: {type: cosine, start: 0.0, end: 0.5}
""")


def test_adamw_applies_every_curve_at_each_update():
    model = _fit(to_keras_optimizer(ADAMW_SPEC, "AdamW", epsilon=1e-7))
    t = np.arange(STEPS)
    lr = lrcore.evaluate(ADAMW_SPEC, t)
    b1, b2, wd = (lrcore.evaluate(ADAMW_SPEC, t, hyperparam=h)
                  for h in ("beta1", "beta2", "weight_decay"))
    w, m, v = np.zeros(2), np.zeros(2), np.zeros(2)
    for k in t:  # keras AdamW: decoupled decay first, then Adam with beta ** (k + 1)
        g = _grad(w)
        w = w - w * wd[k] * lr[k]
        alpha = lr[k] * np.sqrt(1 - b2[k] ** (k + 1)) / (1 - b1[k] ** (k + 1))
        m = m + (g - m) * (1 - b1[k])
        v = v + (g * g - v) * (1 - b2[k])
        w = w - m * alpha / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(_weights(model), w, rtol=1e-4)


def test_save_and_load_model_keep_the_curves(tmp_path):
    whole = _weights(_fit(to_keras_optimizer(SGD_SPEC, "SGD")))
    model = _fit(to_keras_optimizer(SGD_SPEC, "SGD"), epochs=12)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer).__name__ == "ScheduledSGD"
    assert loaded.optimizer._lrcore_spec == SGD_SPEC
    assert float(loaded.optimizer.momentum) == pytest.approx(
        lrcore.evaluate(SGD_SPEC, [12], hyperparam="momentum")[0], rel=1e-6)
    resumed = _weights(_fit(None, epochs=STEPS - 12, model=loaded))
    np.testing.assert_allclose(resumed, whole, rtol=1e-6)


def test_fixed_arguments_and_a_plain_spec_still_work():
    opt = to_keras_optimizer(lrcore.constant(value=0.01), keras.optimizers.Adam, beta_1=0.8)
    assert opt.beta_1 == 0.8 and float(opt.learning_rate) == pytest.approx(0.01)


def _spec(**hyper):
    return lrcore.Schedule(schedule=lrcore.constant(value=0.1), hyperparams={
        k: lrcore.constant(value=v) for k, v in hyper.items()})


@pytest.mark.parametrize("optimizer,hyper,match", [
    ("RMSprop", {"momentum": 0.9},
     r"^hyperparams\.momentum: keras\.optimizers\.RMSprop reads momentum as a fixed number "
     r"in its update step; lrcore schedules weight_decay there, got \"momentum\"$"),
    ("Adagrad", {"beta1": 0.9},
     r"^hyperparams\.beta1: keras\.optimizers\.Adagrad has no beta_1; it has: "),
    ("Adam", {"eps": 0.1},
     r"^hyperparams\.eps: keras\.optimizers\.Adam has no eps; it has: "),
    ("Adam", {"momentum": 0.9, "beta1": 0.8},
     r"^hyperparams\.momentum: is the same beta_1 as beta1 in keras\.optimizers\.Adam; "
     r"keep one of them"),
])
def test_a_hyperparameter_the_optimizer_cannot_take_is_a_spec_error(optimizer, hyper, match):
    with pytest.raises(SpecError, match=match):
        to_keras_optimizer(_spec(**hyper), optimizer)


def test_only_keras_optimizers():
    with pytest.raises(SpecError, match=r"^optimizer: must be one of keras\.optimizers\.SGD, "):
        to_keras_optimizer(_spec(), "Adamm")
