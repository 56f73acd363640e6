"""Shared by the CLI tests: run ``python -m lrcore.cli`` as a user would; spec texts."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from rates import BAD_RATE  # noqa: F401 - the CLI tests take it from here

#: warmup 0 -> 1e-3 over 200 steps, hold 1e-3 for 300, cosine 1e-3 -> 5e-5 over the
#: remaining 2500 of total_steps 3000 (the formulas are written out in test_cli.py).
WARMUP_COSINE = textwrap.dedent("""\
    lrcore: 1
    name: warmup-cosine
    total_steps: 3000
    schedule:
      type: sequence
      phases:
        - {type: linear, start: 0.0, end: 0.001, duration: 200}
        - {type: constant, value: 0.001, duration: 300}
        - {type: cosine, start: 0.001, end: 0.00005, exponent: 1.0}
    """)

#: no name: labelled by its file stem
STEP_JSON = '{"lrcore": 1, "schedule": {"type": "step", "start": 0.0008, "factor": 0.5, ' \
            '"every": 700}}\n'



def run_cli(*args: str, stdin: str | None = None, cwd: Path | None = None,
            timeout: float = 120, **env_vars: str) -> subprocess.CompletedProcess:
    """Run the command as a user would (a fresh interpreter), capturing text output;
    any warning is an error."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="error", **env_vars)
    return subprocess.run([sys.executable, "-m", "lrcore.cli", *args], input=stdin,
                          capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout, check=False)


def warmup_cosine(t: int) -> float:
    """The spec WARMUP_COSINE by hand: linear 0 -> 1e-3 over 200 steps, 1e-3 until step
    500, then cosine to 5e-5 over 2500 steps, 5e-5 after."""
    if t < 200:
        return 1e-3 * t / 200
    if t < 500:
        return 1e-3
    if t <= 3000:
        return 5e-5 + (1e-3 - 5e-5) * (1 + math.cos(math.pi * (t - 500) / 2500)) / 2
    return 5e-5
