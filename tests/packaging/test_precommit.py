"""The ``lrcore-parity`` pre-commit hook (.pre-commit-hooks.yaml), run as a user runs it
first: ``pre-commit try-repo`` on this repository, in a project of their own. pre-commit
installs the hook's environment from the repository (lrcore's core, from the index)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from packaging_helpers import ROOT, run
from rates import BAD_RATE


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A user's git repository with specs (good and bad) and a YAML file elsewhere."""
    where = tmp_path_factory.mktemp("project")
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")),
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
               PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                     os.environ.get("PATH", "")]))
    (where / "specs").mkdir()
    shutil.copy(ROOT / "docs" / "warmup_cosine.yaml", where / "specs" / "good.yaml")
    (where / "specs" / "bad.yaml").write_text(BAD_RATE, encoding="utf-8")
    (where / "ci.yaml").write_text("jobs: {}\n", encoding="utf-8")
    for argv in (["git", "init", "-q"], ["git", "add", "."]):
        assert run(argv, cwd=where, env=env).returncode == 0
    return where, env


def _try(project, *files: str):
    where, env = project
    return run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "lrcore-parity",
                "--files", *files], cwd=where, env=env, timeout=900)


def test_a_good_spec_passes(project):
    proc = _try(project, "specs/good.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lrcore parity" in proc.stdout and "Passed" in proc.stdout


def test_a_bad_spec_fails_with_its_field_path(project):
    proc = _try(project, "specs/bad.yaml", "specs/good.yaml")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Failed" in proc.stdout
    assert "error: specs/bad.yaml: schedule.phases[0].end: must be >= 0, got -0.001" \
        in proc.stdout


def test_files_outside_specs_are_not_checked(project):
    proc = _try(project, "ci.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(no files to check)Skipped" in proc.stdout
