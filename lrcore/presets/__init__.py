"""Presets: the schedule builders of other libraries, returning lrcore specs.

* :mod:`lrcore.presets.optax` — optax's schedule builders, same names and signatures
  (``lrcore.presets.optax.warmup_cosine_decay_schedule(...)``);
* :func:`lrcore.presets.hf` — transformers' schedulers by name
  (``lrcore.presets.hf("cosine", lr, num_warmup_steps, num_training_steps)``).

Neither imports a framework.
"""

from __future__ import annotations

from . import optax
from .hf import hf

__all__ = ["hf", "optax"]
