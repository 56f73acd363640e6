"""The spec document: loading the documented examples, durations, round trips,
canonical dumps, fingerprints, frozen nodes, copied inputs, evaluate's array contract,
context overrides and pickling.

Curves are checked against formulas written here; serialisation against the dict the
test wrote (never against lrcore's own output alone).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import pickle
from fractions import Fraction

import numpy as np
import pytest
import yaml
from core_helpers import MAX_STEP, assert_close, check_curve, steps_for

import lrcore
from lrcore import SpecError

EXAMPLE_YAML = """\
lrcore: 1
steps_per_epoch: 3750
total_steps: 10ep
schedule:
  type: clip
  min: 1.0e-6
  schedule:
    type: sequence
    phases:
      - {type: linear, start: 1.0e-5, end: 1.0e-3, duration: 3ep}
      - {type: constant, value: 1.0e-3, duration: 5}
      - {type: cosine, start: 1.0e-3, end: 0.0}      # last phase: runs to the end
"""

EXAMPLE_JSON = ('{"lrcore": 1, "schedule": {"type": "step", "start": 0.1, "factor": 0.5, '
                '"every": 10}}')


def example_yaml_oracle(spe=3750, total=37500):
    """The YAML example by hand: 3 epochs of warmup, 5 steps at 1e-3, a cosine to 0 over
    the rest of the run (total - 3 spe - 5 steps), everything floored at 1e-6."""
    warm, hold = 3 * spe, 5
    rest = total - warm - hold

    def oracle(t):
        if t < warm:
            v = 1e-5 + (1e-3 - 1e-5) * t / warm
        elif t < warm + hold:
            v = 1e-3
        else:
            u = min(t - warm - hold, rest)
            v = 1e-3 * (1 + math.cos(math.pi * u / rest)) / 2
        return max(v, 1e-6)

    return oracle, [warm, warm + hold, total]


# ---- the documented examples -----------------------------------------------------------

def test_yaml_example_loads_as_written():
    doc = lrcore.load(EXAMPLE_YAML)
    assert doc.steps_per_epoch == 3750 and doc.total_steps == "10ep"
    root = doc.schedule
    assert root.type == "clip" and root.min == 1e-6 and root.max is None
    phases = root.schedule.phases
    assert [p.type for p in phases] == ["linear", "constant", "cosine"]
    assert phases[0].duration == "3ep" and phases[1].duration == 5
    assert phases[2].duration is None
    assert (phases[0].start, phases[0].end, phases[1].value) == (1e-5, 1e-3, 1e-3)
    resolved = doc.resolve().schedule.schedule.phases
    assert [p.duration for p in resolved] == [11250, 5, 37500 - 11255]
    oracle, breaks = example_yaml_oracle()
    check_curve(doc, oracle, steps_for(100, *breaks) + list(range(37000, 37600, 7)))


def test_json_example_loads_as_written():
    doc = lrcore.load(EXAMPLE_JSON)
    assert doc.to_dict() == json.loads(EXAMPLE_JSON)
    check_curve(doc, lambda t: 0.1 * 0.5 ** (t // 10), steps_for(40, 10, 20))


def test_examples_load_from_files(tmp_path):
    (tmp_path / "a.yaml").write_text(EXAMPLE_YAML)
    (tmp_path / "b.json").write_text(EXAMPLE_JSON)
    (tmp_path / "c.yml").write_text(EXAMPLE_YAML)
    assert lrcore.load(tmp_path / "a.yaml") == lrcore.load(EXAMPLE_YAML)
    assert lrcore.load(str(tmp_path / "c.yml")) == lrcore.load(EXAMPLE_YAML)
    assert lrcore.load(tmp_path / "b.json") == lrcore.load(EXAMPLE_JSON)


def test_keyword_context_overrides_the_document():
    """steps_per_epoch / total_steps given to evaluate win over the document's."""
    doc = lrcore.load(EXAMPLE_YAML)
    oracle, breaks = example_yaml_oracle(spe=100, total=1000)
    check_curve(doc, oracle, steps_for(1010, *breaks), steps_per_epoch=100)
    oracle, breaks = example_yaml_oracle(spe=3750, total=50_000)
    check_curve(doc, oracle, steps_for(50, *breaks), total_steps=50_000)
    oracle, breaks = example_yaml_oracle(spe=200, total=4000)
    check_curve(doc, oracle, steps_for(4010, *breaks), steps_per_epoch=200,
                total_steps="20ep")


def test_evaluate_ten_million_steps():
    """A 3-phase spec over 10**7 steps in one call: the right shape and a few values."""
    doc = lrcore.load(EXAMPLE_YAML)
    total = 10**7
    out = lrcore.evaluate(doc, np.arange(total), total_steps=total)
    assert out.shape == (total,) and out.dtype == np.float64
    oracle, breaks = example_yaml_oracle(total=total)
    picks = [0, 1, 11249, 11250, 11254, 11255, 11256, 5_000_000, total - 2, total - 1]
    assert_close(out[picks], [oracle(t) for t in picks], picks)
    assert np.all(np.isfinite(out)) and out.min() >= 1e-6


# ---- durations -------------------------------------------------------------------------

def _linear_doc(duration, **doc):
    return {"lrcore": 1, **doc,
            "schedule": {"type": "linear", "start": 0.8, "end": 0.2, "duration": duration}}


@pytest.mark.parametrize("duration,context,steps", [
    (40, {}, 40),
    (40.0, {}, 40),                                  # integral float: JSON writers
    (1000.0, {}, 1000),
    ("3ep", {"steps_per_epoch": 7}, 21),
    ("2.5ep", {"steps_per_epoch": 10}, 25),
    ("25%", {"total_steps": 200}, 50),
    ("12.5%", {"total_steps": 100}, 12.5),           # a real duration, exactly
    ("30%", {"total_steps": "10ep", "steps_per_epoch": 20}, 60),
    (23.4, {}, 23.4),
    ("0.3ep", {"steps_per_epoch": 7}, 2.1),          # 21/10 exactly, not 0.3 * 7
    ("2000/3", {}, "2000/3"),
    (10**10, {}, 10**10),                            # past the step domain
])
def test_durations_resolve_to_steps(duration, context, steps):
    """int, integral float, real, ratio, "Nep" (steps_per_epoch) and "N%" (total_steps):
    the line is evaluated at the exact real D (a Fraction in the oracle)."""
    doc = lrcore.Schedule.from_dict(_linear_doc(duration, **context))
    assert doc.resolve().schedule.duration == steps
    d = Fraction(steps) if not isinstance(steps, float) else Fraction(repr(steps))
    last = min(math.ceil(d), 10**4)
    check_curve(doc, lambda t: float(Fraction(0.8) + (Fraction(0.2) - Fraction(0.8))
                                     * min(t, d) / d), steps_for(last + 5, last))


def test_real_durations_keep_their_written_form():
    """A real duration is kept as written (its canonical form: the float whose decimal
    text it is, else the ratio in lowest terms); whole values stay ints, so whole-number
    specs keep their fingerprints."""


    assert lrcore.linear(start=1.0, end=0.0, duration=23.4).to_dict()["duration"] == 23.4
    assert lrcore.linear(start=1.0, end=0.0, duration="4000/6").to_dict()["duration"] \
        == "2000/3"
    assert lrcore.linear(start=1.0, end=0.0, duration=Fraction(2000, 3)).duration == "2000/3"
    assert lrcore.linear(start=1.0, end=0.0, duration=Fraction(47, 2)).duration == 23.5
    assert lrcore.linear(start=1.0, end=0.0, duration=Fraction(40, 2)).duration == 20
    assert type(lrcore.linear(start=1.0, end=0.0, duration=20.0).duration) is int
    doc = lrcore.Schedule.from_dict(_linear_doc("2000/3"))
    assert lrcore.load(lrcore.dumps(doc, "json")).fingerprint() == doc.fingerprint()
    assert lrcore.load(lrcore.dumps(lrcore.Schedule.from_dict(_linear_doc(23.4)), "yaml")) \
        .schedule.duration == 23.4


def test_yaml_floats_are_yaml_1_2():
    """``1e-3`` (no dot) is a float, as in YAML 1.2 and JSON, not the string '1e-3'."""
    doc = lrcore.load("lrcore: 1\nschedule: {type: constant, value: 1e-3}\n")
    assert doc.schedule.value == 0.001 and isinstance(doc.schedule.value, float)
    doc = lrcore.load("lrcore: 1\nschedule: {type: step, start: 5E-2, factor: 1e-1, "
                      "every: 1000.0}\n")
    assert (doc.schedule.start, doc.schedule.factor, doc.schedule.every) == (0.05, 0.1, 1000)


# The YAML 1.2.2 spec's core schema examples (section 10.3.2) and the YAML 1.1 forms it
# drops, written out: what each plain scalar must load as.
CORE_SCHEMA = {
    "0": 0, "-19": -19, "+12": 12, "010": 10, "0o14": 12, "0xC": 12, "0x1f": 31,
    "1.": 1.0, "-1.5": -1.5, ".5": 0.5, "+12e03": 12000.0, "-2E+05": -200000.0,
    "1e-3": 0.001, ".inf": math.inf, "-.Inf": -math.inf,
    "true": True, "False": False, "TRUE": True, "null": None, "~": None,
    # YAML 1.1 only: strings in 1.2
    "1:30": "1:30", "1_000": "1_000", "0b11": "0b11", "yes": "yes", "off": "off",
    "2024-01-01": "2024-01-01", "=": "=", "0o19": "0o19", "1_0.5": "1_0.5",
}


@pytest.mark.parametrize("text", sorted(CORE_SCHEMA))
def test_yaml_plain_scalars_follow_the_1_2_core_schema(text):
    """A config file means the same schedule to lrcore as to JSON, ruamel.yaml or Go's
    yaml.v3: YAML 1.2 scalars, not PyYAML's YAML 1.1 ones (where ``010`` is 8, ``1:30``
    is 90 and ``no`` is false)."""
    got = lrcore.document.parse(f"key: {text}\n")["key"]
    want = CORE_SCHEMA[text]
    assert got == want and type(got) is type(want), (text, got)


def test_yaml_1_1_integers_are_errors_in_integer_fields_not_other_numbers():
    spec = "lrcore: 1\nschedule: {{type: step, start: 0.1, factor: 0.5, every: {}}}\n"
    assert lrcore.load(spec.format("010")).schedule.every == 10
    for text in ("1:30", "1_000", "0b11"):
        with pytest.raises(SpecError, match=rf'^schedule\.every: must be a positive integer'
                           rf'.*, got "{text}"$'):
            lrcore.load(spec.format(text))


def test_dumped_strings_that_look_like_scalars_load_back_as_strings():
    """Strings a YAML 1.2 or a YAML 1.1 reader would take for a number, bool or null
    are quoted on the way out."""
    for text in [t for t, v in CORE_SCHEMA.items() if v is not None] + ["no", "1e3", "0o17"]:
        doc = lrcore.load({"lrcore": 1, "name": text, "description": text,
                           "schedule": {"type": "constant", "value": 0.1}})
        dumped = lrcore.dumps(doc, "yaml")
        assert lrcore.load(dumped).name == text, dumped
        assert yaml.safe_load(dumped)["name"] == text, dumped  # a YAML 1.1 reader too


def test_last_phase_length_is_total_minus_start():
    spec = {"lrcore": 1, "total_steps": 1000, "schedule": {"type": "sequence", "phases": [
        {"type": "linear", "start": 0.0, "end": 0.5, "duration": 120},
        {"type": "constant", "value": 0.5, "duration": "10%"},
        {"type": "polynomial", "start": 0.5, "end": 0.05, "power": 2.0}]}}
    phases = lrcore.Schedule.from_dict(spec).resolve().schedule.phases
    assert [p.duration for p in phases] == [120, 100, 1000 - 220]


# ---- round trips and the canonical form --------------------------------------------------

CATALOG = {
    "constant": {"type": "constant", "value": 0.1},
    "linear": {"type": "linear", "start": 0.1, "end": 0.2, "duration": 10},
    "cosine": {"type": "cosine", "start": 0.3, "end": 0.01, "exponent": 2.0,
               "periodic": True, "duration": "2ep"},
    "exponential": {"type": "exponential", "start": 0.3, "rate": 0.9, "every": 7,
                    "staircase": True, "begin": 3, "bound": 0.01},
    "inverse_time": {"type": "inverse_time", "start": 0.3, "rate": 0.5, "every": 4,
                     "staircase": True},
    "step": {"type": "step", "start": 0.4, "factor": 0.3, "every": "1ep"},
    "multistep": {"type": "multistep", "start": 0.4, "factor": 0.3, "milestones": [3, 9]},
    "piecewise_constant": {"type": "piecewise_constant", "values": [0.3, 0.2, 0.1],
                           "boundaries": [5, "50%"]},
    "piecewise_linear": {"type": "piecewise_linear", "points": [[0, 0.1], [5, 0.3]]},
    "polynomial": {"type": "polynomial", "start": 0.3, "end": 0.01, "power": 2.0,
                   "cycle": True, "duration": 50},
    "cosine_restarts": {"type": "cosine_restarts", "start": 0.3, "end": 0.01, "period": 9,
                        "period_mult": 2.0, "peak_mult": 0.5},
    "cyclic": {"type": "cyclic", "low": 0.01, "high": 0.3, "up": 4, "down": 6,
               "mode": "exp_range", "gamma": 0.9},
    "onecycle": {"type": "onecycle", "peak": 0.3, "pct_start": 0.25, "div_factor": 10.0,
                 "final_div_factor": 100.0, "anneal": "linear", "three_phase": True,
                 "duration": 100},
    "inverse_sqrt": {"type": "inverse_sqrt", "peak": 0.3, "warmup": 10, "timescale": 40},
    "warmup_stable_decay": {"type": "warmup_stable_decay", "peak": 0.3, "warmup": 5,
                            "stable": 10, "decay": 20, "decay_shape": "1-sqrt",
                            "start": 0.01, "end": 0.02},
    "sequence": {"type": "sequence", "phases": [
        {"type": "linear", "start": 0.0, "end": 0.3, "duration": 5},
        {"type": "cosine", "start": 0.3}]},
    "clip": {"type": "clip", "schedule": {"type": "constant", "value": 0.5},
             "min": 0.01, "max": 0.3},
    "scale": {"type": "scale", "schedule": {"type": "constant", "value": 0.5},
              "by": {"type": "linear", "start": 0.0, "end": 1.0, "duration": 4}},
    "shift": {"type": "shift", "schedule": {"type": "constant", "value": 0.5},
              "offset": -3},
    "every": {"type": "every", "schedule": {"type": "linear", "start": 0.5, "end": 0.0,
                                            "duration": 9}, "every": 3},
    "repeat": {"type": "repeat", "schedule": {"type": "cosine", "start": 0.5},
               "period": 10, "decay": 0.5},
}


def _doc(name):
    return {"lrcore": 1, "steps_per_epoch": 10, "total_steps": 100,
            "schedule": copy.deepcopy(CATALOG[name])}


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_to_dict_is_the_written_dict(name):
    """Every parameter written (none at its default) comes back as written, type first."""
    data = _doc(name)
    doc = lrcore.Schedule.from_dict(data)
    assert doc.to_dict() == data
    assert list(doc.to_dict()["schedule"])[0] == "type"
    assert lrcore.Schedule.from_dict(doc.to_dict()) == doc


@pytest.mark.parametrize("name", sorted(CATALOG))
@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_dump_load_round_trip(name, suffix, tmp_path):
    doc = lrcore.Schedule.from_dict(_doc(name))
    path = tmp_path / f"spec{suffix}"
    lrcore.dump(doc, path)
    back = lrcore.load(path)
    assert back == doc
    assert back.fingerprint() == doc.fingerprint()
    text = path.read_text()
    parsed = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    assert parsed == _doc(name)  # any YAML/JSON reader sees the written dict


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_canonical_dump_is_stable(fmt):
    """dumps twice is the same text; reloading and dumping again changes nothing; the
    document keys come in a fixed order, lrcore first and schedule last."""
    doc = lrcore.load(EXAMPLE_YAML)
    text = lrcore.dumps(doc, fmt)
    assert lrcore.dumps(doc, fmt) == text
    assert lrcore.dumps(lrcore.load(text), fmt) == text
    data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert list(data) == ["lrcore", "steps_per_epoch", "total_steps", "schedule"]
    reordered = dict(reversed(list(lrcore.load(EXAMPLE_YAML).to_dict().items())))
    assert lrcore.dumps(lrcore.Schedule.from_dict(reordered), fmt) == text


def test_fingerprint_is_stable_and_sensitive(tmp_path):
    doc = lrcore.load(EXAMPLE_YAML)
    fp = doc.fingerprint()
    assert isinstance(fp, str) and len(fp) == 16 and int(fp, 16) >= 0
    assert lrcore.load(EXAMPLE_YAML).fingerprint() == fp
    assert lrcore.load(lrcore.dumps(doc, "json")).fingerprint() == fp
    lrcore.dump(doc, tmp_path / "x.yaml")
    assert lrcore.load(tmp_path / "x.yaml").fingerprint() == fp
    named = dataclasses.replace(doc, name="run 7", description="notes")
    assert named.fingerprint() == fp  # documented: name and description do not count


def _leaves(data, path=()):
    """Every scalar parameter of a dict spec, as a path of keys and indices."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k != "type":
                yield from _leaves(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _leaves(v, path + (i,))
    else:
        yield path, data


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 0.5 if value else 0.001
    other = {"exp_range": "triangular2", "linear": "cos", "1-sqrt": "cosine"}
    if value in other:
        return other[value]
    if isinstance(value, str) and value[-1] in "p%":
        return "4ep" if value.endswith("ep") else "60%"
    raise AssertionError(f"no change written for {value!r}")


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_fingerprint_changes_with_every_parameter(name):
    base = _doc(name)
    fp = lrcore.Schedule.from_dict(base).fingerprint()
    for path, value in _leaves(base):
        data = copy.deepcopy(base)
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = _changed(value)
        if path == ("lrcore",):
            continue  # the format version: any other value is rejected
        other = lrcore.Schedule.from_dict(data)
        assert other.fingerprint() != fp, f"{path} changed but the fingerprint did not"


# ---- frozen nodes, copied inputs -----------------------------------------------------------

def test_nodes_and_documents_are_frozen():
    node = lrcore.cosine(start=0.1, end=0.0, duration=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.start = 0.2
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.duration = 5
    doc = lrcore.load(EXAMPLE_YAML)
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.total_steps = 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.schedule.min = 0.5
    assert node.start == 0.1 and doc.total_steps == "10ep"


def test_builders_copy_their_inputs():
    """Lists become tuples; mutating the caller's lists afterwards changes nothing."""
    bounds, vals = [2, 4], [1.0, 0.5, 0.1]
    pc = lrcore.piecewise_constant(values=vals, boundaries=bounds)
    points = [[2, 0.0], [4, 1.0]]
    pl = lrcore.piecewise_linear(points=points)
    milestones = [3, 6]
    ms = lrcore.multistep(start=1.0, factor=0.5, milestones=milestones)
    phases = [lrcore.constant(value=0.2, duration=3), lrcore.constant(value=0.1)]
    seq = lrcore.sequence(phases=phases)
    assert isinstance(pc.values, tuple) and isinstance(pc.boundaries, tuple)
    assert isinstance(pl.points, tuple) and all(isinstance(p, tuple) for p in pl.points)
    assert isinstance(ms.milestones, tuple) and isinstance(seq.phases, tuple)
    before = [lrcore.evaluate(s, range(8)) for s in (pc, pl, ms, seq)]
    bounds[0], vals[0], points[0][1] = 1, 9.0, 5.0
    milestones.append(7)
    phases[0] = lrcore.constant(value=0.9, duration=3)
    assert pc.boundaries == (2, 4) and pc.values == (1.0, 0.5, 0.1)
    assert pl.points == ((2, 0.0), (4, 1.0)) and ms.milestones == (3, 6)
    assert seq.phases[0].value == 0.2
    for s, b in zip((pc, pl, ms, seq), before):
        assert lrcore.evaluate(s, range(8)).tolist() == b.tolist()


def test_from_dict_leaves_the_callers_data_alone():
    data = lrcore.load(EXAMPLE_YAML).to_dict()
    snapshot = copy.deepcopy(data)
    doc = lrcore.Schedule.from_dict(data)
    assert data == snapshot
    data["schedule"]["schedule"]["phases"][1]["value"] = 0.5
    assert doc.schedule.schedule.phases[1].value == 1e-3


def test_builders_equal_loaded_documents():
    built = lrcore.step(start=0.1, factor=0.5, every=10)
    assert lrcore.load(EXAMPLE_JSON).schedule == built
    assert lrcore.Schedule(schedule=built) == lrcore.load(EXAMPLE_JSON)


# ---- evaluate's array contract -------------------------------------------------------------

def test_evaluate_accepts_any_step_container_and_keeps_its_shape():
    spec = lrcore.step(start=0.8, factor=0.5, every=3)
    oracle = np.vectorize(lambda t: 0.8 * 0.5 ** (t // 3), otypes=[np.float64])
    cases = [5, np.int32(7), [0, 3, 6], range(10), (1, 2), np.arange(12).reshape(3, 4),
             np.arange(24, dtype=np.int32).reshape(2, 3, 4), np.array([], dtype=np.int64),
             np.array([[MAX_STEP]], dtype=np.int64), np.arange(6, dtype=np.uint16)]
    for steps in cases:
        out = lrcore.evaluate(spec, steps)
        want = np.asarray(oracle(np.asarray(steps)), dtype=np.float64).reshape(
            np.shape(steps))
        assert isinstance(out, np.ndarray) and out.dtype == np.float64
        assert out.shape == np.shape(steps)
        assert_close(out, want)


def test_evaluate_does_not_modify_or_alias_its_input():
    steps = np.arange(10)
    out = lrcore.evaluate(lrcore.constant(value=0.5), steps)
    out[:] = 0.0
    assert steps.tolist() == list(range(10))
    assert lrcore.evaluate(lrcore.constant(value=0.5), steps).tolist() == [0.5] * 10


# ---- pickling --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CATALOG))
def test_documents_and_nodes_pickle(name):
    doc = lrcore.Schedule.from_dict(_doc(name))
    for obj in (doc, doc.schedule, doc.resolve()):
        back = pickle.loads(pickle.dumps(obj))
        assert back == obj and type(back) is type(obj)
    assert pickle.loads(pickle.dumps(doc)).fingerprint() == doc.fingerprint()


def test_spec_error_pickles_with_its_parts():
    with pytest.raises(SpecError) as info:
        lrcore.Schedule.from_dict({"lrcore": 1, "schedule": {"type": "linear", "start": 0.1,
                                                             "end": 0.0, "duration": -5}})
    err = info.value
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is SpecError and isinstance(back, ValueError)
    assert (back.path, back.rule, back.value) == ("schedule.duration", err.rule, -5)
    assert "number of steps > 0" in back.rule and str(back) == str(err)
