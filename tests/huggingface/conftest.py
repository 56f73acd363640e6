"""The Hugging Face tests import their tiny model from ``hf_tiny.py`` beside them."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
