"""lrcore: one learning-rate schedule spec, the same curve in Keras, PyTorch and optax.

``import lrcore`` loads numpy and PyYAML only; the framework adapters load their
framework when first used (``lrcore.to_torch``, ``lrcore.to_keras``, ``lrcore.to_optax``,
and every other backend's entry points, found by :mod:`lrcore.backends`). Once keras is
imported (before or after lrcore), lrcore's Keras classes are registered with it, so
``keras.models.load_model`` finds them.

Builders mirror every node type: ``lrcore.cosine(start=1e-3, end=0.0, duration=1000)``,
``lrcore.sequence(phases=[...])``; each returns a frozen, validated node.
"""

from __future__ import annotations

from typing import Any

from . import nodes as _nodes  # noqa: F401 - registers every node type
from .document import FORMAT_VERSION, Schedule, dump, dumps, load
from .errors import SpecError
from .evaluate import compile_spec, evaluate, grid
from .node import REGISTRY, Node

__version__ = "0.1.0"

# What `from lrcore import *` binds: core only (a star import of every backend's entry
# points would import every framework). dir(lrcore) also lists the backends' entry points.
__all__ = ["FORMAT_VERSION", "Node", "Schedule", "SpecError", "compile_spec", "dump", "dumps",
           "evaluate", "grid", "load", "from_fvcore", "from_keras", "from_torch",
           *sorted(REGISTRY)]

_IMPORTERS = {"from_torch": "lrcore.importers.torch", "from_keras": "lrcore.importers.keras",
              "from_fvcore": "lrcore.importers.fvcore"}
_LAZY_MODULES = {"parity", "testing", "presets", "adapters", "importers", "schema", "backends"}


def __getattr__(name: str) -> Any:
    if name in REGISTRY:  # builders: lrcore.cosine(...) is the Cosine node class
        return REGISTRY[name]
    if name.startswith("to_"):
        import importlib

        from .backends import exports

        if name in exports():
            return getattr(importlib.import_module(exports()[name]), name)
    if name in _IMPORTERS:
        import importlib

        return getattr(importlib.import_module(_IMPORTERS[name]), name)
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"lrcore.{name}")
    raise AttributeError(f"module 'lrcore' has no attribute {name!r}")


def __dir__() -> list[str]:
    from .backends import exports  # backends' entry points, from the registry

    return sorted(set(globals()) | set(__all__) | set(exports()))


# Keras loads a model file's lrcore classes only if they are registered, and never imports
# lrcore itself: register them once keras is imported (now, or right after its import).
# This imports no framework: lrcore.adapters.keras is imported only after keras is.
from . import _post_import  # noqa: E402

_post_import.import_after("keras", "lrcore.adapters.keras")
