"""The ops contract: every formula uses only ``lrcore.ops.CONTRACT`` and ``OPERATORS``.

:class:`ContractOps` is a traced-style backend (every branch evaluated, combined with
``where``, like jax and Keras) on float64 numpy, whose values allow exactly the declared
operators and whose namespace has exactly the declared members. Every catalog spec and
random trees are built and evaluated through it: a formula that reaches for anything else
(``x ** 2``, ``np.floor(x)``, ``float(x)``, ``ops.tanh``) fails here, in core, instead of
in whichever backend happens to lack it. Its values must be the reference's too.
"""

from __future__ import annotations

import operator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import spec_trees

import lrcore
from lrcore import parity
from lrcore.ops import CONTRACT, OPERATORS, Ops

CATALOG = sorted((Path(__file__).parents[1] / "parity" / "catalog").glob("*.yaml"))


class Strict:
    """A numpy array that supports only the contract's operators."""

    __slots__ = ("a",)
    __array_ufunc__ = None  # np.floor(x), np.add(x, 1): TypeError
    __hash__ = None

    def __init__(self, a) -> None:
        self.a = np.asarray(a)

    def _binary(op, integer_only=False):  # noqa: N805 - a method factory
        def method(self, other):
            x = other.a if isinstance(other, Strict) else other
            if isinstance(x, np.ndarray | np.generic) and not isinstance(other, Strict):
                raise TypeError(f"a raw numpy value mixed into a formula: {type(x)}")
            if integer_only and not np.issubdtype(self.a.dtype, np.integer):
                raise TypeError(f"{op.__name__} is for integer steps only")
            return Strict(op(self.a, x))

        def reflected(self, other):
            return Strict(op(other, self.a))
        return method, reflected

    __add__, __radd__ = _binary(operator.add)
    __sub__, __rsub__ = _binary(operator.sub)
    __mul__, __rmul__ = _binary(operator.mul)
    __truediv__, __rtruediv__ = _binary(operator.truediv)
    __floordiv__, _ = _binary(operator.floordiv, integer_only=True)
    __mod__, _ = _binary(operator.mod, integer_only=True)
    __lt__, _ = _binary(operator.lt)
    __le__, _ = _binary(operator.le)
    __gt__, _ = _binary(operator.gt)
    __ge__, _ = _binary(operator.ge)
    __eq__, _ = _binary(operator.eq)
    __ne__, _ = _binary(operator.ne)
    __and__, __rand__ = _binary(operator.and_)
    __or__, __ror__ = _binary(operator.or_)
    del _

    def __neg__(self):
        return Strict(-self.a)

    def __abs__(self):
        return Strict(np.abs(self.a))

    def __invert__(self):
        return Strict(~self.a)

    def _refuse(self, *args):
        raise TypeError("a formula value may be traced: no float(), bool(), len() or [i]")

    __bool__ = __float__ = __int__ = __index__ = __len__ = __getitem__ = __iter__ = _refuse


def _elementwise(f):
    return staticmethod(lambda *xs: Strict(f(*(x.a if isinstance(x, Strict) else x
                                               for x in xs))))


class ContractOps(Ops):
    """Float64 numpy behind :class:`Strict` values, with the generic (traced) select."""

    name = "contract"
    dtype = np.float64

    def const(self, x):
        return Strict(np.float64(x))

    def full(self, t, x):
        return Strict(np.full(t.a.shape, x, dtype=np.float64))

    def to_float(self, t):
        return Strict(t.a.astype(np.float64))

    where = _elementwise(np.where)
    minimum = _elementwise(np.minimum)
    maximum = _elementwise(np.maximum)
    sin, cos, exp = _elementwise(np.sin), _elementwise(np.cos), _elementwise(np.exp)
    expm1, log, log1p = _elementwise(np.expm1), _elementwise(np.log), _elementwise(np.log1p)
    sqrt, power = _elementwise(np.sqrt), _elementwise(np.power)

    def table(self, values, integer=False):
        return np.asarray(values, dtype=np.int64 if integer else np.float64)

    def searchsorted(self, table, t):
        return Strict(np.searchsorted(table, t.a, side="right") - 1)

    def take(self, table, i):
        return Strict(table[i.a])

    def __getattribute__(self, name):
        if not name.startswith("_") and name not in CONTRACT:
            raise AttributeError(f"ops.{name} is not in lrcore.ops.CONTRACT")
        return object.__getattribute__(self, name)


def _through_contract(doc: lrcore.Schedule, t: np.ndarray) -> dict:
    out = {}
    for name in doc.curves():
        with np.errstate(all="ignore"):  # untaken branches may overflow, as under where
            f = lrcore.compile_spec(doc, ContractOps(), hyperparam=name)
            out[name] = np.asarray(f(Strict(t)).a, dtype=np.float64)
    return out


def _check(doc: lrcore.Schedule) -> None:
    t = lrcore.grid(doc, 256)
    for name, got in _through_contract(doc, t).items():
        ref = lrcore.evaluate(doc, t, hyperparam=name)
        result = parity.compare("python", t, ref, np.broadcast_to(got, t.shape))
        assert result.ok, (doc.name, name, result)


def test_the_contract_lists_what_a_backend_binds():
    assert set(Ops.__abstractmethods__) <= set(CONTRACT)
    assert "power" in CONTRACT and "+" in OPERATORS


def test_strict_values_refuse_what_the_contract_leaves_out():
    x = Strict(np.array([1.0, 2.0]))
    for bad in (lambda: x ** 2, lambda: np.floor(x), lambda: float(x), lambda: x // 2,
                lambda: bool(x), lambda: x[0], lambda: ContractOps().tanh):
        with pytest.raises((TypeError, AttributeError)):
            bad()


@pytest.mark.parametrize("path", CATALOG, ids=[p.stem for p in CATALOG])
def test_every_catalog_formula_keeps_to_the_contract(path):
    _check(lrcore.load(path).resolve())


@settings(max_examples=60, deadline=None)
@given(tree=spec_trees())
def test_random_trees_keep_to_the_contract(tree):
    _check(lrcore.Schedule(schedule=tree).resolve(total_steps=10**6))
