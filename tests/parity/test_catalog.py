"""The parity catalog: every spec in ``catalog/`` on every installed backend.

Each backend is compared with the float64 numpy reference on the parity grid (every step
to the horizon, the neighbourhood of every breakpoint, 10**6, 10**7, 2**31 - 2 and
2**31 - 1) at the default, dtype-aware tolerance: float32 rtol 1e-6 + atol 1e-9 * peak,
float64 rtol 1e-12 + atol 1e-15 * peak. One ``check_many`` call runs every backend once
over the whole catalog (the Keras backends other than this process's start one
subprocess each).

The coverage tests read the catalog itself: every node type, every parameter of every
type set to a non-default, non-zero value, every choice option, every duration form and
each case the catalog promises (a rising cosine warmup, a negative shift, ...).

Set ``LRCORE_PARITY_SUMMARY`` to a path to get the worst error per backend as JSON
(``pytest -s`` also prints it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import lrcore
from lrcore import parity
from lrcore.fields import Choice, Steps, StepsList
from lrcore.node import REGISTRY, Node

CATALOG = Path(__file__).parent / "catalog"
FILES = sorted(p for p in CATALOG.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
NAMES = [p.stem for p in FILES]


def _load(path: Path) -> lrcore.Schedule | Exception:
    try:
        return lrcore.load(path)
    except Exception as err:  # noqa: BLE001 - one bad file fails its own tests only
        return err


LOADED = {p.stem: _load(p) for p in FILES}
DOCS = {n: doc for n, doc in LOADED.items() if isinstance(doc, lrcore.Schedule)}
# A spec's hyperparameter curves are parity-checked with it (Report.curves), one test
# each: "spec:momentum".
CURVES = [f"{n}:{c}" for n, d in DOCS.items() for c in d.curves() if c is not None]

# Every registered node type is a schedule the catalog must cover. ``plateau`` is one
# too: between metric reports it is a pure function of the step, and parity feeds every
# backend the same reports (REPORTS below).
SCHEDULE_TYPES = sorted(REGISTRY)

# The metrics reported to each plateau spec, (step, metric) in order; every backend
# gets the same ones at the same steps.
REPORTS: dict[str, list[tuple[int, float]]] = {
    # a validation loss every 100 steps that improves, then stalls (a cut after three
    # reports without a 5% improvement, then two reports of cooldown), improves again
    # and stalls again; one report at step 0 and two at step 1500
    "plateau_warmup_cosine": [(0, 3.1), (100, 2.0), (200, 1.6), (300, 1.3), (400, 1.28),
                              (500, 1.27), (600, 1.26), (700, 1.255), (800, 1.25),
                              (900, 1.1), (1000, 1.09), (1100, 1.095), (1200, 1.08),
                              (1300, 1.085), (1400, 1.083), (1500, 1.07), (1500, 1.075),
                              (1600, 1.081), (1700, 0.9), (1800, 0.91), (1900, 0.905),
                              (2000, 0.902), (2100, 0.899), (2200, 0.903)],
    # an accuracy every 50 steps: gains under the 0.002 threshold count as stalls (no
    # metric sits on a threshold, where float32 and float64 could decide differently)
    "plateau_max_abs_min_lr": [(50, 0.50), (100, 0.60), (150, 0.601), (200, 0.65),
                               (250, 0.651), (300, 0.6515), (350, 0.70), (400, 0.6995),
                               (600, 0.71)],
    # a flat loss every 100 steps
    "plateau_min_scale_eps": [(100 * i, 1.0) for i in range(1, 16)],
}

# The reference is the baseline of every comparison: checking it against itself
# proves nothing, so it is not a parametrised backend here.
BACKENDS = [b for b in parity.available_backends() if b != "reference"]


# ---- running the catalog ----------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    """Per spec, the report; per (spec, backend), the exception raised instead (a spec
    that does not load or that the reference raises on is recorded under "loading" or
    "reference" and under every backend)."""

    reports: dict[str, parity.Report]
    errors: dict[tuple[str, str], BaseException]
    seconds: float


def _isolate(names: list[str], backend: str, reports: dict, errors: dict) -> None:
    """Run ``backend`` on ``names``; when the batch raises, split it in halves until
    every raising spec is pinned down (one bad spec must not hide the others)."""
    try:
        for r in parity.check_many([DOCS[n] for n in names], [backend], names=names,
                                   reports=[REPORTS.get(n) for n in names]):
            old = reports.get(r.name)
            reports[r.name] = r if old is None else dataclasses.replace(
                old, results=old.results + r.results, curves=tuple(
                    dataclasses.replace(a, results=a.results + b.results)
                    for a, b in zip(old.curves, r.curves)))
    except Exception as err:  # noqa: BLE001 - recorded and raised in that spec's test
        if len(names) == 1:
            errors[names[0], backend] = err
            return
        half = len(names) // 2
        _isolate(names[:half], backend, reports, errors)
        _isolate(names[half:], backend, reports, errors)


@pytest.fixture(scope="session")
def outcome() -> Outcome:
    start = time.perf_counter()
    reports: dict[str, parity.Report] = {}
    errors: dict[tuple[str, str], BaseException] = {}
    names = []
    for name in NAMES:  # a spec the reference cannot evaluate fails on every backend
        if name not in DOCS:
            errors.update({(name, b): LOADED[name] for b in ["loading", *BACKENDS]})
            continue
        try:
            lrcore.evaluate(DOCS[name], lrcore.grid(DOCS[name]), reports=REPORTS.get(name))
            names.append(name)
        except Exception as err:  # noqa: BLE001 - recorded and raised in that spec's tests
            errors.update({(name, b): err for b in ["reference", *BACKENDS]})
    try:
        reports = {r.name: r for r in parity.check_many(
            [DOCS[n] for n in names], BACKENDS, names=names,
            reports=[REPORTS.get(n) for n in names])}
    except Exception:  # noqa: BLE001 - some spec raised: find which, backend by backend
        for backend in BACKENDS:
            _isolate(names, backend, reports, errors)
    for rep in list(reports.values()):
        reports.update({c.name: c for c in rep.curves})
    for curve in CURVES:
        stem = curve.split(":")[0]
        errors.update({(curve, b): e for (n, b), e in list(errors.items()) if n == stem})
    return Outcome(reports, errors, time.perf_counter() - start)


def _row(report: parity.Report, backend: str) -> parity.BackendResult:
    return next(r for r in report.results if r.backend == backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NAMES + CURVES)
def test_backend_draws_the_reference_curve(outcome: Outcome, name: str, backend: str) -> None:
    """The backend's rate at every grid step is within the default tolerance of the
    float64 reference (the oracle of a parity test: same formula, other arithmetic)."""
    if (name, backend) in outcome.errors:
        err = outcome.errors[name, backend]
        where = "loading the file" if (name, "loading") in outcome.errors else \
            "the float64 reference" if (name, "reference") in outcome.errors else backend
        pytest.fail(f"{name}: {where} raised {type(err).__name__}: {err}")
    report = outcome.reports[name]
    row = _row(report, backend)
    assert row.ok, (f"{name}: {backend} at step {row.worst_step} gave {row.value!r}, "
                    f"reference {row.reference!r} ({row.ulps:.1f} ulp)\n{report.table()}")


def _summary(outcome: Outcome) -> dict[str, Any]:
    """Per backend: the largest ulp error over the catalog (each spec's worst step, the
    step nearest its tolerance) and how much of the tolerance the worst spec used."""
    out: dict[str, Any] = {"specs": len(NAMES), "curves": len(CURVES),
                           "seconds": round(outcome.seconds, 1), "backends": {}}
    for backend in BACKENDS:
        rows = [(name, _row(outcome.reports[name], backend)) for name in NAMES + CURVES
                if (name, backend) not in outcome.errors]
        errors = sorted(n for n in NAMES if (n, backend) in outcome.errors)
        if not rows:
            out["backends"][backend] = {"specs_checked": 0, "errors": errors}
            continue
        name, worst = max(rows, key=lambda nr: nr[1].ulps)
        used = max(r.abs_err / (r.rtol * abs(r.reference) + r.atol * outcome.reports[n].peak)
                   for n, r in rows)
        exact = worst.ulps == 0  # then no spec or step is "the worst"
        out["backends"][backend] = {
            "dtype": worst.dtype, "worst_ulps": round(worst.ulps, 2),
            "spec": None if exact else name, "step": None if exact else worst.worst_step,
            "reference": None if exact else worst.reference,
            "value": None if exact else worst.value,
            "max_share_of_tolerance": round(used, 4), "specs_checked": len(rows),
            "errors": errors,
        }
    return out


def test_worst_ulp_summary(outcome: Outcome) -> None:
    """Writes the worst-ulp table (LRCORE_PARITY_SUMMARY) and checks that every
    float32 backend really computes in float32: somewhere in the catalog it misses the
    float64 reference by at least half a float32 ulp (a backend exact everywhere would
    be running float64 while its reports claim float32 tolerances)."""
    summary = _summary(outcome)
    text = json.dumps(summary, indent=2)
    print("\nparity catalog summary:\n" + text)
    if os.environ.get("LRCORE_PARITY_SUMMARY"):
        Path(os.environ["LRCORE_PARITY_SUMMARY"]).write_text(text + "\n", encoding="utf-8")
    for backend, row in summary["backends"].items():
        if row.get("dtype") == "float32":
            assert row["worst_ulps"] >= 0.5, (backend, row)


# ---- the catalog documents ---------------------------------------------------------------

@pytest.mark.parametrize("path", FILES, ids=NAMES)
def test_document_is_complete(path: Path) -> None:
    """Each file is a whole document: format version 1, ``name`` equal to the file
    stem, a description of what it exercises, and it resolves with its own context."""
    if isinstance(LOADED[path.stem], Exception):
        err = LOADED[path.stem]
        pytest.fail(f"{path.name} does not load: {type(err).__name__}: {err}")
    text = path.read_text(encoding="utf-8")
    raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    assert raw["lrcore"] == 1
    assert raw["name"] == path.stem
    assert isinstance(raw["description"], str) and len(raw["description"].split()) >= 8
    DOCS[path.stem].resolve()  # raises SpecError if its context cannot resolve it


def test_catalog_size_and_formats() -> None:
    assert len(FILES) >= 45
    assert {p.suffix for p in FILES} == {".yaml", ".json"}


def _nodes(node: Node, ancestors: tuple[Node, ...] = ()) -> Iterator[tuple[Node, tuple]]:
    """Every node of an (unresolved) tree with its ancestors, root first."""
    yield node, ancestors
    for _, child in node.children():
        yield from _nodes(child, (*ancestors, node))


ALL_NODES = [(name, node, anc) for name in DOCS
             for tree in (DOCS[name].schedule, *(t for _, t in DOCS[name].hyperparams))
             for node, anc in _nodes(tree)]


def test_covers_every_node_type() -> None:
    used = {node.type for _, node, _ in ALL_NODES}
    assert set(SCHEDULE_TYPES) - used == set()


_AMOUNT = re.compile(r"^\s*([0-9.]+)")


def _is_set(value: Any, default: Any) -> bool:
    """Given a non-default, non-zero value (a zero hides a whole term of a formula)."""
    if value is None:
        return False
    if default is not dataclasses.MISSING and value == default \
            and type(value) is type(default):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):  # a duration ("3ep", "25%") or a choice
        m = _AMOUNT.match(value)
        return m is None or float(m.group(1)) != 0
    if isinstance(value, tuple):
        return any(_is_set(v, dataclasses.MISSING) for v in value)
    return isinstance(value, Node)


@pytest.mark.parametrize("kind", SCHEDULE_TYPES)
def test_sets_every_parameter(kind: str) -> None:
    """Every field of the type (``duration`` included: the phase length of any node)
    has a non-default, non-zero value in at least one catalog spec."""
    nodes = [node for _, node, _ in ALL_NODES if node.type == kind]
    missing = [f.name for f in REGISTRY[kind].fields()
               if not any(_is_set(getattr(n, f.name), f.default) for n in nodes)]
    assert missing == [], f"{kind}: no catalog spec sets {missing}"


def test_uses_every_choice_option() -> None:
    missing = []
    for kind in SCHEDULE_TYPES:
        for f in REGISTRY[kind].fields():
            if isinstance(f.metadata["kind"], Choice):
                used = {getattr(n, f.name) for _, n, _ in ALL_NODES if n.type == kind}
                missing += [f"{kind}.{f.name}={o}" for o in f.metadata["kind"].options
                            if o not in used]
    assert missing == []


def test_writes_durations_in_every_form() -> None:
    """Steps as integers, real numbers (23.4), ratios ("2000/3"), epochs ("Nep"), shares
    of the run ("N%") and counts past the step domain."""
    forms = set()
    for _, node, _ in ALL_NODES:
        for f in node.fields():
            kind, value = f.metadata["kind"], getattr(node, f.name)
            values = value if isinstance(kind, StepsList) else (value,) \
                if isinstance(kind, Steps) else ()
            for v in (v for v in values if v is not None):
                if isinstance(v, int):
                    forms.add("int" if v <= 2**31 - 1 else "past the domain")
                else:
                    forms.add("real" if isinstance(v, float) else
                              "/" if "/" in v else v.strip()[-1])
    # "3ep" ends in "p"
    assert forms >= {"int", "real", "/", "p", "%", "past the domain"}


def _has(pred: Callable[[Node, tuple], bool]) -> bool:
    return any(pred(node, anc) for _, node, anc in ALL_NODES)


def _inside(node: Node, ancestors: tuple, *kinds: str) -> bool:
    """``node`` sits (not necessarily directly) inside a chain of the given types,
    innermost last: _inside(n, anc, "clip", "repeat") means clip > ... > repeat > n."""
    chain = [a.type for a in ancestors]
    i = 0
    for k in kinds:
        try:
            i = chain.index(k, i) + 1
        except ValueError:
            return False
    return True


def _rates(node: Node) -> list[float]:
    out = []
    for f in node.fields():
        v = getattr(node, f.name)
        if isinstance(v, float):
            out.append(v)
        elif isinstance(v, tuple) and v and isinstance(v[0], float):
            out += list(v)
        elif isinstance(v, tuple) and v and isinstance(v[0], tuple):
            out += [r for _, r in v]
    return out


CASES: dict[str, Callable[[Node, tuple], bool]] = {
    "cosine exponent != 1": lambda n, a: n.type == "cosine" and n.exponent != 1,
    "periodic cosine": lambda n, a: n.type == "cosine" and n.periodic,
    "rising cosine warmup 1e-7 -> 1e-3": lambda n, a: n.type == "cosine"
    and n.start <= 1e-7 and n.end >= 1e-3,
    "exponential staircase + begin + bound": lambda n, a: n.type == "exponential"
    and n.staircase and n.begin != 0 and n.bound is not None,
    "exponential growth with a bound": lambda n, a: n.type == "exponential"
    and n.rate > 1 and n.bound is not None,
    "inverse_time staircase": lambda n, a: n.type == "inverse_time" and n.staircase,
    "polynomial cycle": lambda n, a: n.type == "polynomial" and n.cycle,
    "polynomial cycle over a real duration": lambda n, a: n.type == "polynomial"
    and n.cycle and not isinstance(n.duration, int),
    "polynomial power != 1": lambda n, a: n.type == "polynomial" and n.power != 1,
    "rising polynomial": lambda n, a: n.type == "polynomial" and n.start < n.end,
    "SGDR period_mult 1": lambda n, a: n.type == "cosine_restarts" and n.period_mult == 1,
    "SGDR period_mult 1.5": lambda n, a: n.type == "cosine_restarts" and n.period_mult == 1.5,
    "SGDR period_mult 2": lambda n, a: n.type == "cosine_restarts" and n.period_mult == 2,
    "SGDR peak_mult < 1": lambda n, a: n.type == "cosine_restarts" and n.peak_mult < 1,
    **{f"cyclic {m} with up != down": (lambda m: lambda n, a: n.type == "cyclic"
                                       and n.mode == m and n.down not in (None, n.up))(m)
       for m in ("triangular", "triangular2", "exp_range")},
    **{f"onecycle {an} three_phase={tp}, non-default div factors":
       (lambda an, tp: lambda n, a: n.type == "onecycle" and n.anneal == an
        and n.three_phase == tp and n.div_factor != 25 and n.final_div_factor != 1e4)(an, tp)
       for an in ("cos", "linear") for tp in (False, True)},
    "inverse_sqrt without warmup": lambda n, a: n.type == "inverse_sqrt" and n.warmup == 0,
    "inverse_sqrt with warmup": lambda n, a: n.type == "inverse_sqrt" and n.warmup != 0,
    "inverse_sqrt with timescale": lambda n, a: n.type == "inverse_sqrt"
    and n.timescale is not None,
    **{f"WSD {s} with non-zero start and end": (lambda s: lambda n, a: n.type ==
                                                "warmup_stable_decay" and n.decay_shape == s
                                                and n.start > 0 and n.end > 0)(s)
       for s in ("linear", "cosine", "1-sqrt")},
    "clip with min and max": lambda n, a: n.type == "clip" and None not in (n.min, n.max),
    "clip with min only": lambda n, a: n.type == "clip" and n.max is None,
    "clip with max only": lambda n, a: n.type == "clip" and n.min is None,
    "scale by a number": lambda n, a: n.type == "scale" and isinstance(n.by, float),
    "scale by a schedule": lambda n, a: n.type == "scale" and isinstance(n.by, Node),
    "shift by a positive offset": lambda n, a: n.type == "shift" and n.offset > 0,
    "shift by a negative offset": lambda n, a: n.type == "shift" and n.offset < 0,
    "every 1ep": lambda n, a: n.type == "every" and n.every == "1ep",
    "repeat with decay": lambda n, a: n.type == "repeat" and n.decay < 1,
    "sequence inside repeat inside clip": lambda n, a: n.type == "sequence"
    and _inside(n, a, "clip", "repeat"),
    "every over cosine": lambda n, a: n.type == "cosine" and a and a[-1].type == "every",
    "scale by a schedule as a sequence phase": lambda n, a: n.type == "scale"
    and isinstance(n.by, Node) and a and a[-1].type == "sequence",
    "shift over onecycle": lambda n, a: n.type == "onecycle" and a and a[-1].type == "shift",
    "warmup/hold/cosine/hold/linear sequence": lambda n, a: n.type == "sequence"
    and [p.type for p in n.phases] == ["linear", "constant", "cosine", "constant", "linear"],
    "a rate <= 1e-8": lambda n, a: any(0 < r <= 1e-8 for r in _rates(n)),
    "a rate >= 10": lambda n, a: any(r >= 10 for r in _rates(n)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_covers_case(case: str) -> None:
    assert _has(CASES[case])


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_reports_cut_the_rate(name: str) -> None:
    """Each plateau spec's reports really reduce the rate, at least twice: against the
    inner schedule alone, the ratio takes three or more values (1 and two cuts)."""
    doc = DOCS[name]
    assert doc.schedule.type == "plateau"
    t = lrcore.grid(doc, far=False)
    inner = lrcore.evaluate(dataclasses.replace(doc, schedule=doc.schedule.schedule), t)
    cut = lrcore.evaluate(doc, t, reports=REPORTS[name])
    ratio = cut[inner > 0] / inner[inner > 0]
    assert len(set(ratio.round(12).tolist())) >= 3


def test_every_plateau_spec_has_reports() -> None:
    plateaus = {n for n, doc in DOCS.items() if doc.schedule.type == "plateau"}
    assert plateaus == set(REPORTS)


def test_covers_long_and_short_horizons() -> None:
    horizons = [doc.resolve().horizon() or 0 for doc in DOCS.values()]
    assert max(horizons) >= 10**6
    assert 0 < min(h for h in horizons if h) <= 3

