"""Trainer integrations: each module imports its own trainer (``import lrcore`` loads none)."""
