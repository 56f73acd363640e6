"""Presets: the schedule builders of other libraries, returning lrcore specs."""
