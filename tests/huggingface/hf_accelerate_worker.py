"""Run by test_hf_accelerate.py: alone (one process) or under ``torchrun
--nproc_per_node 2`` (two CPU processes, gloo). Trains the tiny model with gradient
accumulation 2 twice on one Accelerator: a scheduler prepared by lrcore's ``prepare``
and one prepared by ``accelerator.prepare`` itself. Rank 0 writes, for each, the lr that
every optimizer update used, and the scheduler's final ``last_epoch``, to ``argv[1]``.
Then a plateau spec, reported every 2 updates with the loss averaged over the processes
(``accelerator.reduce``): every rank writes its rates and reports to ``argv[1].rankN``.

``worker.py OUT save DIR`` / ``worker.py OUT load DIR`` (one process): 5 updates then
``accelerator.save_state(DIR)``; or ``accelerator.load_state(DIR)`` then 7 updates."""

from __future__ import annotations

import gc
import json
import sys

import torch
from accelerate import Accelerator
from hf_tiny import PLATEAU, SPEC, Data, model_and_optimizer

import lrcore
from lrcore.integrations.huggingface import prepare


def run(accelerator: Accelerator, how) -> dict:
    model, optimizer = model_and_optimizer()
    scheduler = lrcore.to_torch(SPEC, optimizer)
    data = torch.utils.data.DataLoader(Data(48), batch_size=2)
    model, optimizer, data, scheduler = how(accelerator, model, optimizer, data, scheduler)
    lrs, micro = [], 0
    for batch in data:  # the loop of Accelerate's gradient-accumulation guide
        with accelerator.accumulate(model):
            micro += 1
            accelerator.backward(model(**batch)["loss"])
            if accelerator.sync_gradients:
                lrs.append(optimizer.param_groups[0]["lr"])  # the lr of this update
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    return {"lrs": lrs, "micro_batches": micro, "last_epoch": scheduler.scheduler.last_epoch}


def plateau(accelerator: Accelerator) -> dict:
    model, optimizer = model_and_optimizer()
    data = torch.utils.data.DataLoader(Data(48), batch_size=2)
    model, optimizer, data, scheduler = prepare(accelerator, model, optimizer, data,
                                                lrcore.to_torch(PLATEAU, optimizer))
    lrs, reports = [], []
    for batch in data:
        with accelerator.accumulate(model):
            loss = model(**batch)["loss"]
            accelerator.backward(loss)
            if accelerator.sync_gradients:
                lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        if accelerator.sync_gradients and len(lrs) % 2 == 0:  # each rank's own loss differs
            mean = accelerator.reduce(loss.detach(), "mean")
            scheduler.scheduler.report(mean)
            reports.append((len(lrs), float(mean)))
    lrs.append(optimizer.param_groups[0]["lr"])  # the next update's, after the last cut
    return {"lrs": lrs, "reports": reports}


def resume(out: str, mode: str, where: str) -> None:
    accelerator = Accelerator(cpu=True)
    model, optimizer = model_and_optimizer()
    scheduler = lrcore.to_torch(SPEC, optimizer)
    data = torch.utils.data.DataLoader(Data(24), batch_size=2)
    model, optimizer, scheduler = prepare(accelerator, model, optimizer, scheduler)
    if mode == "load":
        accelerator.load_state(where)
    lrs = []
    for _, batch in zip(range(5 if mode == "save" else 7), data):
        accelerator.backward(model(**batch)["loss"])
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    if mode == "save":
        accelerator.save_state(where)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"lrs": lrs, "last_epoch": scheduler.scheduler.last_epoch}, f)
    teardown(accelerator)


def main() -> None:
    if len(sys.argv) > 2:
        resume(*sys.argv[1:4])
        return
    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=2)
    out = {"num_processes": accelerator.num_processes,
           "lrcore": run(accelerator, prepare),
           "plain": run(accelerator, lambda acc, *objects: acc.prepare(*objects))}
    if accelerator.is_main_process:
        with open(sys.argv[1], "w", encoding="utf-8") as f:
            json.dump(out, f)
    with open(f"{sys.argv[1]}.rank{accelerator.process_index}", "w", encoding="utf-8") as f:
        json.dump(plateau(accelerator), f)
    teardown(accelerator)


def teardown(accelerator: Accelerator) -> None:
    """Tear down in order, as tests/hardening/scripts/dist_torch.py does: the accelerator
    keeps the prepared (DDP) models, which hold the process group, so destroying it alone
    leaves gloo's threads to die at interpreter exit, where they abort a rank ("terminate
    called without an active exception"). Drop them first, once every rank is done."""
    accelerator.wait_for_everyone()
    accelerator.free_memory()
    gc.collect()
    accelerator.end_training()  # destroys the process group


if __name__ == "__main__":
    main()
