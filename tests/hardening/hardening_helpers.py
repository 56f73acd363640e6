"""Helpers shared by the hardening tests: input counters, the spec grammars the fuzzers
draw from, and the one outcome check every fuzzed input goes through.

Three kinds of input:

* :func:`wild_docs` -- documents of random shape and random value types (wrong types,
  huge and tiny numbers, NaN/inf, unicode keys, nested lists and mappings);
* :func:`mutated_docs` -- the parity catalog's valid documents with keys and values
  deleted, renamed, retyped, pushed to extremes or grafted elsewhere;
* :func:`valid_docs` -- trees that are valid by construction, with parameters spread over
  the whole accepted range: the tests' one grammar of valid trees (tests/core/strategies.py,
  its ``WIDE`` profile), re-exported here.

Nothing here computes a learning rate: the oracles are the properties in the test
modules (finite, >= 0, SpecError or a spec, nothing executed) and the float64 reference.
"""

from __future__ import annotations

import collections
import copy
import functools
import json
import math
import re
import reprlib
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

import lrcore
from lrcore.node import REGISTRY

#: Last step of the spec domain (int32 counters).
MAX_STEP = 2**31 - 1
#: Far steps every evaluated spec is probed at.
FAR = (10**6, 10**7, 2**30, MAX_STEP - 1, MAX_STEP)
#: Hang detector, not a benchmark: one input (parse, validate, resolve, evaluate).
SECONDS_PER_INPUT = 2.0
#: Growth of the process's peak memory (``ru_maxrss``) allowed for one input.
MAX_RSS_GROWTH_MB = 256

CATALOG = Path(__file__).resolve().parent.parent / "parity" / "catalog"

#: Inputs tried per fuzz family; printed in the terminal summary (conftest.py).
COUNTS: collections.Counter = collections.Counter()


def count(kind: str, n: int = 1) -> None:
    COUNTS[kind] += n


# ---- outcome of one input ------------------------------------------------------------------

def probe_steps(extra: Any = ()) -> np.ndarray:
    """Small steps, powers of two and the far end of the domain."""
    pts = set(range(0, 40)) | {2**k for k in range(31)} | set(FAR) | {int(x) for x in extra}
    return np.asarray(sorted(t for t in pts if 0 <= t <= MAX_STEP), dtype=np.int64)


def outcome(source: Any, kind: str, evaluate: bool = True) -> str:
    """Load ``source`` (a mapping, YAML or JSON text) and, when it loads, evaluate it at
    the probe steps. Returns ``"evaluated"``, ``"spec"`` (it loads; evaluating it raised
    SpecError, e.g. no total_steps for a share) or ``"SpecError"``. Any other exception
    (a warning included: pytest turns warnings into errors), a loaded spec that does not
    round-trip, a rate that is not finite or is negative, more than
    :data:`SECONDS_PER_INPUT` seconds or :data:`MAX_RSS_GROWTH_MB` MiB of peak-memory
    growth is an AssertionError naming the input."""
    count(kind)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    result = "SpecError"
    try:
        doc = lrcore.load(source)
        result = "spec"
        # a loaded spec is a valid document: its canonical form, and its YAML and JSON
        # text, load back to the same spec
        assert lrcore.Schedule.from_dict(doc.to_dict()) == doc, "to_dict round trip"
        for fmt in ("yaml", "json"):
            text = lrcore.dumps(doc, fmt)
            try:
                again = lrcore.load(text)
            except lrcore.SpecError as err:
                raise AssertionError(f"lrcore.dumps(spec, {fmt!r}) does not load back "
                                     f"({err}): {text[:300]!r}") from None
            assert again == doc, f"{fmt} round trip changed the spec: {text[:300]!r}"
        if evaluate:
            rates = lrcore.evaluate(doc, probe_steps())
            result = "evaluated"
            bad = ~(np.isfinite(rates) & (rates >= 0))
            assert not bad.any(), (
                f"rate {rates[bad][0]!r} at step {probe_steps()[bad][0]} for {_short(source)}")
    except lrcore.SpecError as err:
        assert str(err), "a SpecError must say what is wrong"
        if isinstance(source, dict):
            check_path(source, err)
    except AssertionError:
        raise
    except Exception as err:  # noqa: BLE001 - the property: nothing but SpecError
        raise AssertionError(f"{type(err).__name__}: {err} (input: {_short(source)})") from err
    elapsed = time.perf_counter() - t0
    assert elapsed < SECONDS_PER_INPUT, f"{elapsed:.2f} s for one input: {_short(source)}"
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024  # KiB
    assert grown < MAX_RSS_GROWTH_MB, f"peak memory grew {grown:.0f} MiB: {_short(source)}"
    return result


_SEGMENT = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def _plain_keys(data: Any) -> bool:
    """True when every mapping key in ``data`` is a non-empty string without ``.``,
    ``[`` or ``]`` (so an error path parses back into keys)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(not isinstance(k, str) or not k or set(k) & set(".[]") for k in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def check_path(source: dict, err: lrcore.SpecError) -> None:
    """A SpecError about a mapping names a field path in it: every segment but the last
    (which may be the missing field) exists in the input."""
    if not _plain_keys(source):
        return
    assert err.path, f"SpecError without a field path: {err}"
    segments = [m.group(1) if m.group(1) is not None else int(m.group(2))
                for m in _SEGMENT.finditer(err.path)]
    node: Any = source
    for i, seg in enumerate(segments[:-1]):
        ok = (isinstance(node, dict) and isinstance(seg, str) and seg in node) or (
            isinstance(node, list) and isinstance(seg, int) and seg < len(node))
        assert ok, (f"SpecError path {err.path!r} leaves the input at segment {i} "
                    f"({seg!r}): {err} (input: {_short(source)})")
        node = node[seg]


def _short(source: Any) -> str:
    try:
        text = source if isinstance(source, str) else json.dumps(source, default=repr)
    except (ValueError, RecursionError):
        text = reprlib.repr(source)
    return text if len(text) < 400 else text[:400] + f"... ({len(text)} chars)"


# ---- wild values --------------------------------------------------------------------------

#: Numbers at the edges: zero signs, subnormals, float32/float64/int32/int64 limits.
EXTREME_NUMBERS = [0, -0.0, -1, 1, 5e-324, 1e-320, 1e-45, 1.2e-38, 1e-30, 1e-12, 0.5,
                   1 - 2**-53, 1 + 2**-52, 1e12, 3.4028234663852886e38, 3.5e38, 1e300,
                   1.7976931348623157e308, float("nan"), float("inf"), float("-inf"),
                   2**24 + 1, 2**31 - 1, 2**31, -(2**31), 2**53 + 1, 2**63, -(2**63), 2**64,
                   10**30, True, False]
#: Strings that look like durations, numbers or YAML scalars, and unicode.
ODD_STRINGS = ["", " ", "3ep", "0ep", "25%", "0%", "100%", "1e3", "1e-3", "nan", "inf",
               "-1", "0x10", "1:30", "010", "0.5ep", "2.5%", "1ep ", " 50 % ", "ep", "%",
               "1e400ep", "99999999999999999999%", "１２", "٣ep", "3ep\n", "null", "~", "yes",
               "schedule", "type", "cosine", "Ⅻ", "\u200b", "é", "😀", "\x7f"]

NODE_TYPES = sorted(REGISTRY)
FIELD_NAMES = sorted({f.name for cls in REGISTRY.values() for f in cls.fields()})
DOC_KEYS = ["lrcore", "name", "description", "steps_per_epoch", "total_steps", "schedule"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(EXTREME_NUMBERS),
    st.text(max_size=12), st.sampled_from(ODD_STRINGS))
keys = st.one_of(st.sampled_from(FIELD_NAMES + DOC_KEYS + ["type"]), st.text(max_size=8))


def _containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.lists(inner, max_size=6), st.dictionaries(keys, inner, max_size=6))


def wild_values(max_leaves: int = 12) -> st.SearchStrategy:
    return st.recursive(scalars, _containers, max_leaves=max_leaves)


@st.composite
def wild_nodes(draw: Any, depth: int = 0) -> Any:
    """A mapping shaped like a node: a (mostly known) type and parameters of any type,
    children included."""
    if depth > 3 or draw(st.integers(0, 9)) == 0:
        return draw(wild_values(6))
    node: dict = {}
    if draw(st.integers(0, 9)):
        node["type"] = draw(st.one_of(st.sampled_from(NODE_TYPES), scalars))
    names = draw(st.lists(keys, max_size=6, unique=True))
    for name in names:
        choice = draw(st.integers(0, 5))
        if choice == 0 and depth < 3:
            node[name] = draw(wild_nodes(depth + 1))
        elif choice == 1 and depth < 3:
            node[name] = draw(st.lists(wild_nodes(depth + 1), max_size=3))
        else:
            node[name] = draw(st.one_of(scalars, wild_values(4)))
    return node


@st.composite
def wild_docs(draw: Any) -> Any:
    """A document of random shape: usually the right top-level keys with wild values."""
    if draw(st.integers(0, 19)) == 0:
        return draw(wild_values())
    doc: dict = {}
    for key in DOC_KEYS:
        if draw(st.integers(0, 3)):
            doc[key] = (draw(wild_nodes()) if key == "schedule" else
                        draw(st.one_of(st.just(1), scalars)) if key == "lrcore" else
                        draw(st.one_of(scalars, st.integers(1, 10**6))))
    for key in draw(st.lists(keys, max_size=2)):
        doc.setdefault(key, draw(scalars))
    return doc


# ---- catalog mutations ------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def catalog_texts() -> tuple[str, ...]:
    """The parity catalog's files as written (YAML and JSON text)."""
    if not CATALOG.is_dir():
        return ()
    return tuple(p.read_text(encoding="utf-8") for p in sorted(CATALOG.iterdir())
                 if p.suffix in (".yaml", ".yml", ".json"))


@functools.lru_cache(maxsize=1)
def _catalog_documents() -> tuple[dict, ...]:
    docs = [lrcore.load(text if "\n" in text else text + "\n").to_dict()
            for text in catalog_texts()]
    if not docs:
        docs = [
            {"lrcore": 1, "total_steps": 1000, "schedule": {"type": "sequence", "phases": [
                {"type": "linear", "start": 0.0, "end": 1e-3, "duration": 100},
                {"type": "cosine", "start": 1e-3, "end": 1e-5}]}},
            {"lrcore": 1, "steps_per_epoch": 10, "schedule": {
                "type": "step", "start": 0.1, "factor": 0.5, "every": "3ep"}},
            {"lrcore": 1, "schedule": {"type": "piecewise_linear",
                                       "points": [[0, 0.0], [10, 1.0], [100, 0.1]]}},
        ]
    return tuple(docs)


def catalog_documents() -> list[dict]:
    """The parity catalog's documents as plain data (a few built ones if it is absent);
    fresh copies, so callers may change them."""
    return copy.deepcopy(list(_catalog_documents()))


def _locations(tree: Any, path: tuple = ()) -> list[tuple]:
    """Every path to a value inside nested dicts/lists (the root is ``()``)."""
    out = [path]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _locations(v, path + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _locations(v, path + (i,))
    return out


def _get(tree: Any, path: tuple) -> Any:
    for p in path:
        tree = tree[p]
    return tree


def _numeric_twists(value: Any) -> list:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    out = [-value, value * 1e300, value * 1e-300, value + 1, value - 1, str(value),
           float(value), [value], {"value": value}, value * 2**31]
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        out.append(int(value))
    return out


@st.composite
def mutated_docs(draw: Any, base: list[dict] | None = None) -> Any:
    """A catalog document with one to four mutations at random places."""
    docs = base if base is not None else _catalog_documents()
    doc = copy.deepcopy(draw(st.sampled_from(docs)))
    for _ in range(draw(st.integers(1, 4))):
        locs = _locations(doc)
        path = draw(st.sampled_from(locs))
        if not path:
            continue
        parent, key = _get(doc, path[:-1]), path[-1]
        value = parent[key]
        op = draw(st.sampled_from(["delete", "replace", "extreme", "twist", "rename", "add",
                                   "wrap", "graft", "retype", "duplicate_list"]))
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(wild_values(6))
        elif op == "extreme":
            parent[key] = draw(st.one_of(st.sampled_from(EXTREME_NUMBERS),
                                         st.sampled_from(ODD_STRINGS)))
        elif op == "twist":
            twists = _numeric_twists(value)
            parent[key] = draw(st.sampled_from(twists)) if twists else draw(scalars)
        elif op == "rename" and isinstance(parent, dict):
            new = draw(keys)
            del parent[key]
            parent[new] = value
        elif op == "add" and isinstance(parent, dict):
            parent[draw(keys)] = draw(scalars)
        elif op == "wrap":
            parent[key] = draw(st.sampled_from([[value], {"schedule": value},
                                                {"type": "scale", "by": 2.0,
                                                 "schedule": value}]))
        elif op == "graft":
            parent[key] = copy.deepcopy(_get(doc, draw(st.sampled_from(locs))))
        elif op == "retype" and isinstance(value, dict) and "type" in value:
            value["type"] = draw(st.sampled_from(NODE_TYPES))
        elif op == "duplicate_list" and isinstance(value, list) and value:
            parent[key] = value * draw(st.sampled_from([2, 10, 1000]))
    return doc


# ---- YAML text mutations ------------------------------------------------------------------------

#: Tokens that change what YAML means: tags (code-executing ones included), anchors,
#: aliases, merges, directives, document markers, flow and block indicators.
def yaml_tokens(sentinel: str) -> list[str]:
    return [
        f"!!python/object/apply:builtins.open ['{sentinel}', 'w']",
        f"!!python/object/apply:os.system ['touch {sentinel}']",
        f"!!python/object/apply:subprocess.check_call [['touch', '{sentinel}']]",
        "!!python/object/new:builtins.dict [[[a, 1]]]", "!!python/name:os.system",
        "!!python/module:os", "!!python/tuple [1, 2]", "!!python/complex 1+2j",
        "!!python/bytes aGk=", "!!binary aGk=", "!!timestamp 2001-12-14", "!!set {a, b}",
        "!!omap [{a: 1}]", "!!pairs [[a, 1]]", "!!float", "!!int", "!!str", "!!bool",
        "!!null", "!Custom", "!<tag:example.com,2000:x>", "&a", "*a", "&b [*a, *a, *a]",
        "<<: *a", "<<: {x: 1}", "---", "...", "%YAML 1.1\n---", "%TAG ! tag:x.com,2000:\n---",
        "? ", ": ", "- ", "[", "]", "{", "}", ",", "|", ">", "#", "'", '"', "\t", "\n  ",
        ".nan", ".inf", "-.inf", "1e400", "0x7fffffff", "0o777", "1:30:00", "~", "é: 1",
        "\ufeff", "\u2028", "😀", "\\x00", "*undefined",
    ]


@st.composite
def mutated_yaml(draw: Any, texts: list[str], sentinel: str) -> str:
    """A catalog document's YAML text with tokens inserted, spans deleted or duplicated.
    Always several lines, so :func:`lrcore.load` reads it as text, not as a path."""
    text = draw(st.sampled_from(texts))
    tokens = yaml_tokens(sentinel)
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.integers(0, 3))
        if op <= 1:
            text = text[:i] + draw(st.one_of(st.sampled_from(tokens), st.text(max_size=6))) \
                + text[i:]
        elif op == 2:
            j = draw(st.integers(i, min(len(text), i + 40)))
            text = text[:i] + text[j:]
        else:
            j = draw(st.integers(i, min(len(text), i + 80)))
            text = text[:j] + text[i:j] * draw(st.integers(1, 3)) + text[j:]
    return text if "\n" in text else text + "\n"


# ---- valid trees ----------------------------------------------------------------------------

# The one grammar of random valid trees lives in tests/core/strategies.py (its WIDE
# profile: rates from 1e-9 to 1e3 and zero, steps up to 2**29, epoch and share
# durations, a plateau root with reported metrics).
_CORE = str(Path(__file__).resolve().parent.parent / "core")
if _CORE not in sys.path:
    sys.path.insert(0, _CORE)
from strategies import valid_docs  # noqa: E402, F401 - re-exported to the fuzzers
