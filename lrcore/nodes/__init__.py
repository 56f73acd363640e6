"""Every node type, one module each: a family's formula lives in its own module.

Modules here are imported on ``import lrcore`` and register themselves by subclassing
:class:`lrcore.node.Node`; adding a family means adding one module.
"""

from __future__ import annotations

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
