"""`lrcore schema`: a valid draft 2020-12 JSON Schema that accepts every spec shipped
with the project and rejects the bad-input cases the loader rejects.

Oracles: the jsonschema package's draft 2020-12 validator (independent of lrcore),
and, for each bad case, lrcore.load refusing the same document with its message.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from cli_helpers import STEP_JSON, WARMUP_COSINE, run_cli

import lrcore
from lrcore.node import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*ROOT.glob("examples/*.yaml"), *ROOT.glob("examples/*.yml"),
                  *ROOT.glob("examples/*.json"), *ROOT.glob("tests/parity/catalog/*.yaml"),
                  *ROOT.glob("tests/parity/catalog/*.yml"),
                  *ROOT.glob("tests/parity/catalog/*.json"), *ROOT.glob("docs/*.yaml")])


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    """The schema as the command prints it."""
    r = run_cli("schema")
    assert r.returncode == 0, r.stderr
    schema = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    return jsonschema.Draft202012Validator(schema)


def _data(path: Path):
    """Parse as lrcore does: YAML 1.2 numbers (``1.0e4`` is a float, which PyYAML's
    YAML 1.1 ``safe_load`` would leave a string)."""
    from lrcore.document import parse

    text = path.read_text(encoding="utf-8")
    return parse(text, "json" if path.suffix == ".json" else "yaml", str(path))


def test_every_node_type_is_described(validator):
    """One definition per registered node type, each reachable from the schedule union,
    with `type` fixed to its name and no other keys allowed."""
    defs = validator.schema["$defs"]
    union = {ref["$ref"] for ref in defs["schedule"]["oneOf"]}
    assert union == {f"#/$defs/{name}" for name in REGISTRY}
    for name in REGISTRY:
        assert defs[name]["properties"]["type"] == {"const": name}
        assert defs[name]["additionalProperties"] is False
        assert "type" in defs[name]["required"]


def test_shipped_specs_validate(validator):
    """Every example, parity-catalog and docs spec (and the test specs) is valid."""
    docs = [(p.name, _data(p)) for p in SHIPPED]
    assert len(docs) >= 1
    docs += [("WARMUP_COSINE", yaml.safe_load(WARMUP_COSINE)),
             ("STEP_JSON", json.loads(STEP_JSON))]
    for name, data in docs:
        errors = sorted(validator.iter_errors(data), key=str)
        assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"


def test_required_fields_and_defaults_follow_the_node():
    """cosine needs only `start`; `end` defaults to 0; sequence needs `phases`."""
    from lrcore.schema import spec_schema

    defs = spec_schema()["$defs"]
    assert defs["cosine"]["required"] == ["type", "start"]
    assert defs["cosine"]["properties"]["end"]["default"] == 0.0
    assert defs["sequence"]["required"] == ["type", "phases"]


BASE = {"lrcore": 1, "schedule": {"type": "cosine", "start": 0.1, "duration": 100}}

BAD = [
    ("unknown type", {"lrcore": 1, "schedule": {"type": "cosin", "start": 0.1}},
     "schedule.type: must be a known schedule type"),
    ("unknown key", {"lrcore": 1, "schedule": {"type": "cosine", "start": 0.1, "stat": 1}},
     "schedule.stat: is not a parameter of cosine"),
    ("negative rate", {"lrcore": 1, "schedule": {"type": "cosine", "start": -0.1}},
     "schedule.start: must be >= 0"),
    ("negative rate, nested",
     {"lrcore": 1, "schedule": {"type": "sequence", "phases": [
         {"type": "constant", "value": 0.1, "duration": 10},
         {"type": "linear", "start": 0.1, "end": -1e-3}]}},
     r"schedule.phases\[1\].end: must be >= 0"),
    ("bad duration string", {"lrcore": 1, "schedule": {"type": "cosine", "start": 0.1,
                                                       "duration": "3 weeks"}},
     "schedule.duration: must be a number of steps > 0"),
    ("zero duration", {"lrcore": 1, "schedule": {"type": "cosine", "start": 0.1,
                                                 "duration": 0}},
     "schedule.duration: must be a number of steps > 0"),
    ("missing lrcore", {"schedule": BASE["schedule"]}, "lrcore: is required"),
    ("newer format", dict(BASE, lrcore=2), "lrcore: is from a newer lrcore"),
    ("unknown document key", dict(BASE, steps=10), "steps: is not a document key"),
    ("missing required parameter", {"lrcore": 1, "schedule": {"type": "cosine"}},
     "schedule.start: is required for cosine"),
    ("wrong type", {"lrcore": 1, "schedule": dict(BASE["schedule"], periodic="yes")},
     "schedule.periodic: must be true or false"),
    ("share as total_steps", dict(BASE, total_steps="50%"),
     'total_steps: must be steps or epochs'),
    ("keras settings not a mapping", dict(BASE, keras=3), "keras: must be a mapping"),
    ("unknown keras setting", dict(BASE, keras={"plateau": 1}),
     "keras.plateau: is not a Keras schedule setting"),
]


@pytest.mark.parametrize("data, message", [(d, m) for _, d, m in BAD],
                         ids=[name for name, _, _ in BAD])
def test_bad_documents_are_rejected_by_schema_and_loader(validator, data, message):
    """The schema and the loader agree: both refuse each bad document."""
    assert list(validator.iter_errors(data)), "the schema accepted a bad document"
    with pytest.raises(lrcore.SpecError, match=message):
        lrcore.load(data).resolve()


def test_the_good_base_document_is_accepted(validator):
    """The documents above differ from this valid one in one place each."""
    assert not list(validator.iter_errors(BASE))
    lrcore.load(BASE)


def test_a_keras_config_is_accepted(validator):
    """lrcore's Keras schedule's get_config(): the document and its settings under
    "keras", which load leaves out."""
    config = dict(BASE, keras={"gradient_accumulation_steps": 2, "steps_per_epoch": 10})
    assert not list(validator.iter_errors(config))
    assert lrcore.load(config) == lrcore.load(BASE)
