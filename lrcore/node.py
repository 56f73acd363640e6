"""The spec tree: frozen nodes, their registry, validation and resolution.

A node is a frozen dataclass whose fields are declared with :func:`lrcore.fields.param`.
Every node has an optional ``duration``: for a family whose formula runs over a length D
(linear, cosine, ...) it is that D; for any node it is its length as a phase of a
``sequence``. Resolution (:meth:`Node.resolve`) turns every ``"3ep"``/``"25%"`` into
steps (exact real numbers where the field and family take them, else whole steps) and
fills in omitted durations from the enclosing span; the resolved tree is made of the
same node classes, holding numbers of steps only. :meth:`Node.build` then turns a
resolved node into a function of the integer step, written against an ops namespace
(:mod:`lrcore.ops`): that is the one place a family's formula lives.
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import math
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from typing import Any, ClassVar

from .errors import SpecError, key_path
from .fields import (
    _DURATION,
    MAX_SPAN,
    MAX_STEP,
    RATE,
    NodeField,
    NodeList,
    Points,
    Steps,
    StepsList,
    exact,
    param,
    real_form,
)

__all__ = ["Context", "Node", "REGISTRY", "node_from_dict"]

#: Every node type by its ``type`` name; filled by ``Node.__init_subclass__``.
REGISTRY: dict[str, type[Node]] = {}

#: Deepest nesting a spec may have, and most nodes in one document.
MAX_DEPTH = 64
MAX_NODES = 10_000

# The path of the node being built, so __post_init__ errors name where it sits in the
# document; a builder call outside from_dict gets the node's type name instead.
_PATH: contextvars.ContextVar[str | None] = contextvars.ContextVar("lrcore_path", default=None)
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("lrcore_depth", default=0)
# Nodes built so far in the document being read: bounds alias bombs (YAML anchors that
# repeat a subtree) before they are built, not after.
_COUNT: contextvars.ContextVar[list | None] = contextvars.ContextVar("lrcore_count",
                                                                    default=None)


@dataclasses.dataclass(frozen=True)
class Context:
    """What durations resolve against: ``steps_per_epoch`` and ``total_steps`` (ints)."""

    steps_per_epoch: int | None = None
    total_steps: int | None = None
    #: Round every "Nep"/"N%" to the nearest step (a sequence phase before one that
    #: cannot start between steps).
    whole: bool = False

    def steps(self, value: int | float | str, path: str, positive: bool = True,
              real: bool = False) -> int | Fraction:
        """Resolve a number of steps, ``"Nep"`` or ``"N%"``, in exact arithmetic.

        ``real`` (a field that takes real numbers of steps): the exact value, an int when
        whole, else a Fraction (``"2.5%"`` of 1002 steps is 25.05 steps), up to 2**53.
        Otherwise fractions resolve to the nearest step, halves rounding up (25.05 -> 25).
        """
        if isinstance(value, int):
            return value
        m = _DURATION.match(value) if isinstance(value, str) else None
        if m is None:  # a real number of steps, already checked by the field kind
            return exact(value)
        amount, unit = Fraction(m.group(1)), m.group(2)
        if unit == "ep":
            if self.steps_per_epoch is None:
                raise SpecError(path, "epochs need steps_per_epoch (in the document or as "
                                "an argument)", value)
            x = amount * self.steps_per_epoch
        else:
            if self.total_steps is None:
                raise SpecError(path, "a share of the run needs total_steps (in the "
                                "document or as an argument)", value)
            x = amount * self.total_steps / 100
        if real:
            if positive and x == 0:
                raise SpecError(path, "resolves to 0 steps; must be > 0", value)
            if x > MAX_SPAN:
                raise SpecError(path, f"resolves to {real_form(x)} steps; must be <= 2**53",
                                value)
            return int(x) if x.denominator == 1 else x
        n = int(x + Fraction(1, 2))  # floor(x + 1/2): nearest, halves up
        if positive and n < 1:
            raise SpecError(path, f"resolves to {n} steps; must be at least 1", value)
        if n > MAX_STEP:
            raise SpecError(path, f"resolves to {n} steps; must be <= 2**31 - 1", value)
        return n


def _node_fields(cls: type) -> tuple[dataclasses.Field, ...]:
    """Fields in document order: the family's own first, ``duration`` last."""
    fields = [f for f in dataclasses.fields(cls) if "kind" in f.metadata]
    own = [f for f in fields if f.name != "duration"]
    return tuple(own + [f for f in fields if f.name == "duration"])


@dataclasses.dataclass(frozen=True, kw_only=True)
class Node:
    """Base class of every schedule node (families, combinators, plateau)."""

    #: The ``type`` name in documents; set by each concrete subclass.
    type: ClassVar[str] = ""
    #: True when ``duration`` is the D of the formula (the node holds its value after D).
    bounded: ClassVar[bool] = False
    #: Step fields whose formula needs a whole number of steps in the domain (<= 2**31 - 1)
    #: although the field takes real numbers (``duration`` of a family whose formula is
    #: written on integer lengths only).
    whole_steps: ClassVar[tuple[str, ...]] = ()
    #: True when the node can start between two steps (as a sequence phase at a real
    #: start it sees local time ``u + phi``, ``0 < phi < 1``): see :meth:`build_at`.
    real_start: ClassVar[bool] = False

    duration: int | float | str | None = param(
        Steps(real=True), None, "length: the formula's D for bounded families, the phase length in "
        "a sequence for every node")

    # ---- construction and validation -------------------------------------------------
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("type"):
            if cls.type in REGISTRY:
                raise RuntimeError(f"two node classes claim type {cls.type!r}")
            REGISTRY[cls.type] = cls

    def __new__(cls, *args: Any, **kwargs: Any) -> Node:
        """Builders (``lrcore.cosine(start=..., duration=...)``) take keyword arguments:
        a positional argument, an unknown or a missing parameter is a SpecError, as the
        same mistake in a spec file is."""
        path = _PATH.get() or cls.type
        if args:
            raise SpecError(path, f"takes keyword arguments only: lrcore.{cls.type}("
                            + ", ".join(f"{f.name}=..." for f in _node_fields(cls)
                                        if f.default is dataclasses.MISSING) + ")", list(args))
        _check_parameters(cls, kwargs, path)
        return super().__new__(cls)

    def __reduce__(self) -> tuple:
        # pickle and copy rebuild through the keyword constructor (it validates again)
        return (_rebuild_node, (type(self), {f.name: getattr(self, f.name)
                                             for f in _node_fields(type(self))}))

    def __post_init__(self) -> None:
        path = _PATH.get() or self.type
        for f in _node_fields(type(self)):
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue
            object.__setattr__(self, f.name, f.metadata["kind"].coerce(value, f"{path}.{f.name}"))
        self.check_whole({name: exact(getattr(self, name)) for name in self.whole_steps
                          if getattr(self, name) is not None
                          and not _DURATION.match(str(getattr(self, name)))}, path)
        self.check(path)

    def check(self, path: str) -> None:
        """Cross-field rules; raise SpecError(f"{path}.field", rule, value). Step values
        may still be strings here: compare them only when both are ints (resolution
        re-runs this check with integers)."""

    @classmethod
    def fields(cls) -> tuple[dataclasses.Field, ...]:
        return _node_fields(cls)

    # ---- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Canonical mapping: ``type`` first, then parameters that differ from defaults."""
        out: dict[str, Any] = {"type": self.type}
        for f in _node_fields(type(self)):
            value = getattr(self, f.name)
            if f.default is not dataclasses.MISSING and value == f.default \
                    and type(value) is type(f.default):
                continue
            out[f.name] = f.metadata["kind"].dump(value)
        return out

    @classmethod
    def from_dict(cls, data: Any, path: str = "schedule") -> Node:
        node = node_from_dict(data, path)
        if cls is not Node and not isinstance(node, cls):
            raise SpecError(f"{path}.type", f"must be {cls.type!r}", data.get("type"))
        return node

    def children(self) -> Iterator[tuple[str, Node]]:
        """(path suffix, child) for every child node."""
        for f in _node_fields(type(self)):
            value = getattr(self, f.name)
            if isinstance(value, Node):
                yield f".{f.name}", value
            elif isinstance(value, tuple) and value and isinstance(value[0], Node):
                for i, child in enumerate(value):
                    yield f".{f.name}[{i}]", child

    # ---- resolution --------------------------------------------------------------------
    def child_span(self, name: str, span: int | None, values: dict[str, Any]) -> int | None:
        """The span a child under field ``name`` resolves against (default: this node's);
        ``values`` holds this node's own parameters, already resolved to integers."""
        return span

    def resolve(self, ctx: Context, span: int | None, path: str) -> Node:
        """A copy with every step value a number of steps and every omitted D filled in."""
        values: dict[str, Any] = {}
        for f in _node_fields(type(self)):
            kind, value, p = f.metadata["kind"], getattr(self, f.name), f"{path}.{f.name}"
            if value is None:
                continue
            if isinstance(kind, Steps):
                value = self._steps(ctx, f.name, kind, value, p)
            elif isinstance(kind, StepsList):
                value = tuple(self._steps(ctx, f.name, kind.item, v, f"{p}[{i}]")
                              for i, v in enumerate(value))
            elif isinstance(kind, Points):
                value = tuple((ctx.steps(s, f"{p}[{i}][0]", False), r)
                              for i, (s, r) in enumerate(value))
            values[f.name] = value
        own = values.get("duration", span)
        for f in _node_fields(type(self)):
            kind, value, p = f.metadata["kind"], values.get(f.name), f"{path}.{f.name}"
            if isinstance(value, Node) and isinstance(kind, NodeField):
                values[f.name] = value.resolve(ctx, self.child_span(f.name, own, values), p)
            elif isinstance(kind, NodeList) and value is not None:
                span_c = self.child_span(f.name, own, values)
                values[f.name] = tuple(c.resolve(ctx, span_c, f"{p}[{i}]")
                                       for i, c in enumerate(value))
        if self.bounded and values.get("duration") is None:
            if span is None:
                raise SpecError(f"{path}.duration", f"is required: {self.type} runs over a "
                                "length; give a duration, or total_steps to run to the end")
            if not isinstance(span, int) and not self.real_ok("duration", span):
                span = int(span + Fraction(1, 2))  # a whole length: the nearest step
            values["duration"] = span
        self.check_whole(values, path)
        return self._rebuilt(values, path)

    def _steps(self, ctx: Context, name: str, kind: Steps, value: Any, path: str) -> Any:
        """Resolve one step value of field ``name``: exactly where the field and this
        node take a real number of steps; otherwise (and always under ``ctx.whole``)
        ``"Nep"``/``"N%"`` round to the nearest step, as every step value did before real
        durations, so a spec that resolved then resolves the same way now."""
        if not kind.real:
            return ctx.steps(value, path, kind.positive)
        x = ctx.steps(value, path, kind.positive, real=not ctx.whole)
        if isinstance(value, str) and _DURATION.match(value) and not (
                isinstance(x, int) and x <= MAX_STEP) and not self.real_ok(name, x):
            x = ctx.steps(value, path, kind.positive)
        return x

    def real_ok(self, name: str, value: int | Fraction) -> bool:
        """Whether this node's formula takes ``value`` (real, or past the step domain)
        in step field ``name``."""
        return name not in self.whole_steps

    def check_whole(self, values: dict[str, Any], path: str) -> None:
        """Refuse a resolved real or far value in a field of :attr:`whole_steps`."""
        for name in self.whole_steps:
            value = values.get(name)
            if value is None or (isinstance(value, int) and value <= MAX_STEP):
                continue
            written = getattr(self, name)
            raise SpecError(f"{path}.{name}", f"must be a whole number of steps <= 2**31 - 1 "
                            f"for {self.type} (linear and cosine take real and longer "
                            "durations)", written if written is not None else real_form(
                                Fraction(value)))

    def takes_real_start(self) -> bool:
        """Whether :meth:`build_at` draws this node from a real start (``phi > 0``)."""
        return self.real_start

    def _rebuilt(self, values: dict[str, Any], path: str) -> Node:
        token = _PATH.set(path)
        try:
            return dataclasses.replace(self, **values)
        finally:
            _PATH.reset(token)

    # ---- evaluation (resolved nodes only) ------------------------------------------------
    def build(self, ops: Any) -> Callable[[Any], Any]:
        """The node's formula: a function of integer local time ``t >= 0`` (an integer
        array or scalar of the ops backend) to the rate, in ``ops``' float dtype."""
        raise TypeError(f"{type(self).__name__} defines no formula")  # pragma: no cover

    def build_at(self, ops: Any, phi: Fraction | int) -> Callable[[Any], Any]:
        """The formula at local real time ``u + phi`` for integer ``u >= 0`` and a fixed
        ``0 <= phi < 1``: how a sequence draws a phase that starts between two steps.
        Only nodes that :meth:`takes_real_start` are ever asked for ``phi > 0``."""
        if phi == 0:
            return self.build(ops)
        raise TypeError(f"{self.type} cannot start between steps")  # pragma: no cover

    def breakpoints(self) -> list[int]:
        """Local steps where the curve breaks or kinks (for grids, plots and ``show``)."""
        out = [step_at(self.duration)] if self.bounded and self.duration else []
        for _, child in self.children():
            out += child.breakpoints()
        return out

    def rate_bound(self) -> float:
        """An upper bound of the rate on ``[0, 2**31 - 1]`` (resolved nodes; float64,
        may be loose, ``inf`` past float64). The default, the largest rate parameter or
        child bound, is right for every family whose curve stays between its parameters;
        families that grow or multiply override it."""
        out = 0.0
        for f in _node_fields(type(self)):
            value = getattr(self, f.name)
            if f.metadata["kind"] is RATE and value is not None:
                out = max(out, value)
        for _, child in self.children():
            out = max(out, child.rate_ceiling())
        return out

    def rate_ceiling(self) -> float:
        """:meth:`rate_bound`, computed once per node (a tree's check visits every node,
        and each parent asks its children)."""
        cached = self.__dict__.get("_rate_ceiling")
        if cached is None:
            cached = self.rate_bound()
            object.__setattr__(self, "_rate_ceiling", cached)  # frozen: a cache, not a field
        return cached

    def horizon(self) -> int | None:
        """The last step of interest: past it the curve holds or repeats (None: unknown)."""
        ends = [b for b in self.breakpoints() if b is not None]
        if self.duration is not None:
            ends.append(step_at(self.duration))
        return max(ends) if ends else None


def step_at(value: int | float | str) -> int:
    """The first integer step at or after a resolved real step value (``ceil``)."""
    x = exact(value)
    return x if isinstance(x, int) else math.ceil(x)


def _check_parameters(cls: type, params: dict, path: str) -> None:
    """The keys of ``params`` are parameters of node type ``cls`` and hold every required
    one: the one rule for spec mappings and for builder calls."""
    names = [f.name for f in _node_fields(cls)]
    for key, value in params.items():
        if not isinstance(key, str) or key not in names:
            hint = _did_you_mean(key, names) if isinstance(key, str) else ""
            raise SpecError(key_path(path, key), f"is not a parameter of {cls.type}{hint}; "
                            "known: " + ", ".join(names), value)
    for f in _node_fields(cls):
        if f.default is dataclasses.MISSING and f.name not in params:
            raise SpecError(f"{path}.{f.name}", f"is required for {cls.type}")


def _rebuild_node(cls: type, values: dict[str, Any]) -> Node:
    return cls(**values)


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def node_from_dict(data: Any, path: str) -> Node:
    """Build a node from a mapping, naming ``path`` in every error."""
    counter = _COUNT.get()
    if counter is None:
        token = _COUNT.set([0])
        try:
            return node_from_dict(data, path)
        finally:
            _COUNT.reset(token)
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise SpecError(path, f"a spec must have at most {MAX_NODES} nodes", "more")
    depth = _DEPTH.get()
    if depth >= MAX_DEPTH:
        raise SpecError(path, f"nesting must be at most {MAX_DEPTH} levels deep", "...")
    if not isinstance(data, Mapping):
        raise SpecError(path, "must be a schedule (a mapping with a 'type')", data)
    kind = data.get("type")
    if kind is None:
        raise SpecError(f"{path}.type", "is required (one of: "
                        + ", ".join(sorted(REGISTRY)) + ")")
    if not isinstance(kind, str) or kind not in REGISTRY:
        hint = _did_you_mean(kind, sorted(REGISTRY)) if isinstance(kind, str) else ""
        raise SpecError(f"{path}.type", "must be a known schedule type" + hint
                        + " (one of: " + ", ".join(sorted(REGISTRY)) + ")", kind)
    cls = REGISTRY[kind]
    # here, before any child is read, so an unknown key is the error reported first
    _check_parameters(cls, {k: v for k, v in data.items() if k != "type"}, path)
    values = {}
    for f in _node_fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if isinstance(f.metadata["kind"], (NodeField, NodeList)):
            token = _DEPTH.set(depth + 1)
            try:
                value = f.metadata["kind"].coerce(value, f"{path}.{f.name}")
            finally:
                _DEPTH.reset(token)
        values[f.name] = value
    token = _PATH.set(path)
    try:
        return cls(**values)
    finally:
        _PATH.reset(token)


def walk(node: Node, limit: int = MAX_NODES) -> Iterator[Node]:
    """Every node of a tree, depth first; SpecError past ``limit`` nodes."""
    stack, seen = [node], 0
    while stack:
        n = stack.pop()
        seen += 1
        if seen > limit:
            raise SpecError("schedule", f"must have at most {limit} nodes", "more")
        yield n
        stack.extend(c for _, c in n.children())


#: Largest finite float32: a spec must stay below it on every step of the domain.
FLOAT32_MAX = 3.4028234663852886e38
#: Smallest peak a non-zero node may have. float32 backends flush rates below 1.2e-38
#: (the normal range) to zero or keep them in a few bits; parity forgives that only
#: where 1e-9 of the peak (its absolute slack) covers 1.2e-38 twice over.
PEAK_FLOOR = 1e-28


def growth_bound(start: float, log_factor: float, count: int) -> float:
    """``max(start, start * exp(log_factor * count))``, ``inf`` past float64."""
    import math

    if start <= 0 or log_factor <= 0:
        return start
    x = math.log(start) + log_factor * count
    return math.exp(x) if x < 709 else math.inf


def check_bounds(root: Node, path: str) -> None:
    """Raise if any node's rate can leave float32's range on ``[0, 2**31 - 1]``, naming
    the deepest such node: float32 backends would compute inf there (and NaN from
    inf * 0), while the float64 reference would not. A node whose whole curve stays
    below :data:`PEAK_FLOOR` without being 0 is refused too: float32 cannot draw it."""
    for suffix, child in root.children():
        check_bounds(child, path + suffix)
    bound = root.rate_ceiling()
    if bound > FLOAT32_MAX:
        raise SpecError(path, f"can reach a rate past float32's range ({FLOAT32_MAX:.4g}) "
                        "before step 2**31 - 1", bound)
    if 0 < bound < PEAK_FLOOR:
        raise SpecError(path, f"stays below {PEAK_FLOOR:g} and is not 0: float32 "
                        "backends cannot hold so small a rate within parity tolerance "
                        "(use 0, or larger rates)", bound)


def check_growth(path: str, start: float, log_factor: float, count: int,
                 value: float) -> None:
    """Raise if ``start * exp(log_factor * count)`` leaves the float32 range: a growing
    schedule must not overflow anywhere in ``[0, 2**31 - 1]``. ``value`` is the factor
    as written, for the message."""
    import math

    if start > 0 and log_factor > 0 and math.log(start) + log_factor * count >= math.log(
            FLOAT32_MAX):
        raise SpecError(path, "grows past the float32 range before step 2**31 - 1; "
                        "use a factor <= 1 or set a bound", value)


def check_increasing(path: str, values: tuple, strict: bool = True) -> None:
    """Step lists must be strictly increasing (checked once all are numbers of steps)."""
    if any(isinstance(v, str) and _DURATION.match(v) for v in values):
        return
    nums = [exact(v) for v in values]
    for i in range(1, len(nums)):
        if nums[i] <= nums[i - 1]:
            raise SpecError(f"{path}[{i}]", "must be strictly greater than the previous "
                            f"entry ({values[i - 1]}): sorted, no duplicates", values[i])
