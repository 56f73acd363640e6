"""Integrations with trainers (each module imports its trainer; ``import lrcore`` loads none)."""
