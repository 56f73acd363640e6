"""Presets and dict-only Keras import load no framework (a fresh interpreter each)."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "optax", "transformers")

SCRIPT = f"""
import sys
import lrcore
import lrcore.presets
spec = lrcore.presets.optax.warmup_cosine_decay_schedule(0.0, 1.0, 10, 100)
spec = lrcore.presets.optax.join_schedules([spec, lrcore.presets.hf("linear", 1.0, 2, 9)],
                                           [100])
lrcore.evaluate(spec, range(200))
lrcore.from_keras({{"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}},
                  class_name="ExponentialDecay")
loaded = sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)
assert not loaded, loaded
"""


def test_presets_and_keras_dicts_import_no_framework():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
