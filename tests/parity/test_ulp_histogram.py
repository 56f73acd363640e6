"""The ulp histogram of a parity run: the share of grid points whose value is within 0,
1, 2 and 4 ulps of the reference rounded to the backend's dtype.

Oracles: values built by hand as float32/float64 neighbours of the reference (the
spacing of float32 is 2**-23 on [1, 2) and 2**-24 on [0.5, 1)), the expected counts
and shares written out.
"""

from __future__ import annotations

import numpy as np

from lrcore import parity
from lrcore.parity import Report, compare, histogram_table, ulp_distance, ulp_histogram

E23, E24 = 2.0**-23, 2.0**-24


def test_ulp_distance_counts_float32_numbers_between():
    """Whole float32 steps from the reference rounded to float32, across a binade and
    across zero; 0.1 rounded to float32 is 0 ulp away although it differs from 0.1."""
    ref = np.array([1.0, 1.0, 1.0, 1.0, 0.1, -1.0, 0.0, 1e-45, 2.0])
    got = np.array([1.0, 1.0 + E23, 1.0 - E24, 1.0 + 3 * E23, float(np.float32(0.1)),
                    -(1.0 + E23), -0.0, -float(np.float32(1e-45)), np.nan])
    assert ulp_distance(ref, got, "float32").tolist() == [0, 1, 1, 3, 0, 1, 0, 2, np.inf]


def test_ulp_distance_float64():
    ref = np.array([0.1, 0.25, 0.25])
    got = np.array([0.1, np.nextafter(0.25, 1.0), np.nextafter(np.nextafter(0.25, 0), 0)])
    assert ulp_distance(ref, got, "float64").tolist() == [0, 1, 2]


def _reports() -> list[Report]:
    """Two specs on optax (float32) and python (float64): 8 and 3 points."""
    t1 = np.arange(7)
    ref1 = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 3.0])
    opt1 = np.array([1.0, 1.0 + E23, 1.0 - E24, 1.0 + 2 * E23, 1.0 + 3 * E23,
                     float(np.float32(0.1)), 3.0 + 5 * 2.0**-22])  # 0 1 1 2 3 0 5 ulp
    py1 = ref1.copy()
    t2 = np.arange(1)
    ref2, opt2 = np.array([2.0]), np.array([2.0 - E23])  # 1 ulp (below 2: 2**-23)
    ref3 = np.array([0.25, 0.25])
    py3 = np.array([0.25, np.nextafter(0.25, 1.0)])  # 0 and 1 ulp
    one = Report("one", "0" * 16, 3.0, (compare("optax", t1, ref1, opt1),
                                        compare("python", t1, ref1, py1)))
    two = Report("two", "1" * 16, 2.0, (compare("optax", t2, ref2, opt2),
                                        compare("python", np.arange(2), ref3, py3)))
    return [one, two]


def test_counts_per_result():
    one, two = _reports()
    assert one.results[0].ulp_counts == (2, 4, 5, 6)  # of 7
    assert one.results[1].ulp_counts == (7, 7, 7, 7)
    assert two.results[0].ulp_counts == (0, 1, 1, 1)
    assert two.results[1].ulp_counts == (1, 2, 2, 2)
    assert one.results[0].to_dict()["ulp_counts"] == [2, 4, 5, 6]


def test_histogram_sums_over_reports_and_gives_shares():
    hists = ulp_histogram(_reports())
    assert [(h.backend, h.dtype, h.points, h.counts) for h in hists] == [
        ("optax", "float32", 8, (2, 5, 6, 7)), ("python", "float64", 9, (8, 9, 9, 9))]
    assert hists[0].shares == {0: 2 / 8, 1: 5 / 8, 2: 6 / 8, 4: 7 / 8}
    assert hists[1].shares == {0: 8 / 9, 1: 1.0, 2: 1.0, 4: 1.0}
    assert hists[0].to_dict() == {"backend": "optax", "dtype": "float32", "points": 8,
                                  "counts": [2, 5, 6, 7],
                                  "shares": {"0": 0.25, "1": 0.625, "2": 0.75, "4": 0.875}}


def test_histogram_counts_hyperparameter_curves():
    one, two = _reports()
    both = Report("one", one.fingerprint, one.peak, one.results, curves=(two,))
    assert [h.counts for h in ulp_histogram([both])] == [(2, 5, 6, 7), (8, 9, 9, 9)]


def test_table_rounds_shares_down():
    """8/9 = 88.89 % prints as 88.8 %: 100.0 % only when every point is in the bin."""
    assert histogram_table(ulp_histogram(_reports())) == (
        "ulps per point        points    0 ulp  <=1 ulp  <=2 ulp  <=4 ulp\n"
        "optax                      8    25.0%    62.5%    75.0%    87.5%\n"
        "python                     9    88.8%   100.0%   100.0%   100.0%")


def test_bins_are_the_documented_ones():
    assert parity.ULP_BINS == (0, 1, 2, 4)
