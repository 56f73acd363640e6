"""``import lrcore`` loads no framework (DESIGN invariant 2).

A child process imports lrcore and lrcore.adapters, builds, loads, dumps and evaluates
specs, and reports which of torch, tensorflow, keras, jax and optax (or any of their
submodules) ended up in ``sys.modules``: none may. In the framework-free tox env this
guards the import graph; in an env with every framework installed it proves laziness.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "jaxlib", "optax")
# pyproject: click is imported only by the CLI, matplotlib only by plots
ALSO_LAZY = ("click", "matplotlib")

CHILD = textwrap.dedent("""
    import json, sys
    {body}
    loaded = sorted({{name.split(".")[0] for name in sys.modules}})
    print(json.dumps(loaded))
""")

BODIES = {
    "import lrcore": "import lrcore",
    "import lrcore.adapters": "import lrcore\nimport lrcore.adapters",
    "build, load, dump and evaluate": textwrap.dedent("""
        import lrcore
        spec = lrcore.sequence(phases=[lrcore.linear(start=0.0, end=0.1, duration=10),
                                       lrcore.cosine(start=0.1, end=0.0, duration=90)])
        doc = lrcore.load(lrcore.dumps(spec))
        doc = lrcore.load(lrcore.dumps(doc, "json"))
        values = lrcore.evaluate(doc, range(200))
        assert values[10] == 0.1 and doc.fingerprint()
        assert callable(lrcore.onecycle) and "cosine" in dir(lrcore)
        try:
            lrcore.load("lrcore: 2\\nschedule: {type: constant, value: 0.1}\\n")
        except lrcore.SpecError:
            pass
    """),
}


@pytest.mark.parametrize("body", sorted(BODIES))
def test_no_framework_is_imported(body, tmp_path):
    proc = subprocess.run([sys.executable, "-c", CHILD.format(body=BODIES[body])],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert "lrcore" in loaded and "numpy" in loaded
    assert not loaded & set(FRAMEWORKS), f"{body} loaded {sorted(loaded & set(FRAMEWORKS))}"
    assert not loaded & set(ALSO_LAZY), f"{body} loaded {sorted(loaded & set(ALSO_LAZY))}"
