"""The reference evaluator's block path: in place, and bit for bit the formulas.

``evaluate`` writes the line and the float64 half cosine block by block into its output
(no block-sized temporaries). Its values must be exactly those of the formulas written
out here with plain numpy (a fresh array per operation), and of literal values taken
before the in-place path existed, over several blocks, sorted or not, with a phase's
local time shifted by a sequence.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

import lrcore
from lrcore.evaluate import CHUNK

RNG = np.random.default_rng(17)


def _line(n: np.ndarray, d: int, a: float, b: float) -> np.ndarray:
    """``min + |a - b| * (n / D)``, ``n`` the exact distance to the end (falling) or
    from the start (rising)."""
    return min(a, b) + abs(a - b) * (n.astype(np.float64) / float(d))


def _half_cosine(n: np.ndarray, d: int, a: float, b: float) -> np.ndarray:
    """``min + |a - b| * sin(pi / (2 D) * n) ** 2`` (``(1 + cos(pi t / D)) / 2`` falling)."""
    s = np.sin((math.pi / (2.0 * d)) * n.astype(np.float64))
    return min(a, b) + abs(a - b) * (s * s)


def _curve(kind: str, t: np.ndarray, d: int, a: float, b: float) -> np.ndarray:
    """A linear or cosine node by its formula: held at ``b`` from ``D`` on."""
    n = np.minimum(t, d)
    n = d - n if a >= b else n
    f = _line if kind == "linear" else _half_cosine
    return np.where(t >= d, b, f(n, d, a, b))


def _node(kind: str, d: int, a: float, b: float) -> lrcore.Node:
    return getattr(lrcore, kind)(start=a, end=b, duration=d)


def _same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == np.float64 and got.shape == want.shape
    differ = np.flatnonzero(got.view(np.int64) != want.view(np.int64))
    assert differ.size == 0, (differ[:5], got[differ[:5]], want[differ[:5]])


STEPS = {
    "blocks": np.arange(3 * CHUNK + 123, dtype=np.int64),
    "shuffled": RNG.permutation(3 * CHUNK + 123),
    "far": np.sort(RNG.integers(0, 2**31 - 1, 2 * CHUNK)),
    "grid": np.arange(7 * CHUNK // 2, dtype=np.int64).reshape(-1, 7) * 5,
}
CURVES = [(kind, d, a, b) for kind in ("linear", "cosine")
          for d in (1, 3, 1000, CHUNK - 1, 2 * CHUNK + 5, 10**6, 2**31 - 1)
          for a, b in ((1e-3, 1e-5), (0.0, 2.5), (0.7, 0.7))]


@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize(("kind", "d", "a", "b"), CURVES)
def test_a_curve_is_its_formula_bit_for_bit(kind, d, a, b, steps):
    t = STEPS[steps]
    _same_bits(lrcore.evaluate(_node(kind, d, a, b), t), _curve(kind, t, d, a, b))


@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize(("warm", "d"), [(1, 10), (500, CHUNK), (CHUNK + 3, 3 * CHUNK),
                                         (40_000, 10**6)])
def test_a_warmup_cosine_is_its_formula_on_local_time(warm, d, steps):
    """A sequence passes its phase's local time ``t - W`` down (no array of it)."""
    t = STEPS[steps]
    spec = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1e-3, duration=warm),
                                   lrcore.cosine(start=1e-3, end=1e-5, duration=d),
                                   lrcore.linear(start=1e-5, end=0.5, duration=7)])
    local = np.maximum(t - warm, 0)
    tail = np.maximum(t - warm - d, 0)
    want = np.where(t < warm, _curve("linear", t, warm, 0.0, 1e-3),
                    np.where(t < warm + d, _curve("cosine", local, d, 1e-3, 1e-5),
                             _curve("linear", tail, 7, 1e-5, 0.5)))
    _same_bits(lrcore.evaluate(spec, t), want)


def test_the_benchmark_curve_keeps_its_values():
    """Literal values of the evaluator benchmark's warmup-cosine (10**7 steps), taken
    from the reference before it ran in place."""
    n, w = 10**7, 10**7 // 20
    spec = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1e-3, duration=w),
                                   lrcore.cosine(start=1e-3, end=1e-5, duration=n - w)])
    at = [0, 1, 12345, w - 1, w, w + 1, 3_000_001, 7_654_321, n - 1, n]
    want = ["0x0.0p+0", "0x1.12e0be826d695p-29", "0x1.9e3abe16fc70dp-16",
            "0x1.0624bad302cf7p-10", "0x1.0624dd2f1a9fcp-10", "0x1.0624dd2f1a97fp-10",
            "0x1.b889047377224p-11", "0x1.3df0324d37e87p-13", "0x1.4f8b588e3a75ap-17",
            "0x1.4f8b588e368f1p-17"]
    got = lrcore.evaluate(spec, np.arange(n + 1))[at]
    assert [x.hex() for x in got.tolist()] == [float.fromhex(x).hex() for x in want]
    assert lrcore.evaluate(spec, [2**31 - 1])[0].hex() == "0x1.4f8b588e368f1p-17"
    rising = lrcore.evaluate(lrcore.cosine(start=0.0, end=2.5, duration=70001),
                             np.arange(70002))[[0, 1, 35000, 70000, 70001]]
    assert [x.hex() for x in rising.tolist()] == [
        "0x0.0p+0", "0x1.5a07240f7da4cp-30", "0x1.3ffe29682b8bep+0",
        "0x1.3ffffffd4bf1cp+1", "0x1.4000000000000p+1"]


@pytest.mark.parametrize("spec", [
    lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1e-3, duration=50_000),
                            lrcore.cosine(start=1e-3, end=1e-5, duration=950_000)]),
    lrcore.cosine(start=0.0, end=1.0, duration=10**6),
    lrcore.linear(start=1.0, end=0.0, duration=10**6)], ids=["warmup-cosine", "cosine",
                                                            "linear"])
def test_no_block_sized_temporaries(spec):
    """The curve is written into the output block by block: beyond the output, less
    than half a block (of float64) is allocated at any time (it was 1 to 4 MiB)."""
    t = np.arange(10**6)
    lrcore.evaluate(spec, t[:3 * CHUNK])  # compiled, and the thread pool imported
    tracemalloc.start()
    try:
        out = lrcore.evaluate(spec, t)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - out.nbytes < CHUNK * 8 // 2


def test_a_step_out_of_range_in_a_later_block_is_named():
    """The range is checked block by block; the error names the step a check of the
    whole array would (the smallest if any is negative, else the largest)."""
    t = np.arange(4 * CHUNK)
    t[3 * CHUNK + 5], t[CHUNK + 1], t[2 * CHUNK] = 2**40, -7, -3
    with pytest.raises(lrcore.SpecError) as err:
        lrcore.evaluate(lrcore.cosine(start=1.0, duration=100), t)
    assert str(err.value) == "steps: must be in [0, 2**31 - 1], got -7"
    t[CHUNK + 1] = t[2 * CHUNK] = 0
    with pytest.raises(lrcore.SpecError) as err:
        lrcore.evaluate(lrcore.cosine(start=1.0, duration=100), t)
    assert str(err.value) == "steps: must be in [0, 2**31 - 1], got 1099511627776"
