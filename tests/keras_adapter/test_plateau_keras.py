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
* the live schedule: a callback given a schedule the optimizer does not use refuses to
  start (after ``load_model`` the optimizer holds a new object); ``schedule_of(model)``
  and ``PlateauCallback()`` without a schedule reach the one the optimizer uses;
* decisions: near-tie reports make the reference's cuts, whatever form the metric takes
  (a Python float is that float, a float32 array or tensor that float32 value);
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
from lrcore.adapters.keras import LrcoreSchedule, PlateauCallback, schedule_of  # noqa: E402

#: tensorflow and torch compute the rate in float64 and round once (test_keras_numerics)
EXACT = keras.backend.backend() in ("tensorflow", "torch")


def _num(x) -> float:
    return float(keras.ops.convert_to_numpy(x))




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
    sched = schedule_of(loaded)
    assert sched is loaded.optimizer._learning_rate
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
    assert config["keras"]["plateau_state"] == sched.plateau.to_dict()
    assert config["keras"]["plateau_state"]["scale"] == 0.5
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
    plain = lrcore.to_keras(lrcore.constant(value=0.1))
    with pytest.raises(SpecError) as err:
        PlateauCallback(plain)
    assert str(err.value) == ("schedule: must be an lrcore schedule of a plateau spec, got "
                              f"\"LrcoreSchedule {plain.spec.fingerprint()}\"")
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


# ---- the live schedule ---------------------------------------------------------------------

def _fp(schedule) -> str:
    return schedule.spec.fingerprint()


def test_callback_refuses_a_schedule_the_optimizer_does_not_use():
    """A callback given another schedule object (even of the same spec), or given one
    when the optimizer uses a Keras schedule or a fixed rate, stops fit before the
    first update with a message naming what the optimizer really uses."""
    spec = warm_cos_spec()
    used, other = lrcore.to_keras(spec), lrcore.to_keras(warm_cos_spec(patience=5))
    x, y, _, _ = _tiny_data()
    cases = [(used, lrcore.to_keras(spec), f"LrcoreSchedule {_fp(used)}"),
             (used, other, f"LrcoreSchedule {_fp(used)}"),
             (keras.optimizers.schedules.CosineDecay(0.1, 100), other, "CosineDecay"),
             (0.05, other, "Variable")]
    for lr, given, named in cases:
        model = _tiny_model(lr)
        with pytest.raises(SpecError) as err:
            model.fit(x, y, epochs=2, verbose=0, callbacks=[
                Script([1.0, 1.0]), PlateauCallback(given, monitor="scripted")])
        assert str(err.value) == (
            f"schedule: is not the schedule the optimizer uses ({named}); after "
            f"load_model, pass schedule_of(model), or no schedule, got "
            f"\"LrcoreSchedule {_fp(given)}\"")
        assert int(_num(model.optimizer.iterations)) == 0
        assert given.plateau.reports == 0


def test_schedule_of():
    """The optimizer's schedule object, from the model or the optimizer, through a
    LossScaleOptimizer; anything else is an error naming what was found."""
    sched = lrcore.to_keras(warm_cos_spec())
    model = _tiny_model(sched)
    assert schedule_of(model) is sched and schedule_of(model.optimizer) is sched
    wrapped = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(learning_rate=sched))
    assert schedule_of(wrapped) is sched
    plain = lrcore.to_keras(lrcore.constant(value=0.1))
    assert schedule_of(keras.optimizers.Adam(learning_rate=plain)) is plain
    errors = [
        (keras.optimizers.Adam(learning_rate=0.1),
         'optimizer.learning_rate: must be an lrcore schedule (lrcore.to_keras(spec)), '
         'got "Variable"'),
        (keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.ExponentialDecay(
            0.1, 10, 0.5)),
         'optimizer.learning_rate: must be an lrcore schedule (lrcore.to_keras(spec)), '
         'got "ExponentialDecay"'),
        (keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]),
         'model.optimizer: must be set (compile the model first), got "Sequential"'),
        (sched, 'model_or_optimizer: must be a Keras model or optimizer, got '
                '"LrcoreSchedule"'),
    ]
    for obj, message in errors:
        with pytest.raises(SpecError) as err:
            schedule_of(obj)
        assert str(err.value) == message


def test_callback_without_a_schedule_needs_a_plateau_one():
    plain = lrcore.to_keras(lrcore.constant(value=0.1))
    x, y, _, _ = _tiny_data()
    with pytest.raises(SpecError) as err:
        _tiny_model(plain).fit(x, y, epochs=1, verbose=0, callbacks=[PlateauCallback()])
    assert str(err.value) == ("optimizer.learning_rate: must be an lrcore schedule of a "
                              f"plateau spec, got \"LrcoreSchedule {_fp(plain)}\"")


def test_fit_save_load_fit_cuts_the_loaded_schedule(tmp_path):
    """fit with a cut, save, load_model in the same process, fit again: the callback
    built before (with the old schedule) refuses the loaded model; PlateauCallback()
    and PlateauCallback(schedule_of(loaded)) report to the loaded schedule, which cuts
    again, and every rate is the reference for all the reports made."""
    spec = lrcore.plateau(schedule=lrcore.constant(value=0.0625), factor=0.5, patience=0)
    metrics = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    x, y, _, _ = _tiny_data()
    fit = dict(batch_size=16, shuffle=False, verbose=0)
    sched = lrcore.to_keras(spec)
    model = _tiny_model(sched)
    stale = PlateauCallback(sched, monitor="scripted")
    rec = Record(sched, 4, "scripted")
    model.fit(x, y, epochs=3, **fit, callbacks=[Script(metrics), stale, rec])
    assert sched.plateau.scale == 0.25
    path = tmp_path / "plateau.keras"
    model.save(path)
    for make in (lambda m: PlateauCallback(monitor="scripted"),
                 lambda m: PlateauCallback(schedule_of(m), monitor="scripted")):
        loaded = keras.models.load_model(path)
        live = schedule_of(loaded)
        assert live is not sched and live.plateau == sched.plateau
        with pytest.raises(SpecError, match=r"^schedule: is not the schedule the optimizer "):
            loaded.fit(x, y, initial_epoch=3, epochs=6, **fit,
                       callbacks=[Script(metrics), stale])
        again = Record(live, 4, "scripted")
        callback = make(loaded)
        loaded.fit(x, y, initial_epoch=3, epochs=6, **fit,
                   callbacks=[Script(metrics), callback, again])
        assert callback.schedule is live
        reports = rec.reports + again.reports
        assert reports == [(4 * (e + 1), m) for e, m in enumerate(metrics)]
        # by hand: 1.0 (best), 1.0 and 1.0 cut twice; 0.5 (best), 0.5 cuts, 0.5 cuts
        assert live.plateau.scale == 0.25 * 0.25
        assert sched.plateau.scale == 0.25  # the old object was left alone
        ref = lrcore.evaluate(spec, rec.steps + again.steps, reports=reports)
        assert rec.rates + again.rates == ref.tolist()


# ---- decisions equal the reference's, whatever form the metric takes --------------------------

NEAR = lrcore.plateau(schedule=lrcore.constant(value=1e-3), factor=0.5, patience=0)


def _near_tie_cases():
    """(second metric as reported, the same value for the reference, cuts?): 0.99989999
    is better than 1.0 by the default rel threshold in float64 (no cut); so is its
    float32 value 0.99989998340606689 (float32 arithmetic would call it equal to
    float32(1 - 1e-4), not better, and cut). 0.99990000001 is not better (a cut), its
    float32 value is (no cut)."""
    f32 = np.float32
    return [
        (0.99989999, 0.99989999, False),
        (f32(0.99989999), f32(0.99989999), False),
        (np.array([0.99989999], dtype="float32"), f32(0.99989999), False),
        (keras.ops.convert_to_tensor(0.99989999, dtype="float32"), f32(0.99989999), False),
        (keras.ops.convert_to_tensor([0.99989999], dtype="float32"), f32(0.99989999), False),
        (float(f32(0.99989999)), float(f32(0.99989999)), False),
        (0.99990000001, 0.99990000001, True),
        (f32(0.99990000001), f32(0.99990000001), False),
        (keras.ops.convert_to_tensor(0.99990000001, dtype="float32"), f32(0.99990000001),
         False),
    ]


@pytest.mark.parametrize("case", range(9))
def test_report_near_ties_decide_like_the_reference(case):
    """``schedule.report(1.0, 0)`` then ``report(m, 0)`` on plateau(factor 0.5,
    patience 0) over a constant 1e-3: the rate is the reference's given the same
    reports (on tensorflow/torch exactly its float32 value)."""
    metric, as_reference, cuts = _near_tie_cases()[case]
    sched = lrcore.to_keras(NEAR)
    sched.report(1.0, 0)
    sched.report(metric, 0)
    ref = lrcore.evaluate(NEAR, [0, 1], reports=[(0, 1.0), (0, as_reference)])
    assert ref.tolist() == ([5e-4, 5e-4] if cuts else [1e-3, 1e-3])
    got = keras.ops.convert_to_numpy(sched(keras.ops.convert_to_tensor([0, 1], "int32")))
    if EXACT:
        assert got.tolist() == ref.astype(np.float32).tolist()
    else:
        assert_rates(got, ref, **F32)


def test_fit_near_ties_decide_like_the_reference():
    """Inside model.fit the monitored loss is Keras's float32 value, logged as a Python
    float: with x = 0 (no update moves anything) and mae against y, one sample per
    epoch, the loss is float32(y) exactly. Losses 1.0, 0.99989999, 0.99990000001: the
    reference given those logged floats keeps 1e-3 after the 2nd report and cuts after
    the 3rd (float32(0.99990000001) equals the best), as the callback does."""
    sched = lrcore.to_keras(NEAR)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=sched), loss="mae")
    x = np.zeros((1, 1), "float32")
    logged = []

    class Logged(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logged.append((int(_num(self.model.optimizer.iterations)), logs["loss"]))

    callback = PlateauCallback(monitor="loss")
    rates = []
    for epoch, target in enumerate([1.0, 0.99989999, 0.99990000001]):
        model.layers[0].bias.assign(np.zeros(1, "float32"))
        model.layers[0].kernel.assign(np.zeros((1, 1), "float32"))
        model.fit(x, np.full((1, 1), target, "float32"), batch_size=1, epochs=epoch + 1,
                  initial_epoch=epoch, shuffle=False, verbose=0,
                  callbacks=[callback, Logged()])
        rates.append(_num(model.optimizer.learning_rate))  # the next update's rate
    assert [m for _, m in logged] == [float(np.float32(v)) for v in
                                     (1.0, 0.99989999, 0.99990000001)]
    ref = lrcore.evaluate(NEAR, [1, 2, 3], reports=logged)
    assert ref.tolist() == [1e-3, 1e-3, 5e-4]
    assert rates == ref.astype(np.float32).tolist()


def test_metric_beyond_float_range_is_an_error():
    """10**400 cannot be a float: a SpecError, through report and the callback, and
    nothing changes."""
    sched = lrcore.to_keras(warm_cos_spec(patience=0))
    sched.report(0.5, 4)
    before = sched.plateau
    want = "metric: must be a number within float range, got ~2**1328"
    with pytest.raises(SpecError) as err:
        sched.report(10**400, 8)
    assert str(err.value) == want
    cb = PlateauCallback(sched, monitor="val_loss")
    cb.set_model(_compiled(sched))
    with pytest.raises(SpecError) as err:
        cb.on_epoch_end(1, {"val_loss": 10**400})
    assert str(err.value) == want
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
