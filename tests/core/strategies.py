"""The one grammar of random valid spec trees, for the core, parity and hardening tests.

:class:`Grammar` draws a document: families with random valid parameters, nested in
combinators up to three levels deep, some under a reduce-on-plateau root with a random
walk of reported metrics. Every node type of the format is reachable. Trees are valid
by construction (no ``assume``): each draw stays inside the rules its node enforces
(end <= start for restarts, sorted boundaries, phases long enough for onecycle, growth
with a ceiling, a last phase with steps left in its span, no metric on the plateau
rule's decision edge, ...).

Its choices come from a :class:`Draw`: hypothesis (``@given``; failures shrink) or a
seeded ``random.Random`` (a reproducible batch). A :class:`Profile` sets the ranges:

* :data:`PARITY` -- curves that change within the first 2000 steps (the parity grid),
  context and "Nep" / "N%" durations, plateau roots (tests/parity/test_random_trees.py);
* :data:`WIDE` -- the whole accepted range: rates from 1e-9 to 1e3, steps up to 2**29,
  more epoch and share forms, totals up to 10**6 (tests/hardening, tests/mlx_adapter);
* :data:`CORE` -- no context, durations up to 2**31 - 1, nodes
  rather than documents (:func:`families`, :func:`spec_trees`, tests/core).
"""

from __future__ import annotations

import dataclasses
import math
import random
from fractions import Fraction
from typing import Any, Protocol

from hypothesis import strategies as st

import lrcore

MAX_STEP = 2**31 - 1

#: Every family of the format, and the combinators :class:`Grammar` nests them in
#: (``plateau`` is the root a document may have, drawn by :meth:`Grammar.case`).
FAMILY_TYPES = ["constant", "linear", "cosine", "exponential", "inverse_time", "step",
                "multistep", "piecewise_constant", "piecewise_linear", "polynomial",
                "cosine_restarts", "cyclic", "onecycle", "onecycle_momentum", "inverse_sqrt",
                "warmup_stable_decay"]
COMBINATORS = ["sequence", "clip", "scale", "shift", "every", "repeat", "offset"]


@dataclasses.dataclass(frozen=True)
class Profile:
    """The ranges one kind of test draws from (see the module docstring)."""

    #: (low, high) of a rate drawn log-uniform
    rates: tuple[float, float] = (1e-6, 1.0)
    #: draw steps_per_epoch / total_steps and "Nep" / "N%" durations; False: neither
    context: bool = True
    steps_per_epoch: tuple[int, int] = (1, 60)
    total_steps: tuple[int, int] = (100, 3000)
    epochs: tuple = (1, 2, 3, 1.5, 0.5)
    shares: tuple = (1, 5, 10, 12.5, 30)
    #: chance that a duration is a far one, in ``far_steps``
    far: float = 0.0
    far_steps: tuple[int, int] = (10**5, MAX_STEP // 4)
    #: largest |shift offset|, milestone / boundary / point step, onecycle length
    shift: int = 1500
    points: int = 2000
    long: int = 3000
    #: chance of a plateau root, and the last step a metric is reported at
    plateau: float = 0.15
    report_steps: int = 2000


PARITY = Profile()
WIDE = Profile(rates=(1e-9, 1e3), steps_per_epoch=(1, 500), total_steps=(100, 10**6),
               epochs=(1, 2, 3, 5, 10, 20, 0.5, 1.5), shares=(1, 5, 10, 12.5, 25, 50, 99.9),
               far=0.1, shift=10**6, points=10**6, long=10**6, plateau=0.2,
               report_steps=10**6)
CORE = Profile(rates=(1e-8, 10.0), context=False, far=0.3, far_steps=(1, MAX_STEP),
               shift=MAX_STEP, points=MAX_STEP, long=MAX_STEP - 100, plateau=0.0)


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
    a duration must have at least one step of its span left. ``profile`` sets the
    ranges (:data:`PARITY`, :data:`WIDE`, :data:`CORE`)."""

    def __init__(self, d: Draw, profile: Profile | None = None) -> None:
        self.d = d
        self.p = p = PARITY if profile is None else profile
        self.steps_per_epoch = d.integer(*p.steps_per_epoch) if p.context else None
        self.total_steps = d.integer(*p.total_steps) if p.context else None

    def resolved(self, value: int | float | str) -> int | Fraction:
        """Steps of a duration: a real one exactly (its decimal text), "Nep" and "N%" to
        the nearest step, halves up."""
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return Fraction(repr(value))
        amount = Fraction(value[:-2] if value.endswith("ep") else value[:-1])
        exact = amount * (self.steps_per_epoch if value.endswith("ep")
                          else Fraction(self.total_steps, 100))
        return int(exact + Fraction(1, 2))

    def steps(self, lo: int = 1, hi: int = 600) -> int | str:
        """A positive duration: mostly steps, sometimes far ones (the profile's
        ``far``), epochs ("Nep") or a share of total_steps ("N%"; total_steps >= 100, so
        at least one step)."""
        d, p = self.d, self.p
        if p.far and _chance(d, p.far):
            return d.integer(max(lo, p.far_steps[0]), p.far_steps[1])
        if not p.context:
            return d.integer(lo, hi)
        form = d.integer(0, 19)
        if form == 0:
            return f"{d.choice(p.epochs)}ep"
        if form == 1:
            return f"{d.choice(p.shares)}%"
        return d.integer(lo, hi)

    def real_steps(self) -> float:
        """A real duration (linear, cosine): hundredths of a step, or, with the profile's
        ``far`` chance, a length past 2**31 - 1."""
        d, p = self.d, self.p
        if p.far and _chance(d, p.far):
            return float(d.integer(MAX_STEP + 1, 2**40)) + 0.5
        return d.integer(1, 60_000) / 100

    def rate(self) -> float:
        """A rate in the profile's range."""
        return _rate(self.d, *self.p.rates)

    def case(self) -> Case:
        """A document, and the metric reports when its root is a plateau."""
        doc = {"lrcore": 1, "steps_per_epoch": self.steps_per_epoch,
               "total_steps": self.total_steps}
        if self.p.plateau and _chance(self.d, self.p.plateau):
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
        steps = sorted(d.integer(0, self.p.report_steps) for _ in range(d.integer(0, 12)))
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
        kind = d.choice(COMBINATORS)
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
            lo, hi = sorted((self.rate(), self.rate()))
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
            node["offset"] = d.choice([-1, 1]) * d.integer(1, self.p.shift)
            node["schedule"] = self.tree(depth - 1, own)
        elif kind == "offset":  # >= 0 in a rate: a negative one is for pass-through names
            node["by"] = self.rate()
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

    def family(self, span: int | None, need_duration: bool, kind: str | None = None) -> dict:
        """A family node with random valid parameters (arguments as in :meth:`tree`;
        ``kind``: this family, else one drawn)."""
        d = self.d
        kind = kind or d.choice(FAMILY_TYPES)
        node: dict[str, Any] = {"type": kind}
        if kind == "constant":
            node["value"] = self.rate()
        elif kind in ("linear", "cosine", "polynomial"):
            node["start"] = self.rate()
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
            node["start"] = self.rate()
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
            node.update(start=self.rate(), rate=float(f"{d.real(0.01, 10.0):.4g}"),
                        every=self.steps(1, 300))
            if _chance(d, 0.4):
                node["staircase"] = True
        elif kind == "step":  # factor <= 1: a growing step overflows float32 by 2**31 - 1
            node.update(start=self.rate(), factor=float(f"{d.real(0.05, 1.0):.4g}"),
                        every=self.steps(1, 500))
        elif kind == "multistep":
            milestones = sorted(set(d.integer(1, self.p.points) for _ in range(d.integer(1, 5))))
            if _chance(d, 0.3):  # between steps: the rate changes at the next whole step
                milestones = sorted(set(m - d.integer(1, 99) / 100 for m in milestones))
            node.update(start=self.rate(), factor=float(f"{d.real(0.05, 2.0):.4g}"),
                        milestones=milestones)
        elif kind == "piecewise_constant":
            boundaries = sorted(set(d.integer(1, self.p.points) for _ in range(d.integer(0, 4))))
            node.update(values=[self.rate() for _ in range(len(boundaries) + 1)],
                        boundaries=boundaries)
        elif kind == "piecewise_linear":
            steps = sorted(set(d.integer(0, self.p.points) for _ in range(d.integer(2, 5))))
            if len(steps) == 1:
                steps.append(steps[0] + d.integer(1, 100))
            node["points"] = [[s, self.rate() if _chance(d, 0.9) else 0.0] for s in steps]
        elif kind == "cosine_restarts":
            node["start"] = self.rate()
            node["end"] = 0.0 if _chance(d, 0.2) else float(
                f"{node['start'] * d.real(0.0, 0.9):.4g}")
            node["period"] = self.steps(1, 400)
            if _chance(d, 0.6):
                node["period_mult"] = d.choice([1.0, 1.5, 2.0, float(f"{d.real(1.1, 3.0):.3g}")])
            if _chance(d, 0.5):
                node["peak_mult"] = float(f"{d.real(0.2, 1.0):.3g}")
        elif kind == "cyclic":
            node["low"] = self.rate()
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
                        duration=d.integer(100 // pct + 1, 100 // pct + self.p.long))
            if three:
                node["three_phase"] = True
            if _chance(d, 0.5):
                node["anneal"] = "linear"
        elif kind == "onecycle":  # torch needs every phase to span more than one step
            three = _chance(d, 0.4)
            pct = d.integer(5, 45 if three else 95)
            node.update(peak=self.rate(), pct_start=pct / 100,
                        duration=d.integer(100 // pct + 1, 100 // pct + self.p.long))
            if three:
                node["three_phase"] = True
            if _chance(d, 0.5):
                node["anneal"] = "linear"
            if _chance(d, 0.7):
                node["div_factor"] = float(f"{d.real(1.5, 100.0):.3g}")
            if _chance(d, 0.7):
                node["final_div_factor"] = float(f"{10 ** d.real(0.2, 4.5):.3g}")
        elif kind == "inverse_sqrt":
            node["peak"] = self.rate()
            if _chance(d, 0.7):
                node["warmup"] = d.integer(1, 1000)
            if _chance(d, 0.5):
                node["timescale"] = self.steps(1, 5000)
        else:  # warmup_stable_decay: its decay is explicit (an omitted one needs a long span)
            node.update(peak=self.rate(), warmup=d.integer(0, 500), stable=d.integer(0, 800),
                        decay=self.steps(1, 800),
                        decay_shape=d.choice(["linear", "cosine", "1-sqrt"]))
            if _chance(d, 0.5):
                node["start"] = _end_rate(d, node["peak"])
            if _chance(d, 0.5):
                node["end"] = _end_rate(d, node["peak"])
        if kind in ("linear", "cosine", "polynomial") and (
                need_duration or span is None or _chance(d, 0.7)):
            node["duration"] = self.steps()
            if (kind != "polynomial" and not need_duration and "exponent" not in node
                    and "periodic" not in node and _chance(d, 0.3)):
                node["duration"] = self.real_steps()
        elif need_duration and "duration" not in node:
            node["duration"] = self.steps()
        return node


# ---- as hypothesis strategies and seeded batches --------------------------------------

@st.composite
def cases(draw: Any, profile: Profile = PARITY, plateau: bool = True) -> Case:
    """A document and its reports (None unless the root is a plateau)."""
    if not plateau:
        profile = dataclasses.replace(profile, plateau=0.0)
    return Grammar(HypothesisDraw(draw), profile).case()


def seeded_batch(seed: int, n: int, profile: Profile = PARITY) -> list[Case]:
    """``n`` documents from a ``random.Random(seed)``: the same batch on every run."""
    rng = random.Random(seed)
    return [Grammar(RandomDraw(rng), profile).case() for _ in range(n)]


def valid_docs(plateau: bool = True) -> st.SearchStrategy:
    """Documents over the whole accepted range (:data:`WIDE`), with their reports."""
    return cases(WIDE, plateau)


def _node(tree: dict) -> lrcore.Node:
    return lrcore.Schedule.from_dict({"lrcore": 1, "schedule": tree}).schedule


@st.composite
def _family(draw: Any, kind: str | None = None) -> lrcore.Node:
    return _node(Grammar(HypothesisDraw(draw), CORE).family(None, False, kind))


#: One strategy per family, by type name: nodes with :data:`CORE` ranges.
FAMILIES = {kind: (lambda kind=kind: _family(kind)) for kind in FAMILY_TYPES}


def families() -> st.SearchStrategy:
    """One node of any family (:data:`CORE` ranges)."""
    return _family()


@st.composite
def _tree(draw: Any, depth: int) -> lrcore.Node:
    g = Grammar(HypothesisDraw(draw), CORE)
    return _node(g.tree(draw(st.integers(0, depth)), None))


def _drawable(node) -> bool:
    """False for a tree whose curve stays below 1e-28 without being 0 (a product of
    several tiny rates): lrcore refuses it when resolving, as float32 cannot draw it."""
    try:
        lrcore.Schedule(schedule=node).resolve(total_steps=10**6)
    except lrcore.SpecError as err:
        return "stays below 1e-28" not in err.rule
    return True


def spec_trees(max_leaves: int = 6) -> st.SearchStrategy:
    """A tree of combinators over families, up to three levels deep (fewer for a small
    ``max_leaves``), every bounded family with its duration (:data:`CORE` ranges)."""
    return _tree(3 if max_leaves > 4 else 2).filter(_drawable)
