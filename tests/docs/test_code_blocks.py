"""Every code block of the README and of the documentation pages (docs/) runs, or says
why it cannot.

* ``console`` blocks: every ``$ command`` runs through bash, as a reader would paste it, in
  a scratch directory that holds the files the commands name (``docs/warmup_cosine.yaml``,
  a catalog spec, ``examples/``, a ``specs/`` folder and the ``bad.yaml`` of the error
  example), and prints what the page shows. In the shown output, ``...`` stands for any
  text on its line, and a line that is only ``...`` for any number of lines; everything
  else must match exactly (trailing spaces aside). Fingerprints, ulps and rates are
  printed by the code, so a change that moves them fails here until the page says the
  new numbers.
* ``python`` blocks: a page's blocks run in order, in one namespace, in a fresh process
  (Keras on its jax backend), in the same kind of scratch directory.
* ``yaml`` and ``json`` blocks that are spec documents (a top-level ``lrcore`` key) load.
* ``bash`` blocks are set-up commands (virtualenvs, installs, downloads): each says why it
  is not run here, and the env that runs its equivalent.

A block that cannot run here (it trains with a framework the docs env does not install,
downloads packages, or is a fragment of the reader's own loop) is preceded by the line
``<!-- not run: REASON -->``, and the reason must say why; the behaviour it shows is then
tested by the env the reason names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from rates import BAD_RATE

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: Languages a block may be written in; RUN blocks run (or say why not), the rest are shown.
RUN = {"console", "python", "bash"}
KNOWN = RUN | {"yaml", "json", "text", "ini", "toml", "pycon"}
_NOT_RUN = re.compile(r"^<!-- not run: (.+) -->$")



@dataclass
class Block:
    page: Path
    line: int            # of the opening fence
    lang: str
    text: str
    not_run: str | None  # the reason, when marked

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    out: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if not opening:
            i += 1
            continue
        indent, lang = len(opening.group(1)), opening.group(2)
        before = lines[i - 1].strip() if i else ""
        marked = _NOT_RUN.match(before)
        body = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            body.append(lines[j][indent:])
            j += 1
        out.append(Block(page, i + 1, lang, "\n".join(body) + "\n",
                         marked.group(1).strip() if marked else None))
        i = j + 1
    return out


ALL = [b for page in PAGES for b in blocks(page)]


def _ids(items):
    return [getattr(b, "where", str(b)) for b in items]


# ---- every block: a known language; a runnable one runs or says why not ---------------

def test_the_pages_have_runnable_examples():
    run = [b for b in ALL if b.lang in RUN and b.not_run is None]
    assert len([b for b in run if b.lang == "console"]) >= 9
    assert len([b for b in run if b.lang == "python"]) >= 15
    assert any(b.page.name == "README.md" for b in run)


@pytest.mark.parametrize("block", ALL, ids=_ids(ALL))
def test_every_block_has_a_known_language(block):
    assert block.lang in KNOWN, (
        f"{block.where}: a ``` block needs a language, one of {sorted(KNOWN)} "
        f"(text for output, diagrams and messages), got {block.lang!r}")


@pytest.mark.parametrize("block", [b for b in ALL if b.lang == "bash"],
                         ids=_ids([b for b in ALL if b.lang == "bash"]))
def test_a_bash_block_is_marked(block):
    assert block.not_run is not None, (
        f"{block.where}: a bash block is a set-up command: mark it <!-- not run: REASON -->, "
        "or show a command and its output as a console block (those run)")


@pytest.mark.parametrize("block", [b for b in ALL if b.not_run is not None],
                         ids=_ids([b for b in ALL if b.not_run is not None]))
def test_a_block_not_run_says_why(block):
    assert block.lang in RUN, f"{block.where}: only code blocks are run; drop the marker"
    assert len(block.not_run.split()) >= 4, f"{block.where}: say why it is not run"


# ---- the scratch directory and the environment ----------------------------------------

def _scratch(where: Path) -> Path:
    """The files the pages' examples name, as they lie in a clone."""
    (where / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "warmup_cosine.yaml", where / "docs")
    catalog = where / "tests" / "parity" / "catalog"
    catalog.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "parity" / "catalog" / "cosine_decay.yaml", catalog)
    shutil.copytree(ROOT / "examples", where / "examples")
    (where / "specs").mkdir()
    shutil.copy(ROOT / "docs" / "warmup_cosine.yaml", where / "specs")
    (where / "bad.yaml").write_text(BAD_RATE, encoding="utf-8")
    return where


def _env() -> dict[str, str]:
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", COLUMNS="100", KERAS_BACKEND="jax",
                PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                      os.environ.get("PATH", "")]))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return _scratch(tmp_path_factory.mktemp("docs"))


# ---- console blocks -------------------------------------------------------------------

def _console_examples() -> list[tuple[str, str, list[str]]]:
    """(page:line, command, expected output lines) of every ``$`` command."""
    examples: list[tuple[str, str, list[str]]] = []
    for block in ALL:
        if block.lang != "console" or block.not_run is not None:
            continue
        for offset, line in enumerate(block.text.splitlines(), 1):
            if line.startswith("$ "):
                where = f"{block.page.relative_to(ROOT)}:{block.line + offset}"
                examples.append((where, line[2:], []))
            elif examples and examples[-1][1].endswith("\\"):
                n, cmd, out = examples[-1]
                examples[-1] = (n, cmd[:-1] + " " + line.strip(), out)
            else:
                assert examples, f"{block.where}: output before the first `$ ` command"
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


@pytest.mark.parametrize("where,command,expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_console_example(scratch, where, command, expected):
    proc = subprocess.run(["bash", "-c", command + " 2>&1"], cwd=scratch, env=_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    got = "".join(ln.rstrip() + "\n" for ln in proc.stdout.rstrip("\n").splitlines())
    assert _pattern(expected).fullmatch(got), (
        f"{where}: `{command}` printed\n{got}\nbut the page shows\n" + "\n".join(expected))


# ---- python blocks: one process per page, the blocks in order --------------------------

_RUNNER = """\
import json, sys, traceback
namespace = {"__name__": "__main__"}
for where, code in json.load(sys.stdin):
    try:
        exec(compile(code, where, "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        sys.exit(f"the block at {where} failed")
"""

PY_PAGES = sorted({b.page for b in ALL if b.lang == "python" and b.not_run is None})


@pytest.mark.parametrize("page", PY_PAGES, ids=[str(p.relative_to(ROOT)) for p in PY_PAGES])
def test_python_blocks(tmp_path, page):
    code = [(b.where, b.text) for b in blocks(page) if b.lang == "python" and b.not_run is None]
    proc = subprocess.run([sys.executable, "-c", _RUNNER], input=json.dumps(code),
                          cwd=_scratch(tmp_path), env=_env(), capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---- spec documents shown as YAML or JSON load -------------------------------------------

def _is_spec(block: Block) -> bool:
    if block.lang not in ("yaml", "json"):
        return False
    try:
        data = yaml.safe_load(block.text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and "lrcore" in data


SPECS = [b for b in ALL if _is_spec(b)]


@pytest.mark.parametrize("block", SPECS, ids=_ids(SPECS))
def test_spec_document_loads(block):
    import lrcore

    spec = lrcore.load(block.text)
    assert lrcore.load(spec.to_dict()) == spec


# ---- nothing points outside the repository ---------------------------------------------

def test_links_stay_inside_the_repository():
    """Every relative link of the README and the pages names a file of this repository
    (the site build checks the pages' links among themselves; this also covers the
    README, whose links are read on a code host)."""
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text("utf-8")):
            if re.match(r"^[a-z]+:", target):  # https:, mailto:
                continue
            path = (page.parent / target).resolve()
            assert path.is_relative_to(ROOT), f"{page.relative_to(ROOT)}: {target}"
            assert path.exists(), f"{page.relative_to(ROOT)}: {target} does not exist"


def test_no_file_refers_to_a_path_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    outside = re.compile(r"\.\./shared|/work/(?:main|wt|shared)\b")
    for name in files:
        path = ROOT / name
        if path.suffix in (".png", ".whl") or not path.is_file():
            continue
        text = path.read_text("utf-8", errors="replace")
        assert not outside.search(text), name
