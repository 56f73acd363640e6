"""Reduce-on-plateau in a torch training loop, driven by examples/plateau.yaml.

A tiny MLP fits noisy synthetic data: the validation loss falls for a few epochs, then
stalls at the noise floor, and the plateau rule cuts the rate (on top of the warmup +
cosine curve). The scheduler steps once per batch; the validation loss is reported
once per epoch with ``scheduler.report(val_loss)``.

    python examples/plateau_torch.py [--epochs 30]

Prints one line per epoch, the epochs after which the rate was cut, and a final JSON
line (reports, the rate of every update, cuts) from which
``lrcore.evaluate(spec, steps, reports=...)`` recomputes every rate.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import torch

import lrcore

SPEC = pathlib.Path(__file__).with_name("plateau.yaml")
BATCH, N_TRAIN, N_VAL, DIM = 32, 256, 128, 8
STEPS_PER_EPOCH = N_TRAIN // BATCH


def make_data(seed: int = 0):
    """y = sin(x . w) + noise (sd 1): learnable at first, then only noise is left."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N_TRAIN + N_VAL, DIM, generator=g, dtype=torch.float64)
    w = torch.randn(DIM, 1, generator=g, dtype=torch.float64) / DIM ** 0.5
    y = torch.sin(x @ w) + 1.0 * torch.randn(N_TRAIN + N_VAL, 1, generator=g,
                                             dtype=torch.float64)
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    total = args.epochs * STEPS_PER_EPOCH

    torch.manual_seed(0)
    (x, y), (xv, yv) = make_data()
    model = torch.nn.Sequential(torch.nn.Linear(DIM, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 1)).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9)
    spec = lrcore.load(SPEC)
    scheduler = lrcore.to_torch(spec, optimizer, steps_per_epoch=STEPS_PER_EPOCH,
                                total_steps=total)
    loss_fn = torch.nn.MSELoss()

    rates, reports, cuts = [], [], []
    for epoch in range(1, args.epochs + 1):
        model.train()
        for b in range(STEPS_PER_EPOCH):
            rates.append(optimizer.param_groups[0]["lr"])  # the rate of this update
            xb, yb = x[b * BATCH:(b + 1) * BATCH], y[b * BATCH:(b + 1) * BATCH]
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
            scheduler.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(xv), yv))
        before = scheduler.plateau["scale"]
        scheduler.report(val_loss)  # after epoch * STEPS_PER_EPOCH updates
        reports.append([scheduler.last_epoch, val_loss])
        cut = scheduler.plateau["scale"] < before
        if cut:
            cuts.append(epoch)
        print(f"epoch {epoch:3d}  val_loss {val_loss:.6f}  "
              f"next lr {optimizer.param_groups[0]['lr']:.6g}" + ("  <- cut" if cut else ""))
    print(f"rate cut after epochs: {cuts}")
    result = {"framework": "torch", "spec": str(SPEC), "steps_per_epoch": STEPS_PER_EPOCH,
              "total_steps": total, "reports": reports, "steps": list(range(total)),
              "rates": rates, "cuts": cuts}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
