"""Import one module right after another is first imported (a post-import hook, the
technique of ``wrapt.register_post_import_hook``), without importing either now.

``import lrcore`` uses it so that ``keras.models.load_model`` finds lrcore's Keras classes
whichever of ``lrcore`` and ``keras`` is imported first: Keras only imports ``keras*``
modules while it loads a file, so lrcore's classes must be registered beforehand.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import warnings
from typing import Any

__all__ = ["import_after"]


def import_after(trigger: str, module: str) -> None:
    """Import ``module`` once ``trigger`` is imported: now if it already is, else right
    after its first import completes (a ``sys.meta_path`` finder that removes itself)."""
    loaded = sys.modules.get(trigger)
    if loaded is not None:
        if not getattr(getattr(loaded, "__spec__", None), "_initializing", False):
            _run(trigger, module)
        return  # still initializing: a finder would never be asked again
    for finder in sys.meta_path:
        if isinstance(finder, _Finder) and finder.trigger == trigger:
            if module not in finder.modules:
                finder.modules.append(module)
            return
    sys.meta_path.insert(0, _Finder(trigger, module))


def _run(trigger: str, module: str) -> None:
    try:
        importlib.import_module(module)
    except Exception as err:  # never break the user's own import of the trigger
        warnings.warn(f"lrcore could not import {module} after {trigger} ({err!r}); import "
                      f"it yourself to use lrcore with {trigger}", RuntimeWarning,
                      stacklevel=2)


class _Finder(importlib.abc.MetaPathFinder):
    """Answers for ``trigger`` only: the spec the other finders give, with a loader that
    runs the hook once the module has executed."""

    def __init__(self, trigger: str, module: str) -> None:
        self.trigger, self.modules = trigger, [module]

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.trigger:
            return None
        for finder in sys.meta_path:  # the spec the import would get without this finder
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None  # a namespace package or a legacy loader: left alone
        spec.loader = _Loader(spec.loader, self)
        return spec

    def fire(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        for module in self.modules:
            _run(self.trigger, module)


class _Loader(importlib.abc.Loader):
    def __init__(self, loader: Any, finder: _Finder) -> None:
        self.loader, self.finder = loader, finder

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        # the module keeps its real loader (importlib.resources and others read it)
        module.__loader__ = self.loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.finder.fire()  # not reached when the import failed: a retry fires
