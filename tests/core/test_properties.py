"""Properties over random valid specs (tests/core/strategies.py): no step of the domain
[0, 2**31 - 1] yields NaN, inf or a negative rate, and numpy raises no floating-point
error on the way (overflow, invalid, division by zero), for every family and for trees
of combinators; valid specs also survive the dict and text round trips unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import COMBINATORS, FAMILIES, families, spec_trees

import lrcore

MAX_STEP = 2**31 - 1
FIXED = [0, 1, 2, 3, 10, 100, 1000, 10**6, 10**7, 2**24 + 1, 2**30, MAX_STEP - 1, MAX_STEP]
random_steps = st.lists(st.integers(0, MAX_STEP), min_size=1, max_size=40)


def _check_finite(spec, steps):
    steps = np.asarray(sorted(set(steps) | set(FIXED)) + list(range(0, 600, 7)),
                       dtype=np.int64)
    # underflow to 0 is a legitimate value of a decaying schedule; all else is an error
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = lrcore.evaluate(spec, steps)
        shuffled = lrcore.evaluate(spec, steps[::-1])  # unsorted steps take another path
    assert out.dtype == np.float64 and out.shape == steps.shape
    bad = ~np.isfinite(out) | (out < 0)
    assert not bad.any(), f"step {steps[bad][0]}: {out[bad][0]!r} from {spec!r}"
    assert np.array_equal(shuffled[::-1], out)


def test_strategies_cover_every_type():
    """Every node type of the format is a family or a combinator of the grammar, or the
    plateau root its documents may have."""
    assert set(FAMILIES) | set(COMBINATORS) | {"plateau"} == set(lrcore.REGISTRY)
    assert not set(FAMILIES) & set(COMBINATORS)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@given(data=st.data(), steps=random_steps)
def test_every_family_is_finite_and_non_negative(family, data, steps):
    spec = data.draw(FAMILIES[family](), label=family)
    assert spec.type == family
    _check_finite(spec, steps)


@given(spec=spec_trees(), steps=random_steps)
def test_spec_trees_are_finite_and_non_negative(spec, steps):
    _check_finite(spec, steps)


@given(spec=st.one_of(families(), spec_trees(max_leaves=4)))
def test_valid_specs_round_trip(spec):
    """dict, YAML and JSON round trips give an equal spec with the same fingerprint."""
    doc = lrcore.Schedule(schedule=spec)
    for back in (lrcore.Schedule.from_dict(doc.to_dict()),
                 lrcore.load(lrcore.dumps(doc, "yaml")), lrcore.load(lrcore.dumps(doc, "json"))):
        assert back == doc
        assert back.fingerprint() == doc.fingerprint()
