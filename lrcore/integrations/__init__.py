"""Trainer integrations: each module imports its own trainer."""
