"""lrcore against the frameworks' native schedulers, side by side (issue 7).

    python benchmarks/run.py            # the full run (tox -e bench), < 10 min on 2 cores
    python benchmarks/run.py --quick    # small repetition counts, for debugging
    python benchmarks/run.py --only torch,optax

Prints one table (figure, lrcore, native, ratio median [min–max], goal, met?) and
writes benchmarks/results.json with the machine info. Every timed figure is a ratio
lrcore / native measured interleaved in this process (see ``harness.py``); the Keras
figures come from one subprocess per Keras backend (``keras_worker.py``), since a
process can hold one Keras backend only.

Sections: torch (per scheduler.step()), hf (scheduler.step() and a transformers Trainer
step), optax (StableHLO op count, vmap throughput, jitted adam step), keras (model.fit
per step), lightning (Trainer.fit per update), evaluator (numpy reference against jitted
optax and against one np.sin; peak memory), startup (import time, adapter call to ready
object), parity (``lrcore parity examples/`` against importing its frameworks).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import specs  # noqa: E402
from harness import Row, interleaved, timing_row  # noqa: E402

SECTIONS = ("torch", "hf", "optax", "keras", "lightning", "evaluator", "startup", "parity")


class Config:
    """Repetition counts; ``--quick`` divides them for debugging runs."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        q = quick
        self.torch_block = 200             # scheduler.step() calls per timed block
        self.torch_reps = 40 if q else 400
        self.optax_vmap_n = 10**6 if q else 10**7
        self.optax_vmap_reps = 5 if q else 21
        self.adam_block = 50 if q else 100  # jitted adam steps per block
        self.adam_reps = 10 if q else 100
        self.keras_block = 50 if q else 100  # batches per model.fit call
        self.keras_reps = 4 if q else 20
        self.eval_n = 10**6 if q else 10**7
        self.eval_reps = 5 if q else 11
        self.mem_n = 10**7 if q else 10**8
        self.import_reps = 5 if q else 21
        self.adapter_reps = 20 if q else 200
        self.lightning_block = 50 if q else 100  # optimizer updates per Trainer.fit
        self.lightning_reps = 4 if q else 20
        self.hf_block = 20 if q else 50     # Trainer updates per trainer.train() call
        self.hf_reps = 4 if q else 20
        self.parity_reps = 2 if q else 5    # pairs of (lrcore parity examples/, imports)


# ---- torch ---------------------------------------------------------------------------------

def bench_torch(cfg: Config) -> list[Row]:
    import torch

    import lrcore

    # torch warns when scheduler.step() comes before any optimizer.step(); each
    # optimizer below steps once after its scheduler is built, so this is only a guard
    # against torch changing when it checks.
    warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")

    def optimizer() -> torch.optim.Optimizer:
        return torch.optim.SGD([torch.nn.Parameter(torch.zeros(4))], lr=specs.BASE_LR)

    def ready(make) -> Any:
        opt = optimizer()
        sched = make(opt)
        opt.step()  # no grads: a no-op that marks the optimizer as stepped
        return opt, sched

    # 1. the pairs draw the same curve (a small horizon crosses every phase)
    checks = {}
    h_check = 400
    for name, (spec, native) in specs.torch_pairs(h_check).items():
        o1, a = ready(lambda o: lrcore.to_torch(spec, o))
        o2, b = ready(native)
        worst = 0.0
        for _ in range(h_check - 1):
            la, lb = o1.param_groups[0]["lr"], o2.param_groups[0]["lr"]
            worst = max(worst, abs(la - lb) / abs(lb))
            a.step()
            b.step()
        checks[name] = worst
        if worst > 1e-6:
            raise SystemExit(f"torch {name}: lrcore and native curves differ "
                             f"(max rel diff {worst:.2e}); the benchmark would be unfair")

    # 2. timing: both schedulers walk the same steps of a curve long enough for the run
    block = cfg.torch_block
    horizon = (cfg.torch_reps + 8) * block + 10
    rows = []
    for name, (spec, native) in specs.torch_pairs(horizon).items():
        _, a = ready(lambda o: lrcore.to_torch(spec, o))
        _, b = ready(native)

        def run_a(step=a.step):
            for _ in range(block):
                step()

        def run_b(step=b.step):
            for _ in range(block):
                step()

        t = interleaved(run_a, run_b, cfg.torch_reps, warmup=3, per_block=block)
        rows.append(timing_row("torch: scheduler.step()", f"torch {name}", t, 1.2,
                               unit="us", extra={"curve_max_rel_diff": checks[name],
                                                 "block_steps": block}))
    return rows + _follow_rows(cfg, horizon)


def _follow_rows(cfg: Config, horizon: int) -> list[Row]:
    """``follow="optimizer"`` (a step post-hook sets the rate; ``scheduler.step()`` moves
    nothing) against the plain lrcore scheduler, per training step ``optimizer.step();
    scheduler.step()`` of SGD on 4 parameters with gradients; and the same inside a
    ``torch.amp.GradScaler`` (CPU) step, the loop the option is for."""
    import torch

    import lrcore

    spec = lrcore.cosine(start=specs.BASE_LR, end=specs.ETA_MIN, duration=horizon)
    block, rows = cfg.torch_block, []
    for scaled in (False, True):
        def loop(follow: str) -> Any:
            param = torch.nn.Parameter(torch.zeros(4))
            param.grad = torch.ones(4)
            opt = torch.optim.SGD([param], lr=specs.BASE_LR)
            sched = lrcore.to_torch(spec, opt, follow=follow)
            if not scaled:
                def run(step=opt.step, sched_step=sched.step):
                    for _ in range(block):
                        step()
                        sched_step()
                return run, opt, sched
            scaler = torch.amp.GradScaler("cpu", init_scale=1.0, growth_interval=10**9)
            scaler.scale(torch.ones(()))  # creates the scale; the grads stay finite ones

            def run(step=scaler.step, update=scaler.update, sched_step=sched.step):
                for _ in range(block):
                    step(opt)
                    update()
                    sched_step()
            return run, opt, sched

        (run_a, opt_a, a), (run_b, opt_b, b) = loop("optimizer"), loop("scheduler")
        run_a(), run_b()  # the two draw the same rates, step for step
        if a.last_epoch != b.last_epoch or opt_a.param_groups[0]["lr"] != \
                opt_b.param_groups[0]["lr"]:
            raise SystemExit("torch follow='optimizer': not at the plain scheduler's rate")
        t = interleaved(run_a, run_b, cfg.torch_reps, warmup=3, per_block=block)
        what = "GradScaler step + scheduler.step()" if scaled else \
            "optimizer.step() + scheduler.step()"
        rows.append(timing_row("torch: follow='optimizer'", f"torch follow='optimizer', {what}"
                               " (native: lrcore's plain scheduler)", t, 1.05, unit="us",
                               extra={"block_steps": block}))
    return rows


# ---- Hugging Face (transformers Trainer) ----------------------------------------------------

def bench_hf(cfg: Config) -> list[Row]:
    """An lrcore scheduler against transformers' ``get_cosine_schedule_with_warmup`` (its
    spec: ``lrcore.presets.hf("cosine", ...)``): blocks of ``scheduler.step()``, and a
    whole Trainer step (forward, backward, SGD update, scheduler) on a tiny model."""
    import torch
    import transformers

    import lrcore

    warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
    warm, total = 100, 10**6
    spec = lrcore.presets.hf("cosine", specs.BASE_LR, warm, total)

    def native(opt):
        return transformers.get_cosine_schedule_with_warmup(opt, warm, total)

    def ready(make, model=None):
        model = model or torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=specs.BASE_LR)
        sched = make(opt)
        opt.step()  # no grads: a no-op that marks the optimizer as stepped
        return opt, sched

    # the two draw the same curve (warmup, then into the cosine)
    (o1, a), (o2, b) = ready(lambda o: lrcore.to_torch(spec, o)), ready(native)
    worst = 0.0
    for _ in range(400):
        la, lb = o1.param_groups[0]["lr"], o2.param_groups[0]["lr"]
        worst = max(worst, abs(la - lb) / specs.BASE_LR)
        a.step()
        b.step()
    if worst > 1e-6:
        raise SystemExit(f"hf: lrcore and get_cosine_schedule_with_warmup differ (max diff "
                         f"{worst:.2e} x lr); the benchmark would be unfair")

    rows = []
    block = cfg.torch_block
    (_, a), (_, b) = ready(lambda o: lrcore.to_torch(spec, o)), ready(native)

    def steps(step):
        def run():
            for _ in range(block):
                step()
        return run

    t = interleaved(steps(a.step), steps(b.step), cfg.torch_reps, warmup=3, per_block=block)
    rows.append(timing_row("hf: scheduler.step()", "hf get_cosine_schedule_with_warmup", t,
                           1.2, unit="us", extra={"curve_max_diff_over_lr": worst,
                                                  "block_steps": block}))

    # a whole Trainer step: each block is one trainer.train() of hf_block updates; the
    # block's figure is the median of its steps (on_step_begin to on_step_end), so the
    # set-up of each train() call is outside it
    class Timer(transformers.TrainerCallback):
        def __init__(self) -> None:
            self.times: list[int] = []
            self.t0 = 0

        def on_step_begin(self, args, state, control, **kwargs):
            self.t0 = time.perf_counter_ns()

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter_ns() - self.t0)

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(),
                                           torch.nn.Linear(32, 1))

        def forward(self, x, y):
            return {"loss": torch.nn.functional.mse_loss(self.net(x).squeeze(-1), y)}

    hb, batch = cfg.hf_block, 8
    g = torch.Generator().manual_seed(0)
    x = torch.randn(hb * batch, 16, generator=g)
    data = [{"x": xi, "y": xi[:4].sum()} for xi in x]

    def trainer(make, out):
        torch.manual_seed(0)
        model = Tiny()
        opt, sched = ready(make, model)
        args = transformers.TrainingArguments(
            output_dir=out, max_steps=hb, per_device_train_batch_size=batch, report_to=[],
            use_cpu=True, logging_strategy="no", save_strategy="no", disable_tqdm=True)
        timer = Timer()
        tr = transformers.Trainer(model=model, args=args, train_dataset=data,
                                  optimizers=(opt, sched), callbacks=[timer])
        tr.remove_callback(transformers.trainer_callback.PrinterCallback)

        def run() -> float:
            tr.train()
            return statistics.median(timer.times[-hb:])

        return run

    import tempfile

    # one intra-op thread: on a small shared box torch's thread pool waits on the other
    # processes' bursts, which swamps a step of this size (and is the same on both sides)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory(prefix="lrcore-bench-hf-") as d:
            t = interleaved(trainer(lambda o: lrcore.to_torch(spec, o), f"{d}/a"),
                            trainer(native, f"{d}/b"), cfg.hf_reps, warmup=2,
                            self_timed=True)
    finally:
        torch.set_num_threads(threads)
    rows.append(timing_row("hf: Trainer step (MLP 16-32-1, batch 8, SGD, CPU)",
                           f"Trainer step, cosine with warmup (median step of {hb})", t,
                           1.02, unit="us"))
    return rows


# ---- optax ---------------------------------------------------------------------------------

OP_RULE = ("StableHLO op count = lines of jax.jit(schedule).lower(int32 scalar).as_text() "
           "whose operation is `stablehlo.<op>` (constants included; `stablehlo.return`, "
           "`func.return` and `call` lines not counted), with every `call @f` replaced by "
           "f's own count, recursively (a helper called twice counts twice); in brackets: "
           "the same without `stablehlo.constant`")

_FUNC = re.compile(r"^\s*func\.func\s+(?:public\s+|private\s+)?@([\w.$-]+)\(")
_OP = re.compile(r'^\s*(?:%[^=]*=\s*)?"?(stablehlo\.[\w.]+)')
_CALL = re.compile(r"^\s*(?:%[^=]*=\s*)?(?:func\.)?call\s+@([\w.$-]+)\(")


def count_ops(text: str) -> Counter:
    """Ops of the module's public ``main``, calls inlined (see ``OP_RULE``)."""
    funcs: dict[str, tuple[Counter, list[str]]] = {}
    main = None
    cur = None
    for line in text.splitlines():
        m = _FUNC.match(line)
        if m:
            cur = funcs.setdefault(m.group(1), (Counter(), []))
            if "public" in line.split("@")[0] or main is None:
                main = m.group(1)  # the public entry point (else the first function)
            continue
        if cur is None:
            continue
        m = _CALL.match(line)
        if m:
            cur[1].append(m.group(1))
            continue
        m = _OP.match(line)
        if m and m.group(1) != "stablehlo.return":
            cur[0][m.group(1)] += 1

    def total(name: str, depth: int = 0) -> Counter:
        if depth > 50:
            raise RecursionError(name)
        ops, calls = funcs[name]
        out = Counter(ops)
        for callee in calls:
            out += total(callee, depth + 1)
        return out

    assert main is not None, "no func.func in the lowered text"
    return total(main)


def bench_optax(cfg: Config) -> list[Row]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    import lrcore

    rows: list[Row] = []
    # curves agree (small horizon: every phase is crossed)
    checks = {}
    for name, (spec, native) in specs.optax_pairs(2000).items():
        t = jnp.arange(2200, dtype=jnp.int32)
        a = np.asarray(jax.jit(jax.vmap(lrcore.to_optax(spec)))(t), dtype=np.float64)
        b = np.asarray(jax.jit(jax.vmap(native))(t), dtype=np.float64)
        err = np.abs(a - b) / (np.abs(b) + 1e-6 * np.abs(b).max())
        checks[name] = float(err.max())
        if checks[name] > 1e-4:
            raise SystemExit(f"optax {name}: curves differ (max rel diff {checks[name]:.2e})")

    horizon = 10**7
    pairs = specs.optax_pairs(horizon)
    scalar = jax.ShapeDtypeStruct((), jnp.int32)
    print(f"  op counting rule: {OP_RULE}", file=sys.stderr)
    for name, (spec, native) in pairs.items():
        ca = count_ops(jax.jit(lrcore.to_optax(spec)).lower(scalar).as_text())
        cb = count_ops(jax.jit(native).lower(scalar).as_text())
        na, nb = sum(ca.values()), sum(cb.values())
        ka, kb = na - ca["stablehlo.constant"], nb - cb["stablehlo.constant"]
        rows.append(Row("optax: StableHLO ops", f"ops {name}", f"{na} ({ka})", f"{nb} ({kb})",
                        (na / nb,) * 3, "≤ native", na <= nb,
                        {"lrcore_ops": dict(ca), "native_ops": dict(cb), "rule": OP_RULE,
                         "curve_max_rel_diff": checks[name]}))

    # (b) throughput of jit(vmap(schedule)) over N steps
    n = cfg.optax_vmap_n
    steps = jax.device_put(jnp.arange(n, dtype=jnp.int32))
    for name, (spec, native) in pairs.items():
        fa = jax.jit(jax.vmap(lrcore.to_optax(spec)))
        fb = jax.jit(jax.vmap(native))
        t = interleaved(lambda: fa(steps), lambda: fb(steps), cfg.optax_vmap_reps,
                        warmup=2, sync=jax.block_until_ready, collect_every=0)
        rows.append(timing_row("optax: jit(vmap) throughput", f"vmap {n:.0e} steps {name}",
                               t, 1.0, unit="ms"))

    # (c) a jitted adam step on a small MLP
    rows += _adam_rows(cfg, pairs)
    return rows


def _adam_rows(cfg: Config, pairs: dict[str, tuple[Any, Any]]) -> list[Row]:
    import jax
    import jax.numpy as jnp
    import optax

    import lrcore

    key = jax.random.PRNGKey(0)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    sizes = [(32, 64), (64, 64), (64, 1)]
    params0 = [(jax.random.normal(k, s) * 0.1, jnp.zeros(s[1]))
               for k, s in zip((k1, k2, k3), sizes, strict=True)]
    x = jax.random.normal(k4, (64, 32))
    y = jnp.sum(x[:, :4], axis=1, keepdims=True)

    def loss_fn(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        return jnp.mean((h - y) ** 2)

    def trainer(schedule):
        opt = optax.adam(learning_rate=schedule)

        @jax.jit
        def step(params, state):
            loss, g = jax.value_and_grad(loss_fn)(params, x, y)
            updates, state = opt.update(g, state, params)
            return optax.apply_updates(params, updates), state, loss

        carry = [params0, opt.init(params0)]
        block = cfg.adam_block

        def run() -> float:
            """Median time of one step, each step waited for, over a block of steps."""
            params, state = carry
            times = []
            for _ in range(block):
                t0 = time.perf_counter_ns()
                params, state, loss = step(params, state)
                jax.block_until_ready(loss)
                times.append(time.perf_counter_ns() - t0)
            carry[0], carry[1] = params, state
            return statistics.median(times)

        return run

    rows = []
    for name in ("warmup_cosine_decay", "sgdr (3 cycles)"):
        spec, native = pairs[name]
        t = interleaved(trainer(lrcore.to_optax(spec)), trainer(native), cfg.adam_reps,
                        warmup=3, self_timed=True)
        rows.append(timing_row("optax: jitted adam step (MLP 32-64-64-1, batch 64)",
                               f"adam step {name} (median step of {cfg.adam_block})", t, 1.02,
                               unit="us"))
    return rows


# ---- Keras (subprocesses) ------------------------------------------------------------------

def bench_keras(cfg: Config) -> list[Row]:
    rows = []
    for backend in ("tensorflow", "jax"):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        # a jax fit step is ~5x cheaper than a tensorflow one: more pairs, same budget
        reps = cfg.keras_reps * (2 if backend == "jax" else 1)
        args = [sys.executable, str(HERE / "keras_worker.py"),
                "--block", str(cfg.keras_block), "--reps", str(reps),
                "--adapter-reps", str(cfg.adapter_reps)]
        t0 = time.perf_counter()
        out = harness.run_json_subprocess(args, env, timeout=400)
        print(f"  keras {backend}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        rows += [harness.row_from_json(d) for d in out["rows"]]
    return rows


# ---- Lightning -------------------------------------------------------------------------------

def bench_lightning(cfg: Config) -> list[Row]:
    """``Trainer.fit`` per optimizer update (MLP 32-64-1, batch 32, SGD) with an lrcore
    scheduler (``scheduler_config``, interval "step") against the same fit with torch's
    own scheduler for the same curve: the median time between consecutive batch starts
    within one fit (one block), so Trainer start-up and one preempted step are excluded."""
    import logging

    try:
        import lightning.pytorch as L
    except ImportError:  # not in the bench env's extras: say so instead of failing the run
        return [Row("lightning: Trainer.fit per update", "lightning not installed "
                    '(pip install -e ".[lightning]")', "—", "—", None, "(info)", None)]
    import torch

    import lrcore
    from lrcore.integrations.lightning import scheduler_config

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no per-fit banners
    # DataLoader workers: the in-memory loader below is faster on the main process;
    # torch 2.13 deprecates the LeafSpec that Lightning 2.6 builds (Lightning's code)
    warnings.filterwarnings("ignore", message=r"The '.*dataloader' does not have many workers")
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)`")
    block = cfg.lightning_block
    g = torch.Generator().manual_seed(0)
    x = torch.randn(block * 32, 32, generator=g)
    data = torch.utils.data.TensorDataset(x, x[:, :4].sum(1, keepdim=True))

    class Model(L.LightningModule):
        def __init__(self, make) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(),
                                           torch.nn.Linear(64, 1))
            self.make = make

        def training_step(self, batch, _):
            return torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])

        def train_dataloader(self):
            return torch.utils.data.DataLoader(data, batch_size=32)

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=specs.BASE_LR)
            return {"optimizer": opt, "lr_scheduler": self.make(opt)}

    class Clock(L.Callback):
        def __init__(self) -> None:
            self.starts: list[int] = []
            self.rates: list[float] = []

        def on_train_batch_start(self, *args) -> None:
            self.starts.append(time.perf_counter_ns())

        def on_before_optimizer_step(self, trainer, module, optimizer) -> None:
            self.rates.append(optimizer.param_groups[0]["lr"])

    def fit(make) -> Clock:
        clock = Clock()
        trainer = L.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False, limit_val_batches=0,
                            callbacks=[clock])
        trainer.fit(Model(make))
        return clock

    def timed(make):
        def run() -> float:
            steps = fit(make).starts
            return statistics.median(b - a for a, b in zip(steps, steps[1:]))
        return run

    pairs = specs.torch_pairs(block)
    rows = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two intra-op threads on a shared 2-core box: bimodal steps
    try:
        for name in ("CosineAnnealingLR", "warmup+cosine (SequentialLR)"):
            spec, native = pairs[name]
            mine = lambda opt, spec=spec: scheduler_config(lrcore.to_torch(spec, opt))  # noqa: E731
            theirs = lambda opt, native=native: {"scheduler": native(opt),  # noqa: E731
                                                 "interval": "step"}
            a, b = fit(mine).rates, fit(theirs).rates
            worst = max(abs(p - q) / abs(q) for p, q in zip(a, b, strict=True))
            if len(a) != block or worst > 1e-6:
                raise SystemExit(f"lightning {name}: lrcore and native rates differ "
                                 f"({len(a)} updates, max rel diff {worst:.2e})")
            t = interleaved(timed(mine), timed(theirs), cfg.lightning_reps, warmup=1,
                            self_timed=True, collect_every=1)
            rows.append(timing_row("lightning: Trainer.fit per update (MLP 32-64-1, batch 32)",
                                   f"fit step {name} (median of {block})", t, 1.02,
                                   unit="us", extra={"curve_max_rel_diff": worst,
                                                     "updates_per_fit": block,
                                                     "torch_threads": 1}))
    finally:
        torch.set_num_threads(threads)
    return rows


# ---- reference evaluator -------------------------------------------------------------------

def bench_evaluator(cfg: Config) -> list[Row]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    import lrcore

    rows = []
    n = cfg.eval_n
    spec, joined, wcd = specs.three_phase(n)
    t_np = np.arange(n, dtype=np.int64)
    t_jx = jax.device_put(jnp.arange(n, dtype=jnp.int32))
    small = np.arange(0, n, max(n // 5000, 1))
    ref = lrcore.evaluate(spec, small)
    got = np.asarray(jax.jit(jax.vmap(joined))(jnp.asarray(small, dtype=jnp.int32)))
    diff = float(np.max(np.abs(got - ref) / (np.abs(ref) + 1e-6 * ref.max())))
    if diff > 1e-4:
        raise SystemExit(f"evaluator: lrcore and optax join_schedules differ ({diff:.2e})")
    for label, native in (("optax join_schedules (same 3 phases)", joined),
                          ("optax warmup_cosine_decay (2 phases)", wcd)):
        f = jax.jit(jax.vmap(native))
        t = interleaved(lambda: lrcore.evaluate(spec, t_np), lambda: f(t_jx), cfg.eval_reps,
                        warmup=2, sync=jax.block_until_ready, collect_every=1)
        rows.append(timing_row("reference evaluator (numpy float64 vs jitted optax float32)",
                               f"evaluate {n:.0e} steps vs {label}", t, 1.0, unit="ms"))
        # the old figure (issue 7), kept for reference: it measures libm's float64 sine
        rows[-1].goal, rows[-1].met = "(info; old goal ≤ 1.0)", None
    # the floor of any float64 numpy formula with one sine per step (information)
    x = np.linspace(0.0, 1.5, n)
    t = interleaved(lambda: np.sin(x), lambda: f(t_jx), cfg.eval_reps, warmup=1,
                    sync=jax.block_until_ready, collect_every=1)
    rows.append(timing_row("reference evaluator (numpy float64 vs jitted optax float32)",
                           f"floor: np.sin(float64) on {n:.0e} points vs the line above",
                           t, 1.0, unit="ms"))
    rows[-1].goal, rows[-1].met = "(info)", None
    rows += _evaluator_floor_rows(cfg)

    # peak memory of evaluate on mem_n steps, relative to the output array
    m = cfg.mem_n
    steps = np.arange(m, dtype=np.int64)
    spec_m, _, _ = specs.three_phase(m)
    lrcore.evaluate(spec_m, steps[:1000])  # compile outside the traced region
    gc.collect()
    tracemalloc.start()
    try:
        out = lrcore.evaluate(spec_m, steps)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ratio = peak / out.nbytes
    rows.append(Row("reference evaluator: memory", f"peak memory evaluate {m:.0e} steps",
                    f"{peak / 2**20:.0f} MiB", f"output {out.nbytes / 2**20:.0f} MiB",
                    (ratio,) * 3, "< 2× output", ratio < 2.0,
                    {"peak_bytes": peak, "output_bytes": out.nbytes,
                     "note": "ratio = peak traced / output bytes (input array excluded)"}))
    del out, steps
    gc.collect()
    return rows


def _evaluator_floor_rows(cfg: Config) -> list[Row]:
    """``evaluate`` on a warmup-cosine against its floor: one ``np.sin`` over as many
    float64 values (the cosine's angles), the goal; and the same on one core (evaluate
    runs blocks on every core the process may use, np.sin on one), as information.
    Each row's data also holds the minor page faults of one call of each (fresh
    block-sized temporaries fault: what the in-place block path removed) and, on one
    core, the ratio of process CPU times (less moved by other jobs than wall time)."""
    import resource

    import numpy as np

    import lrcore

    n = cfg.eval_n
    spec = specs.warmup_cosine(n)
    t = np.arange(n, dtype=np.int64)
    x = np.arange(n, dtype=np.float64) * (np.pi / (2 * n))  # angles in [0, pi/2)

    def ours():
        return lrcore.evaluate(spec, t)

    def floor():
        return np.sin(x)

    def faults(f) -> int:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        f()
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    def cpu(f) -> int:
        t0 = time.process_time_ns()
        f()
        return time.process_time_ns() - t0

    rows = []
    section = "reference evaluator (numpy float64 vs its floor, one np.sin)"
    t_all = interleaved(ours, floor, cfg.eval_reps, warmup=2, collect_every=1)
    rows.append(timing_row(section, f"evaluate {n:.0e} steps warmup-cosine vs np.sin on "
                           f"{n:.0e} float64", t_all, 1.3, unit="ms",
                           extra={"minor_faults": [faults(ours), faults(floor)]}))
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cores and len(cores) > 1:
        os.sched_setaffinity(0, {min(cores)})
        try:
            t_one = interleaved(ours, floor, cfg.eval_reps, warmup=2, collect_every=1)
            cpu_ratios = [cpu(ours) / cpu(floor) for _ in range(cfg.eval_reps)]
        finally:
            os.sched_setaffinity(0, cores)
        rows.append(timing_row(section, f"the same on one core (of {len(cores)})", t_one,
                               1.3, unit="ms",
                               extra={"cpu_time_ratio": statistics.median(cpu_ratios),
                                      "cpu_time_ratios": [round(r, 5) for r in cpu_ratios]}))
        rows[-1].goal, rows[-1].met = "(info)", None
    return rows


# ---- parity run ------------------------------------------------------------------------------

def bench_parity(cfg: Config) -> list[Row]:
    """``lrcore parity examples/`` on every installed backend against its floor: one
    process importing every framework those backends need, once (issue 17). Both are
    fresh interpreters, interleaved; wall time, with the children's CPU time beside."""
    import resource
    import tempfile

    from lrcore import backends as registry
    from lrcore.parity import available_backends

    names = available_backends()
    needs = list(dict.fromkeys(m for b in names for m in registry.get(b).needs))
    examples = HERE.parent / "examples"
    # lrcore's bytecode cached, as an installed lrcore has it (the frameworks have theirs
    # in site-packages): a private PYTHONPYCACHEPREFIX, filled by the warm-up pair, as in
    # the start-up section; else a checkout under PYTHONDONTWRITEBYTECODE=1 compiles
    # lrcore in each of the run's processes every time
    prefix = tempfile.mkdtemp(prefix="lrcore-bench-pyc-")
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPYCACHEPREFIX"] = prefix
    cpu: dict[str, list[float]] = {"parity": [], "imports": []}

    def spawn(args: list[str], key: str):
        def run():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([sys.executable, *args], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[key].append((after.ru_utime - before.ru_utime)
                            + (after.ru_stime - before.ru_stime))
        return run

    try:
        t = interleaved(spawn(["-m", "lrcore.cli", "parity", str(examples)], "parity"),
                        spawn(["-c", "import " + ", ".join(needs)], "imports"),
                        cfg.parity_reps, warmup=1, collect_every=0)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
    n = len(t.a_ns)
    cpu_a, cpu_b = cpu["parity"][-n:], cpu["imports"][-n:]
    n_specs = sum(1 for p in examples.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    row = timing_row("parity run", f"`lrcore parity examples/` ({n_specs} specs, "
                     f"{len(names)} backends) vs `import {', '.join(needs)}`", t, 1.5,
                     unit="s", extra={"backends": names, "imports": needs,
                                      "cpu_s_parity": [round(c, 2) for c in cpu_a],
                                      "cpu_s_imports": [round(c, 2) for c in cpu_b]})
    # the same pairs in CPU seconds (user + sys of each process tree): what the run costs
    # whatever the load, where wall time depends on free cores
    ratios = [a / b for a, b in zip(cpu_a, cpu_b, strict=True)]
    cpu_row = Row("parity run", "the same, CPU seconds (user + sys, every process)",
                  f"{statistics.median(cpu_a):.2f} s", f"{statistics.median(cpu_b):.2f} s",
                  (statistics.median(ratios), min(ratios), max(ratios)), "(info)", None,
                  {"reps": n, "ratios": [round(r, 5) for r in ratios]})
    return [row, cpu_row]


# ---- start-up --------------------------------------------------------------------------------

def bench_startup(cfg: Config) -> list[Row]:
    rows = []
    # Bytecode: an installed lrcore has .pyc files like numpy; a checkout run with
    # PYTHONDONTWRITEBYTECODE=1 (this machine sets it) compiles every lrcore module on
    # every import. The goal is judged with a bytecode cache (a private
    # PYTHONPYCACHEPREFIX, filled by the warm-up runs, so the tree stays clean); the
    # inherited environment is reported as information.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lrcore-bench-pyc-") as prefix:
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = prefix
        rows.append(_import_row(cfg, cached, "bytecode cached", goal=True))
    inherited = os.environ.get("PYTHONDONTWRITEBYTECODE")
    rows.append(_import_row(cfg, dict(os.environ), "inherited env, PYTHONDONTWRITEBYTECODE="
                            f"{inherited}" if inherited else "inherited env", goal=False))
    rows += _adapter_rows_torch(cfg)
    rows += _adapter_rows_optax(cfg)
    return rows


def _import_row(cfg: Config, env: dict[str, str], label: str, goal: bool) -> Row:
    """``python -c "import lrcore"`` against ``"import numpy"``: wall time (the goal)
    and the child's CPU time (user + sys, less sensitive to other load)."""
    import resource

    cpu: dict[str, list[float]] = {"lrcore": [], "numpy": []}

    def spawn(code: str, key: str):
        def run():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[key].append((after.ru_utime - before.ru_utime)
                            + (after.ru_stime - before.ru_stime))
        return run

    t = interleaved(spawn("import lrcore", "lrcore"), spawn("import numpy", "numpy"),
                    cfg.import_reps, warmup=2, collect_every=0)
    diffs = [a - b for a, b in zip(t.a_ns, t.b_ns, strict=True)]
    med = statistics.median(diffs) / 1e6
    n = len(t.a_ns)
    cpu_diff = statistics.median(a - b for a, b in zip(cpu["lrcore"][-n:], cpu["numpy"][-n:],
                                                        strict=True))
    return Row("start-up", f"import lrcore vs import numpy, {label}: +{med:.1f} ms wall "
               f"(+{cpu_diff * 1e3:.1f} ms CPU)",
               harness.fmt_time(t.a_median(), "ms"), harness.fmt_time(t.b_median(), "ms"),
               t.ratio(), "+ ≤ 30 ms" if goal else "(info)", (med <= 30.0) if goal else None,
               {"lrcore_ns": t.a_median(), "native_ns": t.b_median(),
                "extra_ms_median": med, "extra_ms_min": min(diffs) / 1e6,
                "extra_ms_max": max(diffs) / 1e6, "extra_cpu_ms_median": cpu_diff * 1e3,
                "reps": n, "env": label})


def adapter_rows(section: str, name: str, make_a, make_b, reps: int,
                 first_ns: int, warm_a) -> list[Row]:
    """Cold (a distinct spec every call) and warm (the same spec again) adapter times.

    ``make_a(i)`` / ``make_b(i)`` build what one call needs (outside the timed region)
    and return a zero-argument callable; the callable is what is timed."""
    a_ns, b_ns = [], []
    gc.collect()
    gc.disable()
    try:
        for i in range(reps):
            fa = make_a(i + 1)
            fb = make_b(i + 1) if make_b else None
            t0 = time.perf_counter_ns()
            fa()
            a_ns.append(time.perf_counter_ns() - t0)
            if fb is not None:
                t0 = time.perf_counter_ns()
                fb()
                b_ns.append(time.perf_counter_ns() - t0)
    finally:
        gc.enable()
    warm = []
    for _ in range(min(reps, 50)):
        fa = warm_a()
        t0 = time.perf_counter_ns()
        fa()
        warm.append(time.perf_counter_ns() - t0)
    cold = statistics.median(a_ns)
    ratio = None
    native = "—"
    if b_ns:
        r = [a / b for a, b in zip(a_ns, b_ns, strict=True)]
        ratio = (statistics.median(r), min(r), max(r))
        native = harness.fmt_time(statistics.median(b_ns), "ms")
    data = {"cold_ns_median": cold, "cold_ns_min": min(a_ns), "cold_ns_max": max(a_ns),
            "warm_ns_median": statistics.median(warm), "first_call_ns": first_ns,
            "native_ns_median": statistics.median(b_ns) if b_ns else None, "reps": reps}
    return [Row(section, f"{name}(5-phase spec) → ready, cold "
                f"(warm {statistics.median(warm) / 1e6:.2f} ms, first {first_ns / 1e6:.1f} ms)",
                harness.fmt_time(cold, "ms"), native, ratio, "≤ 5 ms", cold <= 5e6, data)]


def _adapter_rows_torch(cfg: Config) -> list[Row]:
    import torch

    import lrcore

    def opt():
        return torch.optim.SGD([torch.nn.Parameter(torch.zeros(4))], lr=1e-3)

    o, spec0 = opt(), specs.five_phase(0)
    specs.five_phase_torch_native(opt())  # torch's own first-use costs, outside the timing
    t0 = time.perf_counter_ns()
    lrcore.to_torch(spec0, o)  # first call: imports lrcore.adapters.torch
    first = time.perf_counter_ns() - t0

    def make_a(i):
        spec, o = specs.five_phase(i + 10**6), opt()
        return lambda: lrcore.to_torch(spec, o)

    def make_b(i):
        o = opt()
        return lambda: specs.five_phase_torch_native(o)

    same = specs.five_phase(7)

    def warm_a():
        o = opt()
        return lambda: lrcore.to_torch(same, o)

    return adapter_rows("start-up", "to_torch", make_a, make_b, cfg.adapter_reps, first, warm_a)


def _adapter_rows_optax(cfg: Config) -> list[Row]:
    import jax  # noqa: F401 - the framework import is excluded from the figures
    import optax  # noqa: F401

    import lrcore

    spec0 = specs.five_phase(0)
    specs.five_phase_optax_native(0)
    t0 = time.perf_counter_ns()
    lrcore.to_optax(spec0)  # first call: imports lrcore.adapters.optax
    first = time.perf_counter_ns() - t0

    def make_a(i):
        spec = specs.five_phase(i + 2 * 10**6)
        return lambda: lrcore.to_optax(spec)

    def make_b(i):
        return lambda: specs.five_phase_optax_native(i)

    same = specs.five_phase(7)
    return adapter_rows("start-up", "to_optax", make_a, make_b, cfg.adapter_reps, first,
                        lambda: (lambda: lrcore.to_optax(same)))


# ---- main --------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small repetition counts")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--json", default=str(HERE / "results.json"),
                        help="where to write the results (default benchmarks/results.json)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    cfg = Config(args.quick)
    info = harness.machine_info()
    info["load_average_start"] = harness.load_average()
    started = time.perf_counter()
    rows: list[Row] = []
    durations: dict[str, float] = {}
    failed: list[str] = []
    # keras first: heaviest
    order = ["keras", "startup", "torch", "hf", "lightning", "optax", "evaluator", "parity"]
    for section in [s for s in order if s in only]:
        t0 = time.perf_counter()
        print(f"[{section}] ...", file=sys.stderr, flush=True)
        try:
            rows += globals()[f"bench_{section}"](cfg)
        except Exception as err:  # one broken section must not hide the others' figures
            failed.append(section)
            rows.append(Row(section, f"{section}: FAILED ({type(err).__name__}: "
                            f"{str(err).strip().splitlines()[-1][:120] if str(err) else ''})",
                            "—", "—", None, "runs", False, {"error": repr(err)}))
            print(f"[{section}] failed: {err!r}", file=sys.stderr, flush=True)
        durations[section] = round(time.perf_counter() - t0, 1)
        print(f"[{section}] {durations[section]} s", file=sys.stderr, flush=True)
    rank = ("import", "to_torch", "to_optax", "to_keras")  # start-up rows in this order
    rows.sort(key=lambda r: (SECTIONS.index(_section_key(r.section)),
                             next((i for i, p in enumerate(rank) if r.figure.startswith(p)), 0)))
    info["load_average_end"] = harness.load_average()
    elapsed = time.perf_counter() - started
    print(harness.table(rows))
    misses = [r.figure for r in rows if r.met is False]
    print(f"\n{len(rows)} figures, {sum(r.met is True for r in rows)} goals met, "
          f"{len(misses)} missed; {elapsed:.0f} s; load average "
          f"{info['load_average_start']} -> {info['load_average_end']} on {info['cores']} "
          f"cores ({info['cpu_model']}){'; QUICK run' if cfg.quick else ''}")
    print(f"op counting rule: {OP_RULE}")
    result = {"quick": cfg.quick, "failed_sections": failed, "elapsed_s": round(elapsed, 1),
              "section_s": durations,
              "machine": info, "rows": harness.rows_to_json(rows),
              "method": harness.__doc__.strip()}
    Path(args.json).write_text(json.dumps(result, indent=1, default=str) + "\n",
                               encoding="utf-8")
    # missed goals are findings, not failures; a section that could not run is a failure
    return 1 if failed else 0


def _section_key(section: str) -> str:
    for s in SECTIONS:
        if section.lower().startswith(s) or (s == "evaluator" and "evaluator" in section):
            return s
    return "startup"


if __name__ == "__main__":
    sys.exit(main())
