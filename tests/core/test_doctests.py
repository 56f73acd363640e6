"""Run the doctests of every lrcore module that needs no framework: the package, its
core modules and every node module (each family's docstring shows printed values).

Left to other envs: lrcore.adapters (frameworks), lrcore.parity (drives the adapters)
and lrcore.plot (matplotlib, the ``plot`` extra). Each module must pass all its
examples; every node module must hold at least one, and so must the package overall.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import lrcore
import lrcore.nodes

SKIP = {"lrcore.adapters", "lrcore.parity", "lrcore.plot"}


def _modules() -> list[str]:
    names = ["lrcore"]
    for pkg in (lrcore, lrcore.nodes):
        for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + "."):
            if info.name in SKIP or (info.ispkg and info.name != "lrcore.nodes"):
                continue
            names.append(info.name)
    return sorted(set(names))


MODULES = _modules()


def _run(name: str) -> doctest.TestResults:
    module = importlib.import_module(name)
    return doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    result = _run(name)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_doctests_exist():
    """Every node type's module is collected and shows an example; the whole package
    attempts examples (a runner that finds nothing proves nothing)."""
    node_modules = {cls.__module__ for cls in lrcore.REGISTRY.values()}
    assert node_modules <= set(MODULES)
    for name in sorted(node_modules):
        assert _run(name).attempted > 0, f"{name} has no doctest"
    assert sum(_run(name).attempted for name in MODULES) > len(node_modules)
