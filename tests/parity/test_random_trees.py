"""Parity of random spec trees: families with random valid parameters, nested in random
combinators up to three levels deep, on every backend against the float64 reference.

One grammar (:class:`Grammar`) draws the trees, some of them under a reduce-on-plateau
root with a random walk of reported metrics; it is driven either by hypothesis
(``@given``: shrinking, the CI budget of the ``ci`` profile) or by a seeded
``random.Random`` (one fixed batch sent to every backend, the Keras subprocess backends
included, so each subprocess starts once). Trees are valid by construction: a SpecError
while loading one is a failure of this grammar, and the test says so.

Grid: every step to 2000, the neighbourhood of every breakpoint and the far steps
(10**6, 10**7, 2**31 - 2, 2**31 - 1), at the default dtype-aware tolerance.
"""

from __future__ import annotations

import math
import os
import random
from fractions import Fraction
from typing import Any, Protocol

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrcore
from lrcore import backends, parity

HORIZON = 2000
#: trees per hypothesis example (CI: the ``ci`` profile's 200 examples -> 400 trees)
TREES_PER_EXAMPLE = 2
#: trees in the fixed batch sent to every backend
BATCH = 100
#: seed of that batch; set LRCORE_PARITY_SEED to draw another one
SEED = int(os.environ.get("LRCORE_PARITY_SEED", "20240517"))


AVAILABLE = parity.available_backends()
# Backends that run inside this process (no subprocess per hypothesis example); the
# reference is the baseline of the comparison, not a backend under test.
IN_PROCESS = [b for b in AVAILABLE if b != "reference" and backends.get(b).runs_here()]
ALL = [b for b in AVAILABLE if b != "reference"]


# ---- the grammar ------------------------------------------------------------------------

#: a document and, for a plateau root, its (step, metric) reports
Case = tuple[dict, list[tuple[int, float]] | None]


class Draw(Protocol):
    """Where the grammar's choices come from."""

    def integer(self, lo: int, hi: int) -> int: ...
    def real(self, lo: float, hi: float) -> float: ...
    def choice(self, options: list) -> Any: ...


class HypothesisDraw:
    """Choices drawn by hypothesis (so failures shrink)."""

    def __init__(self, draw: Any) -> None:
        self._draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self._draw(st.integers(lo, hi))

    def real(self, lo: float, hi: float) -> float:
        return self._draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))

    def choice(self, options: list) -> Any:
        return self._draw(st.sampled_from(options))


class RandomDraw:
    """Choices from a seeded ``random.Random`` (a reproducible batch)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self._rng.randint(lo, hi)

    def real(self, lo: float, hi: float) -> float:
        return self._rng.uniform(lo, hi)

    def choice(self, options: list) -> Any:
        return self._rng.choice(options)


def _chance(d: Draw, p: float) -> bool:
    return d.integer(0, 999) < p * 1000


def _rate(d: Draw, lo: float = 1e-6, hi: float = 1.0) -> float:
    """Log-uniform in [lo, hi], kept to 4 significant digits (readable failures)."""
    x = 10 ** d.real(math.log10(lo), math.log10(hi))
    return float(f"{min(max(x, lo), hi):.4g}")


def _end_rate(d: Draw, start: float) -> float:
    """An end rate: 0 sometimes, else anything from 1e-4 * start to 10 * start."""
    if _chance(d, 0.15):
        return 0.0
    return _rate(d, max(start * 1e-4, 1e-9), min(start * 10, 10.0))


class Grammar:
    """Draws one document. Tracks the span (in steps) that an omitted duration would
    resolve to, so that every tree it draws is valid: a sequence's last phase without
    a duration must have at least one step of its span left."""

    def __init__(self, d: Draw) -> None:
        self.d = d
        self.steps_per_epoch = d.integer(1, 60)
        self.total_steps = d.integer(100, 3000)

    def resolved(self, value: int | str) -> int:
        """Steps of a duration: "Nep" and "N%" to the nearest step, halves up."""
        if isinstance(value, int):
            return value
        amount = Fraction(value[:-2] if value.endswith("ep") else value[:-1])
        exact = amount * (self.steps_per_epoch if value.endswith("ep")
                          else Fraction(self.total_steps, 100))
        return int(exact + Fraction(1, 2))

    def steps(self, lo: int = 1, hi: int = 600) -> int | str:
        """A positive duration: mostly steps, sometimes epochs ("Nep") or a share of
        total_steps ("N%"; total_steps >= 100, so at least one step)."""
        d = self.d
        form = d.integer(0, 19)
        if form == 0:
            return f"{d.choice([1, 2, 3, 1.5, 0.5])}ep"
        if form == 1:
            return f"{d.choice([1, 5, 10, 12.5, 30])}%"
        return d.integer(lo, hi)

    def case(self) -> Case:
        """A document, and the metric reports when its root is a plateau."""
        doc = {"lrcore": 1, "steps_per_epoch": self.steps_per_epoch,
               "total_steps": self.total_steps}
        if _chance(self.d, 0.15):
            root, reports = self.plateau()
        else:
            root, reports = self.tree(self.d.integer(0, 3), self.total_steps), None
        doc["schedule"] = root
        return doc, reports

    def plateau(self) -> tuple[dict, list]:
        """Reduce-on-plateau (always the outermost node) over a random tree, and a
        random walk of metrics reported at random, non-decreasing steps."""
        d = self.d
        node: dict[str, Any] = {"type": "plateau", "mode": d.choice(["min", "max"]),
                                "factor": float(f"{d.real(0.05, 0.95):.3g}"),
                                "patience": d.integer(0, 3), "cooldown": d.integer(0, 2),
                                "threshold_mode": d.choice(["rel", "abs"]),
                                "threshold": float(f"{d.real(0.0, 0.05):.3g}")}
        if _chance(d, 0.4):
            node["min_lr"] = _rate(d, 1e-7, 1e-3)
        if _chance(d, 0.4):
            node["min_scale"] = float(f"{d.real(0.0, 0.5):.3g}")
        if _chance(d, 0.4):
            node["eps"] = float(f"{10 ** d.real(-12, -6):.3g}")
        if _chance(d, 0.3):
            node["duration"] = self.steps()
        span = self.resolved(node["duration"]) if "duration" in node else self.total_steps
        node["schedule"] = self.tree(d.integer(0, 2), span)
        steps = sorted(d.integer(0, HORIZON) for _ in range(d.integer(0, 12)))
        metric, best, reports = 10 ** d.real(-1, 1), None, []
        for step in steps:
            metric *= d.real(0.9, 1.1)
            if best is not None:
                # the improvement threshold: no metric may sit on it, where float32
                # and float64 backends could rightly take different decisions
                th, rel, low = node["threshold"], node["threshold_mode"] == "rel", \
                    node["mode"] == "min"
                edge = (best * (1 - th) if rel else best - th) if low else \
                    (best * (1 + th) if rel else best + th)
                if abs(metric - edge) <= 1e-4 * abs(edge):
                    metric = edge * (1 - 1e-3 if low else 1 + 1e-3)
                if (metric < edge) if low else (metric > edge):
                    best = metric
            else:
                best = metric
            reports.append((step, metric))
        return node, reports

    def tree(self, depth: int, span: int | None, need_duration: bool = False) -> dict:
        """A family, or (while ``depth`` > 0) a combinator over smaller trees.
        ``span``: what an omitted duration resolves to (None: nothing);
        ``need_duration``: the node is a sequence phase other than the last."""
        d = self.d
        if depth == 0 or _chance(d, 0.35):
            return self.family(span, need_duration)
        kind = d.choice(["sequence", "clip", "scale", "shift", "every", "repeat", "offset"])
        node: dict[str, Any] = {"type": kind}
        if need_duration or _chance(d, 0.15):
            node["duration"] = self.steps()
        own = self.resolved(node["duration"]) if "duration" in node else span
        if kind == "sequence":
            n = d.integer(2, 4 if depth > 1 else 3)
            phases = [self.tree(depth - 1, None, need_duration=True) for _ in range(n - 1)]
            left = None if own is None else own - sum(self.resolved(p["duration"])
                                                      for p in phases)
            if left is not None and left < 1:  # no steps left: the last phase needs its own
                phases.append(self.tree(depth - 1, None, need_duration=True))
            else:
                phases.append(self.tree(depth - 1, left))
            node["phases"] = phases
        elif kind == "clip":
            lo, hi = sorted((_rate(d), _rate(d)))
            which = d.integer(0, 2)
            if which != 1:
                node["min"] = lo
            if which != 0:
                node["max"] = hi
            node["schedule"] = self.tree(depth - 1, own)
        elif kind == "scale":
            node["schedule"] = self.tree(depth - 1, own)
            if _chance(d, 0.5):
                node["by"] = float(f"{10 ** d.real(-1, 1):.4g}")
            else:
                node["by"] = self.tree(depth - 1, own)
        elif kind == "shift":
            node["offset"] = d.choice([-1, 1]) * d.integer(1, 1500)
            node["schedule"] = self.tree(depth - 1, own)
        elif kind == "offset":  # >= 0 in a rate: a negative one is for pass-through names
            node["by"] = _rate(d)
            node["schedule"] = self.tree(depth - 1, own)
        elif kind == "every":
            node["every"] = self.steps(1, 60)
            node["schedule"] = self.tree(depth - 1, own)
        else:
            node["period"] = self.steps(1, 700)
            if _chance(d, 0.6):
                node["decay"] = float(f"{d.real(0.3, 1.0):.3g}")
            node["schedule"] = self.tree(depth - 1, self.resolved(node["period"]))
        return node

    def family(self, span: int | None, need_duration: bool) -> dict:
        """A family node with random valid parameters (arguments as in :meth:`tree`)."""
        d = self.d
        kind = d.choice(["constant", "linear", "cosine", "exponential", "inverse_time", "step",
                         "multistep", "piecewise_constant", "piecewise_linear", "polynomial",
                         "cosine_restarts", "cyclic", "onecycle", "onecycle_momentum",
                         "inverse_sqrt", "warmup_stable_decay"])
        node: dict[str, Any] = {"type": kind}
        if kind == "constant":
            node["value"] = _rate(d)
        elif kind in ("linear", "cosine", "polynomial"):
            node["start"] = _rate(d)
            node["end"] = _end_rate(d, node["start"])
            if kind == "cosine":
                if _chance(d, 0.5):
                    node["exponent"] = float(f"{d.real(0.3, 3.0):.3g}")
                if _chance(d, 0.3):
                    node["periodic"] = True
            if kind == "polynomial":
                if _chance(d, 0.6):
                    node["power"] = float(f"{d.real(0.3, 4.0):.3g}")
                if _chance(d, 0.4):
                    node["cycle"] = True
        elif kind == "exponential":
            node["start"] = _rate(d)
            node["every"] = self.steps(1, 400)
            if _chance(d, 0.7):
                node["rate"] = float(f"{d.real(0.05, 0.999):.4g}")
                if _chance(d, 0.4):
                    node["bound"] = float(f"{node['start'] * d.real(1e-4, 1.0):.4g}")
            else:  # growth needs a ceiling: unbounded it leaves float32 before 2**31 - 1
                node["rate"] = float(f"{d.real(1.001, 3.0):.4g}")
                node["bound"] = float(f"{node['start'] * d.real(1.0, 1e3):.4g}")
            if _chance(d, 0.4):
                node["staircase"] = True
            if _chance(d, 0.4):
                node["begin"] = d.integer(1, 500)
        elif kind == "inverse_time":
            node.update(start=_rate(d), rate=float(f"{d.real(0.01, 10.0):.4g}"),
                        every=self.steps(1, 300))
            if _chance(d, 0.4):
                node["staircase"] = True
        elif kind == "step":  # factor <= 1: a growing step overflows float32 by 2**31 - 1
            node.update(start=_rate(d), factor=float(f"{d.real(0.05, 1.0):.4g}"),
                        every=self.steps(1, 500))
        elif kind == "multistep":
            milestones = sorted(set(d.integer(1, 2000) for _ in range(d.integer(1, 5))))
            node.update(start=_rate(d), factor=float(f"{d.real(0.05, 2.0):.4g}"),
                        milestones=milestones)
        elif kind == "piecewise_constant":
            boundaries = sorted(set(d.integer(1, 2000) for _ in range(d.integer(0, 4))))
            node.update(values=[_rate(d) for _ in range(len(boundaries) + 1)],
                        boundaries=boundaries)
        elif kind == "piecewise_linear":
            steps = sorted(set(d.integer(0, 2000) for _ in range(d.integer(2, 5))))
            if len(steps) == 1:
                steps.append(steps[0] + d.integer(1, 100))
            node["points"] = [[s, _rate(d) if _chance(d, 0.9) else 0.0] for s in steps]
        elif kind == "cosine_restarts":
            node["start"] = _rate(d)
            node["end"] = 0.0 if _chance(d, 0.2) else float(
                f"{node['start'] * d.real(0.0, 0.9):.4g}")
            node["period"] = self.steps(1, 400)
            if _chance(d, 0.6):
                node["period_mult"] = d.choice([1.0, 1.5, 2.0, float(f"{d.real(1.1, 3.0):.3g}")])
            if _chance(d, 0.5):
                node["peak_mult"] = float(f"{d.real(0.2, 1.0):.3g}")
        elif kind == "cyclic":
            node["low"] = _rate(d)
            node["high"] = float(f"{node['low'] * d.real(1.0, 100.0):.4g}")
            node["up"] = self.steps(1, 300)
            if _chance(d, 0.6):
                node["down"] = self.steps(1, 300)
            node["mode"] = d.choice(["triangular", "triangular2", "exp_range"])
            if node["mode"] == "exp_range":
                node["gamma"] = float(f"{1 - 10 ** d.real(-6, -1.5):.6g}")
            if _chance(d, 0.3):
                node["invert"] = True
        elif kind == "onecycle_momentum":  # onecycle's phases, a dip from high to low
            three = _chance(d, 0.4)
            pct = d.integer(5, 45 if three else 95)
            low = float(f"{d.real(0.5, 0.95):.4g}")
            node.update(low=low, high=float(f"{low + d.real(0.0, 0.99 - low):.4g}"),
                        pct_start=pct / 100,
                        duration=d.integer(100 // pct + 1, 100 // pct + 3000))
            if three:
                node["three_phase"] = True
            if _chance(d, 0.5):
                node["anneal"] = "linear"
        elif kind == "onecycle":  # torch needs every phase to span more than one step
            three = _chance(d, 0.4)
            pct = d.integer(5, 45 if three else 95)
            node.update(peak=_rate(d), pct_start=pct / 100,
                        duration=d.integer(100 // pct + 1, 100 // pct + 3000))
            if three:
                node["three_phase"] = True
            if _chance(d, 0.5):
                node["anneal"] = "linear"
            if _chance(d, 0.7):
                node["div_factor"] = float(f"{d.real(1.5, 100.0):.3g}")
            if _chance(d, 0.7):
                node["final_div_factor"] = float(f"{10 ** d.real(0.2, 4.5):.3g}")
        elif kind == "inverse_sqrt":
            node["peak"] = _rate(d)
            if _chance(d, 0.7):
                node["warmup"] = d.integer(1, 1000)
            if _chance(d, 0.5):
                node["timescale"] = self.steps(1, 5000)
        else:  # warmup_stable_decay: its decay is explicit (an omitted one needs a long span)
            node.update(peak=_rate(d), warmup=d.integer(0, 500), stable=d.integer(0, 800),
                        decay=self.steps(1, 800),
                        decay_shape=d.choice(["linear", "cosine", "1-sqrt"]))
            if _chance(d, 0.5):
                node["start"] = _end_rate(d, node["peak"])
            if _chance(d, 0.5):
                node["end"] = _end_rate(d, node["peak"])
        if kind in ("linear", "cosine", "polynomial") and (
                need_duration or span is None or _chance(d, 0.7)):
            node["duration"] = self.steps()
        elif need_duration and "duration" not in node:
            node["duration"] = self.steps()
        return node


@st.composite
def cases(draw: Any) -> Case:
    return Grammar(HypothesisDraw(draw)).case()


def seeded_batch(seed: int, n: int) -> list[Case]:
    rng = random.Random(seed)
    return [Grammar(RandomDraw(rng)).case() for _ in range(n)]


# ---- the checks ---------------------------------------------------------------------------

def _check(batch: list[Case], backends: list[str]) -> None:
    specs = []
    for doc, _ in batch:
        try:
            specs.append(lrcore.Schedule.from_dict(doc).resolve())
        except lrcore.SpecError as err:  # pragma: no cover - shows a grammar bug
            pytest.fail(f"the tree grammar drew an invalid spec ({err}):\n"
                        + yaml.safe_dump(doc, sort_keys=False))
    reports = parity.check_many(specs, backends, steps=HORIZON,
                                reports=[r for _, r in batch])
    bad = [(rep, doc, r) for rep, (doc, r) in zip(reports, batch, strict=True) if not rep.ok]
    assert not bad, "\n\n".join(f"{rep.table()}\n{yaml.safe_dump(doc, sort_keys=False)}"
                                f"reports: {r}" for rep, doc, r in bad)


@settings(database=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.data_too_large])
@given(st.lists(cases(), min_size=TREES_PER_EXAMPLE, max_size=TREES_PER_EXAMPLE))
def test_random_trees_on_in_process_backends(batch: list[Case]) -> None:
    """Hypothesis-drawn trees, on every backend that runs in this process."""
    _check(batch, IN_PROCESS)


def test_seeded_batch_on_every_backend() -> None:
    """A fixed batch of trees on every installed backend, the Keras backends of other
    processes included (one subprocess each for the whole batch)."""
    _check(seeded_batch(SEED, BATCH), ALL)


def test_grammar_reaches_every_node_type_and_depth() -> None:
    """The grammar is not stuck in a corner: the seeded batch holds every node type,
    every duration form, trees three combinators deep and plateaus with reports."""
    types, forms, depths = set(), set(), set()

    def walk(node: Any, depth: int) -> None:
        if isinstance(node, dict):
            if "type" in node:
                types.add(node["type"])
                depths.add(depth)
                depth += 1
            for key, value in node.items():
                if isinstance(value, str) and value[-1] in "p%":
                    forms.add(value[-1])
                elif isinstance(value, int) and not isinstance(value, bool) \
                        and key in ("duration", "every", "period", "up", "down"):
                    forms.add("int")
                walk(value, depth)
        elif isinstance(node, list):
            for item in node:
                walk(item, depth)

    batch = seeded_batch(SEED, BATCH)
    for doc, _ in batch:
        walk(doc["schedule"], 0)
    assert types == set(lrcore.node.REGISTRY)
    assert forms == {"int", "p", "%"}
    assert max(depths) >= 3
    assert any(r for _, r in batch)
