"""MkDocs hook: generates the spec reference and the CLI reference at build time.

A page holds a marker line, and the build puts the generated text in its place:

* ``<!-- lrcore:spec-reference -->``: every registered node type, from its class: the
  docstring (its ``.. math::`` blocks and ``:math:`` roles become MathJax), and a table of
  its parameters from their ``param(kind, default, doc=...)`` declarations (kind, default,
  bounds from the kind's JSON Schema, the doc line).
* ``<!-- lrcore:cli-reference -->``: every ``lrcore`` subcommand, from the click command
  itself (usage, help text, each option with its type, default and help).

Nothing generated is checked in, so the reference cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from typing import Any

SPEC_MARKER = "<!-- lrcore:spec-reference -->"
CLI_MARKER = "<!-- lrcore:cli-reference -->"


# ---- reStructuredText docstrings -> Markdown with MathJax ------------------------------

_ROLE_MATH = re.compile(r":math:`([^`]+)`")
_ROLE_OTHER = re.compile(r":(?:class|func|mod|meth|attr|data|obj):`~?([^`]+)`")


def rst_to_markdown(doc: str) -> str:
    """The docstring subset the node classes use: ``.. math::`` blocks, ``:math:``,
    ``:class:``-style roles, bullet lists and ``>>>`` doctests."""
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = re.match(r"^(\s*)\.\. math::\s*(.*)$", line)
        if directive:
            indent = len(directive.group(1))
            body = [directive.group(2)] if directive.group(2) else []
            i += 1
            while i < len(lines) and (not lines[i].strip()
                                      or len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i].strip())
                i += 1
            while body and not body[-1]:
                body.pop()
            out += ["", "$$", *[b for b in body if b], "$$", ""]
            continue
        if line.lstrip().startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i].strip())
                i += 1
            out += ["", "```pycon", *block, "```", ""]
            continue
        line = _ROLE_MATH.sub(lambda m: r"\(" + m.group(1) + r"\)", line)
        line = _ROLE_OTHER.sub(lambda m: "`" + m.group(1) + "`", line)
        out.append(line)
        i += 1
    return "\n".join(out).strip() + "\n"


# ---- the spec reference ----------------------------------------------------------------

def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


def _bounds(schema: dict) -> str:
    parts = []
    for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"),
                      ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if key in schema:
            parts.append(f"{sign} {schema[key]:g}")
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"]))
    if "maxItems" in schema:
        parts.append(f"at most {schema['maxItems']} items")
    return "; ".join(parts)


def _kind(kind: Any) -> str:
    what = getattr(kind, "what", None)
    if what:
        return what
    name = type(kind).__name__
    return {"Steps": "steps: N, \"Nep\" or \"N%\"", "StepsList": "a sorted list of steps",
            "Bool": "true or false", "Choice": "a name", "NodeField": "a schedule",
            "NodeList": "a list of schedules", "Points": "[[step, rate], ...]",
            "FloatList": "a list of numbers", "Int": "an integer"}.get(name, name)


def _default(field: dataclasses.Field) -> str:
    if field.default is dataclasses.MISSING:
        return "required"
    if field.default is None:
        return "—"
    return f"`{json.dumps(field.default)}`"


def _is_combinator(cls: type) -> bool:
    from lrcore.fields import NodeField, NodeList

    return any(isinstance(f.metadata["kind"], (NodeField, NodeList)) for f in cls.fields()
               if f.name != "duration")


def node_section(cls: type) -> str:
    rows = ["| parameter | value | default | bounds | meaning |", "|---|---|---|---|---|"]
    for f in cls.fields():
        kind = f.metadata["kind"]
        try:
            schema = kind.schema()
        except Exception:  # noqa: BLE001 - a kind without a schema shows no bounds
            schema = {}
        rows.append(f"| `{f.name}` | {_cell(_kind(kind))} | {_default(f)} | "
                    f"{_cell(_bounds(schema))} | {_cell(f.metadata['doc'])} |")
    module = cls.__module__
    return (f"### `{cls.type}`\n\n"
            f"`{module}.{cls.__name__}`; builder `lrcore.{cls.type}(...)`.\n\n"
            + rst_to_markdown(cls.__doc__ or "") + "\n" + "\n".join(rows) + "\n")


def spec_reference() -> str:
    from lrcore.node import REGISTRY

    families = [c for _, c in sorted(REGISTRY.items()) if not _is_combinator(c)]
    combinators = [c for _, c in sorted(REGISTRY.items()) if _is_combinator(c)]
    out = ["## Families\n",
           "| type | summary |", "|---|---|"]
    out += [f"| [`{c.type}`](#{c.type}) | {_cell(_summary(c))} |" for c in families]
    out += ["", "## Combinators\n", "| type | summary |", "|---|---|"]
    out += [f"| [`{c.type}`](#{c.type}) | {_cell(_summary(c))} |" for c in combinators]
    out += ["", "## Every type\n"]
    out += [node_section(c) for c in families + combinators]
    return "\n".join(out)


def _summary(cls: type) -> str:
    first = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0]
    first = _ROLE_MATH.sub(lambda m: r"\(" + m.group(1) + r"\)", " ".join(first.split()))
    return _ROLE_OTHER.sub(lambda m: "`" + m.group(1) + "`", first)


# ---- the CLI reference -----------------------------------------------------------------

def cli_reference() -> str:
    import click

    from lrcore.cli import cli

    out = []
    root = click.Context(cli, info_name="lrcore", **cli.context_settings)
    out += ["### `lrcore`\n", "```text", cli.get_help(root), "```\n"]
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        ctx = click.Context(command, info_name=name, parent=root)
        out += [f"### `lrcore {name}`\n", "```text", command.get_help(ctx), "```\n"]
    return "\n".join(out)


# ---- the hook --------------------------------------------------------------------------

def on_page_markdown(markdown: str, **_: Any) -> str:
    if SPEC_MARKER in markdown:
        markdown = markdown.replace(SPEC_MARKER, spec_reference())
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown
