"""torch DistributedDataParallel (gloo, 2 processes on CPU) with an lrcore scheduler.

``python dist_torch.py OUTDIR PORT``: spawns two ranks (``torch.multiprocessing.spawn``,
MASTER_ADDR 127.0.0.1, MASTER_PORT PORT). Each rank trains a DDP-wrapped linear model
on its own shard of the data with SGD and ``lrcore.to_torch`` of a plateau spec; the
loss is averaged over ranks (``all_reduce``) and reported every third update. Each rank
writes ``OUTDIR/rank{r}.json``: the rate of every update (read from the optimizer's param
group before ``optimizer.step()``), the averaged metrics it reported (with their step)
and its final parameters.
"""

from __future__ import annotations

import gc
import json
import os
import sys

from dist_specs import PLATEAU, REPORT_EVERY, STEPS

WORLD = 2


def rank_main(rank: int, outdir: str, port: int) -> None:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    import lrcore

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    torch.manual_seed(0)  # the same initial weights on every rank
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    gen = torch.Generator().manual_seed(100 + rank)  # a different shard per rank
    x = torch.randn(16, 4, generator=gen)
    y = x @ torch.tensor([[0.5], [-1.0], [2.0], [0.25]]) + 0.3 * torch.randn(16, 1,
                                                                            generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    sched = lrcore.to_torch(PLATEAU, opt)
    rates, reports = [], []
    for step in range(STEPS):
        rates.append(opt.param_groups[0]["lr"])
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()  # DDP averages the gradients over the ranks here
        opt.step()
        sched.step()
        if (step + 1) % REPORT_EVERY == 0:
            metric = loss.detach().clone()
            dist.all_reduce(metric)  # every rank reports the same, averaged metric
            value = metric.item() / WORLD
            sched.report(value)
            reports.append([step + 1, value])
    params = [p.detach().reshape(-1).tolist() for p in model.parameters()]
    with open(os.path.join(outdir, f"rank{rank}.json"), "w", encoding="utf-8") as f:
        json.dump({"rank": rank, "rates": rates, "reports": reports, "params": params,
                   "world": dist.get_world_size()}, f)
    # Tear down in order. DDP holds its own reference to the process group, so
    # destroy_process_group() alone leaves gloo's threads alive until interpreter exit,
    # where they abort the rank ("terminate called without an active exception", about
    # one run in ten on 2 cores). Drop DDP first, once both ranks are done talking.
    dist.barrier()
    del model
    gc.collect()
    dist.destroy_process_group()


if __name__ == "__main__":
    import torch.multiprocessing as mp

    mp.spawn(rank_main, args=(sys.argv[1], int(sys.argv[2])), nprocs=WORLD, join=True)
