"""Reduce-on-plateau through the Keras adapter, on the backend of this process
(``KERAS_BACKEND``; tox runs the file once per backend).

* oracle tests: a constant metric cuts at the epochs torch documents (worked out by
  hand); Keras's own ``ReduceLROnPlateau`` (an independent implementation, fixed
  learning rate) cuts at the same epochs as lrcore once its ``patience`` and
  ``cooldown`` are lrcore's plus one (Keras cuts when ``wait >= patience`` and counts
  the last cooldown epoch as bad; torch/lrcore when the bad count exceeds
  ``patience``, ignoring every cooldown epoch), with ``min_delta`` = the abs threshold;
* adapter tests: ``PlateauCallback`` in ``model.fit`` against the float64 reference
  ``lrcore.evaluate(spec, steps, reports=...)`` (float32 rtol 2e-6); the compiled train
  step really uses the cut rate (read off the weights: on jax the callback retraces);
  ``model.save``/``load_model`` in the middle of a patience window then ``fit`` again
  equals an uninterrupted run; ``get_config`` keeps the plateau state; errors;
* the example ``examples/plateau_keras.py`` in a subprocess on this backend.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from rates import F32, assert_rates, check_plateau_example, warm_cos_spec  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402
from lrcore.adapters.keras import LrcoreSchedule, PlateauCallback  # noqa: E402


def _num(x) -> float:
    return float(keras.ops.convert_to_numpy(x))


def _schedule_of(model) -> LrcoreSchedule:
    """The schedule object of a (re)loaded model's optimizer. Keras has no public
    accessor: ``optimizer.learning_rate`` evaluates the schedule at the current step."""
    sched = model.optimizer._learning_rate
    assert isinstance(sched, LrcoreSchedule)
    return sched




class Script(keras.callbacks.Callback):
    """Puts ``metrics[epoch]`` into the epoch's logs as ``"scripted"`` (callbacks after it
    in the list see it): decisions that do not hang on training noise."""

    def __init__(self, metrics) -> None:
        super().__init__()
        self.metrics = metrics

    def on_epoch_end(self, epoch, logs=None):
        logs["scripted"] = self.metrics[epoch]


class Record(keras.callbacks.Callback):
    """The schedule's rate at every update (step = epoch * spe + batch), and after each
    epoch (placed after the PlateauCallback) the report made and the plateau state."""

    def __init__(self, schedule, spe: int, monitor: str) -> None:
        super().__init__()
        self.schedule, self.spe, self.monitor = schedule, spe, monitor
        self.steps, self.rates, self.reports, self.states = [], [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        step = self.current_epoch * self.spe + batch
        self.steps.append(step)
        self.rates.append(_num(self.schedule(step)))

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        step = int(_num(self.model.optimizer.iterations))
        self.reports.append((step, float(logs[self.monitor])))
        self.states.append(self.schedule.plateau.to_dict())


def _float32_safe_metrics() -> list[float]:
    """A noisy, stalling loss, none within 1e-4 (relative) of a 1% threshold edge."""
    rng = np.random.default_rng(1)
    m = 0.3 + 0.2 * np.exp(-np.arange(30) / 3.0) + 0.004 * rng.standard_normal(30)
    return [float(np.float32(v)) for v in m]


def _tiny_model(schedule, momentum: float = 0.9):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=momentum),
                  loss="mse")
    return model


def _tiny_data():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((96, 4)).astype("float32")
    y = (np.sin(x.sum(axis=1, keepdims=True)) + 0.4 * rng.standard_normal((96, 1))
         ).astype("float32")
    return x[:64], y[:64], x[64:], y[64:]


# ---- oracles ------------------------------------------------------------------------------

def _drive(callback, model, metrics, spe: int = 5) -> list[float]:
    """Run a plateau callback by hand through ``len(metrics)`` epochs (no training: the
    optimizer's counter is advanced as fit would) and read the rate of each epoch."""
    callback.set_model(model)
    callback.on_train_begin()
    out = []
    for epoch, m in enumerate(metrics):
        model.optimizer.iterations.assign(epoch * spe)
        out.append(_num(model.optimizer.learning_rate))
        model.optimizer.iterations.assign((epoch + 1) * spe)
        callback.on_epoch_end(epoch, {"metric": m})
    out.append(_num(model.optimizer.learning_rate))
    return out


def _compiled(lr):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_constant_metric_cuts_at_torch_epochs():
    """mode min, factor 0.1, patience 2, a constant metric: torch's rule keeps the rate
    for epochs 1-4 and cuts after epochs 4, 7, 10 (1 best + 3 bad > 2) — written out by
    hand; with cooldown 1: after epochs 4, 8, 12."""
    base = 0.25
    for cooldown, cuts in [(0, (4, 7, 10)), (1, (4, 8, 12))]:
        spec = lrcore.plateau(schedule=lrcore.constant(value=base), factor=0.1, patience=2,
                              cooldown=cooldown)
        sched = lrcore.to_keras(spec)
        got = _drive(PlateauCallback(sched, monitor="metric"), _compiled(sched), [2.0] * 12)
        want = [base * 0.1 ** sum(e >= c for c in cuts) for e in range(13)]
        assert_rates(got, want, **F32)


def _keras_sequences(mode: str) -> dict[str, list[float]]:
    rng = np.random.default_rng(9)
    sign = 1.0 if mode == "min" else -1.0
    noisy = (0.5 + 0.05 * rng.standard_normal(20)).round(4)  # away from min_delta edges
    flat = [round(1.0 / (k + 1), 4) for k in range(6)] + [0.1667] * 14
    return {"constant": [0.7] * 20, "noisy": [sign * float(m) for m in noisy],
            "improving-then-flat": [sign * m for m in flat]}


@pytest.mark.parametrize("mode, patience, cooldown", [("min", 1, 0), ("min", 2, 2),
                                                      ("max", 0, 1), ("max", 1, 3)])
def test_same_cuts_as_keras_reduce_lr_on_plateau(mode, patience, cooldown):
    """Keras's ReduceLROnPlateau (float lr, patience P + 1, cooldown C + 1, min_delta d)
    and lrcore's plateau (patience P, cooldown C, threshold d abs) cut at the same
    epochs to the same rates; every case cuts at least once."""
    base, factor, delta = 0.2, 0.5, 0.02
    spec = lrcore.plateau(schedule=lrcore.constant(value=base), mode=mode, factor=factor,
                          patience=patience, cooldown=cooldown, threshold=delta,
                          threshold_mode="abs")
    cuts = 0
    for metrics in _keras_sequences(mode).values():
        theirs = keras.callbacks.ReduceLROnPlateau(
            monitor="metric", mode=mode, factor=factor, patience=patience + 1,
            cooldown=cooldown + 1, min_delta=delta)
        want = _drive(theirs, _compiled(base), metrics)
        sched = lrcore.to_keras(spec)
        got = _drive(PlateauCallback(sched, monitor="metric"), _compiled(sched), metrics)
        assert_rates(got, want, **F32)
        cuts += sum(b < a for a, b in zip(want, want[1:], strict=False))
    assert cuts > 0


def test_keras_callback_refuses_a_schedule():
    """Why PlateauCallback exists: Keras's own callback cannot cut a schedule."""
    sched = lrcore.to_keras(warm_cos_spec())
    cb = keras.callbacks.ReduceLROnPlateau(monitor="metric", mode="min", patience=0)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        _drive(cb, _compiled(sched), [1.0, 1.0, 1.0])


# ---- in model.fit -------------------------------------------------------------------------

def test_fit_follows_the_reference():
    """``fit`` with ``PlateauCallback``: the schedule's rate at every update is
    ``evaluate(spec, step, reports=<the reports the callback made>)``, the reports are
    made at ``epoch * steps_per_epoch``, and the rate was cut."""
    spec = warm_cos_spec()
    metrics = _float32_safe_metrics()
    epochs, spe = 24, 4
    sched = lrcore.to_keras(spec)
    model = _tiny_model(sched)
    x, y, _, _ = _tiny_data()
    record = Record(sched, spe, "scripted")
    model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0,
              callbacks=[Script(metrics), PlateauCallback(sched, monitor="scripted"),
                         record])
    assert record.reports == [(spe * (e + 1), metrics[e]) for e in range(epochs)]
    ref = lrcore.evaluate(spec, record.steps, reports=record.reports)
    assert_rates(record.rates, ref, **F32)
    assert np.any(ref < 0.6 * lrcore.evaluate(spec, record.steps))
    assert sched.plateau.reports == epochs
    assert _num(sched.scale) == np.float32(sched.plateau.scale)


def test_the_train_step_uses_the_cut_rate():
    """SGD on one weight whose gradient is exactly 1 (mae, target far below): each
    update moves the weight by exactly the rate used inside the compiled train step.
    Rates 2**-4 halved per cut are exact in float32, so the moves must equal the
    reference exactly; on jax this fails unless the callback retraces after a cut."""
    spec = lrcore.plateau(schedule=lrcore.constant(value=0.0625), factor=0.5, patience=0)
    sched = lrcore.to_keras(spec)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=sched), loss="mae")
    weights = []

    class Weights(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            weights.append(_num(self.model.layers[0].kernel[0, 0]))

    x = np.ones((8, 1), "float32")
    y = np.full((8, 1), -1000.0, "float32")
    model.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0,
              callbacks=[Script([1.0] * 5), PlateauCallback(sched, monitor="scripted"),
                         Weights()])
    moves = -np.diff([0.0] + weights)
    reports = [(2 * (e + 1), 1.0) for e in range(5)]
    want = lrcore.evaluate(spec, np.arange(10), reports=reports)
    # by hand: reports after updates 2, 4, 6, 8; the 2nd, 3rd and 4th each halve
    by_hand = [1 / 16] * 4 + [1 / 32] * 2 + [1 / 64] * 2 + [1 / 128] * 2
    assert moves.tolist() == by_hand
    assert want.tolist() == by_hand


@pytest.mark.parametrize("where", ["patience", "cooldown"])
def test_save_load_mid_patience_window_then_fit_again(tmp_path, where):
    """``model.save`` after an epoch inside a patience window (or a cooldown),
    ``load_model``, a new PlateauCallback on the loaded schedule, ``fit`` on: the same
    reports, rates, plateau state and weights as one uninterrupted ``fit``."""
    spec = warm_cos_spec(patience=3, cooldown=2, threshold=0.02)
    metrics = [0.9, 0.8, 0.81, 0.805, 0.79, 0.82, 0.83, 0.84, 0.85, 0.7, 0.71, 0.72,
               0.705, 0.74, 0.75, 0.76, 0.77, 0.78, 0.8, 0.8]
    epochs, spe = len(metrics), 4
    x, y, _, _ = _tiny_data()
    fit = dict(batch_size=16, shuffle=False, verbose=0)

    sched = lrcore.to_keras(spec)
    model = _tiny_model(sched)
    full = Record(sched, spe, "scripted")
    model.fit(x, y, epochs=epochs, **fit, callbacks=[
        Script(metrics), PlateauCallback(sched, monitor="scripted"), full])
    states = full.states
    if where == "patience":  # after a cut, inside the next patience window
        cut = next(e for e, s in enumerate(states) if 0 < s["bad"] <= 3 and s["scale"] < 1)
    else:
        cut = next(e for e, s in enumerate(states) if s["cool"] > 0)
    assert cut < epochs - 3 and min(s["scale"] for s in states) < 0.3

    sched = lrcore.to_keras(spec)
    model = _tiny_model(sched)
    first = Record(sched, spe, "scripted")
    model.fit(x, y, epochs=cut + 1, **fit, callbacks=[
        Script(metrics), PlateauCallback(sched, monitor="scripted"), first])
    path = tmp_path / "mid.keras"
    model.save(path)
    del model, sched
    loaded = keras.saving.load_model(path)
    sched = _schedule_of(loaded)
    assert sched.plateau.to_dict() == states[cut]
    assert _num(sched.scale) == np.float32(states[cut]["scale"])
    second = Record(sched, spe, "scripted")
    loaded.fit(x, y, initial_epoch=cut + 1, epochs=epochs, **fit, callbacks=[
        Script(metrics), PlateauCallback(sched, monitor="scripted"), second])

    assert first.reports + second.reports == full.reports
    assert first.states + second.states == full.states
    assert first.rates + second.rates == full.rates
    ref = lrcore.evaluate(spec, full.steps, reports=full.reports)
    assert_rates(full.rates, ref, **F32)
    for a, b in zip(loaded.get_weights(), full.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_config_keeps_the_plateau_state():
    """``get_config`` carries the state; ``keras.saving`` round-trips the schedule
    mid-run, and the copy continues exactly like the original."""
    spec = warm_cos_spec(patience=1)
    sched = lrcore.to_keras(spec)
    for step, m in [(4, 0.5), (8, 0.5), (12, 0.5), (16, 0.4)]:
        sched.report(m, step)
    config = sched.get_config()
    assert config["plateau_state"] == sched.plateau.to_dict()
    assert config["plateau_state"]["scale"] == 0.5
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(sched))
    assert isinstance(copy, LrcoreSchedule) and copy.plateau == sched.plateau
    for s in (sched, copy):
        for step, m in [(20, 0.45), (24, 0.45)]:
            s.report(m, step)
    assert copy.plateau == sched.plateau
    steps = np.arange(0, 40)
    t = keras.ops.convert_to_tensor(steps, dtype="int32")
    assert_rates(keras.ops.convert_to_numpy(copy(t)), keras.ops.convert_to_numpy(sched(t)),
                 rtol=0.0, atol=0.0)


# ---- errors -----------------------------------------------------------------------------------

def test_callback_needs_a_plateau_schedule():
    with pytest.raises(SpecError, match="schedule: must be an lrcore schedule of a plateau "
                                        "spec, got \"LrcoreSchedule\""):
        PlateauCallback(lrcore.to_keras(lrcore.constant(value=0.1)))
    with pytest.raises(SpecError, match="schedule: must be an lrcore schedule of a plateau "
                                        "spec, got \"float\""):
        PlateauCallback(0.1)


def test_report_needs_a_plateau_schedule():
    with pytest.raises(SpecError, match="report: needs a spec whose outermost node is "
                                        "plateau, got \"constant\""):
        lrcore.to_keras(lrcore.constant(value=0.1)).report(0.5, 3)
    with pytest.raises(SpecError, match="plateau_state: needs a spec whose outermost"):
        LrcoreSchedule(lrcore.constant(value=0.1), plateau_state={"best": 1.0, "bad": 0,
                                                                  "cool": 0, "scale": 1.0,
                                                                  "reports": 1})


def test_missing_monitor_is_an_error():
    sched = lrcore.to_keras(warm_cos_spec())
    cb = PlateauCallback(sched, monitor="val_acc")
    cb.set_model(_compiled(sched))
    with pytest.raises(SpecError, match=r"monitor: is not among the logged metrics "
                                        r"\(loss, val_loss\), got \"val_acc\""):
        cb.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})


def test_nan_metric_is_an_error_and_changes_nothing():
    sched = lrcore.to_keras(warm_cos_spec(patience=0))
    sched.report(0.5, 4)
    before = sched.plateau
    with pytest.raises(SpecError, match="metric: must not be NaN"):
        sched.report(float("nan"), 8)
    cb = PlateauCallback(sched, monitor="val_loss")
    cb.set_model(_compiled(sched))
    with pytest.raises(SpecError, match="metric: must not be NaN"):
        cb.on_epoch_end(1, {"val_loss": np.float32("nan")})
    assert sched.plateau == before and _num(sched.scale) == 1.0


# ---- the example -------------------------------------------------------------------------------

def test_example_cuts_and_matches_the_reference():
    """``python examples/plateau_keras.py --epochs 14`` on this backend: at least one
    cut, and the rate of every epoch's first update is (float32 tolerance)
    ``evaluate(spec, step, reports=<the val_loss values it printed>)``, reported at
    each epoch's end."""
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(), TF_CPP_MIN_LOG_LEVEL="3")
    out = check_plateau_example("plateau_keras.py", 14, env=env, **F32)
    assert out["framework"] == f"keras-{keras.backend.backend()}"
    spe = out["steps_per_epoch"]
    assert [s for s, _ in out["reports"]] == [spe * e for e in range(1, 15)]
