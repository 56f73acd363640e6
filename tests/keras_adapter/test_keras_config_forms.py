"""Every form a Keras schedule of lrcore's takes, read back: ``get_config()`` is the spec
document as written (its fingerprint is the one ``lrcore show`` prints for the file),
and plateau schedules load in every form.

Oracles: the ``lrcore show`` command run on the file (a fresh interpreter), literal
documents, Keras's own serialization. A plateau schedule's runtime state (best, bad,
cool, scale) belongs to the schedule, not to the spec: ``from_keras`` and ``lrcore.load``
return the spec, whose state starts fresh; ``keras.saving`` keeps the state.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402

#: epochs and shares everywhere the format allows them
FILE = """\
lrcore: 1
steps_per_epoch: 40
total_steps: 10ep
schedule:
  type: sequence
  phases:
    - {type: linear, start: 0.0, end: 0.02, duration: 1ep}
    - {type: cosine, start: 0.02, end: 0.001, duration: 60%}
"""


def shown_fingerprint(path, *options: str) -> str:
    """The fingerprint ``lrcore show`` prints for the file."""
    env = dict(os.environ, PYTHONWARNINGS="error")
    out = subprocess.run([sys.executable, "-m", "lrcore.cli", "show", *options, str(path)],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    return re.search(r"\(fingerprint ([0-9a-f]{16})\)", out.stdout).group(1)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_config_fingerprint_is_the_files(tmp_path):
    path = tmp_path / "warmup.yaml"
    path.write_text(FILE, encoding="utf-8")
    # the context in the file, and the same context given as arguments instead
    bare = tmp_path / "bare.yaml"
    bare.write_text(FILE.replace("steps_per_epoch: 40\ntotal_steps: 10ep\n", ""), "utf-8")
    context = ("--steps-per-epoch", "40", "--total-steps", "10ep")
    for file, options, schedule in [
            (path, (), lrcore.to_keras(path)),
            (bare, context, lrcore.to_keras(bare, steps_per_epoch=40, total_steps="10ep"))]:
        config = schedule.get_config()
        assert lrcore.load(config).fingerprint() == shown_fingerprint(file, *options)
        blob = keras.saving.serialize_keras_object(schedule)
        copy = keras.saving.deserialize_keras_object(blob)
        assert copy.get_config() == config
        steps = keras.ops.convert_to_tensor(np.arange(0, 420), dtype="int32")
        assert np.array_equal(_np(copy(steps)), _np(schedule(steps)))
    assert lrcore.to_keras(path).get_config() == {
        "lrcore": 1, "steps_per_epoch": 40, "total_steps": "10ep", "schedule": {
            "type": "sequence", "phases": [
                {"type": "linear", "start": 0.0, "end": 0.02, "duration": "1ep"},
                {"type": "cosine", "start": 0.02, "end": 0.001, "duration": "60%"}]}}


PLATEAU = lrcore.Schedule(schedule=lrcore.plateau(
    schedule=lrcore.cosine(start=0.1, end=0.001, duration=200), factor=0.5, patience=1))


def _reported():
    """A plateau schedule whose state moved: two reports without improvement halve it."""
    schedule = lrcore.to_keras(PLATEAU)
    for step, metric in [(10, 1.0), (20, 1.0), (30, 1.0)]:
        schedule.report(metric, step)
    assert schedule.plateau.scale == 0.5
    return schedule


def test_plateau_schedule_reads_back_in_every_form():
    schedule = _reported()
    config = schedule.get_config()
    assert config == {**PLATEAU.to_dict(), "keras": {"plateau_state": {
        "best": 1.0, "bad": 0, "cool": 0, "scale": 0.5, "reports": 3}}}
    forms = [lrcore.from_keras(schedule),
             lrcore.from_keras(keras.saving.serialize_keras_object(schedule)),
             lrcore.from_keras(config, class_name="LrcoreSchedule"),
             lrcore.load(config)]
    assert forms == [PLATEAU] * 4
    # the spec, not the runtime state: a schedule built from it starts at scale 1
    assert lrcore.to_keras(forms[-1]).plateau.scale == 1.0
    # keras.saving keeps the state
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert copy.plateau == schedule.plateau


def test_from_keras_applies_the_context_arguments():
    """from_keras returns the spec the schedule draws: the document with the context
    it was given (lrcore.load returns the document alone)."""
    spec = lrcore.cosine(start=0.1, end=0.0, duration="2ep")
    schedule = lrcore.to_keras(spec, steps_per_epoch=30, gradient_accumulation_steps=2)
    drawn = lrcore.Schedule(schedule=spec, steps_per_epoch=30)
    config = schedule.get_config()
    assert lrcore.from_keras(config, class_name="LrcoreSchedule") == drawn
    assert lrcore.from_keras(keras.saving.serialize_keras_object(schedule)) == drawn
    assert lrcore.from_keras(schedule) == drawn
    assert lrcore.load(config) == lrcore.Schedule(schedule=spec)


def test_a_config_saved_before_the_keras_key_still_loads():
    """Configs written by earlier lrcore: the settings beside the document's keys, the
    context inside it."""
    old = {**PLATEAU.to_dict(), "steps_per_epoch": 10, "gradient_accumulation_steps": 2,
           "plateau_state": {"best": 1.0, "bad": 1, "cool": 0, "scale": 0.5, "reports": 2}}
    schedule = keras.saving.deserialize_keras_object(
        {"module": "lrcore.adapters.keras", "class_name": "LrcoreSchedule", "config": old,
         "registered_name": "lrcore>LrcoreSchedule"})
    assert schedule.plateau.scale == 0.5 and schedule.gradient_accumulation_steps == 2
    assert lrcore.from_keras(old, class_name="LrcoreSchedule") == lrcore.Schedule(
        schedule=PLATEAU.schedule, steps_per_epoch=10)


@pytest.mark.parametrize("settings, message", [
    (3, "keras: must be a mapping of the Keras schedule's settings "
        "(gradient_accumulation_steps, steps_per_epoch, total_steps, plateau_state), got 3"),
    ({"plateau": {}}, "keras.plateau: is not a Keras schedule setting; known: "
                      "gradient_accumulation_steps, steps_per_epoch, total_steps, "
                      "plateau_state, got {}"),
])
def test_bad_keras_settings(settings, message):
    config = {**PLATEAU.to_dict(), "keras": settings}
    for read in (lrcore.load, lambda c: lrcore.from_keras(c, class_name="LrcoreSchedule"),
                 lrcore.adapters.keras.LrcoreSchedule.from_config):
        with pytest.raises(SpecError) as err:
            read(config)
        assert str(err.value) == message
