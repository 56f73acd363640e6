"""The README's command-line examples are true: every ``$ command`` in a ``console``
block runs, and prints what the README shows.

The commands run through bash, as a reader would paste them, in a scratch directory
that holds the files they name (``docs/warmup_cosine.yaml``, a catalog spec, a
``specs/`` folder and the ``bad.yaml`` of the error example). In the README's output,
``...`` stands for any text on its line, and a line that is only ``...`` for any number
of lines; everything else must match exactly (trailing spaces aside). Fingerprints, ulps
and rates are printed by the code, so a change to a formula or to the canonical form
that moves them fails here until the README says the new numbers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import BAD_RATE

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

def _console_examples() -> list[tuple[int, str, list[str]]]:
    """(README line, command, expected output lines) of every ``$`` command."""
    examples: list[tuple[int, str, list[str]]] = []
    block = None
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if block is None:
            if line.strip() == "```console":
                block = []
            continue
        if line.strip() == "```":
            block = None
            continue
        if line.startswith("$ "):
            examples.append((number, line[2:], []))
        elif examples and examples[-1][1].endswith("\\"):
            n, cmd, out = examples[-1]
            examples[-1] = (n, cmd[:-1] + " " + line.strip(), out)
        else:
            examples[-1][2].append(line)
    return examples


EXAMPLES = _console_examples()


def _pattern(expected: list[str]) -> re.Pattern[str]:
    while expected and not expected[-1].strip():  # the blank line before the next `$`
        expected = expected[:-1]
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*".join(map(re.escape, line.rstrip().split("..."))) + r"\n")
    return re.compile("".join(parts))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A directory with the files the README's commands name."""
    where = tmp_path_factory.mktemp("readme")
    (where / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "warmup_cosine.yaml", where / "docs")
    catalog = where / "tests" / "parity" / "catalog"
    catalog.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "parity" / "catalog" / "cosine_decay.yaml", catalog)
    (where / "specs").mkdir()
    shutil.copy(ROOT / "docs" / "warmup_cosine.yaml", where / "specs")
    (where / "bad.yaml").write_text(BAD_RATE, encoding="utf-8")
    return where


def test_the_readme_has_console_examples():
    commands = [cmd for _, cmd, _ in EXAMPLES]
    assert len(commands) >= 9, commands


@pytest.mark.parametrize("line,command,expected", EXAMPLES,
                         ids=[f"README:{e[0]}" for e in EXAMPLES])
def test_readme_console_example(scratch, line, command, expected):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", COLUMNS="100",
               PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                     os.environ.get("PATH", "")]))
    proc = subprocess.run(["bash", "-c", command + " 2>&1"], cwd=scratch, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    got = "".join(ln.rstrip() + "\n" for ln in proc.stdout.rstrip("\n").splitlines())
    assert _pattern(expected).fullmatch(got), (
        f"README line {line}: `{command}` printed\n{got}\nbut the README shows\n"
        + "\n".join(expected))
