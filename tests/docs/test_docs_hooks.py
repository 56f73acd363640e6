"""The generated reference pages (tools/docs_hooks.py) come from the code: every node type
and parameter, every subcommand and option; and the docstrings' reST math becomes
MathJax that the site renders."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

import lrcore
from lrcore.cli import cli
from lrcore.node import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "tools" / "docs_hooks.py")
hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hooks)


def test_the_spec_reference_has_every_type_and_parameter():
    text = hooks.spec_reference()
    assert len(REGISTRY) >= 24
    for name, cls in REGISTRY.items():
        assert f"### `{name}`\n" in text
        for f in cls.fields():
            assert f"| `{f.name}` |" in text
            assert f.metadata["doc"] in text, (name, f.name)


def test_a_node_section_is_its_docstring_and_its_parameter_table():
    text = hooks.node_section(lrcore.cosine)
    assert "$$\nw(t) = \\Big(\\tfrac{1 + \\cos(\\pi t / D)}{2}\\Big)^{p}, \\qquad\n" in text
    assert "After \\(D\\) the rate holds \\(e\\), unless ``periodic``" in text
    assert "```pycon\n>>> import lrcore\n" in text
    assert ("| `exponent` | a number in (0, 3] | `1.0` | > 0; ≤ 3 | "
            "power of the cosine term (optax) |") in text
    assert "| `start` | a learning rate (a finite number >= 0) | required | ≥ 0;" in text


def test_rst_to_markdown():
    doc = """Title.

    .. math:: a = b
              + c

    Text with :math:`x_1` and :class:`lrcore.Node`.

    >>> 1 + 1
    2
    """
    assert hooks.rst_to_markdown(doc) == (
        "Title.\n\n\n$$\na = b\n+ c\n$$\n\nText with \\(x_1\\) and `lrcore.Node`.\n\n\n"
        "```pycon\n>>> 1 + 1\n2\n```\n")


def test_the_cli_reference_has_every_command_and_option():
    text = hooks.cli_reference()
    root = click.Context(cli, info_name="lrcore")
    for name in cli.list_commands(root):
        assert f"### `lrcore {name}`" in text
        for param in cli.get_command(root, name).params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-"):
                    assert opt in text, (name, opt)
    assert "-h, --help" in text


def test_the_markers_are_replaced():
    page = "# x\n\n<!-- lrcore:spec-reference -->\n\n<!-- lrcore:cli-reference -->\n"
    out = hooks.on_page_markdown(page)
    assert "<!--" not in out
    assert "### `sequence`" in out and "### `lrcore parity`" in out
