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

from typing import TYPE_CHECKING, Any

from . import nodes as _nodes  # noqa: F401 - registers every node type
from .document import FORMAT_VERSION, Schedule, dump, dumps, load
from .errors import SpecError
from .evaluate import compile_spec, evaluate, grid
from .node import REGISTRY, Node

__version__ = "0.1.0"

if TYPE_CHECKING:  # what type checkers and editors see of the lazy names; imports nothing
    import lrcore.adapters as adapters  # noqa: F401 - installed from adapters/ (pyproject)

    from . import backends, importers, parity, presets, schema, testing  # noqa: F401
    from .adapters.keras import to_keras as to_keras
    from .adapters.keras import to_keras_optimizer as to_keras_optimizer
    from .adapters.mlx import to_mlx as to_mlx
    from .adapters.mlx import to_mlx_optimizer as to_mlx_optimizer
    from .adapters.optax import to_optax as to_optax
    from .adapters.optax import to_optax_optimizer as to_optax_optimizer
    from .adapters.torch import to_torch as to_torch
    from .importers.fvcore import from_fvcore  # noqa: F401
    from .importers.keras import from_keras  # noqa: F401
    from .importers.torch import from_torch  # noqa: F401
    from .nodes.clip import Clip as clip  # noqa: F401
    from .nodes.constant import Constant as constant  # noqa: F401
    from .nodes.cosine import Cosine as cosine  # noqa: F401
    from .nodes.cosine_restarts import CosineRestarts as cosine_restarts  # noqa: F401
    from .nodes.cyclic import Cyclic as cyclic  # noqa: F401
    from .nodes.every import Every as every  # noqa: F401
    from .nodes.exponential import Exponential as exponential  # noqa: F401
    from .nodes.inverse_sqrt import InverseSqrt as inverse_sqrt  # noqa: F401
    from .nodes.inverse_time import InverseTime as inverse_time  # noqa: F401
    from .nodes.linear import Linear as linear  # noqa: F401
    from .nodes.multistep import MultiStep as multistep  # noqa: F401
    from .nodes.offset import Offset as offset  # noqa: F401
    from .nodes.onecycle import OneCycle as onecycle  # noqa: F401
    from .nodes.onecycle_momentum import OneCycleMomentum as onecycle_momentum  # noqa: F401
    from .nodes.piecewise_constant import PiecewiseConstant as piecewise_constant  # noqa: F401
    from .nodes.piecewise_linear import PiecewiseLinear as piecewise_linear  # noqa: F401
    from .nodes.plateau import Plateau as plateau  # noqa: F401
    from .nodes.polynomial import Polynomial as polynomial  # noqa: F401
    from .nodes.repeat import Repeat as repeat  # noqa: F401
    from .nodes.scale import Scale as scale  # noqa: F401
    from .nodes.sequence import Sequence as sequence  # noqa: F401
    from .nodes.shift import Shift as shift  # noqa: F401
    from .nodes.step import Step as step  # noqa: F401
    from .nodes.warmup_stable_decay import WarmupStableDecay as warmup_stable_decay  # noqa: F401

# What `from lrcore import *` binds: core only (a star import of every backend's entry
# points would import every framework). dir(lrcore) also lists the backends' entry points
# and the public submodules (_LAZY_MODULES).
__all__ = ["FORMAT_VERSION", "Node", "Schedule", "SpecError", "compile_spec", "dump", "dumps",
           "evaluate", "grid", "load", "from_fvcore", "from_keras", "from_torch",
           # a builder per node type (a literal list, so type checkers read it; a test
           # keeps it equal to the registry)
           "clip", "constant", "cosine", "cosine_restarts", "cyclic", "every", "exponential",
           "inverse_sqrt", "inverse_time", "linear", "multistep", "offset", "onecycle",
           "onecycle_momentum", "piecewise_constant", "piecewise_linear", "plateau",
           "polynomial", "repeat", "scale", "sequence", "shift", "step", "warmup_stable_decay"]

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
    """The public API only: what ``__all__`` binds, the version, the submodules a user
    reaches as ``lrcore.parity`` etc., and the backends' entry points (``to_torch``, ...,
    from the registry, without importing a framework). Internal modules (``fields``,
    ``node``, ``ops``, ...) stay importable but are not listed."""
    from .backends import exports

    return sorted({*__all__, "__version__", *_LAZY_MODULES, *exports()})


# Keras loads a model file's lrcore classes only if they are registered, and never imports
# lrcore itself: register them once keras is imported (now, or right after its import).
# This imports no framework: lrcore.adapters.keras is imported only after keras is.
from . import _post_import  # noqa: E402

_post_import.import_after("keras", "lrcore.adapters.keras")
