"""Hostile spec inputs, each loaded in a fresh process: ``python hostile.py NAME``.

Prints one JSON line: the outcome (``spec``, ``SpecError`` or the other exception's
type), the error message, the seconds spent in ``lrcore.load`` plus evaluation, and the
growth of the peak resident memory (``ru_maxrss``) over the process's state after a
warm-up load. ``CASES`` maps each name to ``(builder, expected outcome)``; the builder
makes the input (text, a mapping or a path) inside the child process.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

MAX_BYTES = 1 << 20
ADDRESS_SPACE = 4 << 30  # bytes of virtual memory the child may map
HEAD = "lrcore: 1\nschedule:\n"
INLINE = "lrcore: 1\nschedule: "


def _yaml_flow_list(n: int) -> str:
    return ("lrcore: 1\nschedule:\n  type: piecewise_constant\n  boundaries: [1]\n"
            "  values: [" + ", ".join(["1.0e-3"] * n) + "]\n")


def _yaml_block_list(n: int) -> str:
    return ("lrcore: 1\nschedule:\n  type: piecewise_constant\n  boundaries: [1]\n"
            "  values:\n" + "  - 1.0e-3\n" * n)


def _json_list(n: int) -> str:
    return ('{"lrcore": 1, "schedule": {"type": "piecewise_constant", "boundaries": [1], '
            '"values": [' + ", ".join(["0.001"] * n) + "]}}")


def _valid_pwc(n: int) -> dict:
    return {"lrcore": 1, "schedule": {"type": "piecewise_constant",
                                      "values": [1e-3 / (i + 1) for i in range(n)],
                                      "boundaries": list(range(1, n))}}


def _deep_node_dict(n: int) -> dict:
    node: dict = {"type": "constant", "value": 1.0}
    for _ in range(n):
        node = {"type": "scale", "by": 1.0, "schedule": node}
    return {"lrcore": 1, "schedule": node}


def _deep_list_dict(n: int) -> dict:
    value: Any = 1.0
    for _ in range(n):
        value = [value]
    return {"lrcore": 1, "schedule": {"type": "piecewise_constant", "values": value,
                                      "boundaries": []}}


def _deep_yaml_node(n: int) -> str:
    return ("lrcore: 1\nschedule: " + "{type: scale, by: 1.0, schedule: " * n
            + "{type: constant, value: 1.0}" + "}" * n + "\n")


def _alias_yaml(levels: int) -> str:
    """A YAML alias bomb that is a valid tree shape: each level is a sequence whose ten
    phases are aliases of the level below (10**levels leaves when expanded)."""
    text = "lrcore: 1\nschedule:\n  type: sequence\n  phases:\n"
    text += "  - &n0 {type: constant, value: 1.0, duration: 1}\n"
    for i in range(1, levels + 1):
        text += (f"  - &n{i} {{type: sequence, duration: 1, phases: ["
                 + ", ".join([f"*n{i - 1}"] * 10) + "]}\n")
    return text + "  - {type: constant, value: 1.0}\n"


def _alias_dict(levels: int) -> dict:
    """The same bomb as a mapping that shares sub-mappings (what a YAML or a config
    system hands over after resolving aliases)."""
    node: dict = {"type": "constant", "value": 1.0, "duration": 1}
    for _ in range(levels):
        node = {"type": "sequence", "duration": 1, "phases": [node] * 10}
    return {"lrcore": 1, "schedule": {"type": "sequence",
                                      "phases": [node, {"type": "constant", "value": 1.0}]}}


def _laughs_values(levels: int) -> str:
    """Billion laughs in a list parameter: 10**levels numbers after alias expansion."""
    text = "lrcore: 1\nschedule:\n  type: piecewise_constant\n  boundaries: [1]\n"
    text += "  values: [&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"
    for i in range(1, levels + 1):
        text += f", &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]"
    return text + "]\n"


def _merge_keys() -> str:
    """Merge keys (``<<``) through an anchor: a valid spec."""
    return ("lrcore: 1\nschedule:\n  type: sequence\n  phases:\n"
            "  - &warm {type: linear, start: 0.0, end: 1.0e-3, duration: 10}\n"
            "  - {<<: *warm, start: 1.0e-3}\n")


def _tiny_values(item: str, block: bool = False) -> str:
    """1 MiB of the smallest YAML values (``1,``, ``{},``, ``-``): about 500 000 of them,
    each a few microseconds of PyYAML's Python code."""
    head = "lrcore: 1\nschedule: {type: constant, value: 1.0}\nname:\n" if block else \
        "lrcore: 1\nschedule: {type: constant, value: 1.0}\nname: ["
    body = "  -\n" if block else item + ","
    return (head + body * (MAX_BYTES // len(body)))[:MAX_BYTES]


def _merge_chain(n: int) -> str:
    """Each mapping merges the previous one (``<<: *b{i-1}``): n**2 / 2 entries."""
    text = "lrcore: 1\nschedule: {type: constant, value: 1.0}\nx0: &b0 {k: 1}\n"
    return text + "".join(f"x{i}: &b{i} {{<<: *b{i - 1}, k{i}: 1}}\n" for i in range(1, n))


def _many_phases(n: int) -> str:
    """A valid spec near the size limit: n cosine phases in block YAML."""
    phase = "  - {type: cosine, start: 1.0e-3, end: 1.0e-5, exponent: 1.5, duration: 100}\n"
    return "lrcore: 1\nschedule:\n type: sequence\n phases:\n" + phase * n


def _big_digits(n: int, fmt: str) -> Any:
    digits = "1" * n
    return {
        "json": '{"lrcore": 1, "schedule": {"type": "constant", "value": ' + digits + "}}",
        "yaml": HEAD + f"  type: constant\n  value: 1.0\n  duration: {digits}\n",
        "yaml_hex": HEAD + f"  type: constant\n  value: 1.0\n  duration: 0x{'f' * n}\n",
        "yaml_bin": HEAD + f"  type: constant\n  value: 1.0\n  duration: 0b{digits}\n",
        "yaml_sexagesimal": HEAD + "  type: constant\n  value: 1.0\n  duration: 1"
                            + ":59" * n + "\n",
        "epochs": {"lrcore": 1, "steps_per_epoch": 3, "schedule": {
            "type": "constant", "value": 1.0, "duration": digits + "ep"}},
        "share": {"lrcore": 1, "total_steps": 1000, "schedule": {
            "type": "constant", "value": 1.0, "duration": digits + "%"}},
        "share_fraction": {"lrcore": 1, "total_steps": 1000, "schedule": {
            "type": "constant", "value": 1.0, "duration": "1." + digits + "%"}},
    }[fmt]


def _dev_zero() -> str:
    return "/dev/zero"


#: name -> (builder, expected outcomes separated by "|")
CASES: dict[str, tuple[Callable[[], Any], str]] = {
    "yaml_flow_list_1e5": (lambda: _yaml_flow_list(10**5), "SpecError"),
    "yaml_block_list_1e5": (lambda: _yaml_block_list(10**5), "SpecError"),
    "json_list_1e5": (lambda: _json_list(10**5), "SpecError"),
    "dict_list_1e5": (lambda: _valid_pwc(10**5), "SpecError"),
    "dict_list_1e4_valid": (lambda: _valid_pwc(10**4), "spec"),
    "yaml_flow_list_nested_1e4": (lambda: INLINE + "[" * 10**4 + "]" * 10**4 + "\n",
                                  "SpecError"),
    "yaml_flow_map_nested_1e4": (lambda: INLINE + "{a: " * 10**4 + "1" + "}" * 10**4 + "\n",
                                 "SpecError"),
    "yaml_unclosed_nesting_1e5": (lambda: INLINE + "[" * 10**5 + "\n", "SpecError"),
    "yaml_node_nested_1e4": (lambda: _deep_yaml_node(10**4), "SpecError"),
    "json_list_nested_1e4": (lambda: '{"lrcore": 1, "schedule": ' + "[" * 10**4
                             + "]" * 10**4 + "}", "SpecError"),
    "json_object_nested_1e4": (lambda: '{"lrcore": 1, "schedule": ' + '{"a": ' * 10**4
                               + "1" + "}" * 10**4 + "}", "SpecError"),
    "dict_node_nested_1e4": (lambda: _deep_node_dict(10**4), "SpecError"),
    "dict_list_nested_1e4": (lambda: _deep_list_dict(10**4), "SpecError"),
    "yaml_alias_bomb_nodes": (lambda: _alias_yaml(9), "SpecError"),
    "dict_shared_subtrees_bomb": (lambda: _alias_dict(9), "SpecError"),
    "yaml_billion_laughs_values": (lambda: _laughs_values(9), "SpecError"),
    "yaml_merge_keys": (_merge_keys, "spec"),
    "yaml_scalar_1mb": (lambda: HEAD + "  type: constant\n  value: " + "9" * (MAX_BYTES - 64)
                        + "\n", "SpecError"),
    "yaml_key_1mb": (lambda: HEAD + "  " + "k" * (MAX_BYTES - 64) + ": 1\n", "SpecError"),
    "text_over_limit": (lambda: HEAD + "  type: constant\n  value: 1.0\n" + "#" * MAX_BYTES
                        + "\n", "SpecError"),
    "json_int_5000_digits": (lambda: _big_digits(5000, "json"), "SpecError"),
    "yaml_int_5000_digits": (lambda: _big_digits(5000, "yaml"), "SpecError"),
    "yaml_hex_5000_digits": (lambda: _big_digits(5000, "yaml_hex"), "SpecError"),
    "yaml_binary_20000_digits": (lambda: _big_digits(20000, "yaml_bin"), "SpecError"),
    "yaml_sexagesimal_3000_groups": (lambda: _big_digits(3000, "yaml_sexagesimal"),
                                     "SpecError"),
    "epochs_5000_digits": (lambda: _big_digits(5000, "epochs"), "SpecError"),
    "share_5000_digits": (lambda: _big_digits(5000, "share"), "SpecError"),
    "share_fraction_5000_digits": (lambda: _big_digits(5000, "share_fraction"), "spec|SpecError"),
    "yaml_1mb_of_ints": (lambda: _tiny_values("1"), "SpecError"),
    "yaml_1mb_of_strings": (lambda: _tiny_values("a"), "SpecError"),
    "yaml_1mb_of_empty_maps": (lambda: _tiny_values("{}"), "SpecError"),
    "yaml_1mb_of_block_items": (lambda: _tiny_values("", block=True), "SpecError"),
    "yaml_merge_chain_20000": (lambda: _merge_chain(20000), "SpecError"),
    "yaml_5000_phases_valid": (lambda: _many_phases(5000), "spec"),
    "path_with_nul": (lambda: "spec\x00.yaml", "SpecError"),
    "path_endless_device": (_dev_zero, "SpecError"),
}


def run(name: str) -> dict:
    import lrcore

    lrcore.evaluate(lrcore.load({"lrcore": 1, "schedule": {"type": "cosine", "start": 1.0,
                                                           "duration": 10}}), [0, 5])
    source = CASES[name][0]()
    # a hard ceiling, so a runaway read (an endless device file) fails fast with
    # MemoryError instead of exhausting the machine
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    result: dict = {"outcome": "spec", "message": ""}
    try:
        doc = lrcore.load(source)
        lrcore.evaluate(doc, [0, 1, 10**6, 2**31 - 1])
    except lrcore.SpecError as err:
        result = {"outcome": "SpecError", "message": str(err)[:300]}
    except Exception as err:  # noqa: BLE001 - reported to the parent test
        result = {"outcome": type(err).__name__, "message": str(err)[:300]}
    result["seconds"] = time.perf_counter() - t0
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base  # KiB on Linux
    result["rss_growth_mb"] = grown / 1024
    return result


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.stdout.write(json.dumps(run(sys.argv[1])) + "\n")
