"""CLI tests: pytester (to run the pytest plugin in a scratch project) and spec files."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import BAD_RATE, STEP_JSON, WARMUP_COSINE


def pytest_configure(config: pytest.Config) -> None:
    """Enable the ``pytester`` fixture for these tests. ``pytest_plugins = ["pytester"]``
    here would break a whole-suite run from the root (pytest refuses pytest_plugins in
    a conftest below the rootdir); registering it here works both ways."""
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture(scope="session")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Spec files on disk: wc (YAML, named), step (JSON, unnamed), bad (negative rate)."""
    d = tmp_path_factory.mktemp("specs")
    out = {"wc": d / "warmup_cosine.yaml", "step": d / "halving.json",
           "bad": d / "bad_rate.yaml"}
    out["wc"].write_text(WARMUP_COSINE)
    out["step"].write_text(STEP_JSON)
    out["bad"].write_text(BAD_RATE)
    return out
