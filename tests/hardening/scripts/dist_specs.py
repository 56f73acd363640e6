"""The specs and step counts the distributed scripts train with (shared with the tests).

PLATEAU: a warmup and cosine restarts, cut by reduce-on-plateau on the averaged loss.
PLAIN: a warmup over one epoch, then a staircase exponential decay with a floor.
"""

from __future__ import annotations

STEPS = 40  # torch DDP and JAX
KERAS_STEPS = 24  # Keras: 6 epochs of 4 batches
REPORT_EVERY = 3

PLATEAU = {"lrcore": 1, "schedule": {
    "type": "plateau", "factor": 0.5, "patience": 0, "threshold": 0.05,
    "schedule": {"type": "sequence", "phases": [
        {"type": "linear", "start": 1e-3, "end": 0.05, "duration": 5},
        {"type": "cosine_restarts", "start": 0.05, "end": 1e-3, "period": 7,
         "period_mult": 1.5, "peak_mult": 0.8}]}}}

PLAIN = {"lrcore": 1, "steps_per_epoch": 4, "schedule": {
    "type": "sequence", "phases": [
        {"type": "linear", "start": 0.0, "end": 0.04, "duration": "1ep"},
        {"type": "exponential", "start": 0.04, "rate": 0.5, "every": 3, "staircase": True,
         "bound": 1e-3}]}}
