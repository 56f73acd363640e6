"""pytest plugin: ``pytest --lrcore-specs DIR`` checks every spec file in DIR for parity.

Installed with lrcore (the ``pytest11`` entry point), inactive until the option is given.
Each ``.yaml``/``.yml``/``.json`` file in DIR becomes one test, ``DIR/name.yaml::parity``,
that runs :func:`lrcore.testing.assert_parity` on it; a failure shows the parity table
(backend, worst step, reference, value, error in ulps), an invalid spec the field path.

Options: ``--lrcore-backends`` (default: every installed backend), ``--lrcore-steps``,
``--lrcore-rtol``, ``--lrcore-atol`` (default: by dtype, see :mod:`lrcore.parity`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lrcore", "lrcore schedule parity")
    group.addoption("--lrcore-specs", action="append", default=[], metavar="DIR",
                    help="check every spec file (.yaml, .yml, .json) in DIR for parity "
                         "across backends, one test per file (may be repeated)")
    group.addoption("--lrcore-backends", default=None, metavar="NAME[,NAME...]",
                    help="backends for --lrcore-specs (default: every installed one)")
    group.addoption("--lrcore-steps", type=int, default=None, metavar="N",
                    help="check every step up to N (default: each spec's horizon)")
    group.addoption("--lrcore-rtol", type=float, default=None, metavar="R",
                    help="relative tolerance for every backend (default: by dtype)")
    group.addoption("--lrcore-atol", type=float, default=None, metavar="A",
                    help="absolute tolerance, as a share of the peak (default: by dtype)")


def _spec_dirs(config: pytest.Config) -> list[Path]:
    base = config.invocation_params.dir
    return [(base / d).resolve() for d in config.getoption("lrcore_specs") or ()]


def pytest_configure(config: pytest.Config) -> None:
    for d in _spec_dirs(config):
        if not d.is_dir():
            raise pytest.UsageError(f"--lrcore-specs: {d} is not a directory")
        if not any(f.suffix.lower() in SPEC_SUFFIXES for f in d.iterdir() if f.is_file()):
            raise pytest.UsageError(f"--lrcore-specs: {d} has no spec files "
                                    "(.yaml, .yml or .json)")
    backends = config.getoption("lrcore_backends")
    if backends is not None:
        from lrcore.backends import names

        for name in backends.split(","):
            if name.strip() not in names():
                raise pytest.UsageError(f"--lrcore-backends: {name.strip()!r} is not a "
                                        "backend; known: " + ", ".join(names()))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """Add one collector per --lrcore-specs directory to the session's children."""
    outcome = yield  # old-style wrapper: works on every pytest from 7.0 on
    report = outcome.get_result()
    if isinstance(collector, pytest.Session) and report.passed:
        root = collector.config.rootpath
        for d in _spec_dirs(collector.config):
            name = str(d.relative_to(root)) if d.is_relative_to(root) else str(d)
            report.result.append(SpecDir.from_parent(collector, name=name, path=d))


class SpecDir(pytest.Collector):
    """A --lrcore-specs directory: its spec files, sorted by name (not recursive)."""

    def collect(self):
        for f in sorted(self.path.iterdir()):
            if f.is_file() and f.suffix.lower() in SPEC_SUFFIXES:
                yield SpecFile.from_parent(self, path=f)


class SpecFile(pytest.File):
    """One spec file: a single parity test."""

    def collect(self):
        yield ParityItem.from_parent(self, name="parity")


class ParityItem(pytest.Item):
    """Runs :func:`lrcore.testing.assert_parity` on the file with the plugin's options."""

    def runtest(self) -> None:
        from lrcore.testing import assert_parity

        opt = self.config.getoption
        raw = opt("lrcore_backends")
        backends = [b.strip() for b in raw.split(",") if b.strip()] if raw else None
        assert_parity(self.path, backends=backends, steps=opt("lrcore_steps"),
                      rtol=opt("lrcore_rtol"), atol=opt("lrcore_atol"))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        from lrcore.errors import SpecError
        from lrcore.parity import ParityError

        if isinstance(excinfo.value, ParityError):
            return str(excinfo.value)
        if isinstance(excinfo.value, SpecError):
            return f"invalid spec {self.path}: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"lrcore parity: {self.path.name}"
