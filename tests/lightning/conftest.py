"""Lightning's own advice warnings, filtered here only (pytest turns warnings into errors)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = __file__.rsplit("/", 1)[0]
    for item in items:
        if str(item.fspath).startswith(here):
            # the tiny in-memory loaders below are fast on the main process: Lightning's
            # advice to add DataLoader workers does not apply
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:The '.*dataloader' does not have many workers"))
            # 4 batches per epoch is smaller than Lightning's default logging interval;
            # the tests that read logs set log_every_n_steps=1
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:The number of training batches .* is smaller than the logging "
                "interval"))
            # Lightning 2.6 builds torch.utils._pytree.LeafSpec(), which torch 2.13
            # deprecates; Lightning's code, not lrcore's, and harmless for these loaders
            item.add_marker(pytest.mark.filterwarnings(
                r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"))
