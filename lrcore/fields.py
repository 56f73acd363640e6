"""Field kinds: how one parameter of a spec node is checked, normalised and serialised.

Every parameter of every node is declared with :func:`param` and one of the kinds
below. A kind turns a raw value (from YAML, JSON or a builder call) into the stored
value, raising :class:`~lrcore.SpecError` with the field path, the rule and the value;
it also writes the value back for ``to_dict`` and describes itself as JSON Schema.
Nothing is clamped or guessed: a value is accepted as written or rejected.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import SpecError

__all__ = [
    "MAX_STEP",
    "MAX_LIST",
    "Bool",
    "Choice",
    "Float",
    "FloatList",
    "Int",
    "Kind",
    "NodeField",
    "NodeList",
    "Points",
    "Steps",
    "StepsList",
    "exact",
    "param",
    "real_form",
]

#: The last step a spec is defined for (int32 counters, as in optax and Keras/TF).
MAX_STEP = 2**31 - 1
#: Largest number of steps a real-valued duration, period or milestone may hold: past the
#: step domain the curve on [0, 2**31 - 1] is still defined (a cosine over 1e10 steps),
#: and below 2**53 float64 holds every whole number exactly.
MAX_SPAN = 2**53
#: Longest list a spec may hold (boundaries, points, phases); bounds memory and time.
MAX_LIST = 10_000

# an exact ratio of whole numbers, "2000/3": a real number of steps that no decimal holds
_RATIO = re.compile(r"^\s*([0-9]{1,19})\s*/\s*([0-9]{1,19})\s*$")
_DURATION = re.compile(r"^\s*([0-9]{1,12}(?:\.[0-9]{1,12})?)\s*(ep|%)\s*$")
# the same, not zero (for the JSON Schema of positive durations)
_DURATION_POSITIVE = re.compile(
    r"^\s*(?=[0-9.]*[1-9])([0-9]{1,12}(?:\.[0-9]{1,12})?)\s*(ep|%)\s*$")


def param(kind: Kind, default: Any = dataclasses.MISSING, doc: str = "") -> Any:
    """Declare a node parameter: its kind, its default (if optional) and one line of doc."""
    return dataclasses.field(default=default, metadata={"kind": kind, "doc": doc})


class Kind(abc.ABC):
    """Base class: ``coerce`` checks a raw value; ``dump`` writes it back; ``schema``."""

    @abc.abstractmethod
    def coerce(self, value: Any, path: str) -> Any:
        ...

    def dump(self, value: Any) -> Any:
        return value

    @abc.abstractmethod
    def schema(self) -> dict:
        ...


def _is_real(value: Any) -> bool:
    """A real number: a Python int or float, or a numpy integer or floating scalar (what
    ``arr[i]`` and config systems hand over). Bools, numpy's included, are not numbers."""
    return isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python int or float of the same value (exact)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _as_int(value: Any, path: str, rule: str) -> int:
    """An int, or a float with an integral value (JSON writers emit 1000.0); else error."""
    if not _is_real(value):
        raise SpecError(path, rule, value)
    value = _plain(value)
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise SpecError(path, rule, value)
        value = int(value)
    return value


@dataclasses.dataclass(frozen=True)
class Float(Kind):
    """A finite real number within optional bounds."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    what: str = "a number"

    def coerce(self, value: Any, path: str) -> float:
        if not _is_real(value):
            raise SpecError(path, f"must be {self.what}", value)
        if isinstance(value, (int, np.integer)) and abs(int(value)) > 2**1023:
            raise SpecError(path, "must be a finite number", value)
        x = float(value) + 0.0  # + 0.0: -0.0 is 0.0 (equal specs, equal fingerprints)
        if not math.isfinite(x):
            raise SpecError(path, "must be a finite number", value)
        if self.ge is not None and not x >= self.ge:
            raise SpecError(path, f"must be >= {self.ge:g}", value)
        if self.gt is not None and not x > self.gt:
            raise SpecError(path, f"must be > {self.gt:g}", value)
        if self.le is not None and not x <= self.le:
            raise SpecError(path, f"must be <= {self.le:g}", value)
        if self.lt is not None and not x < self.lt:
            raise SpecError(path, f"must be < {self.lt:g}", value)
        return x

    def schema(self) -> dict:
        out: dict = {"type": "number"}
        for key, name in (("ge", "minimum"), ("gt", "exclusiveMinimum"),
                          ("le", "maximum"), ("lt", "exclusiveMaximum")):
            if getattr(self, key) is not None:
                out[name] = getattr(self, key)
        return out


#: Largest finite float32: every rate must be representable on a float32 backend.
FLOAT32_MAX = 3.4028234663852886e38
RATE = Float(ge=0.0, le=FLOAT32_MAX, what="a learning rate (a finite number >= 0)")
POSITIVE = Float(gt=0.0, le=FLOAT32_MAX, what="a positive number")
#: Exponents (powers of a weight in [0, 1]): beyond 1e4 every step after 0 is the end value.
EXPONENT = Float(gt=0.0, le=1e4, what="a number in (0, 1e4]")


@dataclasses.dataclass(frozen=True)
class Int(Kind):
    """An integer within bounds (integral floats such as 3.0 are accepted as 3)."""

    ge: int = 0
    le: int = MAX_STEP

    def coerce(self, value: Any, path: str) -> int:
        rule = f"must be an integer in [{self.ge}, {self.le}]"
        n = _as_int(value, path, rule)
        if not self.ge <= n <= self.le:
            raise SpecError(path, rule, value)
        return n

    def schema(self) -> dict:
        return {"type": "integer", "minimum": self.ge, "maximum": self.le}


@dataclasses.dataclass(frozen=True)
class Bool(Kind):
    def coerce(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise SpecError(path, "must be true or false", value)
        return value

    def schema(self) -> dict:
        return {"type": "boolean"}


@dataclasses.dataclass(frozen=True)
class Choice(Kind):
    options: tuple[str, ...]

    def coerce(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or value not in self.options:
            rule = "must be one of " + ", ".join(repr(o) for o in self.options)
            raise SpecError(path, rule, value)
        return value

    def schema(self) -> dict:
        return {"enum": list(self.options)}


@dataclasses.dataclass(frozen=True)
class Steps(Kind):
    """A number of steps: an integer, ``"Nep"`` (epochs) or ``"N%"`` (share of the run).

    ``positive`` demands > 0 (durations, periods); otherwise >= 0 is allowed (offsets,
    boundaries). ``signed`` also allows negative integers (a shift back in time).
    ``real`` also takes a real number of steps (``23.4``, an exact ratio ``"2000/3"`` or
    a ``fractions.Fraction``) and values up to 2**53: a breakpoint between two steps
    or past the step domain. Strings are kept as written and resolved later, against
    the context; a real number is kept in its canonical form (see :func:`real_form`).
    """

    positive: bool = True
    signed: bool = False
    real: bool = False

    @property
    def rule(self) -> str:
        if self.real:
            return ('must be a number of steps > 0, "Nep" or "N%"' if self.positive
                    else 'must be a number of steps >= 0, "Nep" or "N%"')
        if self.signed:
            return 'must be an integer, "Nep" or "N%"'
        if self.positive:
            return 'must be a positive integer, "Nep" or "N%"'
        return 'must be an integer >= 0, "Nep" or "N%"'

    def coerce(self, value: Any, path: str) -> int | float | str:
        if isinstance(value, str):
            ratio = _RATIO.match(value) if self.real else None
            if ratio:
                if int(ratio.group(2)) == 0:
                    raise SpecError(path, self.rule, value)
                return self._real(Fraction(int(ratio.group(1)), int(ratio.group(2))),
                                  path, value)
            m = _DURATION.match(value)
            if not m:
                raise SpecError(path, self.rule, value)
            if self.positive and float(m.group(1)) == 0:
                raise SpecError(path, self.rule, value)
            return value.strip()
        if self.real and isinstance(value, Fraction):
            return self._real(value, path, value)
        if self.real and _is_real(value) and isinstance(_plain(value), float) \
                and math.isfinite(value) and value != int(value):
            # the decimal text of the float (its shortest repr): 23.4 is 117/5 exactly
            return self._real(Fraction(repr(float(value))), path, value)
        n = _as_int(value, path, self.rule)
        high = MAX_SPAN if self.real else MAX_STEP
        low = -MAX_STEP if self.signed else (1 if self.positive else 0)
        if not low <= n <= high:
            rule = (f"must be <= 2**53 = {MAX_SPAN}" if self.real else
                    f"must be <= 2**31 - 1 = {MAX_STEP}") if n > high else (
                f"must be >= -(2**31 - 1) = {-MAX_STEP}" if self.signed else self.rule)
            raise SpecError(path, rule, value)
        return n

    def _real(self, x: Fraction, path: str, value: Any) -> int | float | str:
        if x > MAX_SPAN:
            raise SpecError(path, f"must be <= 2**53 = {MAX_SPAN}", value)
        if x < 0 or (self.positive and x == 0):
            raise SpecError(path, self.rule, value)
        return real_form(x)

    def schema(self) -> dict:
        low = -MAX_STEP if self.signed else (1 if self.positive else 0)
        pattern = _DURATION_POSITIVE.pattern if self.positive else _DURATION.pattern
        if self.real:
            bound = {"exclusiveMinimum": 0} if self.positive else {"minimum": 0}
            return {"oneOf": [
                {"type": "number", **bound, "maximum": MAX_SPAN},
                {"type": "string", "pattern": pattern},
                {"type": "string", "pattern": _RATIO.pattern},
            ]}
        return {"oneOf": [
            {"type": "integer", "minimum": low, "maximum": MAX_STEP},
            {"type": "string", "pattern": pattern},
        ]}


def real_form(x: Fraction) -> int | float | str:
    """The canonical form of a real number of steps: an int when whole, else the float
    whose decimal text is exactly ``x`` (``23.4``), else the ratio ``"2000/3"``."""
    if x.denominator == 1:
        return int(x)
    f = float(x)
    return f if Fraction(repr(f)) == x else f"{x.numerator}/{x.denominator}"


def exact(value: int | float | str) -> int | Fraction:
    """The exact number of steps of a resolved step value (an int, a float read as its
    decimal text, or a ratio ``"p/q"``): an int when whole, else a Fraction."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DURATION.match(value):
        raise TypeError(f"{value!r} is not resolved yet")
    x = Fraction(repr(value)) if isinstance(value, float) else Fraction(value.replace(" ", ""))
    return int(x) if x.denominator == 1 else x


def _as_list(value: Any, path: str, what: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise SpecError(path, f"must be a list of {what}", value)
    if len(value) > MAX_LIST:
        raise SpecError(path, f"must have at most {MAX_LIST} items", f"{len(value)} items")
    return list(value)


@dataclasses.dataclass(frozen=True)
class FloatList(Kind):
    item: Float = RATE
    min_len: int = 1

    def coerce(self, value: Any, path: str) -> tuple[float, ...]:
        items = _as_list(value, path, "numbers")
        if len(items) < self.min_len:
            raise SpecError(path, f"must have at least {self.min_len} items", value)
        return tuple(self.item.coerce(v, f"{path}[{i}]") for i, v in enumerate(items))

    def dump(self, value: Any) -> Any:
        return list(value)

    def schema(self) -> dict:
        return {"type": "array", "items": self.item.schema(), "minItems": self.min_len,
                "maxItems": MAX_LIST}


@dataclasses.dataclass(frozen=True)
class StepsList(Kind):
    item: Steps = Steps(positive=False)
    min_len: int = 1

    def coerce(self, value: Any, path: str) -> tuple:
        items = _as_list(value, path, "steps")
        if len(items) < self.min_len:
            raise SpecError(path, f"must have at least {self.min_len} items", value)
        return tuple(self.item.coerce(v, f"{path}[{i}]") for i, v in enumerate(items))

    def dump(self, value: Any) -> Any:
        return list(value)

    def schema(self) -> dict:
        return {"type": "array", "items": self.item.schema(), "minItems": self.min_len,
                "maxItems": MAX_LIST}


@dataclasses.dataclass(frozen=True)
class Points(Kind):
    """``[[step, rate], ...]``: at least two points."""

    def coerce(self, value: Any, path: str) -> tuple:
        items = _as_list(value, path, "[step, rate] pairs")
        if len(items) < 2:
            raise SpecError(path, "must have at least 2 points", value)
        out = []
        for i, pair in enumerate(items):
            p = f"{path}[{i}]"
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise SpecError(p, "must be a [step, rate] pair", pair)
            out.append((Steps(positive=False).coerce(pair[0], f"{p}[0]"),
                        RATE.coerce(pair[1], f"{p}[1]")))
        return tuple(out)

    def dump(self, value: Any) -> Any:
        return [[s, r] for s, r in value]

    def schema(self) -> dict:
        pair = {"type": "array", "prefixItems": [Steps(positive=False).schema(), RATE.schema()],
                "minItems": 2, "maxItems": 2}
        return {"type": "array", "items": pair, "minItems": 2, "maxItems": MAX_LIST}


@dataclasses.dataclass(frozen=True)
class NodeField(Kind):
    """A child schedule (a mapping with ``type``, or a node object). With ``or_number``
    a plain number is accepted too (``scale.by``)."""

    or_number: bool = False

    def coerce(self, value: Any, path: str) -> Any:
        from .node import Node, node_from_dict

        if self.or_number and _is_real(value):
            return Float(ge=0.0, what="a number >= 0 or a schedule").coerce(value, path)
        if isinstance(value, Node):
            return value
        if isinstance(value, Mapping):
            return node_from_dict(value, path)
        what = "a schedule (a mapping with a 'type') or a number" if self.or_number \
            else "a schedule (a mapping with a 'type')"
        raise SpecError(path, f"must be {what}", value)

    def dump(self, value: Any) -> Any:
        return value if isinstance(value, float) else value.to_dict()

    def schema(self) -> dict:
        ref = {"$ref": "#/$defs/schedule"}
        return {"oneOf": [{"type": "number", "minimum": 0}, ref]} if self.or_number else ref


@dataclasses.dataclass(frozen=True)
class NodeList(Kind):
    def coerce(self, value: Any, path: str) -> tuple:
        items = _as_list(value, path, "schedules")
        if not items:
            raise SpecError(path, "must have at least 1 item", value)
        return tuple(NodeField().coerce(v, f"{path}[{i}]") for i, v in enumerate(items))

    def dump(self, value: Any) -> Any:
        return [v.to_dict() for v in value]

    def schema(self) -> dict:
        return {"type": "array", "items": {"$ref": "#/$defs/schedule"}, "minItems": 1,
                "maxItems": MAX_LIST}
