"""The post-import hook ``import lrcore`` installs for Keras (``lrcore._post_import``),
driven with two throwaway modules in a child process: ``trigger`` (the role of keras)
and ``after`` (the role of lrcore.adapters.keras), each recording when it runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent('''
    import sys, warnings
    sys.path.insert(0, ".")
    from lrcore._post_import import _Finder, import_after

    def finders():  # lrcore's own, for keras, is there too (keras not yet imported)
        return [f.trigger for f in sys.meta_path
                if isinstance(f, _Finder) and f.trigger != "keras"]

    {body}
    print("ok")
''')

MODULES = {
    "trigger.py": "import log\nlog.events.append('trigger')\n",
    "after.py": "import log, trigger\nlog.events.append('after ' + trigger.__name__)\n",
    "broken.py": "import log\nlog.events.append('broken')\nraise RuntimeError('boom')\n",
    "log.py": "events = []\n",
}


def _run(tmp_path, body: str) -> None:
    for name, text in MODULES.items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run([sys.executable, "-c", CHILD.format(body=textwrap.dedent(body))],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_fires_once_right_after_the_trigger_is_imported(tmp_path):
    _run(tmp_path, """
        import log
        import_after("trigger", "after")
        import_after("trigger", "after")  # twice: still one finder, one import
        assert "trigger" not in sys.modules and finders() == ["trigger"]
        import trigger
        assert log.events == ["trigger", "after trigger"], log.events
        assert finders() == []  # removed itself
        assert trigger.__loader__ is trigger.__spec__.loader  # the real loader, kept
        assert type(trigger.__loader__).__name__ == "SourceFileLoader"
    """)


def test_runs_at_once_when_the_trigger_is_already_imported(tmp_path):
    _run(tmp_path, """
        import log, trigger
        import_after("trigger", "after")
        assert log.events == ["trigger", "after trigger"] and finders() == []
    """)


def test_a_failed_import_of_the_trigger_fires_on_the_retry(tmp_path):
    _run(tmp_path, """
        import log
        import_after("broken", "trigger")
        for attempt in range(2):
            try:
                import broken
            except RuntimeError:
                pass
        assert log.events == ["broken", "broken"] and finders() == ["broken"]
    """)


def test_a_module_that_fails_after_the_trigger_warns_and_the_trigger_imports(tmp_path):
    _run(tmp_path, """
        import log
        import_after("trigger", "broken")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import trigger
        assert "trigger" in sys.modules and log.events == ["trigger", "broken"]
        assert [str(w.message) for w in caught] == [
            "lrcore could not import broken after trigger (RuntimeError('boom')); import "
            "it yourself to use lrcore with trigger"], caught
        assert all(w.category is RuntimeWarning for w in caught)
    """)


def test_find_spec_alone_imports_nothing(tmp_path):
    """``importlib.util.find_spec`` (lrcore.backends asks it whether keras is installed)
    neither imports the trigger nor fires."""
    _run(tmp_path, """
        import importlib.util, log
        import_after("trigger", "after")
        spec = importlib.util.find_spec("trigger")
        assert spec is not None and spec.origin.endswith("trigger.py")
        assert "trigger" not in sys.modules and log.events == [] and finders() == ["trigger"]
        assert importlib.util.find_spec("no_such_module_here") is None
    """)
