"""Keras adapter tests: warnings that are the frameworks' own noise, filtered for every
test here (each filter is narrow: one message, one category)."""

from __future__ import annotations

import pytest

#: keras-torch with jit_compile=True runs torch.compile, whose first use imports
#: torch/utils/mkldnn.py, which decorates a class with the deprecated
#: torch.jit.script_method: torch's own import-time noise, nothing lrcore calls.
#: keras-torch under torch.compile: keras.ops.maximum(int tensor, Python int) runs
#: Keras's own lru_cache'd dtype lattice (keras/src/backend/common/dtypes.py), and
#: dynamo warns that it traces through the cache. A pure function of dtypes, inside
#: Keras: Keras's noise. Only that file is filtered; the same warning for any other
#: function (lrcore's own caches included) still fails the test.
NOISE = [
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning",
    "ignore:Dynamo detected a call to a `functools.lru_cache`-wrapped function at "
    "'dtypes.py:UserWarning",
]


def pytest_collection_modifyitems(items):
    for item in items:
        for note in NOISE:
            item.add_marker(pytest.mark.filterwarnings(note))
