"""The Keras schedule's arithmetic and its step domain, on the backend of this process
(``KERAS_BACKEND``; tox runs the file once per backend).

* dtype: the formula runs in float64 (tensorflow, torch; jax with ``jax_enable_x64``)
  or float32 (jax) and is cast once to ``keras.config.floatx()``. In float16 nothing is
  NaN; in float32 on tensorflow and torch the rate is the float64 reference rounded
  once (``np.float32(reference)``, 0 ulp) at every step of ``lrcore.grid(spec)``, eager
  and compiled. Mixed precision policies train with the float32 rate;
* steps outside ``[0, 2**31 - 1]`` (the counter, divided by ``gradient_accumulation_steps``
  first): an eager call with a concrete step raises ``SpecError``; inside a compiled
  function or train step the step saturates (clamped in its own integer dtype).

Oracles: ``lrcore.evaluate`` (float64) rounded by numpy, and literal steps.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from rates import F32, assert_rates  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402

K = keras.ops
BACKEND = keras.backend.backend()
MAX = 2**31 - 1
#: tensorflow and torch compute the formula in float64 and round once
EXACT = BACKEND in ("tensorflow", "torch")

def _np(x) -> np.ndarray:
    return np.asarray(K.convert_to_numpy(x))


def _tensor(values, dtype: str):
    """A backend tensor of exactly ``dtype`` (Keras's torch backend turns numpy uint32
    into int32, so uint32 is built with torch itself)."""
    values = np.asarray(values, dtype=dtype)
    if BACKEND == "torch":
        import torch

        return torch.from_numpy(values.astype(np.int64)).to(getattr(torch, dtype)) \
            if dtype == "uint32" else torch.from_numpy(values)
    return K.convert_to_tensor(values, dtype=dtype)


def _compiled(fn):
    """``fn`` compiled by the backend: XLA (tensorflow, jax), torch.compile (torch)."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    import torch

    return torch.compile(fn)


def _wide_int() -> str:
    """The widest integer dtype a tensor has here: int64, or int32 on jax without x64."""
    if BACKEND == "jax":
        import jax

        return "int64" if jax.config.jax_enable_x64 else "int32"
    return "int64"


@pytest.fixture(autouse=True)
def _fresh_torch_compile():
    """torch.compile gives up on a function after 8 recompilations and runs it eagerly
    (where a step outside the domain raises instead of saturating): each test starts
    with dynamo's caches empty, so none inherits another's compilations."""
    if BACKEND == "torch":
        import torch

        torch._dynamo.reset()


@pytest.fixture
def floatx():
    """``keras.config.set_floatx``, undone afterwards. Keras caches the global dtype
    policy derived from floatx on first use, so the policy is reset too."""
    assert keras.config.floatx() == "float32"
    yield keras.config.set_floatx
    keras.config.set_floatx("float32")
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def policy():
    """``keras.mixed_precision.set_global_policy``, undone afterwards."""
    assert keras.mixed_precision.global_policy().name == "float32"
    yield keras.mixed_precision.set_global_policy
    keras.mixed_precision.set_global_policy("float32")


# ---- dtype -------------------------------------------------------------------------------------

COSINE_100K = lrcore.cosine(start=1e-3, end=0.0, duration=100_000)

PARITY_SPECS = {
    "cosine-exponent": lrcore.cosine(start=0.1, end=2e-5, duration=1000, exponent=2.5),
    "cosine-rising-exponent": lrcore.cosine(start=1e-4, end=0.05, duration=700, exponent=3.0),
    "polynomial": lrcore.polynomial(start=0.1, end=1e-5, power=3.0, duration=777),
    "exponential": lrcore.exponential(start=0.1, rate=0.93, every=13, begin=7),
    "tiny-rates": lrcore.sequence(phases=[
        lrcore.linear(start=1e-12, end=3e-9, duration=50),
        lrcore.cosine(start=3e-9, end=1e-13, duration=450)]),
    "sequence": lrcore.sequence(phases=[
        lrcore.linear(start=1e-5, end=3e-3, duration=37),
        lrcore.constant(value=3e-3, duration=20),
        lrcore.cosine(start=3e-3, end=2e-5, duration=150, exponent=1.5),
        lrcore.exponential(start=2e-5, rate=0.5, every=40)]),
    "onecycle": lrcore.onecycle(peak=0.02, duration=173, pct_start=0.27, div_factor=11.0,
                                final_div_factor=70.0, three_phase=True),
    "cosine_restarts": lrcore.cosine_restarts(start=0.1, end=0.01, period=17,
                                              period_mult=2.0, peak_mult=0.5),
}


def test_float16_floatx_has_no_nan(floatx):
    """``set_floatx("float16")``: a 100 000-step cosine from 1e-3 is finite everywhere
    (it was NaN at steps 0 and 1: pi / (2 D) and D - t do not fit float16), float16,
    and the reference rounded to float16 (within half a float16 ulp, plus half a
    float32 ulp for the float32 step some backends round through)."""
    floatx("float16")
    schedule = lrcore.to_keras(COSINE_100K)
    steps = lrcore.grid(COSINE_100K)
    out = schedule(_tensor(steps, "int32"))
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    got = _np(out).astype(np.float64)
    ref = lrcore.evaluate(COSINE_100K, steps)
    assert got[0] == got[1] == float(np.float16(1e-3))
    # float16 spacing: 2**-10 relative (normal), 2**-24 absolute (subnormal, < 2**-14)
    assert_rates(got, ref, rtol=2**-11 + F32["rtol"], atol=2**-25 / 1e-3)
    for k in (0, 1, 50_000, 99_999):
        assert float(_np(schedule(k))) == float(np.float16(lrcore.evaluate(COSINE_100K, k)))


@pytest.mark.parametrize("name", sorted(PARITY_SPECS))
def test_float32_is_the_reference_rounded_once(name):
    """On tensorflow and torch the float32 rate is ``np.float32(reference)`` exactly at
    every step of the parity grid (eager, and compiled: XLA, torch.compile); on jax
    (float32 arithmetic) it is within the float32 tolerance. (Rates here stay above
    float32's subnormal range, which tensorflow flushes to zero.)"""
    spec = PARITY_SPECS[name]
    steps = lrcore.grid(spec)
    ref = lrcore.evaluate(spec, steps)
    schedule = lrcore.to_keras(spec)
    t = _tensor(steps, _wide_int())
    for run in (schedule, _compiled(lambda s: schedule(s))):
        out = run(t)
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
        got = _np(out)
        if EXACT:
            bad = np.flatnonzero(got != ref.astype(np.float32))
            assert bad.size == 0, (f"{bad.size} steps differ, first {steps[bad[:3]]}: "
                                   f"{got[bad[:3]]} vs {ref[bad[:3]].astype(np.float32)}")
        else:
            assert_rates(got, ref, **F32)


def _random_trees(n: int) -> list[lrcore.Schedule]:
    """The parity suite's seeded random trees (its grammar, tests/parity), without the
    plateau roots (their rates depend on reports, which the Keras schedule takes from
    a callback)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "parity" / "test_random_trees.py"
    spec = importlib.util.spec_from_file_location("lrcore_random_trees", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    docs = [doc for doc, reports in module.seeded_batch(module.SEED, 3 * n) if reports is None]
    return [lrcore.Schedule.from_dict(doc).resolve() for doc in docs[:n]]


def test_random_trees_are_the_reference_rounded_once():
    """The same promise on random trees (families nested in combinators), eager and
    compiled in one function: tensorflow and torch equal ``np.float32(reference)`` at
    every step of each tree's parity grid; jax is within the float32 tolerance."""
    trees = _random_trees(8)
    grids = [lrcore.grid(tree, 2000) for tree in trees]
    schedules = [lrcore.to_keras(tree) for tree in trees]
    tensors = [_tensor(g, _wide_int()) for g in grids]

    def all_rates(*steps):
        return [f(s) for f, s in zip(schedules, steps, strict=False)]

    # torch.compile takes ~10 s a tree here: it compiles the first three
    compiled = 3 if BACKEND == "torch" else len(trees)
    for run, n in ((all_rates, len(trees)), (_compiled(all_rates), compiled)):
        for tree, steps, out in zip(trees[:n], grids, run(*tensors[:n]), strict=False):
            ref = lrcore.evaluate(tree, steps)
            got = _np(out)
            if EXACT:
                bad = np.flatnonzero(got != ref.astype(np.float32))
                assert bad.size == 0, (f"{tree.to_dict()}: {bad.size} steps differ, first "
                                       f"{steps[bad[:3]]}: {got[bad[:3]]} vs "
                                       f"{ref[bad[:3]].astype(np.float32)}")
            else:
                assert_rates(got, ref, **F32)


@keras.saving.register_keras_serializable(package="lrcore_tests")
def mean_prediction(y_true, y_pred):
    return K.mean(y_pred)


X64_SCRIPT = """
import jax
jax.config.update("jax_enable_x64", True)
import json, sys
import numpy as np, keras, lrcore
out = {}
for name, doc in json.loads(sys.stdin.read()).items():
    spec = lrcore.Schedule.from_dict(doc)
    steps = lrcore.grid(spec)
    schedule = lrcore.to_keras(spec)
    t = keras.ops.convert_to_tensor(steps, dtype="int64")
    got = [np.asarray(f(t)) for f in (schedule, jax.jit(lambda s: schedule(s)))]
    ref = lrcore.evaluate(spec, steps).astype(np.float32)
    out[name] = [str(g.dtype) for g in got] + [int(np.sum(g != ref)) for g in got]
far = jax.jit(lambda s: schedule(s))(jax.numpy.asarray([-5, 2**40], dtype=jax.numpy.int64))
out["far"] = (np.asarray(far) == lrcore.evaluate(spec, [0, 2**31 - 1]).astype(np.float32)).tolist()
print(json.dumps(out))
"""


def test_jax_x64_computes_in_float64():
    """With ``jax_enable_x64`` keras-jax computes in float64 and rounds once, like
    tensorflow and torch: ``np.float32(reference)`` at every grid step, eager and under
    jax.jit; an int64 step saturates. In a subprocess: x64 is a process-wide switch."""
    if BACKEND != "jax":
        pytest.skip("jax_enable_x64 is a jax switch: the keras-jax env runs this")
    import json
    import os
    import subprocess
    import sys

    docs = {name: lrcore.Schedule(schedule=spec).to_dict()
            for name, spec in PARITY_SPECS.items()}
    proc = subprocess.run([sys.executable, "-c", X64_SCRIPT], input=json.dumps(docs),
                          capture_output=True, text=True, timeout=300, check=False,
                          env=dict(os.environ, KERAS_BACKEND="jax"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out.pop("far") == [True, True]
    assert out == {name: ["float32", "float32", 0, 0] for name in PARITY_SPECS}


def _unit_gradient_model(optimizer, jit_compile=True, run_eagerly=False):
    """y = k x with x = 1 and loss mean(y): the kernel's gradient is exactly 1, so plain
    SGD from k = 0 leaves exactly k = -lr (in the kernel's dtype)."""
    model = keras.Sequential([keras.Input((1,)),
                              keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=optimizer, loss=mean_prediction, jit_compile=jit_compile,
                  run_eagerly=run_eagerly)
    return model


class AppliedRates(keras.callbacks.Callback):
    """Zero the kernel before each batch and read it after: minus the rate the compiled
    train step applied (gradient exactly 1). Also records ``optimizer.learning_rate``."""

    def __init__(self) -> None:
        super().__init__()
        self.applied, self.lrs, self.dtypes = [], [], []

    def _sync(self):
        if BACKEND == "jax":
            self.model.jax_state_sync()

    def on_train_batch_begin(self, batch, logs=None):
        self._sync()
        kernel = self.model.layers[0].kernel
        kernel.assign(np.zeros(kernel.shape, dtype=kernel.dtype))
        lr = self.model.optimizer.learning_rate
        self.lrs.append(float(_np(lr)))
        self.dtypes.append(keras.backend.standardize_dtype(lr.dtype))

    def on_train_batch_end(self, batch, logs=None):
        self._sync()
        self.applied.append(-float(_np(self.model.layers[0].kernel)[0, 0]))


TRAIN = lrcore.sequence(phases=[lrcore.linear(start=1e-4, end=0.03, duration=10),
                                lrcore.cosine(start=0.03, end=3e-5, duration=30)])


def _fit_unit(model, updates: int, callbacks=()):
    x, y = np.ones((16 * updates, 1), "float32"), np.zeros((16 * updates, 1), "float32")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0,
              callbacks=list(callbacks))


def test_float16_floatx_trains(floatx):
    """fit (compiled) with float16 everywhere: every applied rate is the reference in
    float16 (half an ulp, see above), and the learning rate Keras reads is float16."""
    floatx("float16")
    model = _unit_gradient_model(keras.optimizers.SGD(learning_rate=lrcore.to_keras(TRAIN)))
    rec = AppliedRates()
    _fit_unit(model, 40, [rec])
    ref = lrcore.evaluate(TRAIN, np.arange(40))
    assert set(rec.dtypes) == {"float16"}
    assert_rates(rec.applied, ref, rtol=2**-11 + F32["rtol"], atol=F32["atol"])
    assert_rates(rec.lrs, ref, rtol=2**-11 + F32["rtol"], atol=F32["atol"])


@pytest.mark.parametrize("name", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_with_the_float32_rate(policy, name, tmp_path):
    """A mixed precision policy keeps float32 variables (mixed_float16 wraps the
    optimizer in a LossScaleOptimizer): the rate Keras reads is float32, each applied
    rate is the float32 rate (on tensorflow/torch ``np.float32(reference)`` exactly),
    and model.save/load_model under the policy continues the curve."""
    policy(name)
    schedule = lrcore.to_keras(TRAIN)
    model = _unit_gradient_model(keras.optimizers.SGD(learning_rate=schedule))
    if name == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    rec = AppliedRates()
    _fit_unit(model, 25, [rec])
    path = tmp_path / "mixed.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    _fit_unit(loaded, 15, [rec])
    ref = lrcore.evaluate(TRAIN, np.arange(40))
    assert set(rec.dtypes) == {"float32"}
    if EXACT:
        assert rec.lrs == rec.applied == ref.astype(np.float32).tolist()
    else:
        assert_rates(rec.lrs, ref, **F32)
        assert_rates(rec.applied, ref, **F32)


# ---- the step domain --------------------------------------------------------------------------

WARMUP = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1e-3, duration=100),
                                 lrcore.constant(value=1e-3, duration=50),
                                 lrcore.cyclic(low=0.1, high=1.0, up=7, down=5)])


def _ref(spec, steps) -> np.ndarray:
    return lrcore.evaluate(spec, np.clip(np.asarray(steps, dtype=np.float64), 0, MAX)
                           .astype(np.int64))


def _assert_ref(got, spec, steps):
    ref = _ref(spec, steps)
    if EXACT:
        assert np.asarray(got).tolist() == ref.astype(np.float32).tolist()
    else:
        assert_rates(got, ref, **F32, peak=1.0)


def _eager_inputs():
    """(step as given, the value named in the error): Python ints, numpy, tensors."""
    cases = [(-5, -5), (MAX + 1, 2**31), (2**40, 2**40), (2**70, 2**70),
             (np.int64(2**31), 2**31), (np.array([0, -5, 3]), -5),
             (np.array([3_000_000_000], dtype=np.uint32), 3_000_000_000),
             (_tensor([-5, 4], "int32"), -5),
             (_tensor([7, 3_000_000_000], "uint32"), 3_000_000_000)]
    if _wide_int() == "int64":
        cases.append((_tensor([2**40], "int64"), 2**40))
    return cases


@pytest.mark.parametrize("case", range(len(_eager_inputs())))
def test_eager_step_outside_the_domain_is_an_error(case):
    step, shown = _eager_inputs()[case]
    schedule = lrcore.to_keras(WARMUP)
    with pytest.raises(SpecError) as err:
        schedule(step)
    assert str(err.value) == f"iterations: must be in [0, 2**31 - 1], got {shown}" \
        if abs(shown) < 2**62 else "iterations: must be in [0, 2**31 - 1], got ~2**70"


def test_float_steps():
    """Eagerly a float step follows lrcore.evaluate (3.0 is step 3, 2.5 is an error);
    inside a compiled function it is floored and saturates (NaN is step 0)."""
    schedule = lrcore.to_keras(WARMUP)
    eager = [float(_np(schedule(3.0))), *_np(schedule(np.array([4.0, 5.0]))),
             *_np(schedule(K.convert_to_tensor([6.0], dtype="float32")))]
    _assert_ref(eager, WARMUP, [3, 4, 5, 6])
    with pytest.raises(SpecError) as err:
        schedule(2.5)
    assert str(err.value) == ("iterations: must be integers (optimizer updates already "
                              "applied), got 2.5")
    with pytest.raises(SpecError) as err:
        schedule(K.convert_to_tensor(2.0**31, dtype="float32"))
    assert str(err.value) == "iterations: must be in [0, 2**31 - 1], got 2147483648"
    run = _compiled(lambda s: schedule(s))
    steps = [-5.0, 3.0, 3.7, 104.5, 2.0**31, 1e20, np.inf, -np.inf, np.nan]
    got = _np(run(K.convert_to_tensor(np.array(steps, dtype="float32"))))
    _assert_ref(got, WARMUP, [0, 3, 3, 104, MAX, MAX, MAX, 0, 0])


def test_eager_edges_of_the_domain():
    schedule = lrcore.to_keras(WARMUP)
    steps = [0, 1, 99, 100, MAX - 1, MAX]
    _assert_ref(_np(schedule(_tensor(steps, _wide_int()))), WARMUP, steps)
    _assert_ref([float(_np(schedule(k))) for k in steps], WARMUP, steps)
    _assert_ref(_np(schedule(np.asarray(steps, dtype=np.uint32))), WARMUP, steps)


def _outside(opt) -> int:
    """A counter value outside the domain: 2**31 + 7 where the counter is int64
    (tensorflow), -5 where Keras makes it int32 (jax, torch)."""
    dtype = keras.backend.standardize_dtype(opt.iterations.dtype)
    return 2**31 + 7 if dtype == "int64" else -5


def test_eager_optimizer_counter_outside_the_domain_is_an_error():
    """``optimizer.learning_rate`` read eagerly with the counter outside the domain
    raises; at 2**31 - 1 it is the reference."""
    opt = keras.optimizers.SGD(learning_rate=lrcore.to_keras(WARMUP))
    opt.iterations.assign(MAX)
    _assert_ref([float(_np(opt.learning_rate))], WARMUP, [MAX])
    bad = _outside(opt)
    opt.iterations.assign(bad)
    with pytest.raises(SpecError) as err:
        opt.learning_rate  # noqa: B018 - the property evaluates the schedule
    assert str(err.value) == f"iterations: must be in [0, 2**31 - 1], got {bad}"


def test_compiled_step_saturates():
    """Inside a compiled function nothing can be raised: a step below 0 is step 0, a step
    above 2**31 - 1 is 2**31 - 1, clamped in the input's own dtype (an int64 2**40 or a
    uint32 3e9 cast to int32 first would wrap to another step)."""
    schedule = lrcore.to_keras(WARMUP)
    run = _compiled(lambda s: schedule(s))
    steps = [-2**40, -5, 0, 3, 104, MAX - 1, MAX, 2**31, 2**31 + 3, 2**40, 2**62]
    if _wide_int() == "int32":
        steps = [s for s in steps if -2**31 <= s <= MAX]
    _assert_ref(_np(run(_tensor(steps, _wide_int()))), WARMUP, steps)
    unsigned = [0, 3, MAX, 2**31, 3_000_000_000, 2**32 - 1]
    _assert_ref(_np(run(_tensor(unsigned, "uint32"))), WARMUP, unsigned)


def test_gradient_accumulation_domain_is_on_updates():
    """With k = 4 the counter is divided first: 4 (2**31 - 1) + 3 is update 2**31 - 1
    (the reference's last step), 4 * 2**31 is update 2**31 (an error eagerly, 2**31 - 1
    when compiled), -5 is update -2 (an error; 0 when compiled)."""
    schedule = lrcore.to_keras(WARMUP, gradient_accumulation_steps=4)
    _assert_ref([float(_np(schedule(4 * MAX + 3)))], WARMUP, [MAX])
    for raw, shown in [(4 * 2**31, 2**31), (-5, -2)]:
        with pytest.raises(SpecError) as err:
            schedule(raw)
        assert str(err.value) == f"iterations: must be in [0, 2**31 - 1], got {shown}"
    run = _compiled(lambda s: schedule(s))
    if _wide_int() == "int64":
        raw = [-5, 0, 7, 4 * MAX + 3, 4 * 2**31, 4 * 2**40]
        _assert_ref(_np(run(_tensor(raw, "int64"))), WARMUP,
                    [max(r // 4, -1) for r in raw])
    else:
        raw = [-5, 0, 7, MAX]
        _assert_ref(_np(run(_tensor(raw, "int32"))), WARMUP, [max(r // 4, -1) for r in raw])


def test_train_step_saturates_and_eager_fit_raises():
    """The optimizer's counter outside the domain: the compiled train step applies the
    rate at the clamped step (read off the kernel); an eager train step (run_eagerly)
    raises."""
    opt = keras.optimizers.SGD(learning_rate=lrcore.to_keras(WARMUP))
    bad = _outside(opt)
    clamped = MAX if bad > 0 else 0
    model = _unit_gradient_model(opt, jit_compile=True)
    opt.build(model.trainable_variables)
    opt.iterations.assign(bad)
    _fit_unit(model, 1)
    _assert_ref([-float(_np(model.layers[0].kernel)[0, 0])], WARMUP, [clamped])

    opt = keras.optimizers.SGD(learning_rate=lrcore.to_keras(WARMUP))
    model = _unit_gradient_model(opt, jit_compile=False, run_eagerly=True)
    opt.build(model.trainable_variables)
    opt.iterations.assign(bad)
    with pytest.raises(SpecError) as err:
        _fit_unit(model, 1)
    assert str(err.value) == f"iterations: must be in [0, 2**31 - 1], got {bad}"
