"""The ops namespace every formula is written against, and the two backends in core.

A formula (``Node.build``) sees only an :class:`Ops` object: elementwise math on the
backend's float dtype, a few integer operations on the step, and :meth:`Ops.select`,
the one branching primitive. Backends differ in how they branch:

* :class:`NumpyOps` (float64, the reference) evaluates each branch only on its own
  slice of steps, in place, so no untaken branch is ever computed;
* :class:`PythonOps` (float64 scalars, what the torch adapter runs) calls one branch;
* traced backends (``keras.ops``, ``jax.numpy``, in ``lrcore.adapters``) evaluate every
  branch and combine with ``where``. ``select`` clips the step into each branch's own
  range first, so a formula may assume its domain and the untaken branches stay finite.

Integer steps stay integers until a formula converts a (small, exact) integer to float
with :meth:`Ops.to_float`. Constants are folded in float64 by the formula and cast once
with :meth:`Ops.const`.
"""

from __future__ import annotations

import abc
import bisect
import contextlib
import contextvars
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .fields import MAX_STEP

__all__ = ["CONTRACT", "InPlace", "NumpyOps", "OPERATORS", "Ops", "PythonOps", "Shifted", "fill",
           "local_time"]

#: Everything a formula may use on an :class:`Ops`: what a backend binds (the abstract
#: members below) and what the base class derives from those. Nothing else.
CONTRACT = ("dtype", "name", "const", "full", "to_float", "where", "minimum", "maximum",
            "sin", "cos", "exp", "expm1", "log", "log1p", "sqrt", "power", "table",
            "searchsorted", "take", "clip_int", "floordiv", "mod", "add_sat", "constant",
            "select", "in_place")
#: The operators a formula may apply to the values an Ops returns (steps and rates):
#: arithmetic, comparisons and boolean combination; ``//`` and ``%`` on integer steps
#: only, and no ``**`` (``power``), no ``float()``/``bool()`` on a value (it may be traced).
OPERATORS = ("+", "-", "*", "/", "unary -", "abs", "<", "<=", ">", ">=", "==", "!=", "&",
             "|", "~", "// (integers)", "% (integers)")

Branch = Callable[[Any], Any]

# The largest local step the formula being built will ever be called with (build time).
# A sequence's phase k never sees a step past D_k - 1, a repeat's child none past P - 1:
# select() drops branches that start later, and the clamps that only guard them.
_HORIZON: contextvars.ContextVar[int] = contextvars.ContextVar("lrcore_horizon",
                                                               default=MAX_STEP)


#: above this many constant branches a select is a table lookup (:meth:`Ops.select`)
TABLE_SELECT = 32


def horizon() -> int:
    """The largest step the formula now being built will be called with."""
    return _HORIZON.get()


@contextlib.contextmanager
def within(last: int) -> Iterator[None]:
    """Build a child formula that is only ever called with steps in ``[0, last]``."""
    token = _HORIZON.set(min(max(int(last), 0), MAX_STEP))
    try:
        yield
    finally:
        _HORIZON.reset(token)


class Ops(abc.ABC):
    """Base class. Subclasses provide the elementwise functions; ``select`` is generic."""

    name = "ops"
    #: numpy dtype of results, for ulp arithmetic in parity reports
    dtype: Any = np.float64

    # -- construction and conversion
    @abc.abstractmethod
    def const(self, x: float) -> Any:
        """``x`` (folded in float64 by the formula) in the backend's float dtype."""

    @abc.abstractmethod
    def full(self, t: Any, x: float) -> Any:
        """An array shaped like the step ``t`` holding ``x``."""

    @abc.abstractmethod
    def to_float(self, t: Any) -> Any:
        """An (exact, small) integer step as the float dtype."""

    # -- elementwise functions, bound per framework (a staticmethod each, usually)
    @abc.abstractmethod
    def where(self, c: Any, a: Any, b: Any) -> Any:
        ...

    @abc.abstractmethod
    def minimum(self, x: Any, y: Any) -> Any:
        ...

    @abc.abstractmethod
    def maximum(self, x: Any, y: Any) -> Any:
        ...

    @abc.abstractmethod
    def sin(self, x: Any) -> Any:
        ...

    @abc.abstractmethod
    def cos(self, x: Any) -> Any:
        ...

    @abc.abstractmethod
    def exp(self, x: Any) -> Any:
        ...

    @abc.abstractmethod
    def expm1(self, x: Any) -> Any:
        ...

    @abc.abstractmethod
    def log(self, x: Any) -> Any:
        ...

    @abc.abstractmethod
    def log1p(self, x: Any) -> Any:
        ...

    @abc.abstractmethod
    def sqrt(self, x: Any) -> Any:
        ...

    @abc.abstractmethod
    def power(self, x: Any, y: Any) -> Any:
        ...

    # -- integer helpers on steps (exact)
    def clip_int(self, t: Any, lo: int, hi: int) -> Any:
        return self.minimum(self.maximum(t, lo), hi)

    def floordiv(self, t: Any, n: int) -> Any:
        """``t // n`` for steps ``0 <= t <= horizon()``. A divisor past the horizon gives
        0 without dividing: it need not fit the step's int32 (a periodic cosine's
        ``2 D``, a cyclic ``up + down``)."""
        return t - t if n > horizon() else self._floordiv(t, n)

    def mod(self, t: Any, n: int) -> Any:
        """``t % n`` for steps ``0 <= t <= horizon()``; ``t`` itself for ``n`` past it."""
        return t if n > horizon() else self._mod(t, n)

    def _floordiv(self, t: Any, n: int) -> Any:
        return t // n

    def _mod(self, t: Any, n: int) -> Any:
        return t % n

    def add_sat(self, t: Any, k: int) -> Any:
        """``t + k`` held inside ``[0, 2**31 - 1]`` (no int32 overflow)."""
        if k >= 0:
            return self.minimum(t, MAX_STEP - k) + k
        return self.maximum(t, -k) + k

    # -- branching
    def constant(self, x: float) -> Branch:
        """A branch that is one rate everywhere (select can use it as a plain value)."""
        return Constant(self, x)

    def in_place(self, f: Branch, into: Callable[..., None]) -> Branch:
        """Build time: the formula ``f`` together with ``into(t, out, shift)``, the same
        operations in the same order writing ``f(t - shift)`` into a float64 block
        ``out`` without temporaries. Only the numpy reference runs ``into`` (see
        :func:`fill`); every other backend gets ``f``."""
        return f

    def select(self, bounds: Sequence[int], branches: Sequence[Branch]) -> Branch:
        """Build time: a function of ``t`` giving ``branches[k](t)`` where
        ``bounds[k-1] <= t < bounds[k]`` (integer bounds, ascending; one more branch
        than bounds; a branch whose range is empty is dropped). Each branch is called
        only with steps inside its own range."""
        bounds, branches = _prune(bounds, branches)
        if not bounds:
            return branches[0]
        edges = [0, *bounds]
        n = len(branches)
        if n > TABLE_SELECT and all(isinstance(b, Constant) for b in branches):
            # a long table of rates: one lookup, not n nested wheres (whose graph, and
            # XLA's compile time, grow with n)
            at, rates = self.table(edges, integer=True), self.table([b.value for b in branches])
            return lambda t: self.take(rates, self.searchsorted(at, t))

        def clipped(k: int, t: Any) -> Any:
            # steps are >= 0 and <= horizon already: clamp only inner edges
            if k > 0:
                t = self.maximum(t, edges[k])
            if k < n - 1:
                t = self.minimum(t, edges[k + 1] - 1)
            return t

        def selected(t: Any) -> Any:
            out = branches[-1](clipped(n - 1, t))
            for k in range(n - 2, -1, -1):
                out = self.where(t < bounds[k], branches[k](clipped(k, t)), out)
            return out

        return selected

    @abc.abstractmethod
    def table(self, values: Sequence[float] | Sequence[int], integer: bool = False) -> Any:
        """A constant lookup table (float dtype, or the step's int dtype)."""

    @abc.abstractmethod
    def searchsorted(self, table: Any, t: Any) -> Any:
        """Number of entries ``<= t`` of an ascending integer table, minus one."""

    @abc.abstractmethod
    def take(self, table: Any, i: Any) -> Any:
        ...


class Constant:
    """A constant branch: ``t -> full(t, value)``, with the value visible to select."""

    __slots__ = ("ops", "value")

    def __init__(self, ops: Ops, value: float) -> None:
        self.ops, self.value = ops, value

    def __call__(self, t: Any) -> Any:
        return self.ops.full(t, self.value)


class InPlace:
    """A formula with its in-place numpy form (:meth:`Ops.in_place`)."""

    __slots__ = ("f", "into")

    def __init__(self, f: Branch, into: Callable[..., None]) -> None:
        self.f, self.into = f, into

    def __call__(self, t: Any) -> Any:
        return self.f(t)


def local_time(ops: Ops, f: Branch, s: int) -> Branch:
    """``t -> f(t - s)``: a phase on its own local time (a sequence's). The numpy
    reference gets a :class:`Shifted`, which passes the shift down to its blocks
    (:func:`fill`) instead of making an array of local steps; other backends a plain
    closure (the torch adapter calls it once per step)."""
    if s == 0:
        return f
    if isinstance(ops, NumpyOps):
        return Shifted(f, s)
    return lambda t: f(t - s)


class Shifted:
    """``t -> f(t - s)`` on the numpy reference (:func:`local_time`)."""

    __slots__ = ("f", "s")

    def __init__(self, f: Branch, s: int) -> None:
        self.f, self.s = f, s

    def __call__(self, t: Any) -> Any:
        return self.f(t - self.s)


def fill(f: Branch, t: np.ndarray, out: np.ndarray, shift: int = 0,
         span: tuple[int, int] | None = None) -> None:
    """The numpy reference's block evaluation: write ``f(t - shift)`` into ``out``
    (float64, shaped like the int64 steps ``t``, ``span``: their min and max if known).
    A shift or a select passes the block down; a formula with an in-place form writes
    it; any other formula makes its own arrays, copied in."""
    if isinstance(f, Shifted):
        fill(f.f, t, out, shift + f.s, span)
    elif isinstance(f, _Selected):
        f.into(t, out, shift, span)
    elif isinstance(f, InPlace):
        f.into(t, out, shift)
    elif isinstance(f, Constant):
        out.fill(f.value)
    else:
        out[...] = f(t - shift if shift else t)


def _prune(bounds: Sequence[int], branches: Sequence[Branch]) -> tuple[list, list]:
    """Drop branches whose range is empty (bounds that do not increase) or lies past the
    horizon of the formula being built."""
    assert len(branches) == len(bounds) + 1
    last = horizon()
    keep_b, keep_f, low = [], [branches[0]], 0
    for b, f in zip(bounds, branches[1:]):
        if b <= low:  # the previous branch's range [low, b) is empty: replace it
            keep_f[-1] = f
            continue
        if b > last:  # this branch and all later ones start past the horizon
            break
        keep_b.append(b)
        keep_f.append(f)
        low = b
    return keep_b, keep_f


class NumpyOps(Ops):
    """float64 numpy: the reference. Steps are int64 arrays."""

    name = "reference"
    dtype = np.float64

    const = staticmethod(np.float64)
    where = staticmethod(np.where)
    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    exp = staticmethod(np.exp)
    expm1 = staticmethod(np.expm1)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    sqrt = staticmethod(np.sqrt)
    power = staticmethod(np.power)

    def full(self, t: Any, x: float) -> Any:
        return np.full(np.shape(t), x, dtype=np.float64)

    def to_float(self, t: Any) -> Any:
        return np.asarray(t, dtype=np.float64)

    def select(self, bounds: Sequence[int], branches: Sequence[Branch]) -> Branch:
        bounds, branches = _prune(bounds, branches)
        if not bounds:
            return branches[0]
        return _Selected(bounds, branches)

    def in_place(self, f: Branch, into: Callable[..., None]) -> Branch:
        return InPlace(f, into) if self.dtype == np.float64 else f

    def table(self, values: Sequence[float] | Sequence[int], integer: bool = False) -> Any:
        return np.asarray(values, dtype=np.int64 if integer else np.float64)

    def searchsorted(self, table: Any, t: Any) -> Any:
        return np.searchsorted(table, t, side="right") - 1

    def take(self, table: Any, i: Any) -> Any:
        return table[i]


class _Selected:
    """The numpy select: each branch on its own slice of the steps, written into one
    output (:func:`fill`), so no untaken branch is computed. A block whose steps all lie
    in one branch's range (most of them) goes to that branch whole."""

    __slots__ = ("bounds", "branches")

    def __init__(self, bounds: list[int], branches: list[Branch]) -> None:
        self.bounds, self.branches = bounds, branches

    def __call__(self, t: Any) -> Any:
        t = np.asarray(t)
        out = np.empty(t.shape, dtype=np.float64)
        self.into(t.reshape(-1), out.reshape(-1))
        return out

    def into(self, t: np.ndarray, out: np.ndarray, shift: int = 0,
             span: tuple[int, int] | None = None) -> None:
        if t.size == 0:
            return
        low, high = span if span is not None else (int(t.min()), int(t.max()))
        # branch k takes the (local) steps bounds[k-1] <= t - shift < bounds[k]
        first = bisect.bisect_right(self.bounds, low - shift)
        if first == bisect.bisect_right(self.bounds, high - shift):
            fill(self.branches[first], t, out, shift, (low, high))
            return
        edges = np.asarray(self.bounds, dtype=np.int64) + shift
        if t.size > 1 and bool(np.all(t[1:] >= t[:-1])):
            # sorted steps (the usual arange): each branch gets a contiguous view
            cuts = [0, *np.searchsorted(t, edges, side="left").tolist(), t.size]
            for k, branch in enumerate(self.branches):
                lo, hi = cuts[k], cuts[k + 1]
                if hi > lo:
                    fill(branch, t[lo:hi], out[lo:hi], shift, (int(t[lo]), int(t[hi - 1])))
        else:
            which = np.searchsorted(edges, t, side="right")
            for k, branch in enumerate(self.branches):
                mask = which == k
                if mask.any():
                    part = np.empty(int(np.count_nonzero(mask)), dtype=np.float64)
                    fill(branch, t[mask], part, shift)
                    out[mask] = part


class PythonOps(Ops):
    """float64 Python scalars: one step at a time, one branch evaluated. The torch
    adapter runs this (torch keeps learning rates as Python floats)."""

    name = "python"
    dtype = np.float64

    const = staticmethod(float)
    minimum = staticmethod(min)
    maximum = staticmethod(max)
    sqrt = staticmethod(math.sqrt)  # correctly rounded everywhere
    # numpy computes float64 sin/cos with libm, as math does (0 differences measured over
    # 200 000 arguments; the parity suite checks it on every machine it runs on), and
    # math is 4x faster on a scalar. For exp, log1p, expm1 and log numpy has its own SIMD
    # kernels that differ from libm by an ulp on up to 5% of inputs, and the torch adapter
    # promises the reference's value to the ulp: those come from numpy (~0.07 us each).
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    exp = staticmethod(np.exp)
    expm1 = staticmethod(np.expm1)
    log1p = staticmethod(np.log1p)

    @staticmethod
    def log(x: float) -> float:
        return np.log(x) if x > 0 else -math.inf

    @staticmethod
    def power(x: float, y: float) -> float:
        return np.power(x, y)

    @staticmethod
    def where(c: bool, a: Any, b: Any) -> Any:
        return a if c else b

    to_float = staticmethod(float)

    @staticmethod
    def full(t: Any, x: float) -> float:
        return x

    def select(self, bounds: Sequence[int], branches: Sequence[Branch]) -> Branch:
        bounds, branches = _prune(bounds, branches)
        if not bounds:
            return branches[0]
        if all(isinstance(b, Constant) for b in branches):  # a lookup, no call per branch
            values = [b.value for b in branches]
            if len(bounds) == 1:
                (b0,), (v0, v1) = bounds, values
                return lambda t: v0 if t < b0 else v1
            return lambda t: values[bisect.bisect_right(bounds, t)]
        if len(bounds) == 1:
            (b,), (first, second) = bounds, branches
            return lambda t: first(t) if t < b else second(t)
        return lambda t: branches[bisect.bisect_right(bounds, t)](t)

    def table(self, values: Sequence[float] | Sequence[int], integer: bool = False) -> Any:
        return [int(v) for v in values] if integer else [float(v) for v in values]

    def searchsorted(self, table: Any, t: Any) -> Any:
        return bisect.bisect_right(table, t) - 1

    def take(self, table: Any, i: Any) -> Any:
        return table[i]
