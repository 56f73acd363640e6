"""The differential fuzzer: random valid trees pushed to the edges of what ``load``
accepts, random report sequences that sit on the plateau rule's decision edges, and steps
outside the domain, on every in-process backend against the float64 reference.

The grammar of :func:`hardening_helpers.valid_docs` keeps its parameters in comfortable
ranges; here numeric leaves are then replaced by *extreme but accepted* values: the
bounds each field declares (read from the node classes, so a bound added later is
fuzzed at once), tiny and huge rates, steep exponents and powers, long durations. A
spec that ``load`` refuses is a ``SpecError`` (counted, fine); a spec it accepts must
keep the whole contract: finite rates >= 0 on the domain and parity on every backend.

Outside the domain ``[0, 2**31 - 1]``: optax under ``jit`` saturates to the rate at the
nearest end (exactly the jitted value there) and raises ``SpecError`` eagerly; the torch
scheduler raises ``SpecError`` rather than step past the end.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hardening_helpers import MAX_STEP, count, probe_steps, valid_docs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_valid import IN_PROCESS

import lrcore
from lrcore import parity
from lrcore.fields import RATE, Float, Int, Steps
from lrcore.node import REGISTRY

#: Each example compiles a tree for XLA and Keras: a tenth of the profile's budget
#: (CI: 20), at least 5.
EXAMPLES = max(5, settings.default.max_examples // 10)
FUZZ = settings(database=None, max_examples=EXAMPLES,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: Rates at the edges of the accepted range (float32 normal and subnormal, near overflow).
EDGE_RATES = [0.0, 1.1754944e-38, 1e-38, 1e-40, 1e-30, 1e-12, 1e30, 1e38, 3.4e38]


def _edges(kind) -> list:
    """Extreme values a field kind accepts (or nearly: a value just past a bound is a
    SpecError, which is fine)."""
    if kind is RATE:
        return EDGE_RATES
    if isinstance(kind, Float):
        out = [b for b in (kind.ge, kind.le) if b is not None]
        out += [kind.gt + 1e-12 * max(1.0, abs(kind.gt))] if kind.gt is not None else []
        out += [kind.lt * (1 - 1e-12)] if kind.lt is not None else []
        out += [16.0, 30.0, 100.0, 1e4, 1e-3, 1 - 1e-9, 1 + 1e-9]
        return out
    if isinstance(kind, Int):
        return [kind.ge, kind.le, kind.ge + 1]
    if isinstance(kind, Steps):
        return [1, 2, 3, MAX_STEP, MAX_STEP - 1, 2**30 + 7, 2**24 + 1]
    return []


_EDGES = {(cls.type, f.name): _edges(f.metadata["kind"])
          for cls in REGISTRY.values() for f in cls.fields()}


def _leaves(tree, path=()):
    """(path, node type, field) of every numeric parameter of every node mapping."""
    out = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and (
                    tree.get("type"), k) in _EDGES and _EDGES[tree["type"], k]:
                out.append((path + (k,), tree["type"], k))
            else:
                out += _leaves(v, path + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _leaves(v, path + (i,))
    return out


@st.composite
def extreme_docs(draw):
    """A valid document with one to four numeric leaves pushed to their edges."""
    doc, reports = draw(valid_docs())
    doc = copy.deepcopy(doc)
    leaves = _leaves(doc["schedule"])
    if leaves:
        for _ in range(draw(st.integers(1, 4))):
            path, kind, field = draw(st.sampled_from(leaves))
            target = doc["schedule"]
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = draw(st.sampled_from(_EDGES[kind, field]))
    return doc, reports


def _steps_for(spec, extra, horizon=48) -> np.ndarray:
    t = np.concatenate([lrcore.grid(spec, horizon), probe_steps(extra)])
    return np.unique(t[(t >= 0) & (t <= MAX_STEP)])


@FUZZ
@given(extreme_docs(), st.lists(st.integers(0, MAX_STEP), min_size=1, max_size=12))
def test_extreme_accepted_trees_keep_the_contract_on_every_backend(drawn, extra) -> None:
    doc, reports = drawn
    try:
        spec = lrcore.load(doc)
        t = _steps_for(spec, extra)
        rates = lrcore.evaluate(spec, t, reports=reports)
    except lrcore.SpecError:
        count("differential-refused")
        return
    count("differential-accepted")
    for fmt in ("yaml", "json"):  # what loads dumps to text that loads back equal
        back = lrcore.load(lrcore.dumps(spec, fmt))
        assert back == spec and back.fingerprint() == spec.fingerprint(), fmt
    bad = ~(np.isfinite(rates) & (rates >= 0))
    assert not bad.any(), f"rate {rates[bad][0]!r} at step {t[bad][0]}: {doc}"
    parity.check_many([spec], IN_PROCESS, steps=t, reports=[reports])[0].raise_for_failure()


# ---- reports on the decision edges ------------------------------------------------------

@st.composite
def edge_reports(draw, mode: str, threshold: float, threshold_mode: str):
    """Metrics each within a few float64 ulp of the edge the rule compares against
    (``best * (1 -+ threshold)`` or ``best -+ threshold``), sometimes float32 values."""
    n = draw(st.integers(2, 24))
    best = math.inf if mode == "min" else -math.inf
    sign = -1.0 if mode == "min" else 1.0
    out, step = [], 0
    for _ in range(n):
        step += draw(st.integers(0, 50))
        if not math.isfinite(best) or draw(st.integers(0, 4)) == 0:
            m = draw(st.floats(0.25, 4.0))
        else:
            edge = best * (1 + sign * threshold) if threshold_mode == "rel" \
                else best + sign * threshold
            m = edge + draw(st.integers(-4, 4)) * float(np.spacing(edge))
        if draw(st.booleans()):
            m = float(np.float32(m))
        better = m < (best * (1 - threshold) if threshold_mode == "rel" else best - threshold)\
            if mode == "min" else \
            m > (best * (1 + threshold) if threshold_mode == "rel" else best + threshold)
        best = m if better else best
        out.append((step, m))
    return out


@st.composite
def plateau_cases(draw):
    mode = draw(st.sampled_from(["min", "max"]))
    threshold_mode = draw(st.sampled_from(["rel", "abs"]))
    threshold = draw(st.sampled_from([1e-4, 1e-3, 0.01, 0.0, 1e-8]))
    inner = draw(st.sampled_from([
        {"type": "constant", "value": 1e-3},
        {"type": "cosine", "start": 0.1, "end": 1e-4, "duration": 600},
        {"type": "linear", "start": 3e-4, "end": 0.3, "duration": 1000},
    ]))
    spec = {"lrcore": 1, "schedule": {
        "type": "plateau", "schedule": inner, "mode": mode, "threshold": threshold,
        "threshold_mode": threshold_mode, "factor": draw(st.sampled_from([0.5, 0.1, 0.9])),
        "patience": draw(st.integers(0, 2)), "cooldown": draw(st.integers(0, 1)),
        "min_lr": draw(st.sampled_from([0.0, 1e-5])), "eps": draw(st.sampled_from(
            [0.0, 1e-8]))}}
    return spec, draw(edge_reports(mode, threshold, threshold_mode))


@FUZZ
@given(plateau_cases())
def test_reports_on_the_decision_edges_cut_alike_on_every_backend(case) -> None:
    """Every backend is fed the same reports and must cut at the same steps: a decision
    taken differently shows as a factor (0.1 to 0.9), far past any tolerance."""
    doc, reports = case
    spec = lrcore.load(doc)
    t = np.unique(np.concatenate([np.arange(0, reports[-1][0] + 3), probe_steps()]))
    count("differential-reports")
    parity.check_many([spec], IN_PROCESS, steps=t, reports=[reports])[0].raise_for_failure()


# ---- outside the domain ----------------------------------------------------------------

OUTSIDE = st.one_of(st.integers(-(2**31), -1), st.integers(2**31, 2**32 - 1))


@FUZZ
@given(valid_docs(plateau=False), st.lists(OUTSIDE, min_size=1, max_size=6))
def test_optax_outside_the_domain_saturates_under_jit_and_raises_eagerly(drawn, counts) -> None:
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    spec = lrcore.load(drawn[0])
    sched = lrcore.to_optax(spec)
    f = jax.jit(jax.vmap(sched))
    signed = [c for c in counts if c < 0]
    unsigned = [c for c in counts if c > 0]
    for values, dtype, clamped in ((signed, jnp.int32, 0), (unsigned, jnp.uint32, MAX_STEP)):
        if not values:
            continue
        got = np.asarray(f(jnp.asarray(np.asarray(values, dtype=np.int64).astype(dtype))))
        at_end = np.asarray(f(jnp.asarray([clamped], dtype=jnp.int32)))
        np.testing.assert_array_equal(got, np.repeat(at_end, len(values)))
        with pytest.raises(lrcore.SpecError, match=r"^count: must be in \[0, 2\*\*31 - 1\]"):
            sched(np.asarray(values[:1], dtype=np.int64).astype(dtype))
    count("differential-outside-optax")


@FUZZ
@given(valid_docs(plateau=False))
def test_torch_refuses_to_step_past_the_domain(drawn) -> None:
    torch = pytest.importorskip("torch")
    spec = lrcore.load(drawn[0])
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.0)
    sched = lrcore.to_torch(spec, opt)
    sched.last_epoch = MAX_STEP - 1
    opt.step()  # the update the scheduler's step follows (torch warns otherwise)
    sched.step()  # to the last step of the domain: allowed, the reference's rate there
    want = float(lrcore.evaluate(spec, [MAX_STEP])[0])
    assert opt.param_groups[0]["lr"] == want
    with pytest.raises(lrcore.SpecError, match=r"^step: must be in \[0, 2\*\*31 - 1\]"):
        sched.step()
    assert opt.param_groups[0]["lr"] == want  # nothing moved
    count("differential-outside-torch")
