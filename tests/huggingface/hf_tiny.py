"""A tiny float64 regression model and data set for the Hugging Face tests (no download).

float64 so that the rate an SGD update applied can be read back off the parameters:
``-(p_after - p_before) . g / (g . g)`` over every parameter."""

from __future__ import annotations

import torch

import lrcore

#: warmup then cosine: every update of a 12-update run sees another rate
SPEC = lrcore.sequence(phases=[lrcore.linear(start=0.01, end=0.1, duration=3),
                               lrcore.cosine(start=0.1, end=0.02, duration=9)])
#: the same inside plateau: a metric must fall to a tenth of the best to count as better,
#: so reports cut the rate (patience 0)
PLATEAU = lrcore.plateau(schedule=SPEC, factor=0.5, patience=0, threshold=0.9)


class Tiny(torch.nn.Module):
    """``forward(x, y)`` returns the loss dict a Trainer reads."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(3, 1, dtype=torch.float64)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        return {"loss": torch.nn.functional.mse_loss(self.lin(x).squeeze(-1), y)}


class Data(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 3, generator=g, dtype=torch.float64)
        self.y = self.x @ torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64) + 0.3

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return {"x": self.x[i], "y": self.y[i]}


def model_and_optimizer(seed: int = 0) -> tuple[Tiny, torch.optim.SGD]:
    torch.manual_seed(seed)
    model = Tiny()
    return model, torch.optim.SGD(model.parameters(), lr=0.0)


class Updates:
    """What each optimizer update used: the lr in the param group when the update ran,
    and the rate it really applied, read off the parameters (plain SGD: p -= lr * g)."""

    def __init__(self) -> None:
        self.lrs: list[float] = []
        self.applied: list[float] = []
        self._before: list[tuple[torch.Tensor, torch.Tensor]] = []

    def pre(self, optimizer: torch.optim.Optimizer) -> None:
        params = [p for g in optimizer.param_groups for p in g["params"]]
        self.lrs.append(optimizer.param_groups[0]["lr"])
        self._before = [(p.detach().clone(), p.grad.detach().clone()) for p in params]

    def post(self, optimizer: torch.optim.Optimizer) -> None:
        params = [p for g in optimizer.param_groups for p in g["params"]]
        num = sum(float(((b - p.detach()) * g).sum()) for p, (b, g) in zip(params, self._before))
        den = sum(float((g * g).sum()) for _, g in self._before)
        self.applied.append(num / den)
