"""Keras model files in a fresh process (run once per backend: tox sets KERAS_BACKEND).

Three models are trained here and saved mid-run: a plain schedule (``to_keras``), a
plateau schedule with a cut behind it and a patience window open, and a
``to_keras_optimizer`` AdamW whose beta_1, beta_2 and weight_decay follow curves. The
same models then train on in this process: the uninterrupted run. A child process
imports as a user would and loads the files:

* ``import keras`` then ``import lrcore``, and ``import lrcore`` then ``import keras``:
  every model loads; its rates (and curves) at the saved step, and at every update of
  the training that continues, equal ``lrcore.evaluate`` (plateau reports included); the
  weights and the plateau state end where the uninterrupted run's do;
* ``import keras`` alone: Keras's own error, which names the module to import.

Oracles: ``lrcore.evaluate`` (itself checked against independent oracles elsewhere) and
the uninterrupted run. In this process, ``custom_objects`` and ``custom_object_scope``
load the files with lrcore's registrations removed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from rates import F32, assert_rates, warm_cos_spec  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore.adapters.keras import PlateauCallback, custom_objects, schedule_of  # noqa: E402

BACKEND = keras.backend.backend()
FIRST, MORE, SPE = 6, 4, 4  # epochs before the save, epochs after it, updates per epoch
SAVED = FIRST * SPE

PLAIN = lrcore.sequence(phases=[lrcore.linear(start=1e-3, end=0.05, duration=7),
                                lrcore.cosine(start=0.05, end=1e-3, duration=53)])
PLATEAU = warm_cos_spec(patience=1, cooldown=0, threshold=0.01)
#: the scripted metric: a cut after epoch 3 (reports at 8, 12: two bad), improvement at
#: epoch 4, a bad epoch 5 (the save: patience window open), a cut after epoch 7
METRICS = [0.9, 0.8, 0.8, 0.8, 0.7, 0.7, 0.6, 0.6, 0.6, 0.5]
CURVES = lrcore.load("""
lrcore: 1
total_steps: 40
schedule: {type: cosine, start: 0.05, end: 0.005}
hyperparams:
  beta1: {type: linear, start: 0.5, end: 0.9, duration: 25}
  beta2: {type: linear, start: 0.9, end: 0.999, duration: 30}
  weight_decay: {type: cosine, start: 0.01, end: 0.2}
""")
HYPER = {"beta_1": "beta1", "beta_2": "beta2", "weight_decay": "weight_decay"}


def _data():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((SPE * 16, 3)).astype("float32")
    y = (x @ np.array([[0.5], [-0.25], [0.125]]) + 0.1).astype("float32")
    return x, y


# the callbacks both processes use: written once, executed here and in the child
CALLBACKS = '''
import keras


class Script(keras.callbacks.Callback):
    """Puts METRICS[epoch] into the epoch's logs as "scripted"."""

    def __init__(self, metrics):
        super().__init__()
        self.metrics = metrics

    def on_epoch_end(self, epoch, logs=None):
        logs["scripted"] = self.metrics[epoch]


class Rates(keras.callbacks.Callback):
    """Before each update: the optimizer's counter, learning rate and curves."""

    def __init__(self, names=()):
        super().__init__()
        self.names, self.steps, self.rates, self.curves = names, [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        if keras.backend.backend() == "jax":  # variables live in fit's functional state
            self.model.jax_state_sync()
        opt = self.model.optimizer
        self.steps.append(int(keras.ops.convert_to_numpy(opt.iterations)))
        self.rates.append(float(keras.ops.convert_to_numpy(opt.learning_rate)))
        self.curves.append([float(keras.ops.convert_to_numpy(getattr(opt, n)))
                            for n in self.names])
'''
_NAMESPACE: dict = {}
exec(CALLBACKS, _NAMESPACE)  # the same classes here as in the child
Script = _NAMESPACE["Script"]


def _model(optimizer):
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")  # jit_compile="auto", as users save
    return model


def _callbacks(kind):
    if kind == "plateau":
        return [Script(METRICS), PlateauCallback(monitor="scripted")]
    return []


FIT = dict(batch_size=16, shuffle=False, verbose=0)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Train each model FIRST epochs, save it, train on MORE epochs: the files and the
    uninterrupted runs' end (weights, plateau state, reports)."""
    where = tmp_path_factory.mktemp("files")
    x, y = _data()
    optimizers = {
        "plain": keras.optimizers.Adam(learning_rate=lrcore.to_keras(PLAIN)),
        "plateau": keras.optimizers.SGD(learning_rate=lrcore.to_keras(PLATEAU), momentum=0.9),
        "curves": lrcore.to_keras_optimizer(CURVES, "AdamW"),
    }
    full = {}
    for kind, opt in optimizers.items():
        model = _model(opt)
        reports = Reports()
        model.fit(x, y, epochs=FIRST, callbacks=_callbacks(kind) + [reports], **FIT)
        model.save(where / f"{kind}.keras")
        model.fit(x, y, initial_epoch=FIRST, epochs=FIRST + MORE,
                  callbacks=_callbacks(kind) + [reports], **FIT)
        sched = schedule_of(model)
        full[kind] = {"weights": [w.tolist() for w in model.get_weights()],
                      "reports": reports.reports,
                      "state": sched.plateau.to_dict() if sched.plateau else None}
    # the plateau file was saved inside a patience window, after a cut
    state = full["plateau"]["reports"]
    assert [s for s, _ in state] == [SPE * (e + 1) for e in range(FIRST + MORE)]
    return where, full


class Reports(keras.callbacks.Callback):
    """(step, metric) of each epoch's report, read after the PlateauCallback."""

    def __init__(self):
        super().__init__()
        self.reports = []

    def on_epoch_end(self, epoch, logs=None):
        if "scripted" in logs:
            step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            self.reports.append((step, float(logs["scripted"])))


CHILD = textwrap.dedent('''
    import json, sys
    {imports}
    {callbacks}
    where, first, more, metrics = json.loads(sys.stdin.read())
    import numpy as np
    out = {{}}
    loaded = {{}}
    for kind in ("plain", "plateau", "curves"):
        try:
            loaded[kind] = keras.models.load_model(f"{{where}}/{{kind}}.keras")
        except Exception as err:
            out[kind] = {{"error": type(err).__name__, "message": str(err)}}
    from lrcore.adapters.keras import PlateauCallback  # after loading, for the training
    rng = np.random.default_rng(5)
    x = rng.standard_normal(({spe} * 16, 3)).astype("float32")
    y = (x @ np.array([[0.5], [-0.25], [0.125]]) + 0.1).astype("float32")
    for kind, model in loaded.items():
        names = ("beta_1", "beta_2", "weight_decay") if kind == "curves" else ()
        rates = Rates(names)
        callbacks = [Script(metrics), PlateauCallback(monitor="scripted")] \\
            if kind == "plateau" else []
        state = lambda: model.optimizer._learning_rate.plateau
        before = state().to_dict() if state() else None
        model.fit(x, y, initial_epoch=first, epochs=first + more, batch_size=16,
                  shuffle=False, verbose=0, callbacks=callbacks + [rates])
        out[kind] = {{"steps": rates.steps, "rates": rates.rates, "curves": rates.curves,
                     "before": before, "state": state().to_dict() if state() else None,
                     "weights": [w.tolist() for w in model.get_weights()]}}
    print(json.dumps(out))
''')

ORDERS = {
    "keras, then lrcore": "import keras\nimport lrcore",
    "lrcore, then keras": textwrap.dedent("""
        import lrcore
        assert "keras" not in sys.modules  # import lrcore imports no framework
        import keras
        assert "lrcore.adapters.keras" in sys.modules
    """),
    "keras alone": "import keras",
}


def _child(order: str, where) -> dict:
    code = CHILD.format(imports=ORDERS[order], callbacks=CALLBACKS, spe=SPE)
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          input=json.dumps([str(where), FIRST, MORE, METRICS]),
                          env=env, cwd=where, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("order", ["keras, then lrcore", "lrcore, then keras"])
def test_a_fresh_process_loads_and_continues(saved, order):
    where, full = saved
    out = _child(order, where)
    steps = list(range(SAVED, SAVED + MORE * SPE))
    for kind in ("plain", "plateau", "curves"):
        assert "error" not in out[kind], out[kind]
        assert out[kind]["steps"] == steps
        got, want = out[kind]["weights"], full[kind]["weights"]
        assert len(got) == len(want)
        for a, b in zip(got, want):  # where the uninterrupted run ends, bit for bit
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    assert_rates(out["plain"]["rates"], lrcore.evaluate(PLAIN, steps), **F32)

    reports = full["plateau"]["reports"]
    saved_state = out["plateau"]["before"]  # as the file holds it: mid-window, cut once
    assert saved_state["reports"] == FIRST and saved_state["bad"] == 1
    assert saved_state["scale"] == 0.5
    assert_rates(out["plateau"]["rates"],
                 lrcore.evaluate(PLATEAU, steps, reports=reports), **F32)
    assert out["plateau"]["state"] == full["plateau"]["state"]
    assert full["plateau"]["state"]["scale"] == 0.25  # a second cut, after the load

    assert_rates(out["curves"]["rates"], lrcore.evaluate(CURVES, steps), **F32)
    curves = np.asarray(out["curves"]["curves"])
    for i, name in enumerate(HYPER.values()):  # in the order of Rates' names
        assert_rates(curves[:, i], lrcore.evaluate(CURVES, steps, hyperparam=name), **F32)


def _keras_error(cls: str, config: dict) -> str:
    return (f"Could not locate class '{cls}'. Make sure custom classes and functions are "
            "decorated with `@keras.saving.register_keras_serializable()`. If they are "
            "already decorated, make sure they are all imported so that the decorator is "
            f"run before trying to load them. Full object config: {config}")


def test_without_lrcore_keras_names_the_module(saved):
    """lrcore never imported: Keras's own error, whose config names the module
    (``lrcore.adapters.keras``) and the registered name."""
    where, _ = saved
    out = _child("keras alone", where)
    schedule = keras.saving.serialize_keras_object(lrcore.to_keras(PLAIN))
    assert schedule["module"] == "lrcore.adapters.keras"
    assert schedule["registered_name"] == "lrcore>LrcoreSchedule"
    assert out["plain"]["error"] == "TypeError"
    assert out["plain"]["message"].endswith(
        "Exception encountered: " + _keras_error("LrcoreSchedule", schedule))
    assert out["curves"]["error"] == "TypeError"
    assert "Could not locate class 'ScheduledAdamW'" in out["curves"]["message"]
    assert "'module': 'lrcore.adapters.keras'" in out["curves"]["message"]


@pytest.fixture
def unregistered(monkeypatch):
    """lrcore's classes taken out of Keras's global registry for one test."""
    registry = keras.saving.get_custom_objects()
    for name in [n for n in registry if n.startswith("lrcore>")]:
        monkeypatch.delitem(registry, name)


@pytest.mark.parametrize("kind", ["plain", "plateau", "curves"])
def test_custom_objects_and_scope(saved, unregistered, kind):
    where, _ = saved
    path = where / f"{kind}.keras"
    for names in (None, {cls.__name__: cls for cls in custom_objects().values()}):
        # without lrcore's registrations, and with a dict keyed by class names: Keras 3
        # looks a registered class up by its registered name ("lrcore>LrcoreSchedule")
        with pytest.raises(TypeError, match="Could not locate class"):
            keras.models.load_model(path, custom_objects=names)
    a = keras.models.load_model(path, custom_objects=custom_objects())
    with keras.saving.custom_object_scope(custom_objects()):
        b = keras.models.load_model(path)
    for model in (a, b):
        sched = schedule_of(model)
        assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == SAVED
        spec = {"plain": PLAIN, "plateau": PLATEAU, "curves": CURVES}[kind]
        reports = [(SPE * (e + 1), METRICS[e]) for e in range(FIRST)] \
            if kind == "plateau" else None
        assert_rates([float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))],
                     lrcore.evaluate(spec, [SAVED], reports=reports), **F32)
        assert sched.spec == lrcore.Schedule(schedule=spec) if kind != "curves" \
            else sched.spec == CURVES.curve(None)


def test_custom_objects_lists_every_class():
    objs = custom_objects()
    assert objs["lrcore>LrcoreSchedule"].__name__ == "LrcoreSchedule"
    assert objs["lrcore>ScheduledAdamW"].__name__ == "ScheduledAdamW"
    assert all(keras.saving.get_registered_name(cls) == name for name, cls in objs.items())
