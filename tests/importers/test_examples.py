"""The schedule examples in ``examples/``: each spec against the formula of the write-up
it reproduces, written out here in plain Python (float64 rtol 1e-12 / atol 1e-15 x peak,
every step of the run and past it)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from importer_helpers import FLOAT64, assert_close

import lrcore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def keras_exponential_decay_callback(t):
    epoch = t // 100
    return max(0.01 * 0.9**epoch, 1e-6)


def warmup_hold_cosine_floor(t):
    if t < 1000:
        return 1e-3 * t / 1000
    if t < 3000:
        return 1e-3
    x = min(t - 3000, 17000) / 17000
    return 1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + math.cos(math.pi * x))


def sgdr_restarts_with_warmup(t):
    total = 10000
    starts, lengths, peaks = [0, 3000, 6000], [3000, 3000, 4000], [0.1, 0.05, 0.025]
    warm = round(0.03 * total)
    i = 2 if t >= 6000 else 1 if t >= 3000 else 0
    u = t - starts[i]
    if u < warm:
        return peaks[i] * u / warm
    x = min(u - warm, lengths[i] - warm) / (lengths[i] - warm)
    return 1e-4 + (peaks[i] - 1e-4) * 0.5 * (1 + math.cos(math.pi * x))


def step_decay_epochs_drop(t):
    epoch = t // 50
    return 0.1 * 0.5 ** math.floor((1 + epoch) / 10)


def time_based_decay(t):
    return 0.1 / (1 + 0.002 * t)


def exponential_decay_per_epoch(t):
    return 0.1 * math.exp(-0.1 * (t // 100))


def tf_exponential_decay_staircase(t):
    return 0.1 * 0.96 ** (t // 100)


def cyclical_triangular2_fashion_mnist(t):
    # Smith's CLR formula as in the bckenstler/CLR Keras callback
    step_size = 8 * (60000 // 64)
    cycle = math.floor(1 + t / (2 * step_size))
    x = abs(t / step_size - 2 * cycle + 1)
    return 1e-7 + (1e-2 - 1e-7) * max(0.0, 1 - x) / 2 ** (cycle - 1)


def torch_steplr_demo(t):
    return 0.05 * 0.1 ** ((t // 100) // 30)


def torch_multisteplr_demo(t):
    epoch = t // 100
    return 0.05 if epoch < 30 else 0.005 if epoch < 80 else 0.0005


def torch_exponentiallr_demo(t):
    return 0.05 * 0.95 ** (t // 100)


def torch_cosineannealinglr_demo(t):
    return 0.05 * (1 + math.cos(math.pi * (t // 100) / 100)) / 2


# file stem -> (formula, steps checked: the run and some way past it)
FORMULAS = {
    "keras_exponential_decay_callback": (keras_exponential_decay_callback, 13000),
    "warmup_hold_cosine_floor": (warmup_hold_cosine_floor, 22000),
    "sgdr_restarts_with_warmup": (sgdr_restarts_with_warmup, 12000),
    "step_decay_epochs_drop": (step_decay_epochs_drop, 3500),
    "time_based_decay": (time_based_decay, 30000),
    "exponential_decay_per_epoch": (exponential_decay_per_epoch, 8000),
    "tf_exponential_decay_staircase": (tf_exponential_decay_staircase, 20000),
    "cyclical_triangular2_fashion_mnist": (cyclical_triangular2_fashion_mnist, 96 * 937 + 500),
    "torch_steplr_demo": (torch_steplr_demo, 12000),
    "torch_multisteplr_demo": (torch_multisteplr_demo, 12000),
    "torch_exponentiallr_demo": (torch_exponentiallr_demo, 12000),
    "torch_cosineannealinglr_demo": (torch_cosineannealinglr_demo, 25000),
}


@pytest.mark.parametrize("stem", sorted(FORMULAS))
def test_example_matches_its_formula(stem):
    path = EXAMPLES / f"{stem}.yaml"
    doc = lrcore.load(path)
    formula, horizon = FORMULAS[stem]
    t = np.arange(horizon)
    expected = [formula(int(k)) for k in t]
    assert_close(lrcore.evaluate(doc, t), expected, FLOAT64, steps=t, what=stem)


@pytest.mark.parametrize("stem", sorted(FORMULAS))
def test_example_is_a_complete_document(stem):
    """``lrcore: 1``, a name, a description and a ``#`` comment saying what it
    reproduces."""
    path = EXAMPLES / f"{stem}.yaml"
    text = path.read_text(encoding="utf-8")
    doc = lrcore.load(path)
    assert text.lstrip().startswith("#")
    assert doc.to_dict()["lrcore"] == 1
    assert doc.name and doc.description
    assert lrcore.load(lrcore.dumps(doc)) == doc
