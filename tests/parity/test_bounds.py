"""Parity at the validation bounds that exist for float32's sake (issue 11, item 5).

The catalog (``catalog/``) holds specs at each bound; this file checks the one case the
catalog's worst-ulp table cannot show sensibly: a curve at the smallest accepted peak
(1e-28) that float32 backends flush to zero or hold in a few bits of a subnormal. The
bound is chosen so that parity's absolute slack, 1e-9 of the peak, still covers that.
"""

from __future__ import annotations

import numpy as np
import pytest

import lrcore
from lrcore import parity
from lrcore.node import PEAK_FLOOR

FLOAT32 = [b for b in parity.available_backends() if parity.dtype_of(b) == "float32"]


@pytest.mark.skipif(not FLOAT32, reason="no float32 backend installed")
def test_smallest_accepted_peak_passes_parity_through_float32_flushes():
    spec = lrcore.exponential(start=PEAK_FLOOR, rate=0.5)  # subnormal in float32 from 33
    t = np.arange(0, 200)
    tiny = float(np.finfo(np.float32).tiny)  # the smallest normal float32, 1.2e-38
    assert lrcore.evaluate(spec, [32]) > tiny > lrcore.evaluate(spec, [33])
    report = parity.check(spec, backends=FLOAT32, steps=t)
    report.raise_for_failure()


def test_just_below_the_floor_is_refused():
    with pytest.raises(lrcore.SpecError, match=r"^schedule: stays below 1e-28 and is not 0"):
        lrcore.evaluate(lrcore.exponential(start=PEAK_FLOOR * 0.999, rate=0.5), [0])



def test_a_zero_start_that_grows_is_zero_everywhere():
    """0 * factor**k is 0 for every k: no 0 * inf = NaN where the factor overflows
    (found by the differential fuzzer)."""
    nodes = [lrcore.exponential(start=0.0, rate=2.0),
             lrcore.exponential(start=0.0, rate=2.0, bound=1.0),
             lrcore.exponential(start=0.0, rate=2.0, every=3, staircase=True),
             lrcore.step(start=0.0, factor=3.0, every=1)]
    t = np.array([0, 1, 99, 2000, 2**31 - 1])
    for node in nodes:
        np.testing.assert_array_equal(lrcore.evaluate(node, t), np.zeros(len(t)))
    for report in parity.check_many(nodes, steps=t):
        report.raise_for_failure()
