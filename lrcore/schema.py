"""JSON Schemas (draft 2020-12): the spec format and the ``lrcore parity --json`` report.

The spec schema is generated from the node registry and the field kinds
(:meth:`lrcore.fields.Kind.schema`), so it never drifts from the loader: every node type
is an object with ``type`` fixed to its name, its parameters, ``required`` listing the
parameters without a default, and no other keys. It checks shape, types and bounds;
rules across fields (sorted milestones, ``clip`` needing ``min`` or ``max``, phases that
fit their span) are the loader's, so a document the schema accepts may still be refused
by :func:`lrcore.load` with a :class:`~lrcore.SpecError` naming the field.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .document import FORMAT_VERSION, KERAS_KEY, KERAS_SETTINGS
from .fields import MAX_STEP, Int
from .node import REGISTRY, Node

__all__ = ["DRAFT", "PARITY_REPORT_SCHEMA", "PARITY_REPORT_VERSION", "node_schema",
           "spec_schema"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: ``total_steps`` is steps or epochs, never a share of the run (it is what shares refer to)
_STEPS_OR_EPOCHS = r"^\s*([0-9]+(?:\.[0-9]+)?)\s*ep\s*$"


def _summary(cls: type[Node]) -> str:
    doc = (cls.__doc__ or "").strip()
    return doc.split("\n\n")[0].replace("\n", " ").strip() if doc else cls.type


def node_schema(cls: type[Node]) -> dict[str, Any]:
    """The schema of one node type: ``type`` const, its parameters, no other keys."""
    props: dict[str, Any] = {"type": {"const": cls.type}}
    required = ["type"]
    for f in cls.fields():
        prop = dict(f.metadata["kind"].schema())
        if f.metadata.get("doc"):
            prop["description"] = f.metadata["doc"]
        if f.default is dataclasses.MISSING:
            required.append(f.name)
        elif f.default is not None:
            prop["default"] = f.metadata["kind"].dump(f.default)
        props[f.name] = prop
    return {"type": "object", "title": cls.type, "description": _summary(cls),
            "properties": props, "required": required, "additionalProperties": False}


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of a spec document (what ``lrcore schema`` prints).

    Optional parameters are omitted when unset (``null`` is not a value in the canonical
    form, so the schema does not accept it either).
    """
    names = sorted(REGISTRY)
    if "schedule" in names:  # pragma: no cover - a node type may not shadow the union
        raise RuntimeError("a node type may not be called 'schedule'")
    defs: dict[str, Any] = {
        "schedule": {"description": "a schedule node: one of the node types, chosen by "
                                    "its 'type'",
                     "oneOf": [{"$ref": f"#/$defs/{name}"} for name in names]},
    }
    defs.update((name, node_schema(REGISTRY[name])) for name in names)
    return {
        "$schema": DRAFT,
        "title": "lrcore learning-rate schedule spec",
        "description": f"A spec document of format version {FORMAT_VERSION}: the format "
                       "version, an optional context (steps_per_epoch, total_steps) and "
                       "one schedule tree. Durations are steps (500), epochs (\"3ep\") or "
                       "a share of the run (\"25%\").",
        "type": "object",
        "properties": {
            "lrcore": {"description": "format version (this lrcore reads 1 to "
                                      f"{FORMAT_VERSION})",
                       "type": "integer", "minimum": 1, "maximum": FORMAT_VERSION},
            "name": {"type": "string", "description": "a label for plots and reports"},
            "description": {"type": "string"},
            "steps_per_epoch": dict(Int(ge=1).schema(),
                                    description="resolves \"Nep\" durations"),
            "total_steps": {
                "description": "length of the run: resolves \"N%\" durations and the "
                               "span of a last phase without a duration",
                "oneOf": [{"type": "integer", "minimum": 1, "maximum": MAX_STEP},
                          {"type": "string", "pattern": _STEPS_OR_EPOCHS}]},
            "schedule": {"$ref": "#/$defs/schedule"},
            "hyperparams": {
                "description": "curves of other hyperparameters (momentum, beta1, beta2, "
                               "weight_decay, or any lower-case name), in the schedule "
                               "grammar",
                "type": "object", "maxProperties": 32,
                "propertyNames": {"pattern": "^[a-z_][a-z0-9_]{0,63}$",
                                  "not": {"enum": ["lr", "learning_rate"]}},
                "additionalProperties": {"$ref": "#/$defs/schedule"}},
            KERAS_KEY: {
                "description": "in lrcore's Keras schedule's get_config() only: its own "
                               "settings beside the document; not part of the spec",
                "type": "object", "propertyNames": {"enum": list(KERAS_SETTINGS)}},
        },
        "required": ["lrcore", "schedule"],
        "additionalProperties": False,
        "$defs": defs,
    }


#: Version of the ``lrcore parity --json`` report shape (bumped on incompatible change).
PARITY_REPORT_VERSION = 1

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_ULP_COUNTS = {"type": "array", "items": {"type": "integer", "minimum": 0},
               "minItems": 4, "maxItems": 4,
               "description": "points within 0, 1, 2 and 4 ulps of the reference rounded "
                              "to the backend's dtype (cumulative; lrcore.parity.ULP_BINS)"}

#: The shape of ``lrcore parity --json``. Non-finite numbers (a NaN value, an infinite
#: relative error) are written as ``null``, so the output is strict JSON.
PARITY_REPORT_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "lrcore parity report",
    "description": "Every spec checked against the float64 reference on every backend. A "
                   "backend passes at step t when |value - reference| <= rtol * "
                   "|reference| + atol * peak.",
    "type": "object",
    "required": ["report_version", "lrcore_version", "ok", "backends", "specs"],
    "additionalProperties": False,
    "properties": {
        "report_version": {"const": PARITY_REPORT_VERSION},
        "lrcore_version": {"type": "string"},
        "ok": {"type": "boolean", "description": "true when every backend passed on "
                                                 "every spec"},
        "backends": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "specs": {"type": "array", "items": {"$ref": "#/$defs/spec"}},
        "ulp_histogram": {"type": "array", "items": {"$ref": "#/$defs/histogram"},
                          "description": "per backend, over every spec and curve"},
    },
    "$defs": {
        "spec": {
            "type": "object",
            "required": ["file", "name", "fingerprint", "peak", "ok", "results"],
            "additionalProperties": False,
            "properties": {
                "file": {"type": ["string", "null"], "description": "the spec file, as "
                                                                    "given"},
                "name": {"type": "string", "description": "the spec's name, else the file "
                                                          "stem"},
                "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                "peak": {"type": "number", "minimum": 0,
                         "description": "largest reference rate on the grid"},
                "ok": {"type": "boolean"},
                "results": {"type": "array", "items": {"$ref": "#/$defs/result"}},
            },
        },
        "result": {
            "type": "object",
            "description": "one backend on one spec, at its worst step (where the error "
                           "came closest to, or went furthest past, the tolerance)",
            "required": ["backend", "dtype", "ok", "worst_step", "reference", "value",
                         "abs_err", "rel_err", "ulps", "rtol", "atol", "n_steps"],
            "additionalProperties": False,
            "properties": {
                "backend": {"type": "string"},
                "dtype": {"enum": ["float32", "float64"]},
                "ok": {"type": "boolean"},
                "worst_step": {"type": "integer", "minimum": 0, "maximum": MAX_STEP},
                "reference": {"type": "number"},
                "value": _NUMBER_OR_NULL,
                "abs_err": _NUMBER_OR_NULL,
                "rel_err": _NUMBER_OR_NULL,
                "ulps": dict(_NUMBER_OR_NULL, description="error in units in the last "
                                                          "place of the backend's dtype"),
                "rtol": {"type": "number", "minimum": 0},
                "atol": {"type": "number", "minimum": 0},
                "n_steps": {"type": "integer", "minimum": 0,
                            "description": "steps checked"},
                "ulp_counts": _ULP_COUNTS,
            },
        },
        "histogram": {
            "type": "object",
            "required": ["backend", "dtype", "points", "counts", "shares"],
            "additionalProperties": False,
            "properties": {
                "backend": {"type": "string"},
                "dtype": {"enum": ["float32", "float64"]},
                "points": {"type": "integer", "minimum": 0},
                "counts": _ULP_COUNTS,
                "shares": {"type": "object", "required": ["0", "1", "2", "4"],
                           "additionalProperties": False,
                           "properties": {k: {"type": "number", "minimum": 0, "maximum": 1}
                                          for k in ("0", "1", "2", "4")}},
            },
        },
    },
}
