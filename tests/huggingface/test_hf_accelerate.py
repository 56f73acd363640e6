"""Accelerate: an lrcore scheduler follows optimizer updates, not micro-batches or processes.

``hf_accelerate_worker.py`` trains with gradient accumulation 2, alone and as two CPU
processes (``torchrun``, gloo): with ``lrcore.integrations.huggingface.prepare`` every
update uses ``lrcore.evaluate(spec, t)`` at t = updates applied; the same loop with
``accelerator.prepare`` (Accelerate's convention: ``num_processes`` scheduler steps per
update) runs at ``t = 2 x updates`` with two processes, the mis-step ``prepare`` avoids.
``accelerator.save_state``/``load_state`` continue the curve in a new process. A
scheduler prepared twice is refused.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
accelerate = pytest.importorskip("accelerate")

from hf_tiny import PLATEAU, SPEC, model_and_optimizer  # noqa: E402

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402
from lrcore.integrations.huggingface import prepare  # noqa: E402

WORKER = Path(__file__).resolve().parent / "hf_accelerate_worker.py"


def launch(tmp_path: Path, processes: int, *mode: str) -> dict:
    """The worker's JSON: rank 0's, with every rank's plateau run under "ranks"."""
    out = tmp_path / f"rates{'-'.join(('', *mode[:1]))}.json"
    launcher = [] if processes == 1 else ["-m", "torch.distributed.run", "--standalone",
                                          f"--nproc_per_node={processes}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, *launcher, str(WORKER), str(out), *mode],
                          cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(out.read_text(encoding="utf-8"))
    got["ranks"] = [json.loads(Path(f"{out}.rank{i}").read_text(encoding="utf-8"))
                    for i in range(processes) if Path(f"{out}.rank{i}").exists()]
    return got


@pytest.mark.parametrize("processes", [1, 2])
def test_prepared_scheduler_follows_updates(tmp_path, processes):
    got = launch(tmp_path, processes)
    assert got["num_processes"] == processes
    updates = 48 // 2 // processes // 2  # samples / batch / processes / accumulation
    mine, plain = got["lrcore"], got["plain"]
    assert mine["micro_batches"] == plain["micro_batches"] == 2 * updates
    np.testing.assert_allclose(mine["lrs"], lrcore.evaluate(SPEC, np.arange(updates)),
                               rtol=1e-12, atol=0)
    assert mine["last_epoch"] == updates
    # Accelerate's own prepare: num_processes scheduler steps per update
    np.testing.assert_allclose(plain["lrs"],
                               lrcore.evaluate(SPEC, processes * np.arange(updates)),
                               rtol=1e-12, atol=0)
    assert plain["last_epoch"] == processes * updates

    # plateau: every rank reports the loss averaged over the ranks, so all of them cut
    # alike and follow the reference replay of those reports
    ranks = got["ranks"]
    assert len(ranks) == processes
    assert all(r == ranks[0] for r in ranks)
    reports = [tuple(r) for r in ranks[0]["reports"]]
    assert [s for s, _ in reports] == list(range(2, updates + 1, 2))
    want = lrcore.evaluate(PLATEAU, np.arange(updates + 1), reports=reports)
    np.testing.assert_allclose(ranks[0]["lrs"], want, rtol=1e-12, atol=0)
    assert want[-1] < lrcore.evaluate(SPEC, updates)  # the reports did cut the rate


def test_save_state_and_load_state_continue_the_curve(tmp_path):
    """``accelerator.save_state`` after 5 updates, ``load_state`` in a new process into a
    freshly prepared scheduler: the next 7 updates run at evaluate(spec, 5..11)."""
    where = str(tmp_path / "state")
    first = launch(tmp_path, 1, "save", where)
    then = launch(tmp_path, 1, "load", where)
    want = lrcore.evaluate(SPEC, np.arange(12))
    np.testing.assert_allclose(first["lrs"], want[:5], rtol=1e-12, atol=0)
    np.testing.assert_allclose(then["lrs"], want[5:], rtol=1e-12, atol=0)
    assert (first["last_epoch"], then["last_epoch"]) == (5, 12)


# ---- bad input: refused with the fix in the message ------------------------------------

TWICE = ("is already prepared; a second wrapper steps it again on every update: prepare it "
         "once, with lrcore.integrations.huggingface.prepare")


def refused(message: str):
    return pytest.raises(SpecError, match="^" + re.escape(message) + "$")


@pytest.fixture(scope="module")
def accelerator():
    return accelerate.Accelerator(cpu=True)


def test_a_scheduler_prepared_twice_is_refused(accelerator):
    _, optimizer = model_and_optimizer()
    scheduler = lrcore.to_torch(SPEC, optimizer)
    optimizer, prepared = prepare(accelerator, optimizer, scheduler)
    assert prepared.scheduler is scheduler
    with refused(f'prepare(objects[0]): {TWICE}, got "LrcoreScheduler"'):
        prepare(accelerator, scheduler)
    with refused(f'prepare(objects[1]): {TWICE}, got "AcceleratedScheduler"'):
        prepare(accelerator, optimizer, prepared)
    other = lrcore.to_torch(SPEC, model_and_optimizer()[1])
    with refused(f'prepare(objects[1]): {TWICE}, got "LrcoreScheduler"'):
        prepare(accelerator, other, other)


def test_a_scheduler_prepared_by_accelerate_first_is_refused(accelerator):
    _, optimizer = model_and_optimizer()
    scheduler = lrcore.to_torch(SPEC, optimizer)
    accelerator.prepare(optimizer, scheduler)
    with refused(f'prepare(objects[0]): {TWICE}, got "LrcoreScheduler"'):
        prepare(accelerator, scheduler)


def test_an_epoch_unit_scheduler_is_refused(accelerator):
    _, optimizer = model_and_optimizer()
    scheduler = lrcore.to_torch(SPEC, optimizer, step_unit="epoch", steps_per_epoch=4)
    with refused('prepare(objects[1]).step_unit: must be "step" in a trainer, which calls step() '
                 'after every optimizer update; build the scheduler with step_unit="step", '
                 'got "epoch"'):
        prepare(accelerator, optimizer, scheduler)


def test_importing_the_integration_imports_neither_package():
    code = ("import sys, lrcore.integrations.huggingface as hf; "
            "bad = [m for m in ('transformers', 'accelerate', 'torch') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
