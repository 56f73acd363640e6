"""Fuzzing the loaders: every input either loads into a valid spec or raises SpecError.

Inputs: random documents of any shape and value type, the parity catalog's documents
mutated (keys and values deleted, renamed, retyped, pushed to extremes, grafted), the
catalog's YAML text mutated (tags, anchors, aliases, merges, directives, deletions), and a
corpus of hostile inputs (10**5-element lists, 10**4-deep nesting, alias bombs, 1 MiB
scalars, 5000-digit integers, a NUL byte in a path, an endless device file). Each goes
through ``lrcore.load`` as a mapping, as JSON text and as YAML text; a loaded spec is then
evaluated at small, power-of-two and far steps.

Oracle: the contract itself. Nothing but SpecError escapes (no other exception type,
no warning), and a SpecError about a mapping names a field path that exists in it (all
but its last segment, which may be the missing field); a loaded spec round-trips
through ``to_dict``, ``dumps("yaml")`` and ``dumps("json")`` and its rates are finite
and >= 0; no input takes 2 s or more (a hang detector) or grows the process's peak
memory (``ru_maxrss``) by 256 MiB or more; hostile inputs run in a fresh process each,
under an address-space limit, which must also end within its time limit; a YAML tag
that would create a file never creates it. The number of inputs tried is printed in
the terminal summary.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hardening_helpers import (
    MAX_RSS_GROWTH_MB,
    ODD_STRINGS,
    SECONDS_PER_INPUT,
    catalog_documents,
    catalog_texts,
    count,
    mutated_docs,
    mutated_yaml,
    outcome,
    wild_docs,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import lrcore

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "scripts" / "hostile.py"
#: Wall-clock limit of one hostile input's process (start-up included).
PROCESS_TIMEOUT_S = 15


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory) -> Path:
    """A file that a code-executing YAML tag would create."""
    return tmp_path_factory.mktemp("tags") / "executed"


def _as_texts(doc) -> list[str]:
    """The document as JSON text and YAML text (when it can be written as such)."""
    texts = []
    try:
        text = json.dumps(doc)
        if text.startswith("{"):  # else load() would read one line as a file path
            texts.append(text)
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        texts.append(yaml.safe_dump(doc, allow_unicode=True))
    except (yaml.YAMLError, RecursionError):
        pass
    return texts


@settings(database=None)
@given(wild_docs())
def test_wild_documents_load_or_raise_spec_error(doc) -> None:
    """Documents of random shape and value types: SpecError or a valid spec, for the
    mapping, its JSON text and its YAML text alike."""
    outcome(doc, "wild")
    for text in _as_texts(doc):
        outcome(text, "wild-text")


@settings(database=None)
@given(mutated_docs())
def test_mutated_catalog_documents_load_or_raise_spec_error(doc) -> None:
    """Catalog documents after one to four random mutations."""
    result = outcome(doc, "mutated")
    for text in _as_texts(doc):
        again = outcome(text, "mutated-text")
        if text.startswith("{"):  # JSON keeps every type: it says what the mapping says
            assert (again == "SpecError") == (result == "SpecError"), text[:300]


TEXTS = list(catalog_texts()) or [yaml.safe_dump(d, sort_keys=False) for d in catalog_documents()]


@settings(database=None)
@given(data=st.data())
def test_mutated_yaml_text_loads_or_raises_and_executes_nothing(data, sentinel) -> None:
    """Catalog YAML text with tags (code-executing ones included), anchors, aliases,
    merges, directives and random characters inserted, and spans deleted or duplicated:
    SpecError or a valid spec, and the file a Python tag would create never appears."""
    text = data.draw(mutated_yaml(TEXTS, str(sentinel)))
    outcome(text, "yaml-text")
    assert not sentinel.exists(), f"a YAML tag executed code: {text!r}"


def test_catalog_documents_are_valid_under_every_loader() -> None:
    """The mutation base itself: every catalog document loads from a mapping, JSON
    and YAML text, so a mutation is what makes an input bad."""
    docs = catalog_documents()
    assert len(docs) >= 3
    for doc in docs:
        assert outcome(doc, "catalog") == "evaluated"
        for text in _as_texts(doc):
            assert outcome(text, "catalog-text") != "SpecError", text


# ---- code never executes -------------------------------------------------------------

def _tag_payloads(target: Path) -> list[str]:
    return [
        f"!!python/object/apply:os.system ['touch {target}']",
        f"!!python/object/apply:builtins.open ['{target}', 'w']",
        f"!!python/object/apply:subprocess.check_call [['touch', '{target}']]",
        f"!!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path "
        f"['{target}']]",
        f"!!python/object/new:subprocess.Popen [['touch', '{target}']]",
        "!!python/name:os.system", "!!python/module:os",
        "!!python/object:lrcore.Schedule {schedule: null}",
    ]


@pytest.mark.parametrize("where", ["value", "schedule", "key", "document"])
@pytest.mark.parametrize("index", range(8))
def test_python_tags_raise_spec_error_and_run_nothing(tmp_path, where, index) -> None:
    """A Python tag anywhere in a YAML spec (text or file) is a SpecError naming the tag,
    and the file it would create does not exist afterwards."""
    target = tmp_path / "pwned"
    tag = _tag_payloads(target)[index]
    text = {
        "value": f"lrcore: 1\nschedule:\n  type: constant\n  value: {tag}\n",
        "schedule": f"lrcore: 1\nschedule: {tag}\n",
        "key": f"lrcore: 1\nschedule:\n  type: constant\n  ? {tag}\n  : 1.0\n",
        "document": f"--- {tag}\n",
    }[where]
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    for source in (text, path, str(path)):
        with pytest.raises(lrcore.SpecError, match=r"could not determine a constructor "
                           r"for the tag 'tag:yaml\.org,2002:python/"):
            lrcore.load(source)
        count("tags")
    assert not target.exists()


# ---- hostile inputs, one process each ------------------------------------------------------

def _cases() -> dict:
    import importlib.util

    spec = importlib.util.spec_from_file_location("hardening_hostile", HOSTILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_is_bounded_in_time_and_memory(name) -> None:
    """One hostile input in a fresh process: the expected outcome (SpecError for all but
    the valid ones), under 2 s inside ``load`` + ``evaluate``, under 256 MiB of peak
    memory growth, and the process ends within its limit (no hang)."""
    if name == "path_endless_device" and not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    count("hostile")
    try:
        proc = subprocess.run([sys.executable, str(HOSTILE), name], capture_output=True,
                              text=True, timeout=PROCESS_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}: no answer within {PROCESS_TIMEOUT_S} s (a hang or a "
                    "blow-up)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = CASES[name][1].split("|")
    assert result["outcome"] in expected, f"{name}: {result}"
    assert result["seconds"] < SECONDS_PER_INPUT, f"{name}: {result}"
    assert result["rss_growth_mb"] < MAX_RSS_GROWTH_MB, f"{name}: {result}"


# ---- numbers at the edges, as text -------------------------------------------------------

EDGE_TEXT = ["0", "-0.0", "5e-324", "1e-400", "1.7976931348623157e308", "1.8e308", "1e400",
             ".nan", ".NaN", ".inf", "-.inf", "+.inf", "0x1p3", "1_000", "0b101", "0o17",
             "017", "1:30", "+1", "1.", ".5", "1e3", "1E-3", "3ep", "'3ep'", "25%", "'25%'",
             "2147483647", "2147483648", "-2147483648", "9223372036854775808",
             "1" + "0" * 400, "1e-3 ", "!!float 1", "!!int '7'", "!!str 7", "null", "~",
             "true", "yes", "on", "[]", "{}", "[1]", "''", "'\u00e9'", "\"\\u0000\"",
             "\"\\ud800\""]


@pytest.mark.parametrize("field", ["value", "duration"])
@pytest.mark.parametrize("text", EDGE_TEXT)
def test_edge_scalars_in_yaml_and_json(field, text) -> None:
    """A scalar at the edge of YAML's or JSON's number syntax, in a rate field and in a
    step field: SpecError or a valid spec whose rates are finite and >= 0."""
    value, duration = ("1.0e-3", "10") if field == "duration" else ("X", "10")
    doc = "lrcore: 1\nschedule:\n  type: constant\n  value: {v}\n  duration: {d}\n"
    yaml_text = doc.format(v=text if field == "value" else value,
                           d=text if field == "duration" else duration)
    outcome(yaml_text, "edge-text")
    try:
        scalar = json.dumps(yaml.safe_load(text))
    except (yaml.YAMLError, ValueError, TypeError):
        return
    json_text = ('{"lrcore": 1, "schedule": {"type": "constant", "value": %s, '
                 '"duration": %s}}' % ((scalar, duration) if field == "value"
                                       else (value, scalar)))
    outcome(json_text, "edge-text")


@settings(database=None)
@given(st.one_of(st.sampled_from(ODD_STRINGS + ["1e3", "1E-3", "2e+5", "-1e3", "1_000",
                                                "0x1F", "1:30", "true", "null", "[a]"]),
                 st.text(max_size=20)),
       st.sampled_from(["yaml", "json"]))
def test_dumped_text_loads_back_to_the_same_spec(text, fmt) -> None:
    """A spec whose name and description are any string: ``lrcore.dumps`` writes text
    that ``lrcore.load`` reads back as the same spec (a string that looks like a number
    stays a string)."""
    spec = lrcore.Schedule(schedule=lrcore.cosine(start=1e-3, duration=10), name=text,
                           description=text)
    dumped = lrcore.dumps(spec, fmt)
    count("dumps")
    assert lrcore.load(dumped) == spec, dumped


#: Standard YAML tags on values they cannot construct.
BAD_TAGGED = ["!!timestamp 2001-12-14x", "!!timestamp 2001-13-45",
              "!!timestamp 2001-12-14T25:00:00", "!!int abc", "!!int ''", "!!int 0x",
              "!!float abc", "!!bool maybe", "!!map [1]", "!!set [1]", "!!omap [1]",
              "!!pairs {a: 1}", "!!str [1]", "!!binary 'a'"]


TAG_ERROR = r"^spec(:\d+:\d+)?: (is not valid YAML|!!(int|float|bool) must be)"


@pytest.mark.parametrize("tagged", BAD_TAGGED)
def test_standard_tags_on_bad_values_raise_spec_error(tagged) -> None:
    """A standard YAML tag (timestamp, int, float, bool, map, ...) on a value it cannot
    construct, as a rate, a step count or a key: a SpecError saying the text is not
    valid YAML (or, for the core schema's scalar tags, which rule the text breaks),
    whatever the tag's own constructor raises."""
    for text in (f"lrcore: 1\nschedule:\n  type: constant\n  value: {tagged}\n",
                 f"lrcore: 1\nschedule:\n  type: constant\n  value: 1.0\n"
                 f"  duration: {tagged}\n",
                 f"lrcore: 1\nschedule:\n  type: constant\n  ? {tagged}\n  : 1.0\n"):
        with pytest.raises(lrcore.SpecError, match=TAG_ERROR):
            lrcore.load(text)
        count("tags")


def test_nan_and_inf_are_rejected_with_the_field_path() -> None:
    """NaN and +-inf in a rate field: SpecError naming the field and 'finite'."""
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(lrcore.SpecError, match=r"schedule\.phases\[1\]\.start: must be "
                           r"a finite number"):
            lrcore.load({"lrcore": 1, "schedule": {"type": "sequence", "phases": [
                {"type": "constant", "value": 1.0, "duration": 3},
                {"type": "cosine", "start": bad, "duration": 10}]}})
        count("edge")
