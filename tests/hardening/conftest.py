"""Hardening tests: print how many fuzzed inputs each family tried (terminal summary)."""

from __future__ import annotations

import hardening_helpers


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    counts = hardening_helpers.COUNTS
    if not counts:
        return
    total = sum(counts.values())
    parts = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    terminalreporter.write_line(f"hardening: {total} inputs tried ({parts})")
