"""The spec document: format version, context and one schedule tree; load and dump.

Loading never executes code: YAML goes through a ``SafeLoader`` (no Python tags),
JSON through :mod:`json`; both reject duplicate keys, and every failure, from a missing
file to a syntax error, is a :class:`~lrcore.SpecError`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from .errors import SpecError, key_path
from .fields import Int, Steps, _plain
from .hyperparams import CANONICAL, check_name, check_range
from .node import Context, Node, check_bounds, node_from_dict, walk

__all__ = ["FORMAT_VERSION", "Schedule", "dump", "dumps", "load"]

#: The spec format this lrcore reads and writes.
FORMAT_VERSION = 1
#: Largest spec file or text accepted (bounds parse time and memory).
MAX_BYTES = 1 << 20
#: Most mapping entries that ``<<`` merge keys may produce in one document: a chain of
#: merges copies each mapping into the next (quadratic), so 1 MiB could take minutes.
MAX_MERGED = 10_000
#: Most YAML values (scalars, lists, mappings) in one document. PyYAML spends a few
#: microseconds of Python on each, so this keeps a 1 MiB file (up to ~500 000 values)
#: under the 2 s answer promised; the largest valid specs (10 000 phases of a sequence,
#: 10 000 points) hold under 100 000.
MAX_YAML_VALUES = 150_000

#: A byte-order mark some editors write first: not content (text, JSON or YAML).
_BOM = "\ufeff"

_DOC_KEYS = ("lrcore", "name", "description", "steps_per_epoch", "total_steps", "schedule",
             "hyperparams")
#: Most hyperparameter curves one document may carry.
MAX_HYPERPARAMS = 32
#: The key under which lrcore's Keras schedule keeps, beside the document as written, its
#: own settings in ``get_config()``: the constructor's other arguments and the plateau
#: state. ``load`` accepts a config (so it reads a saved Keras schedule) and returns the
#: spec without them: they belong to one Keras schedule, not to the spec.
KERAS_KEY = "keras"
KERAS_SETTINGS = ("gradient_accumulation_steps", "steps_per_epoch", "total_steps",
                  "plateau_state")


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A spec document: ``lrcore: 1``, an optional context, and the schedule tree.

    ``steps_per_epoch`` resolves ``"Nep"`` durations; ``total_steps`` (an integer or
    ``"Nep"``) resolves ``"N%"`` and is the span a last phase without a duration runs to.
    Both may be overridden when evaluating or compiling.
    """

    schedule: Node
    steps_per_epoch: int | None = None
    total_steps: int | str | None = None
    name: str | None = None
    description: str | None = None
    #: ``(name, tree)`` pairs sorted by name: the other hyperparameters' curves (a mapping
    #: is accepted and sorted)
    hyperparams: tuple[tuple[str, Node], ...] = ()
    #: True for the curve of a pass-through hyperparameter (:class:`SignedCurve`)
    signed: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not isinstance(self.schedule, Node):
            raise SpecError("schedule", "must be a schedule node", self.schedule)
        for _ in walk(self.schedule):  # bounds the tree (YAML alias bombs, huge specs)
            pass
        for path, node in _paths(self.schedule, "schedule"):
            if node.type == "plateau" and node is not self.schedule:
                raise SpecError(path, "plateau must be the outermost node of a spec (its "
                                "scale multiplies the whole curve)", "plateau")
        if not self.signed:
            _non_negative(self.schedule, "schedule")
        object.__setattr__(self, "hyperparams", _hyperparams(self.hyperparams))
        if self.steps_per_epoch is not None:
            object.__setattr__(self, "steps_per_epoch",
                               Int(ge=1).coerce(self.steps_per_epoch, "steps_per_epoch"))
        if self.total_steps is not None:
            object.__setattr__(self, "total_steps",
                               Steps().coerce(self.total_steps, "total_steps"))
        for key in ("name", "description"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise SpecError(key, "must be a string", value)
            if value is not None and not _is_text(value):
                raise SpecError(key, "must be valid Unicode text (a lone surrogate cannot be "
                                "written to a file)", value)

    # ---- dict form -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any) -> Schedule:
        if not isinstance(data, Mapping):
            raise SpecError("", "a spec document must be a mapping", data)
        if KERAS_KEY in data:
            keras_settings(data[KERAS_KEY])
        for key in data:
            if key not in _DOC_KEYS and key != KERAS_KEY:
                from .node import _did_you_mean

                hint = _did_you_mean(key, list(_DOC_KEYS)) if isinstance(key, str) else ""
                extra = (" (a bare schedule? put it under 'schedule:' with 'lrcore: 1')"
                         if key == "type" else hint)
                raise SpecError(key_path("", key), "is not a document key" + extra + "; known: "
                                + ", ".join(_DOC_KEYS), data[key])
        if "lrcore" not in data:
            raise SpecError("lrcore", f"is required: the format version "
                            f"(this lrcore reads {FORMAT_VERSION})")
        version = _plain(data["lrcore"])
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise SpecError("lrcore", "must be a format version (a positive integer)", version)
        if version > FORMAT_VERSION:
            raise SpecError("lrcore", f"is from a newer lrcore: this one reads format "
                            f"{FORMAT_VERSION}; upgrade lrcore", version)
        if "schedule" not in data:
            raise SpecError("schedule", "is required")
        hyper = data.get("hyperparams")
        if hyper is not None:
            if not isinstance(hyper, Mapping):
                raise SpecError("hyperparams", "must be a mapping of hyperparameter names to "
                                "schedules", hyper)
            if len(hyper) > MAX_HYPERPARAMS:
                raise SpecError("hyperparams", f"must have at most {MAX_HYPERPARAMS} entries",
                                f"{len(hyper)} entries")
            hyper = tuple((check_name(k, key_path("hyperparams", k)),
                           node_from_dict(v, key_path("hyperparams", k)))
                          for k, v in hyper.items())
        return cls(schedule=node_from_dict(data["schedule"], "schedule"),
                   **{k: data[k] for k in _DOC_KEYS[1:5] if k in data},
                   hyperparams=hyper or ())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lrcore": FORMAT_VERSION}
        for key in _DOC_KEYS[1:5]:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["schedule"] = self.schedule.to_dict()
        if self.hyperparams:  # absent when empty: older documents keep their fingerprints
            out["hyperparams"] = {name: tree.to_dict() for name, tree in self.hyperparams}
        return out

    # ---- hyperparameter curves ------------------------------------------------------------
    def curve(self, hyperparam: str | None = None) -> Schedule:
        """The document of one curve: the learning rate (``None``) or the hyperparameter
        ``hyperparam``, with this document's context."""
        if hyperparam is None:
            return self if not self.hyperparams else dataclasses.replace(self, hyperparams=())
        for name, tree in self.hyperparams:
            if name == hyperparam:
                cls = Schedule if name in CANONICAL else SignedCurve
                return cls(schedule=tree, steps_per_epoch=self.steps_per_epoch,
                           total_steps=self.total_steps, name=_curve_name(self, name))
        known = ", ".join(n for n, _ in self.hyperparams) or "none"
        raise SpecError("hyperparam", f"is not among the spec's hyperparams ({known})",
                        hyperparam)

    def curves(self) -> list[str | None]:
        """Every curve's key for :meth:`curve`: ``None`` (the rate), then each name."""
        return [None, *(name for name, _ in self.hyperparams)]

    def fingerprint(self) -> str:
        """A stable hash of the canonical form (16 hex digits), for experiment tracking.
        Equal specs have equal fingerprints; ``name`` and ``description`` do not count."""
        data = self.to_dict()
        data.pop("name", None)
        data.pop("description", None)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        import hashlib  # lazily: OpenSSL's loader is a third of lrcore's import time

        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ---- resolution ------------------------------------------------------------------
    def context(self, steps_per_epoch: int | None = None,
                total_steps: int | str | None = None) -> Context:
        """The resolution context; arguments override the document's values."""
        spe = self.steps_per_epoch if steps_per_epoch is None else \
            Int(ge=1).coerce(steps_per_epoch, "steps_per_epoch")
        total = self.total_steps if total_steps is None else \
            Steps().coerce(total_steps, "total_steps")
        if isinstance(total, str):
            if total.endswith("%"):
                raise SpecError("total_steps", 'must be steps or epochs ("Nep"), not a share',
                                total)
            total = int(Context(spe).steps(total, "total_steps"))  # whole: not a real field
        return Context(steps_per_epoch=spe, total_steps=None if total is None else int(total))

    def bind(self, steps_per_epoch: int | None = None,
             total_steps: int | str | None = None) -> Schedule:
        """The same document with its context overridden by the arguments (checked, the
        total in steps): what an adapter keeps, so its curve travels with the spec."""
        ctx = self.context(steps_per_epoch, total_steps)
        if (ctx.steps_per_epoch, ctx.total_steps) == (self.steps_per_epoch, self.total_steps):
            return self
        return dataclasses.replace(self, steps_per_epoch=ctx.steps_per_epoch,
                                   total_steps=ctx.total_steps)

    def resolve(self, steps_per_epoch: int | None = None,
                total_steps: int | str | None = None) -> Schedule:
        """The same document with every duration an integer (see ``Node.resolve``)."""
        ctx = self.context(steps_per_epoch, total_steps)
        root = self.schedule.resolve(ctx, ctx.total_steps, "schedule")
        check_bounds(root, "schedule")
        hyper = []
        for name, tree in self.hyperparams:
            path = key_path("hyperparams", name)
            resolved = tree.resolve(ctx, ctx.total_steps, path)
            check_bounds(resolved, path)
            check_range(name, resolved.rate_ceiling(), path)
            hyper.append((name, resolved))
        return dataclasses.replace(self, schedule=root, steps_per_epoch=ctx.steps_per_epoch,
                                   total_steps=ctx.total_steps, hyperparams=tuple(hyper))

    def horizon(self) -> int | None:
        """Last step of interest of a resolved document (total_steps or the tree's)."""
        own = self.schedule.horizon()
        if self.total_steps is not None and isinstance(self.total_steps, int):
            return max(self.total_steps, own or 0)
        return own


class SignedCurve(Schedule):
    """The document of a pass-through hyperparameter's curve (:meth:`Schedule.curve`):
    its ``schedule`` may go below 0 through a negative ``offset``."""

    signed: ClassVar[bool] = True


def _hyperparams(value: Any) -> tuple[tuple[str, Node], ...]:
    """Validate hyperparameter curves (a mapping or pairs) into sorted ``(name, tree)``."""
    pairs = list(value.items()) if isinstance(value, Mapping) else list(value)
    out = {}
    for pair in pairs:
        name, tree = pair
        path = key_path("hyperparams", name)
        check_name(name, path)
        if name in out:
            raise SpecError(path, "appears twice", name)
        if isinstance(tree, Mapping):
            tree = node_from_dict(tree, path)
        if isinstance(tree, Schedule):  # a whole document (a preset): its own curve
            if tree.hyperparams:
                raise SpecError(path, "must be one curve, not a document with hyperparams",
                                name)
            own = tree.steps_per_epoch is not None or tree.total_steps is not None
            tree = tree.resolve().schedule if own else tree.schedule
        if not isinstance(tree, Node):
            raise SpecError(path, "must be a schedule (a mapping with a 'type')", tree)
        for _ in walk(tree):
            pass
        for p, node in _paths(tree, path):
            if node.type == "plateau":
                raise SpecError(p, "plateau scales the learning rate only; it cannot be "
                                "part of a hyperparameter's curve", "plateau")
        if name in CANONICAL:
            _non_negative(tree, path)
        try:  # the range of a canonical name, as soon as the tree's bound is known
            high = tree.rate_ceiling()
        except TypeError:  # a bound that needs resolved durations: checked at resolve
            high = None
        if high is not None:
            check_range(name, high, path)
        out[name] = tree
    return tuple(sorted(out.items()))


def _non_negative(tree: Node, path: str) -> None:
    """A curve that must stay >= 0 (the rate, a canonical hyperparameter) has no
    negative ``offset``: every other node is >= 0 by its own rules."""
    for p, node in _paths(tree, path):
        if node.type == "offset" and node.by < 0:
            raise SpecError(f"{p}.by", "must be >= 0 here: a negative offset is allowed "
                            "only in a pass-through hyperparameter's curve (the rate, "
                            "momentum, betas and weight_decay stay >= 0)", node.by)


def _curve_name(doc: Schedule, hyperparam: str) -> str:
    return f"{doc.name}:{hyperparam}" if doc.name else hyperparam


def _is_text(value: str) -> bool:
    """True unless ``value`` holds a lone surrogate (no UTF-8 file can carry it)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _paths(node: Node, path: str):
    yield path, node
    for suffix, child in node.children():
        yield from _paths(child, path + suffix)


def keras_settings(value: Any) -> dict[str, Any]:
    """The settings a Keras config keeps under :data:`KERAS_KEY`, their names checked
    (their values are checked where a Keras schedule is built from them)."""
    if not isinstance(value, Mapping):
        raise SpecError(KERAS_KEY, "must be a mapping of the Keras schedule's settings ("
                        + ", ".join(KERAS_SETTINGS) + ")", value)
    for key in value:
        if key not in KERAS_SETTINGS:
            raise SpecError(key_path(KERAS_KEY, key), "is not a Keras schedule setting; "
                            "known: " + ", ".join(KERAS_SETTINGS), value[key])
    return dict(value)


def as_schedule(spec: Any) -> Schedule:
    """Accept a Schedule, a node, a mapping, a path or spec text."""
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, Node):
        return Schedule(schedule=spec)
    return load(spec)


# ---- YAML and JSON --------------------------------------------------------------------

# The YAML 1.2 core schema's scalars (https://yaml.org/spec/1.2.2/#1032-tag-resolution),
# as JSON, ruamel.yaml, yaml-cpp and Go's yaml.v3 read them. PyYAML alone implements
# YAML 1.1, where ``010`` is 8, ``1:30`` is 90, ``1_000`` is 1000, ``no`` is false,
# ``2024-01-01`` is a date and ``1e-3`` is a string: the same config file would mean
# different schedules to different tools.
_YAML_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_YAML_FLOAT = re.compile(r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X)
_YAML_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_YAML_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_CORE_SCHEMA = (("bool", _YAML_BOOL, "tTfF"), ("int", _YAML_INT, "-+0123456789"),
                ("float", _YAML_FLOAT, "-+0123456789."), ("null", _YAML_NULL, ["~", "n", "N", ""]))


class _RuleError(ValueError):
    """A YAML node breaking a rule of ours: a scalar whose explicit tag (``!!int 1_000``)
    its text does not fit, or merge keys past their budget."""

    def __init__(self, node: Any, rule: str, text: str) -> None:
        super().__init__(rule)
        self.mark, self.rule, self.text = getattr(node, "start_mark", None), rule, text


def _scalar(loader: Any, node: Any, pattern: re.Pattern, rule: str) -> str:
    """The text of a scalar, checked against a YAML 1.2 core pattern: an explicit tag
    reads its scalar by the same rules as an untagged one (``!!int 1_000`` is not 1000,
    ``!!bool yes`` is not true)."""
    text = loader.construct_scalar(node)
    if not isinstance(text, str) or not pattern.match(text):
        raise _RuleError(node, rule, text)
    return text


def _construct_int(loader: Any, node: Any) -> int:
    """A YAML 1.2 core integer: decimal (``010`` is 10), ``0o`` octal or ``0x`` hex."""
    text = _scalar(loader, node, _YAML_INT,
                   "!!int must be a YAML 1.2 integer (decimal, 0o or 0x)")
    sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text.lstrip("+"))
    base = {"0o": 8, "0x": 16}.get(digits[:2], 10)
    return sign * int(digits[2:] if base != 10 else digits, base)


def _construct_float(loader: Any, node: Any) -> float:
    text = _scalar(loader, node, _YAML_FLOAT,
                   "!!float must be a YAML 1.2 number (digits, a point, an exponent, .inf, .nan)")
    if text.lower().lstrip("+-") == ".inf":
        return -math.inf if text.startswith("-") else math.inf
    if text.lower() == ".nan":
        return math.nan
    return float(text)


def _construct_bool(loader: Any, node: Any) -> bool:
    return _scalar(loader, node, _YAML_BOOL,
                   "!!bool must be true or false (YAML 1.2)").lower() == "true"


def _construct_null(loader: Any, node: Any) -> None:
    _scalar(loader, node, _YAML_NULL, "!!null must be null, ~ or empty (YAML 1.2)")


@functools.lru_cache(maxsize=1)
def _yaml_loader() -> type:
    """SafeLoader reading the YAML 1.2 core schema (see ``_CORE_SCHEMA``; ``<<`` merge
    keys kept) + no duplicate keys. Python tags stay unknown to it: loading never runs
    code. Built on first use, so ``import lrcore`` does not pay for PyYAML."""
    import yaml

    # libyaml's parser when PyYAML has it (10x faster on big inputs); same safe constructor
    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        merged = 0
        values = 0

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            # called once per node by the composer (C or Python): the cheapest place to
            # count them before any is constructed
            self.values += 1
            if self.values > MAX_YAML_VALUES:
                raise _RuleError(None, f"must hold at most {MAX_YAML_VALUES} YAML values "
                                 "(scalars, lists, mappings)", "more")
            return super().resolve(kind, value, implicit)

        def flatten_mapping(self, node: yaml.MappingNode) -> None:
            merges = any(k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value)
            super().flatten_mapping(node)
            if merges:
                self.merged += len(node.value)
                if self.merged > MAX_MERGED:
                    raise _RuleError(node, f"merge keys (<<) must expand to at most "
                                     f"{MAX_MERGED} entries in all", f"{self.merged}")

    def mapping(loader: Loader, node: yaml.MappingNode) -> dict:
        # duplicates among the keys written here are errors; keys merged in with `<<`
        # are overridden by explicit ones, as YAML specifies
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise SpecError(f"line {key_node.start_mark.line + 1}", "mapping keys must "
                                "be plain values", str(key)) from None
            if duplicate:
                raise SpecError(f"line {key_node.start_mark.line + 1}", "duplicate key", key)
            seen.add(key)
        loader.flatten_mapping(node)
        out: dict = {}
        for key_node, value_node in node.value:
            out[loader.construct_object(key_node, deep=True)] = \
                loader.construct_object(value_node, deep=True)
        return out

    # YAML 1.1's implicit scalars out (merge `<<` stays), the 1.2 core schema's in
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag == "tag:yaml.org,2002:merge"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    for name, pattern, first in _CORE_SCHEMA:
        Loader.add_implicit_resolver(f"tag:yaml.org,2002:{name}", pattern, list(first))
    for name, construct in (("int", _construct_int), ("float", _construct_float),
                            ("bool", _construct_bool), ("null", _construct_null)):
        Loader.add_constructor(f"tag:yaml.org,2002:{name}", construct)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return Loader


@functools.lru_cache(maxsize=1)
def _yaml_dumper() -> type:
    """SafeDumper that also knows the loader's YAML 1.2 scalars, so a string such as
    "1e3" or "0o17" is quoted and loads back as a string. It keeps YAML 1.1's too, so
    "no" or "010" are quoted for 1.1 readers (PyYAML) as well."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    for name, pattern, first in _CORE_SCHEMA:
        Dumper.add_implicit_resolver(f"tag:yaml.org,2002:{name}", pattern, list(first))
    return Dumper


def _json_pairs(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise SpecError(str(key), "duplicate key", key)
        out[key] = value
    return out


def parse(text: str, fmt: str = "yaml", origin: str = "spec") -> Any:
    """Parse spec text (``fmt`` ``"json"`` or ``"yaml"``) into plain data."""
    if len(text) > MAX_BYTES:
        raise SpecError(origin, f"must be at most {MAX_BYTES} bytes", f"{len(text)} bytes")
    text = text.removeprefix(_BOM)
    import yaml

    try:
        if fmt == "json":
            return json.loads(text, object_pairs_hook=_json_pairs)
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except SpecError:
        raise
    except _RuleError as err:
        where = f"{origin}:{err.mark.line + 1}:{err.mark.column + 1}" if err.mark else origin
        raise SpecError(where, err.rule, err.text) from None
    except RecursionError:
        raise SpecError(origin, "is nested too deeply to read", "...") from None
    except json.JSONDecodeError as err:
        raise SpecError(f"{origin}:{err.lineno}:{err.colno}", f"is not valid JSON "
                        f"({err.msg})") from None
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError) as err:
        # a constructor choking on a tagged or oversized scalar (!!int abc, !!timestamp x,
        # a 5000-digit integer): bad input like any other
        what = "JSON" if fmt == "json" else "YAML"
        raise SpecError(origin, f"is not valid {what} ({type(err).__name__}: "
                        f"{str(err)[:80]})") from None
    except yaml.YAMLError as err:
        if "nesting depth" in str(err):  # libyaml's own depth guard: same message as ours
            raise SpecError(origin, "is nested too deeply to read", "...") from None
        mark = getattr(err, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark else origin
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise SpecError(where, f"is not valid YAML ({problem})") from None


def load(source: Any) -> Schedule:
    """Load a spec from a mapping, a path (``.yaml``/``.yml``/``.json``) or spec text.

    A string is read as a path when it is one line that does not start with ``{``;
    otherwise as YAML or JSON text.
    """
    if isinstance(source, Schedule):
        return source
    if isinstance(source, Node):
        return Schedule(schedule=source)
    if isinstance(source, Mapping):
        return Schedule.from_dict(source)
    if isinstance(source, (os.PathLike, str)):
        text = os.fspath(source)
        if isinstance(source, str):
            text = text.removeprefix(_BOM)  # a byte-order mark is not content
        if not text.strip():
            raise SpecError("spec", "is empty: give a path, spec text or a mapping", text)
        if isinstance(source, os.PathLike) or ("\n" not in text and not text.lstrip()
                                               .startswith("{")):
            return _load_file(Path(text))
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
        return Schedule.from_dict(parse(text, fmt))
    raise SpecError("spec", "must be a mapping, a path or spec text", type(source).__name__)


def _load_file(path: Path) -> Schedule:
    origin = str(path)
    try:
        if path.is_dir():
            raise IsADirectoryError
        with open(path, "rb") as handle:  # read at most the limit: /dev/zero, FIFOs
            raw = handle.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise SpecError(origin, f"must be at most {MAX_BYTES} bytes", "more")
        text = raw.decode("utf-8")
    except SpecError:
        raise
    except UnicodeDecodeError:
        raise SpecError(origin, "is not UTF-8 text") from None
    except ValueError:  # an embedded NUL byte in the path
        raise SpecError(repr(origin), "is not a valid path") from None
    except FileNotFoundError:
        raise SpecError(origin, "file not found") from None
    except IsADirectoryError:
        raise SpecError(origin, "is a directory, not a spec file") from None
    except OSError as err:
        raise SpecError(origin, f"cannot be read ({err.strerror})") from None
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    data = parse(text, fmt, origin)
    if not isinstance(data, Mapping):
        raise SpecError(origin, "must hold a mapping (lrcore: 1, schedule: ...)", data)
    return Schedule.from_dict(data)


def dumps(spec: Any, fmt: str = "yaml") -> str:
    """The canonical text of a spec (``fmt`` ``"yaml"`` or ``"json"``)."""
    data = as_schedule(spec).to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt == "yaml":
        import yaml

        return yaml.dump(data, Dumper=_yaml_dumper(), sort_keys=False,
                         default_flow_style=None, width=88)
    raise SpecError("format", "must be 'yaml' or 'json'", fmt)


def dump(spec: Any, path: str | os.PathLike) -> None:
    """Write the canonical form to ``path``: JSON for ``.json``, YAML for ``.yaml``/``.yml``."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise SpecError(str(p), "must end in .yaml, .yml or .json", p.suffix)
    p.write_text(dumps(spec, "json" if suffix == ".json" else "yaml"), encoding="utf-8")
