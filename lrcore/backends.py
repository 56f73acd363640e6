"""The backend registry: every backend declares itself in one module, read without import.

A backend module holds a top-level literal ``LRCORE_BACKEND`` (see :data:`FIELDS`). The
registry reads it with :func:`ast.literal_eval`, the way setuptools reads a static
``attr:``, so listing backends imports no framework; the module itself is imported only
when a backend's values or entry points are used. Modules come from three places, in
this order: ``lrcore.parity`` (``reference`` and ``python``), every module of
``lrcore.adapters``, and the ``lrcore.backends`` entry-point group (a module name), so a
separate package can add a backend without touching lrcore.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import importlib.machinery
import importlib.util
import os
import pkgutil
import sys
import threading
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import numpy as np

from .errors import SpecError

__all__ = ["Backend", "ENTRY_POINT_GROUP", "all_backends", "available", "blocks", "exports",
           "get", "names", "segments"]

ENTRY_POINT_GROUP = "lrcore.backends"
DTYPES = ("float32", "float64")

#: The keys of a declaration: ``backends`` maps each name to ``dtype`` (float32 or
#: float64), ``needs`` (modules that must be installed) and optionally ``env`` (the
#: process environment it needs; parity runs it in a worker process when this one
#: differs); ``values`` names the module's function ``(name, specs, steps, reports) ->
#: [float64 arrays]``; ``exports`` the public functions ``lrcore`` re-exports;
#: ``env_defaults`` what an unset variable means; ``here``, a function ``name -> bool``
#: asked instead of the environment once the module is imported (the framework may
#: already have chosen); ``order`` the place in tables.
FIELDS = {"backends": dict, "values": str, "exports": list, "env_defaults": dict,
          "here": str, "order": int}
_PER_BACKEND = {"dtype": str, "needs": list, "env": dict}


@dataclasses.dataclass(frozen=True)
class Backend:
    """One backend, as its module declares it."""

    name: str
    dtype: str
    needs: tuple[str, ...]
    module: str
    values_function: str
    env: tuple[tuple[str, str], ...] = ()
    env_defaults: tuple[tuple[str, str], ...] = ()
    here: str | None = None
    order: int = 100

    @property
    def installed(self) -> bool:
        """Whether every module it needs is installed (found, not imported)."""
        return all(_installed(m) for m in self.needs)

    def runs_here(self) -> bool:
        """Whether this process can compute its values (else: a worker process with
        :attr:`env`)."""
        if not self.env:
            return True
        if self.here and self.module in sys.modules:
            return bool(getattr(sys.modules[self.module], self.here)(self.name))
        defaults = dict(self.env_defaults)
        return all(os.environ.get(k, defaults.get(k)) == v for k, v in self.env)

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def values(self, specs: list, steps: list, reports: list) -> list:
        """The backend's rates, in this process."""
        return getattr(self.load(), self.values_function)(self.name, specs, steps, reports)


def _installed(module: str) -> bool:
    """Whether ``module`` is a regular module or package here, found without importing
    anything (not even a parent: ``mlx.core`` lives in the namespace package ``mlx``), and
    not a namespace package that merely shares the name (a folder called `torch`)."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
        for i in range(len(rest)):
            if spec is None or not spec.submodule_search_locations:
                return False
            spec = importlib.machinery.PathFinder.find_spec(
                ".".join([top, *rest[:i + 1]]), list(spec.submodule_search_locations))
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None


def _declaration(module: str) -> dict | None:
    """The module's ``LRCORE_BACKEND`` literal, read from its source; None if it has none."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise SpecError(f"{module}", "must be an installed Python module declaring "
                        "LRCORE_BACKEND", module)
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read(), spec.origin)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "LRCORE_BACKEND" for t in node.targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                raise SpecError(f"{module}.LRCORE_BACKEND", "must be a literal (read "
                                "without importing the module)", "...") from None
    return None


def _check(module: str, decl: Any) -> list[Backend]:
    where = f"{module}.LRCORE_BACKEND"
    if not isinstance(decl, dict):
        raise SpecError(where, "must be a dict literal", decl)
    for key, value in decl.items():
        if key not in FIELDS:
            raise SpecError(f"{where}.{key}", "is not a declaration key; use one of "
                            + ", ".join(FIELDS), key)
        if not isinstance(value, FIELDS[key]):
            raise SpecError(f"{where}.{key}", f"must be a {FIELDS[key].__name__}", value)
    for key in ("backends", "values"):
        if key not in decl:
            raise SpecError(f"{where}.{key}", "is required")
    out = []
    for name, info in decl["backends"].items():
        path = f"{where}.backends.{name}"
        if not isinstance(info, dict):
            raise SpecError(path, "must be a dict with dtype and needs", info)
        for key, value in info.items():
            if key not in _PER_BACKEND or not isinstance(value, _PER_BACKEND[key]):
                raise SpecError(f"{path}.{key}", "must be one of dtype (str), needs (list), "
                                "env (dict)", value)
        if info.get("dtype") not in DTYPES:
            raise SpecError(f"{path}.dtype", "must be float32 or float64", info.get("dtype"))
        out.append(Backend(
            name=name, dtype=info["dtype"], needs=tuple(info.get("needs", ())), module=module,
            values_function=decl["values"], env=tuple(sorted(info.get("env", {}).items())),
            env_defaults=tuple(sorted(decl.get("env_defaults", {}).items())),
            here=decl.get("here"), order=decl.get("order", 100)))
    return out


def _modules() -> list[str]:
    """Modules that may declare backends: core, the adapters, then entry points."""
    mods = ["lrcore.parity"]
    adapters = importlib.util.find_spec("lrcore.adapters")
    if adapters is not None and adapters.submodule_search_locations:
        mods += sorted(f"lrcore.adapters.{m.name}" for m in
                       pkgutil.iter_modules(adapters.submodule_search_locations)
                       if not m.name.startswith("_"))
    mods += [ep.value for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.value not in mods]
    return mods


_REGISTRY_LOCK = threading.Lock()


def _registry() -> tuple[tuple[Backend, ...], Mapping[str, str]]:
    # one thread reads the declarations, the others wait for its result: CPython 3.11's
    # ast.parse is not safe in concurrent threads (SystemError "AST constructor recursion
    # depth mismatch", seen with eight threads calling to_optax at once)
    with _REGISTRY_LOCK:
        return _read_registry()


@functools.cache
def _read_registry() -> tuple[tuple[Backend, ...], Mapping[str, str]]:
    found: dict[str, Backend] = {}
    exported: dict[str, str] = {}
    for module in _modules():
        decl = _declaration(module)
        if decl is None:
            continue
        for backend in _check(module, decl):
            if backend.name in found:
                raise SpecError(f"{module}.LRCORE_BACKEND.backends", "must not redeclare "
                                f"a backend of {found[backend.name].module}", backend.name)
            found[backend.name] = backend
        for name in decl.get("exports", []):
            exported.setdefault(name, module)
    ordered = sorted(found.values(), key=lambda b: b.order)  # stable: declaration order
    return tuple(ordered), exported


def all_backends() -> tuple[Backend, ...]:
    """Every declared backend, installed or not, in table order."""
    return _registry()[0]


def names() -> tuple[str, ...]:
    return tuple(b.name for b in all_backends())


def get(name: str) -> Backend:
    for b in all_backends():
        if b.name == name:
            return b
    raise SpecError("backends", "must be among " + ", ".join(names()), name)


def available() -> list[str]:
    """The backends whose frameworks are installed here."""
    return [b.name for b in all_backends() if b.installed]


def exports() -> Mapping[str, str]:
    """Public entry points (``to_torch``, ...) and the module defining each."""
    return _registry()[1]


def segments(t: np.ndarray, reports: Sequence | None) -> list:
    """For a values function: sorted steps split at report steps, ``[(reports due
    first, steps), ...]``; a report at step s applies from the first step >= s on."""
    reports = list(reports or [])
    cuts = np.searchsorted(t, [int(s) for s, _ in reports], side="left")
    out: list = []
    pending: list = []
    start = 0
    for item, cut in zip(reports, cuts.tolist()):
        if cut > start:
            out.append((pending, t[start:cut]))
            pending, start = [], cut
        pending.append(item)
    out.append((pending, t[start:]))
    return out


def blocks(t: np.ndarray, size: int) -> list[tuple[np.ndarray, int]]:
    """For a values function on a framework that compiles each operation per shape (JAX
    compiles an eager op for every new input shape): ``t`` cut into blocks of exactly
    ``size`` steps, the last one padded with copies of its last step, each with the
    number of its steps taken from ``t`` (the padding's values are dropped). Every call
    then has one shape, whatever the spec's grid, so each op compiles once per run."""
    out = []
    for start in range(0, t.size, size):
        part = t[start:start + size]
        n = int(part.size)
        if n < size:
            part = np.concatenate([part, np.full(size - n, part[-1], dtype=part.dtype)])
        out.append((part, n))
    return out
