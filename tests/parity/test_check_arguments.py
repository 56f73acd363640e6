"""``parity.check`` reads its arguments as written: a numpy integer horizon is a horizon
(not the one step it would be as an array), numpy tolerances are tolerances."""

from __future__ import annotations

import numpy as np
import pytest

import lrcore
from lrcore import parity

SPEC = lrcore.cosine(start=0.1, end=0.0, duration=300)


@pytest.mark.parametrize("horizon", [np.int64(50), np.int32(50), 50])
def test_a_numpy_integer_horizon_is_a_horizon(horizon):
    report = parity.check(SPEC, ["python"], steps=horizon)
    assert report.results[0].n_steps == len(lrcore.grid(SPEC, 50))
    assert report.results[0].n_steps > 50


def test_an_array_of_steps_is_those_steps():
    report = parity.check(SPEC, ["python"], steps=np.asarray([3, 7]))
    assert report.results[0].n_steps == 2


@pytest.mark.parametrize("rtol", [np.float32(1e-6), np.int64(0)])
def test_numpy_tolerances_are_numbers(rtol):
    assert parity.check(SPEC, ["python"], rtol=rtol).results[0].rtol == rtol
