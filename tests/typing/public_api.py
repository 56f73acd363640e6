"""The public API as a user's code sees it, type-checked by mypy in ``tox -e types``
against the installed wheel (its ``py.typed``), not the checkout. Not run: mypy reads it.
Each ``assert_type`` pins what a type checker infers for a documented call."""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import assert_type

import lrcore
from lrcore.parity import Report
from lrcore.testing import assert_parity

spec = lrcore.load("docs/warmup_cosine.yaml")
assert_type(spec, lrcore.Schedule)
assert_type(lrcore.Schedule.from_dict(spec.to_dict()), lrcore.Schedule)
assert_type(spec.to_dict(), dict[str, Any])
assert_type(spec.fingerprint(), str)
assert_type(spec.horizon(), int | None)
assert_type(lrcore.dumps(spec, "json"), str)
assert_type(lrcore.dump(spec, "schedule.yaml"), None)

assert_type(lrcore.evaluate(spec, [0, 1, 2], steps_per_epoch=100), np.ndarray)
assert_type(lrcore.evaluate(spec, range(10), hyperparam="momentum"), np.ndarray)
assert_type(lrcore.grid(spec), np.ndarray)

node = lrcore.cosine(start=1e-3, end=0.0, duration=1000)
assert_type(node, lrcore.cosine)
warm = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1e-3, duration=10), node])
assert_type(warm, lrcore.sequence)
assert isinstance(warm, lrcore.Node)

report = lrcore.parity.check(spec, backends=["reference", "python"])
assert_type(report, Report)
assert_type(report.ok, bool)
assert_type(report.table(), str)
assert_type(report.raise_for_failure(), None)
assert_type(assert_parity(spec, backends=["python"]), Report)

try:
    lrcore.load({"lrcore": 1, "schedule": {"type": "cosin"}})
except lrcore.SpecError as err:
    assert_type(err.path, str)
    assert_type(err.rule, str)
    assert isinstance(err, ValueError)

assert_type(lrcore.__version__, str)
assert_type(lrcore.FORMAT_VERSION, int)

# the framework entry points resolve for a type checker too (lazy at run time)
scheduler_factory = lrcore.to_torch
optax_schedule = lrcore.to_optax
keras_factory = lrcore.to_keras
assert callable(scheduler_factory) and callable(optax_schedule) and callable(keras_factory)
