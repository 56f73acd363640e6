"""Fuzzing the ``lrcore`` command: every subcommand with random combinations of its
options, valid and hostile.

Inputs: spec files drawn from the valid-tree grammar, the mutated catalog and random
bytes (as ``.yaml``/``.json`` files, on stdin through ``-``, and as directories of them),
plus fixed hostile ones (mathtext and ``_`` names, a name that is not UTF-8, a missing
file, an empty name); option values that are valid, out of range (20- and 5000-digit
integers, negative numbers, NaN, inf), written in other scripts' digits, empty, or
random text; titles with mathtext, lone surrogates and control characters; output names
with odd suffixes, missing folders, NUL and non-UTF-8 bytes.

Oracle: the CLI's contract. The exit status is 0, 2 (bad input) or, for ``parity`` only,
1; never 3 (an internal error), never an exception or a warning escaping (pytest makes
warnings errors, and the command turns an escaped one into exit 3), never a traceback
in the output; an exit 2 says why on stderr in at most four short lines. Most inputs run
in process through click's ``CliRunner`` (stdout strict UTF-8, as in a UTF-8 locale); a
few run ``python -m lrcore.cli`` in a fresh process with real bytes in argv and random
bytes on stdin. Budget: the hypothesis profile's (CI small, ``tox -e fuzz`` large); the
number of inputs tried is printed in the terminal summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hardening_helpers import ODD_STRINGS, count, mutated_docs, valid_docs
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lrcore.cli import cli

pytest.importorskip("matplotlib")

MAX_STEP = 2**31 - 1
#: One in-process command; a hang detector, not a benchmark (plots with an error panel
#: compile XLA on the first call).
SECONDS_PER_COMMAND = 30.0
#: In-process inputs: half the profile's budget (CI 100, fuzz 10 000); fresh processes
#: cost a second each: a fiftieth (CI 4, fuzz 400).
EXAMPLES = max(10, settings.default.max_examples // 2)
PROCESS_EXAMPLES = max(3, settings.default.max_examples // 50)
#: Backends that answer fast in process; Keras ones may start a subprocess each.
FAST_BACKENDS = ["reference", "python", "optax", "optax-x64"]

BIG = "9" * 5000
HOSTILE_INTS = ["0", "-1", "-0", "99999999999999999999", BIG, "١٢", "１２", "²", "1_0",
                "0x10", "1e3", "", " ", "nan", "+5", " 7 ", "\x00", "\ud800", "12ep"]
HOSTILE_FLOATS = ["nan", "-nan", "inf", "-inf", "1e400", "-1", "0", "1e-400", "٣", "1,5",
                  "", "0x1p3", "Infinity", "100000", BIG]
MATHTEXT = ["$x^$", "$\\frac{", "a$b", "$\\alpha$", "$$", "\\", "_hidden", "$\\undefined$",
            "${}^{}$", "$" * 9]
ODD_TEXT = ["", " ", "\n", "a\nb", "\x1b[31mred", "\ud800", "\udcff", "\x00", "é😀",
            "x" * 3000, "\u202e", "\t"]


def _either(valid: st.SearchStrategy, bad: bool, *hostile: st.SearchStrategy):
    """``valid`` in a clean run; valid or hostile (evenly) in a hostile one."""
    return st.one_of(valid, *hostile) if bad else valid


def _ints(lo: int, hi: int, bad: bool) -> st.SearchStrategy[str]:
    return _either(st.integers(lo, hi).map(str), bad, st.sampled_from(HOSTILE_INTS),
                   st.integers(-(2**70), 2**70).map(str), st.text(max_size=6))


def _floats(lo: float, hi: float, bad: bool) -> st.SearchStrategy[str]:
    return _either(st.floats(lo, hi).map(repr), bad, st.sampled_from(HOSTILE_FLOATS),
                   st.floats().map(repr), st.text(max_size=6))


#: Titles: any text is a valid title (mathtext, control characters, surrogates).
TITLES = st.one_of(st.text(max_size=30), st.sampled_from(MATHTEXT + ODD_TEXT + ODD_STRINGS))


def _total_steps(bad: bool) -> st.SearchStrategy[str]:
    valid = st.one_of(st.integers(1, 10**7).map(str),
                      st.integers(1, 50).map(lambda n: f"{n}ep"))
    return _either(valid, bad, st.sampled_from(["50%", "0ep", "99999999999999999999ep",
                                                "٣ep"]), _ints(1, MAX_STEP, bad))


def _eval_steps(bad: bool) -> st.SearchStrategy[str]:
    num = _either(st.integers(0, 3000).map(str), bad,
                  st.integers(-(2**70), 2**70).map(str),
                  st.sampled_from(["", " ", "١٢", BIG, "1_0", "x"]))
    item = st.one_of(num, st.lists(num, min_size=2, max_size=3).map(":".join))
    return _either(st.lists(item, min_size=1, max_size=3).map(",".join), bad,
                   st.sampled_from(["0:20000000", "0:99999999999999999999",
                                    "2147483640:2147483660", "::", ",", "5:1"]))


def _backends(bad: bool) -> st.SearchStrategy[str]:
    names = _either(st.sampled_from(FAST_BACKENDS), bad,
                    st.sampled_from(["", "nope", "keras-nope", "OPTAX", " python"]))
    return st.lists(names, min_size=1, max_size=3).map(",".join)


# ---- spec files ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """Fixed spec files: valid (YAML, JSON, epochs), named with mathtext, ``_`` and a
    name that is not UTF-8, invalid, empty; a folder of specs and an empty folder."""
    d = tmp_path_factory.mktemp("cli_fuzz")
    wc = ("lrcore: 1\nname: warmup-cosine\ntotal_steps: 300\nschedule:\n  type: sequence\n"
          "  phases:\n    - {type: linear, start: 0.0, end: 0.001, duration: 20}\n"
          "    - {type: cosine, start: 0.001, end: 0.0}\n")
    files = {
        "wc.yaml": wc,
        "step.json": '{"lrcore": 1, "schedule": {"type": "step", "start": 0.1, '
                     '"factor": 0.5, "every": 70}}',
        "epochs.yaml": "lrcore: 1\nschedule: {type: linear, start: 0.1, end: 0.0, "
                       "duration: 3ep}\n",
        "zero.yaml": "lrcore: 1\nschedule: {type: constant, value: 0.0, duration: 50}\n",
        "long.yaml": "lrcore: 1\nschedule: {type: cosine, start: 0.1, duration: 2000000000}\n",
        "bad.yaml": "lrcore: 1\nschedule: {type: constant, value: -1}\n",
        "empty.yaml": "",
    }
    for i, name in enumerate(MATHTEXT):
        files[f"math{i}.json"] = json.dumps({"lrcore": 1, "name": name, "schedule": {
            "type": "constant", "value": 0.1, "duration": 30}})
    for name, text in files.items():
        (d / name).write_text(text, encoding="utf-8")
    with open(os.fsencode(d) + b"/latin\xe9.yaml", "w") as fh:  # not UTF-8
        fh.write(wc)
    (d / "dir").mkdir()
    (d / "dir" / "a.yaml").write_text(wc)
    (d / "dir" / "b.json").write_text(files["step.json"])
    (d / "nothing").mkdir()
    return d


#: Spec arguments that load (or are a folder of specs that load).
GOOD_SPECS = ["wc.yaml", "step.json", "zero.yaml", *[f"math{i}.json"
                                                     for i in range(len(MATHTEXT))],
              b"latin\xe9.yaml", "dir"]
#: And ones that need context, are too long to print whole, or are bad input.
ODD_SPECS = ["epochs.yaml", "long.yaml", "bad.yaml", "empty.yaml", "nothing", "missing.yaml",
             "", "-"]


def _dump(doc, fmt: str) -> bytes:
    try:
        if fmt == "json":
            return json.dumps(doc).encode("utf-8", "surrogatepass")
        return yaml.safe_dump(doc, allow_unicode=True).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError, yaml.YAMLError, RecursionError):
        return b"lrcore: 1\n"


@st.composite
def spec_args(draw, workdir: Path, several: bool, bad: bool) -> tuple[list, bytes | None]:
    """SPEC arguments (one, or several for plot/parity) and the stdin they may read."""
    n = draw(st.integers(1, 3)) if several else 1
    kinds = ["fixed", "fixed", "valid", "mutated", "bytes", "stdin"] if bad else \
        ["fixed", "valid", "stdin"]
    args, stdin = [], None
    for k in range(n):
        kind = draw(st.sampled_from(kinds))
        if kind == "stdin" and stdin is not None:  # stdin is read once
            kind = "valid"
        if kind == "fixed":
            name = draw(st.sampled_from(GOOD_SPECS + (ODD_SPECS if bad else [])))
            args.append(name if name in ("", "-") else
                        (os.fsencode(workdir) + b"/" + name if isinstance(name, bytes)
                         else str(workdir / name)))
            continue
        if kind == "mutated":
            data = _dump(draw(mutated_docs()), draw(st.sampled_from(["json", "yaml"])))
        elif kind == "bytes":
            data = draw(st.one_of(st.binary(max_size=200), st.sampled_from(
                [b"\xff\xfe", b"\x00" * 10, b"{", b"\xef\xbb\xbf{}", b"lrcore: 1\n" * 3])))
        else:  # valid, on stdin or in a file
            data = _dump(draw(valid_docs())[0], draw(st.sampled_from(["json", "yaml"])))
        if kind == "stdin" or (kind == "bytes" and draw(st.booleans())):
            stdin = data
            args.append("-")
            continue
        suffixes = ["yaml", "json", "txt"] if bad else ["yaml", "json"]
        path = workdir / f"drawn{k}.{draw(st.sampled_from(suffixes))}"
        path.write_bytes(data)
        args.append(str(path))
    return args, stdin


# ---- commands --------------------------------------------------------------------------------

def _options(draw, choices: dict) -> list:
    """Some of ``choices`` (option -> strategy of its value(s); None: a flag), shuffled."""
    names = draw(st.lists(st.sampled_from(sorted(choices)), unique=True,
                          max_size=len(choices)))
    out: list = []
    for name in names:
        value = choices[name]
        if value is None:
            out.append(name)
        else:
            drawn = draw(value)
            out += [name, *(drawn if isinstance(drawn, tuple) else (drawn,))]
    return out


def _output(draw, workdir: Path, suffixes: list[str], bad: bool) -> str | bytes:
    good = [str(workdir / f"out.{x}") for x in suffixes] + [
        os.fsencode(workdir) + f"/o\xff.{suffixes[0]}".encode("latin-1")]
    odd = [str(workdir / "out.gif"), str(workdir / "no" / "x.png"), str(workdir / "dir"),
           "", "x.png\x00", str(workdir / ".png")]
    return draw(_either(st.sampled_from(good), bad, st.sampled_from(odd)))


def _context(bad: bool) -> dict:
    return {"--steps-per-epoch": _ints(1, 500, bad), "--total-steps": _total_steps(bad)}


@st.composite
def commands(draw, workdir: Path) -> tuple[list, bytes | None]:
    """An argv for ``lrcore`` (without the program name) and the bytes on its stdin: a
    clean run (every value valid) or a hostile one (each value valid or hostile)."""
    bad = draw(st.booleans())
    sub = draw(st.sampled_from(["show", "plot", "parity", "convert", "schema", "evaluate",
                                "top"]))
    if sub == "top":
        return draw(st.sampled_from([["--help"], ["--version"], ["-h"], [], ["nope"],
                                     ["show", "--help"], ["--bogus"]])), None
    if sub == "schema":
        return ["schema", *_options(draw, {"--indent": _ints(0, 8, bad)})], None
    specs, stdin = draw(spec_args(workdir, several=sub in ("plot", "parity"), bad=bad))
    if sub == "show":
        opts = _options(draw, {"--steps": _ints(1, 5000, bad), "--width": _ints(10, 80, bad),
                               "--height": _ints(2, 12, bad), **_context(bad)})
    elif sub == "evaluate":
        opts = _options(draw, {"--steps": _eval_steps(bad), "--format": _either(
            st.sampled_from(["csv", "json"]), bad, st.sampled_from(["xml", ""])),
            **_context(bad)})
    elif sub == "convert":
        opts = _options(draw, {"--to": _either(st.sampled_from(["yaml", "json"]), bad,
                                               st.just("toml")), "-o": None})
        if "-o" in opts:  # the flag stands for "-o FILE"
            i = opts.index("-o")
            opts[i + 1:i + 1] = [_output(draw, workdir, ["yaml", "json"], bad)]
    elif sub == "parity":
        opts = ["--backends", draw(_backends(bad))] + _options(draw, {
            "--steps": _ints(1, 300, bad), "--rtol": _floats(0, 1, bad),
            "--atol": _floats(0, 1, bad), "--json": None, **_context(bad)})
    else:  # plot: small figures (drawing is the slow part)
        opts = ["-o", _output(draw, workdir, ["png", "svg", "pdf"], bad), "--size",
                draw(_floats(1, 3, bad)), draw(_floats(1, 3, bad)),
                "--dpi", draw(_either(st.integers(10, 40).map(str), bad, _ints(10, 1200, bad)))]
        opts += _options(draw, {"--steps": _ints(1, 5000, bad), "--log": None,
                                "--backends": _backends(bad), "--title": TITLES,
                                **_context(bad)})
    return [sub, *specs, *opts], stdin


#: Longest line an exit 2 may print, the scratch folder's path not counted (a loader
#: message that lists every schedule type is about 350).
MAX_MESSAGE_CHARS = 500


def check(argv: list, code: int, stdout: str, stderr: str, root: Path) -> None:
    """The contract for one run (see the module docstring)."""
    allowed = {0, 1, 2} if argv[:1] == ["parity"] else {0, 2}
    what = f"lrcore {argv!r} exited {code}\nstdout: {stdout[-600:]}\nstderr: {stderr[-600:]}"
    assert code in allowed, what
    assert "Traceback" not in stdout + stderr, what
    assert "internal error" not in stderr, what
    if code == 2 and not argv:  # click's convention: no command prints the help
        assert stderr.startswith("Usage: lrcore [OPTIONS] COMMAND"), what
    elif code == 2:
        lines = stderr.splitlines()
        assert 1 <= len(lines) <= 4, what
        assert lines[-1].startswith(("error: ", "Error: ", "Usage: ")), what
        assert len(lines[-1].replace(str(root), "")) <= MAX_MESSAGE_CHARS, what


# ---- in process ------------------------------------------------------------------------------

@settings(database=None, max_examples=EXAMPLES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_command_and_option_exits_0_1_or_2(workdir, data) -> None:
    """In process (CliRunner): any combination of subcommand, specs and options."""
    argv, stdin = data.draw(commands(workdir))
    count("cli")
    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, argv, input=stdin, prog_name="lrcore")
    elapsed = time.perf_counter() - t0
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"lrcore {argv!r} raised {result.exception!r}") \
            from result.exception
    # the mix of commands and outcomes: pytest --hypothesis-show-statistics
    event(f"{argv[0] if argv else '(none)'} exit {result.exit_code}")
    check(argv, result.exit_code, result.stdout, result.stderr, workdir)
    assert elapsed < SECONDS_PER_COMMAND, f"{elapsed:.1f} s: lrcore {argv!r}"


# ---- fresh processes -------------------------------------------------------------------------

def _argv_bytes(arg: str | bytes) -> bytes:
    """An argument as exec() passes it: surrogate-escaped bytes back as the bytes, any
    other lone surrogate as its (invalid) UTF-8 encoding."""
    if isinstance(arg, bytes):
        return arg
    try:
        return arg.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return arg.encode("utf-8", "surrogatepass")


@settings(database=None, max_examples=PROCESS_EXAMPLES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_command_in_a_fresh_process(workdir, data) -> None:
    """``python -m lrcore.cli`` with the drawn argv as real bytes (a non-UTF-8 name
    arrives as the OS gives it), random bytes on stdin, strict UTF-8 output."""
    argv, stdin = data.draw(commands(workdir))
    argv = [a for a in map(_argv_bytes, argv) if b"\x00" not in a]  # exec() refuses NUL
    count("cli-process")
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", PYTHONWARNINGS="error",
               TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-m", "lrcore.cli", *argv], input=stdin or b"",
                       capture_output=True, env=env, timeout=120, check=False)
    shown = [os.fsdecode(a) for a in argv]
    check(shown, r.returncode, r.stdout.decode("utf-8", "replace"),
          r.stderr.decode("utf-8", "replace"), workdir)
