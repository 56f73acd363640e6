"""Inputs that are what they look like: numpy scalars are numbers, read-only mappings are
mappings, JSON text with a BOM is JSON text, YAML tags follow the same YAML 1.2 rules as
untagged scalars, and every spec that loads dumps to text that loads back equal, with an
equal fingerprint. Errors never contradict the input, and always pickle."""

from __future__ import annotations

import pickle
import types

import numpy as np
import pytest

import lrcore
from lrcore import SpecError

C = {"type": "constant", "value": 0.1}


def doc(schedule, **extra):
    return {"lrcore": 1, **extra, "schedule": schedule}


@pytest.mark.parametrize("value", [np.float64(0.25), np.float32(0.25), np.float16(0.25),
                                   np.int64(1), np.int32(1), np.uint8(1)])
def test_numpy_scalars_are_numbers(value):
    spec = lrcore.load(doc({"type": "constant", "value": value}))
    assert spec.schedule.value == float(value)
    assert type(spec.schedule.value) is float
    assert lrcore.evaluate(spec, [0]).tolist() == [float(value)]


def test_numpy_float32_keeps_its_exact_value():
    spec = lrcore.constant(value=np.float32(0.1))
    assert spec.value == float(np.float32(0.1)) == 0.10000000149011612


@pytest.mark.parametrize("every", [np.int64(5), np.int32(5), np.uint16(5), np.float64(5.0)])
def test_numpy_integers_are_steps(every):
    node = lrcore.step(start=0.1, factor=0.5, every=every)
    assert node.every == 5 and type(node.every) is int
    assert lrcore.evaluate(node, [4, 5]).tolist() == [0.1, 0.05]


def test_numpy_bool_is_not_a_number():
    with pytest.raises(SpecError, match=r"^constant\.value: must be a learning rate "
                                        r"\(a finite number >= 0\), got np\.True_$"):
        lrcore.constant(value=np.bool_(True))


def test_numpy_nan_is_named_as_such():
    with pytest.raises(SpecError, match=r"^constant\.value: must be a finite number, "
                                        r"got np\.float32\(nan\)$"):
        lrcore.constant(value=np.float32("nan"))


def test_read_only_mappings_are_mappings():
    ro = types.MappingProxyType
    spec = lrcore.load(ro(doc(ro({"type": "sequence", "phases": [
        ro({"type": "linear", "start": 0.0, "end": 0.1, "duration": 2}), ro(C)]}))))
    assert lrcore.evaluate(spec, [0, 1, 2, 3]).tolist() == [0.0, 0.05, 0.1, 0.1]
    assert lrcore.load(ro(doc(C))) == lrcore.load(doc(C))


def test_read_only_mapping_errors_name_the_field():
    with pytest.raises(SpecError, match=r"^schedule\.value: must be a learning rate"):
        lrcore.load(types.MappingProxyType(doc({"type": "constant", "value": "x"})))


@pytest.mark.parametrize("text", [
    '\ufeff{"lrcore": 1, "schedule": {"type": "constant", "value": 0.1}}',
    "\ufefflrcore: 1\nschedule: {type: constant, value: 0.1}\n",
])
def test_a_byte_order_mark_is_not_content(text):
    assert lrcore.load(text) == lrcore.load(doc(C))


@pytest.mark.parametrize("suffix,text", [
    (".json", '\ufeff{"lrcore": 1, "schedule": {"type": "constant", "value": 0.1}}'),
    (".yaml", "\ufefflrcore: 1\nschedule: {type: constant, value: 0.1}\n"),
])
def test_a_byte_order_mark_in_a_file(tmp_path, suffix, text):
    path = tmp_path / f"spec{suffix}"
    path.write_text(text, encoding="utf-8")
    assert lrcore.load(path) == lrcore.load(doc(C))


TAGGED = [
    # (YAML value, what it is): an explicit tag reads a scalar by YAML 1.2 rules only
    ("!!int 010", 10),
    ("!!int 0x1F", 31),
    ("!!int 0o17", 15),
    ("!!int +7", 7),
    ("!!float 1e-3", 1e-3),
    ("!!float 2", 2.0),
    ("!!float .5", 0.5),
]


@pytest.mark.parametrize("text,want", TAGGED)
def test_explicit_tags_follow_yaml_1_2(text, want):
    spec = lrcore.load(f"lrcore: 1\nschedule: {{type: step, start: 0.5, factor: 0.5, "
                       f"every: 100, duration: {text}}}\n" if isinstance(want, int) else
                       f"lrcore: 1\nschedule: {{type: constant, value: {text}}}\n")
    got = spec.schedule.duration if isinstance(want, int) else spec.schedule.value
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize("text,match", [
    ("!!int 1_000", r'^spec:2:\d+: !!int must be a YAML 1\.2 integer \(decimal, 0o or 0x\), '
                    r'got "1_000"$'),
    ("!!int 1:30", r'^spec:2:\d+: !!int must be a YAML 1\.2 integer .*got "1:30"$'),
    ("!!int 0b101", r'^spec:2:\d+: !!int must be a YAML 1\.2 integer .*got "0b101"$'),
    ("!!float 1_0.5", r'^spec:2:\d+: !!float must be a YAML 1\.2 number .*got "1_0\.5"$'),
    ("!!float 1:30.5", r'^spec:2:\d+: !!float must be a YAML 1\.2 number .*got "1:30\.5"$'),
    ("!!bool yes", r'^spec:2:\d+: !!bool must be true or false \(YAML 1\.2\), got "yes"$'),
    ("!!bool on", r'^spec:2:\d+: !!bool must be true or false \(YAML 1\.2\), got "on"$'),
    ("!!null nothing", r'^spec:2:\d+: !!null must be null, ~ or empty \(YAML 1\.2\), '
                       r'got "nothing"$'),
])
def test_explicit_tags_reject_yaml_1_1_forms(text, match):
    with pytest.raises(SpecError, match=match):
        lrcore.load(f"lrcore: 1\nschedule: {{type: cosine, start: 0.1, periodic: {text}, "
                    "duration: 10}\n")


def test_tagged_bool_reads_like_an_untagged_one():
    spec = lrcore.load("lrcore: 1\nschedule: {type: cosine, start: 0.1, periodic: !!bool true,"
                       " duration: 10}\n")
    assert spec.schedule.periodic is True


@pytest.mark.parametrize("name", ["a\udc80b", "\ud800", "x\udfff"])
def test_lone_surrogates_are_not_text(name):
    with pytest.raises(SpecError, match=r"^name: must be valid Unicode text \(a lone "
                                        r"surrogate cannot be written to a file\), got "):
        lrcore.load(doc(C, name=name))


def test_lone_surrogates_in_json_text_are_refused():
    with pytest.raises(SpecError, match=r"^description: must be valid Unicode text"):
        lrcore.load('{"lrcore": 1, "description": "\\udc80", "schedule": '
                    '{"type": "constant", "value": 0.1}}')


@pytest.mark.parametrize("name", ["caf\u00e9", "\U0001f680 run", "tab\tand\nnewline",
                                  "\x00nul", "\u2028sep", "yes", "010", "1e3", "null", ""])
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_names_round_trip(name, fmt):
    spec = lrcore.load(doc(C, name=name))
    back = lrcore.load(lrcore.dumps(spec, fmt))
    assert back == spec and back.name == name


def test_negative_zero_is_zero():
    a = lrcore.load(doc({"type": "linear", "start": 0.1, "end": -0.0, "duration": 5}))
    b = lrcore.load(doc({"type": "linear", "start": 0.1, "end": 0.0, "duration": 5}))
    assert a == b
    assert a.fingerprint() == b.fingerprint()
    assert lrcore.dumps(a, "json") == lrcore.dumps(b, "json")


@pytest.mark.parametrize("value", [0.1, 1, np.float64(0.1), np.int64(1), 1.0])
def test_equal_specs_have_equal_fingerprints(value):
    a = lrcore.load(doc({"type": "constant", "value": value}))
    b = lrcore.load(doc({"type": "constant", "value": float(value)}))
    assert a == b and a.fingerprint() == b.fingerprint()


class _Unpicklable:
    def __reduce__(self):
        raise TypeError("cannot pickle this")

    def __repr__(self):
        return "<unpicklable>"


@pytest.mark.parametrize("value", [_Unpicklable(), (lambda: 0), types.SimpleNamespace(
    f=lambda: 0)])
def test_spec_errors_always_pickle(value):
    err = SpecError("schedule.value", "must be a number", value)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is SpecError
    assert str(back) == str(err)
    assert (back.path, back.rule) == ("schedule.value", "must be a number")
    assert back.value == repr(value)


def test_picklable_values_survive_pickling():
    err = SpecError("a", "b", {"x": [1, 2.5]})
    assert pickle.loads(pickle.dumps(err)).value == {"x": [1, 2.5]}


@pytest.mark.parametrize("metric", [10**400, -(10**400)], ids=["10**400", "-10**400"])
def test_a_metric_past_float_range_is_a_spec_error(metric):
    spec = lrcore.plateau(schedule=lrcore.constant(value=1.0))
    with pytest.raises(SpecError, match=r"^reports\[0\]\[1\]: must be a number within "
                                        r"float range, got -?~2\*\*1328$"):
        lrcore.evaluate(spec, [0], reports=[(0, metric)])


def test_merge_keys_are_bounded():
    """A chain of ``<<`` merges copies each mapping into the next: refused past a budget
    (10 000 entries), long before its quadratic cost shows."""
    text = "lrcore: 1\nschedule: {type: constant, value: 1.0}\nx0: &b0 {k: 1}\n" + "".join(
        f"x{i}: &b{i} {{<<: *b{i - 1}, k{i}: 1}}\n" for i in range(1, 300))
    with pytest.raises(SpecError, match=r'^spec:\d+:\d+: merge keys \(<<\) must expand to at '
                                        r'most 10000 entries in all, got "\d+"$'):
        lrcore.load(text)


def test_merge_keys_within_the_budget_work():
    text = ("lrcore: 1\nschedule:\n  type: sequence\n  phases:\n"
            "  - &warm {type: linear, start: 0.0, end: 1.0e-3, duration: 10}\n"
            "  - {<<: *warm, start: 1.0e-3, end: 0.0}\n")
    phases = lrcore.load(text).schedule.phases
    assert (phases[1].start, phases[1].end, phases[1].duration) == (1e-3, 0.0, 10)


def test_yaml_values_are_bounded():
    text = "lrcore: 1\nschedule: {type: constant, value: 1.0}\nname: [" + "1," * 150_001 + "]"
    with pytest.raises(SpecError, match=r"^spec: must hold at most 150000 YAML values "
                                        r'\(scalars, lists, mappings\), got "more"$'):
        lrcore.load(text)


def test_numpy_format_version_is_a_version():
    assert lrcore.load({"lrcore": np.int64(1), "schedule": C}) == lrcore.load(doc(C))
    with pytest.raises(SpecError, match=r"^lrcore: must be a format version \(a positive "
                                        r"integer\), got np\.True_$"):
        lrcore.load({"lrcore": np.bool_(True), "schedule": C})


def test_numpy_context_values_are_steps():
    spec = lrcore.load(doc({"type": "linear", "start": 0.1, "end": 0.0, "duration": "50%"},
                           steps_per_epoch=np.int32(10), total_steps=np.int64(20)))
    assert lrcore.evaluate(spec, [5, 10]).tolist() == [0.05, 0.0]


@pytest.mark.parametrize("step", [np.float32(2**31), np.float16(-1.0),
                                  np.asarray([0.0, 2.0**31], dtype=np.float32)])
def test_float_steps_are_range_checked_exactly(step):
    with pytest.raises(SpecError, match=r"^steps: must be in \[0, 2\*\*31 - 1\], got -?\d+$"):
        lrcore.evaluate(lrcore.constant(value=0.1), step)
