"""``dir(lrcore)`` is the public API, exactly: what a new user finds by exploring the
module (the README's names: ``parity``, ``presets``, ``testing``, ``adapters``, the
builders, the ``to_*`` entry points), and none of the internal modules."""

from __future__ import annotations

import subprocess
import sys

import lrcore

PUBLIC = [
    "FORMAT_VERSION", "Node", "Schedule", "SpecError", "__version__",
    # public submodules, imported on first use
    "adapters", "backends", "importers", "parity", "presets", "schema", "testing",
    # functions
    "compile_spec", "dump", "dumps", "evaluate", "from_fvcore", "from_keras", "from_torch",
    "grid", "load",
    # the backends' entry points (declared by the adapters, listed without a framework)
    "to_keras", "to_keras_optimizer", "to_mlx", "to_mlx_optimizer", "to_optax",
    "to_optax_optimizer", "to_torch",
    # a builder per node type
    "clip", "constant", "cosine", "cosine_restarts", "cyclic", "every", "exponential",
    "inverse_sqrt", "inverse_time", "linear", "multistep", "offset", "onecycle",
    "onecycle_momentum", "piecewise_constant", "piecewise_linear", "plateau", "polynomial",
    "repeat", "scale", "sequence", "shift", "step", "warmup_stable_decay",
]


def test_dir_lists_exactly_the_public_api():
    assert dir(lrcore) == sorted(PUBLIC)


def test_internal_modules_are_not_listed_even_once_imported():
    import lrcore.fields
    import lrcore.formulas
    import lrcore.node
    import lrcore.ops  # noqa: F401

    for name in ("fields", "formulas", "node", "ops", "nodes", "document", "errors",
                 "annotations", "Any", "REGISTRY"):
        assert name not in dir(lrcore), name


def test_every_listed_name_resolves():
    for name in PUBLIC:
        if name.startswith("to_") or name in ("adapters",):
            continue  # these import a framework (tested in each framework's env)
        assert getattr(lrcore, name) is not None, name


def test_star_import_binds_no_framework_entry_point():
    code = "from lrcore import *; print(sorted(k for k in dir() if not k.startswith('_')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "to_torch" not in out and "load" in out and "cosine" in out


def test_type_checkers_see_every_lazy_name():
    """The ``if TYPE_CHECKING:`` imports of lrcore/__init__.py name every lazily provided
    public name (builders, entry points, importers, submodules), so a type checker and
    an editor know what ``lrcore.cosine`` or ``lrcore.to_torch`` is."""
    import ast
    from pathlib import Path

    from lrcore.backends import exports
    from lrcore.node import REGISTRY

    tree = ast.parse(Path(lrcore.__file__).read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If)
                 and ast.unparse(n.test) == "TYPE_CHECKING")
    seen = {a.asname or a.name for n in block.body for a in n.names}
    lazy = {*REGISTRY, *exports(), "from_torch", "from_keras", "from_fvcore", *lrcore._LAZY_MODULES}
    assert seen == lazy
    # __all__ is a literal (type checkers read only literals): every builder is in it
    assert set(lrcore.__all__) - set(REGISTRY) == {
        "FORMAT_VERSION", "Node", "Schedule", "SpecError", "compile_spec", "dump", "dumps",
        "evaluate", "grid", "load", "from_fvcore", "from_keras", "from_torch"}
    assert set(REGISTRY) <= set(lrcore.__all__)
