"""Bad input: every invalid spec raises lrcore.SpecError (a ValueError) that names the
field path, the rule broken and (where there is one) the value received.

Each case asserts the path AND the rule with ``pytest.raises(SpecError, match=...)``.
Hostile input (alias bombs, deep nesting, huge lists, Python tags) must fail fast and
clearly; the alias bombs run in a child process with a time and memory limit so that
an unbounded expansion fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import lrcore
from lrcore import SpecError

C = {"type": "constant", "value": 0.1}


def doc(schedule, **extra):
    return {"lrcore": 1, **extra, "schedule": schedule}


def lin(duration, **extra):
    return {"type": "linear", "start": 0.1, "end": 0.0, "duration": duration, **extra}


def seq(*phases, **extra):
    return {"type": "sequence", "phases": list(phases), **extra}


E = re.escape
DURATION_RULE = E('must be a positive integer, "Nep" or "N%"')
# durations, restart periods and milestones take real numbers of steps
REAL_RULE = E('must be a number of steps > 0, "Nep" or "N%"')
TINY_RULE = E("stays below 1e-28 and is not 0: float32 backends cannot hold so small a rate "
              "within parity tolerance (use 0, or larger rates)")

# (id, document, regex on str(err)): raised by Schedule.from_dict
AT_LOAD = [
    # unknown types and keys, with did-you-mean
    ("unknown type", doc({"type": "cosin", "start": 0.1}),
     r"^schedule\.type: must be a known schedule type \(did you mean 'cosine'\?\).*"
     r'got "cosin"$'),
    ("unknown nested type", doc(seq(dict(C, duration=2), {"type": "lineer"})),
     r"^schedule\.phases\[1\]\.type: must be a known schedule type "
     r"\(did you mean 'linear'\?\)"),
    ("type not a string", doc({"type": 3}), r"^schedule\.type: must be a known schedule type"
     r".*got 3$"),
    ("type missing", doc({"value": 0.1}), r"^schedule\.type: is required"),
    ("misspelled key", doc({"type": "cosine", "start": 0.1, "strat": 0.2}),
     r"^schedule\.strat: is not a parameter of cosine \(did you mean 'start'\?\).*got 0\.2$"),
    ("unknown key", doc(lin(5, foo=1)), r"^schedule\.foo: is not a parameter of linear"),
    ("misspelled document key", doc(C, total_step=10),
     r"^total_step: is not a document key \(did you mean 'total_steps'\?\).*got 10$"),
    ("bare schedule", dict(C), r"^type: is not a document key \(a bare schedule\?"),
    # keys a dotted path cannot show are written as JSON in brackets
    ("empty document key", {"": 1, "lrcore": 1, "schedule": C},
     r'^\[""\]: is not a document key; known: .*, got 1$'),
    ("spaced parameter", doc({**C, "start value": 0.1}),
     r'^schedule\["start value"\]: is not a parameter of constant '
     r"\(did you mean 'value'\?\); .*got 0\.1$"),
    ("integer parameter key", doc({**C, 3: 0.1}),
     r"^schedule\[3\]: is not a parameter of constant; .*got 0\.1$"),
    # missing required keys
    ("missing start", doc({"type": "cosine", "duration": 5}),
     r"^schedule\.start: is required for cosine"),
    ("missing child", doc({"type": "clip", "min": 0.1}),
     r"^schedule\.schedule: is required for clip"),
    ("missing schedule", {"lrcore": 1}, r"^schedule: is required"),
    ("missing lrcore", {"schedule": C},
     r"^lrcore: is required: the format version \(this lrcore reads 1\)"),
    # wrong types
    ("string for a number", doc({"type": "constant", "value": "0.1"}),
     r'^schedule\.value: must be a learning rate \(a finite number >= 0\), got "0\.1"$'),
    ("bool for a number", doc({"type": "constant", "value": True}),
     r"^schedule\.value: must be a learning rate .*got true$"),
    ("null for a number", doc({"type": "constant", "value": None}),
     r"^schedule\.value: must be a learning rate .*got null$"),
    ("list for a mapping", doc({"type": "clip", "min": 0.1, "schedule": [1]}),
     r"^schedule\.schedule: must be a schedule \(a mapping with a 'type'\), got \[1\]$"),
    ("number for the schedule", doc(3), r"^schedule: must be a schedule .*got 3$"),
    ("mapping for a list", doc({"type": "sequence", "phases": C}),
     r"^schedule\.phases: must be a list of schedules"),
    ("bool for a duration", doc(lin(True)), rf"^schedule\.duration: {REAL_RULE}, got true$"),
    ("string for a bool", doc({"type": "cosine", "start": 0.1, "periodic": "yes",
                               "duration": 3}),
     r'^schedule\.periodic: must be true or false, got "yes"$'),
    ("unknown choice", doc({"type": "cyclic", "low": 0.1, "high": 0.2, "up": 3,
                            "mode": "triangle"}),
     r"^schedule\.mode: must be one of 'triangular', 'triangular2', 'exp_range', "
     r'got "triangle"$'),
    ("not a pair", doc({"type": "piecewise_linear", "points": [[1, 0.1, 3], [4, 0.2]]}),
     r"^schedule\.points\[0\]: must be a \[step, rate\] pair, got \[1, 0\.1, 3\]$"),
    ("string for by", doc({"type": "scale", "schedule": C, "by": "x"}),
     r"^schedule\.by: must be a schedule \(a mapping with a 'type'\) or a number"),
    ("name not a string", doc(C, name=3), r"^name: must be a string, got 3$"),
    # NaN, inf, negative and out-of-range numbers
    ("nan rate", doc({"type": "constant", "value": float("nan")}),
     r"^schedule\.value: must be a finite number, got NaN$"),
    ("inf rate", doc({"type": "cosine", "start": float("inf"), "duration": 3}),
     r"^schedule\.start: must be a finite number, got Infinity$"),
    ("-inf rate", doc({"type": "linear", "start": 0.1, "end": float("-inf"), "duration": 3}),
     r"^schedule\.end: must be a finite number, got -Infinity$"),
    ("huge int rate", doc({"type": "constant", "value": 10**400}),
     r"^schedule\.value: must be a finite number"),
    ("negative rate", doc({"type": "constant", "value": -0.1}),
     r"^schedule\.value: must be >= 0, got -0\.1$"),
    ("negative rate in a list", doc({"type": "piecewise_constant", "values": [0.1, -1.0],
                                     "boundaries": [3]}),
     r"^schedule\.values\[1\]: must be >= 0, got -1\.0$"),
    ("negative rate in a point", doc({"type": "piecewise_linear",
                                      "points": [[0, 0.1], [4, -0.2]]}),
     r"^schedule\.points\[1\]\[1\]: must be >= 0, got -0\.2$"),
    ("negative scale", doc({"type": "scale", "schedule": C, "by": -1.0}),
     r"^schedule\.by: must be >= 0, got -1\.0$"),
    ("zero factor", doc({"type": "step", "start": 0.1, "factor": 0.0, "every": 3}),
     r"^schedule\.factor: must be > 0, got 0\.0$"),
    ("gamma above 1", doc({"type": "cyclic", "low": 0.1, "high": 0.2, "up": 3,
                           "mode": "exp_range", "gamma": 1.5}),
     r"^schedule\.gamma: must be <= 1, got 1\.5$"),
    ("pct_start 1", doc({"type": "onecycle", "peak": 0.1, "duration": 30, "pct_start": 1.0}),
     r"^schedule\.pct_start: must be < 1, got 1\.0$"),
    ("period_mult below 1", doc({"type": "cosine_restarts", "start": 0.1, "period": 3,
                                 "period_mult": 0.5}),
     r"^schedule\.period_mult: must be >= 1 unless the cycles' total length period / "
     r"\(1 - period_mult\) = 6 is past 2\*\*31 - 1 \(Keras's schedule is NaN from step 6 "
     r"on\); use a period_mult >= 1 or a longer period, got 0\.5$"),
    ("period_mult 0", doc({"type": "cosine_restarts", "start": 0.1, "period": 3,
                           "period_mult": 0.0}),
     r"^schedule\.period_mult: must be > 0, got 0\.0$"),
    ("peak_mult 0", doc({"type": "cosine_restarts", "start": 0.1, "period": 3,
                         "peak_mult": 0.0}),
     r"^schedule\.peak_mult: must be > 0, got 0\.0$"),
    ("repeat decay 0", doc({"type": "repeat", "schedule": C, "period": 3, "decay": 0.0}),
     r"^schedule\.decay: must be > 0, got 0\.0$"),
    ("steps_per_epoch 0", doc(C, steps_per_epoch=0),
     r"^steps_per_epoch: must be an integer in \[1, 2147483647\], got 0$"),
    # durations and periods
    ("zero duration", doc(lin(0)), rf"^schedule\.duration: {REAL_RULE}, got 0$"),
    ("negative duration", doc(lin(-5)), rf"^schedule\.duration: {REAL_RULE}, got -5$"),
    ("negative real duration", doc(lin(-2.5)), rf"^schedule\.duration: {REAL_RULE}, got -2\.5$"),
    ("ratio over zero", doc(lin("5/0")), rf'^schedule\.duration: {REAL_RULE}, got "5/0"$'),
    ("fractional step every", doc({"type": "step", "start": 0.1, "factor": 0.5, "every": 2.5}),
     rf"^schedule\.every: {DURATION_RULE}, got 2\.5$"),
    ("fractional duration text", doc(lin("2.5")),
     rf'^schedule\.duration: {REAL_RULE}, got "2\.5"$'),
    ("zero epochs", doc(lin("0ep")), rf'^schedule\.duration: {REAL_RULE}, got "0ep"$'),
    ("negative epochs", doc(lin("-3ep")), rf'^schedule\.duration: {REAL_RULE}, got "-3ep"$'),
    ("zero share", doc(lin("0%")), rf'^schedule\.duration: {REAL_RULE}, got "0%"$'),
    ("duration past 2**53", doc(lin(2**53 + 1)),
     r"^schedule\.duration: must be <= 2\*\*53 = 9007199254740992, got 9007199254740993$"),
    ("real duration past 2**53", doc(lin(1e16 + 0.0)),
     r"^schedule\.duration: must be <= 2\*\*53 = 9007199254740992, got 1e\+16$"),
    ("step every past the domain", doc({"type": "step", "start": 0.1, "factor": 0.5,
                                        "every": 2**31}),
     r"^schedule\.every: must be <= 2\*\*31 - 1 = 2147483647, got 2147483648$"),
    ("real cycling polynomial over a long decimal", doc({
        "type": "polynomial", "start": 0.1, "duration": 333.3333333333333, "cycle": True}),
     r"^schedule\.duration: must be a ratio p/q with p and q <= 2\*\*31 - 1 with cycle \(the "
     r"distance to each restart, q \(ceil\(t / duration\) duration - t\), is found by "
     r'integer arithmetic\); write the exact ratio, "1000/3", got 333\.3333333333333$'),
    ("cycling polynomial past the domain", doc({"type": "polynomial", "start": 0.1,
                                                "duration": 2**31, "cycle": True}),
     r"^schedule\.duration: must be <= 2\*\*31 - 1 for polynomial with cycle, got "
     r"2147483648$"),
    ("polynomial past the domain", doc({"type": "polynomial", "start": 0.1,
                                        "duration": 2**31}),
     r"^schedule\.duration: must be <= 2\*\*31 - 1 for polynomial \(linear and cosine take "
     r"longer durations\), got 2147483648$"),
    ("polynomial power 0", doc({"type": "polynomial", "start": 0.1, "duration": 10,
                                "power": 0}),
     r"^schedule\.power: must be a number in \[-1e4, 0\) or \(0, 1e4\] \(a power of 0 is a "
     r"constant: use constant\), got 0$"),
    ("polynomial negative power with cycle", doc({
        "type": "polynomial", "start": 0.1, "duration": 10, "power": -1, "cycle": True}),
     r"^schedule\.power: must be > 0 with cycle \(a negative power grows without bound "
     r"toward each restart\); drop cycle, got -1\.0$"),
    ("polynomial negative power rising", doc({
        "type": "polynomial", "start": 0.1, "end": 0.2, "duration": 10, "power": -1}),
     r"^schedule\.power: must be > 0 when end \(0\.2\) exceeds start \(0\.1\) \(a negative "
     r"power would fall below 0 before duration\); swap start and end, got -1\.0$"),
    ("polynomial negative power past float32", doc({
        "type": "polynomial", "start": 0.1, "duration": 2**31 - 1, "power": -5}),
     r"^schedule\.power: must keep the rate at the last step before duration "
     r"\(4\.567e\+45\) inside float32's range; use a power nearer 0 or a shorter "
     r"duration, got -5\.0$"),
    ("polynomial negative power past float64", doc({
        "type": "polynomial", "start": 0.1, "duration": 2**31 - 1, "power": -40}),
     r"^schedule\.power: must keep the rate at the last step before duration "
     r"\(1\.893e\+372\) inside float32's range; use a power nearer 0 or a shorter "
     r"duration, got -40\.0$"),
    ("onecycle past the domain", doc({"type": "onecycle", "peak": 0.1, "duration": 2**31}),
     r"^schedule\.duration: must be a whole number of steps <= 2\*\*31 - 1 for onecycle "
     r"\(linear and cosine take real and longer durations\), got 2147483648$"),
    ("real periodic cosine duration with an exponent", doc({
        "type": "cosine", "start": 0.1, "exponent": 2.0, "periodic": True, "duration": 10.5}),
     r"^schedule\.duration: must be a whole number of steps for a periodic cosine with an "
     r"exponent, got 10\.5$"),
    ("cosine with an exponent past the domain", doc({"type": "cosine", "start": 0.1,
                                                     "exponent": 2.0, "duration": 1e10}),
     r"^schedule\.duration: must be <= 2\*\*31 - 1 for a cosine with an exponent \(with "
     r"exponent 1 it may be longer\), got 10000000000$"),
    ("periodic cosine over a ratio too fine", doc({"type": "cosine", "start": 0.1,
                                                   "periodic": True, "duration": 1000.123457}),
     r"^schedule\.duration: must be a ratio p/q with 2p \* max\(q, 2\) <= 2\*\*31 - 1 for "
     r"a periodic cosine \(its wave is found by integer arithmetic\); use a simpler "
     r"fraction, got 1000\.123457$"),
    ("restart period ratio too fine", doc({"type": "cosine_restarts", "start": 0.1,
                                           "period": "100000/99999"}),
     r"^schedule\.period: must be a ratio p/q with p \* max\(q, 2\) <= 2\*\*31 - 1 when "
     r"period_mult is 1 \(restarts are found by integer arithmetic\); use a simpler "
     r'fraction, got "100000/99999"$'),
    ("growing restarts", doc({"type": "cosine_restarts", "start": 0.1, "period": 100,
                              "peak_mult": 1.01}),
     r"^schedule\.peak_mult: grows past the float32 range before step 2\*\*31 - 1; use a "
     r"factor <= 1 or set a bound, got 1\.01$"),
    ("phase between steps before exponential", doc(seq(lin(2.5), {
        "type": "exponential", "start": 0.1, "rate": 0.5})),
     r"^schedule\.phases\[1\]: starts between two steps, which only constant, linear, "
     r"cosine \(exponent 1, not periodic\) and sequence phases can; make the durations "
     r"before it whole, got 2\.5$"),
    ("zero period", doc({"type": "repeat", "schedule": C, "period": 0}),
     rf"^schedule\.period: {DURATION_RULE}, got 0$"),
    ("negative restart period", doc({"type": "cosine_restarts", "start": 0.1, "period": -3}),
     rf"^schedule\.period: {REAL_RULE}, got -3$"),
    ("zero every", doc({"type": "every", "schedule": C, "every": 0}),
     rf"^schedule\.every: {DURATION_RULE}, got 0$"),
    ("zero step every", doc({"type": "step", "start": 0.1, "factor": 0.5, "every": 0}),
     rf"^schedule\.every: {DURATION_RULE}, got 0$"),
    ("zero cyclic up", doc({"type": "cyclic", "low": 0.1, "high": 0.2, "up": 0}),
     rf"^schedule\.up: {REAL_RULE}, got 0$"),
    ("zero milestone", doc({"type": "multistep", "start": 0.1, "factor": 0.5,
                            "milestones": [0, 3]}),
     rf"^schedule\.milestones\[0\]: {REAL_RULE}, got 0$"),
    ("middle phase without duration", doc(seq(C, dict(C, value=0.2))),
     r"^schedule\.phases\[0\]\.duration: is required on every phase but the last"),
    # order of boundaries, milestones and points
    ("unsorted boundaries", doc({"type": "piecewise_constant", "values": [1.0, 0.5, 0.1],
                                 "boundaries": [5, 3]}),
     r"^schedule\.boundaries\[1\]: must be strictly greater than the previous entry \(5\)"
     r": sorted, no duplicates, got 3$"),
    ("duplicate boundaries", doc({"type": "piecewise_constant", "values": [1.0, 0.5, 0.1],
                                  "boundaries": [3, 3]}),
     r"^schedule\.boundaries\[1\]: must be strictly greater .*no duplicates, got 3$"),
    ("unsorted milestones", doc({"type": "multistep", "start": 0.1, "factor": 0.5,
                                 "milestones": [2, 9, 4]}),
     r"^schedule\.milestones\[2\]: must be strictly greater than the previous entry \(9\)"),
    ("duplicate milestones", doc({"type": "multistep", "start": 0.1, "factor": 0.5,
                                  "milestones": [4, 4]}),
     r"^schedule\.milestones\[1\]: must be strictly greater .*got 4$"),
    ("unsorted points", doc({"type": "piecewise_linear",
                             "points": [[0, 1.0], [8, 0.5], [6, 0.1]]}),
     r"^schedule\.points\[2\]: must be strictly greater than the previous entry \(8\)"),
    ("duplicate points", doc({"type": "piecewise_linear",
                              "points": [[0, 1.0], [5, 0.5], [5, 0.1]]}),
     r"^schedule\.points\[2\]: must be strictly greater .*got 5$"),
    ("values vs boundaries", doc({"type": "piecewise_constant", "values": [0.1, 0.2],
                                  "boundaries": [3, 4]}),
     r"^schedule\.values: must have exactly one more entry than boundaries \(2\)"),
    ("one point", doc({"type": "piecewise_linear", "points": [[0, 1.0]]}),
     r"^schedule\.points: must have at least 2 points"),
    ("no phases", doc({"type": "sequence", "phases": []}),
     r"^schedule\.phases: must have at least 1 item"),
    # cross-field rules
    ("clip without bounds", doc({"type": "clip", "schedule": C}),
     r"^schedule: needs min, max or both"),
    ("clip min above max", doc({"type": "clip", "schedule": C, "min": 0.5, "max": 0.1}),
     r"^schedule\.max: must be >= min \(0\.5\), got 0\.1$"),
    ("cyclic high below low", doc({"type": "cyclic", "low": 0.5, "high": 0.1, "up": 3}),
     r"^schedule\.high: must be >= low \(0\.5\), got 0\.1$"),
    ("rising restarts with growing peaks", doc({"type": "cosine_restarts", "start": 0.1,
                                                "end": 0.5, "period": 3,
                                                "peak_mult": 1.5}),
     r"^schedule\.peak_mult: must be <= 1 when end > start \(the cycles' lowest rates "
     r"e - \(e - s\) peak_mult\*\*i fall below 0\); use a peak_mult <= 1 or an end <= "
     r"start, got 1\.5$"),
    ("too many restarts", doc({"type": "cosine_restarts", "start": 0.1, "period": 1,
                               "period_mult": 1.0001}),
     r"^schedule\.period_mult: gives more than 10000 restarts.*got 1\.0001$"),
    ("onecycle empty phase", doc({"type": "onecycle", "peak": 0.1, "duration": 3,
                                  "pct_start": 0.3}),
     r"^schedule\.pct_start: leaves phase 1 empty with duration 3.*got 0\.3$"),
    ("wsd without decay steps", doc({"type": "warmup_stable_decay", "peak": 0.1,
                                     "warmup": 5, "stable": 5, "duration": 10}),
     r"^schedule\.decay: leaves no steps to decay"),
    ("decay bound above start", doc({"type": "exponential", "start": 0.1, "rate": 0.5,
                                     "bound": 0.2}),
     r"^schedule\.bound: must be <= start \(0\.1\) for a decay.*got 0\.2$"),
    ("growth ceiling below start", doc({"type": "exponential", "start": 0.1, "rate": 1.5,
                                        "bound": 0.05}),
     r"^schedule\.bound: must be >= start \(0\.1\) for a growth.*got 0\.05$"),
    # growth that leaves the float32 range before step 2**31 - 1
    ("step doubling every step", doc({"type": "step", "start": 0.1, "factor": 2.0,
                                      "every": 1}),
     r"^schedule\.factor: grows past the float32 range before step 2\*\*31 - 1.*got 2\.0$"),
    ("exponential growth without bound", doc({"type": "exponential", "start": 0.1,
                                              "rate": 1.01}),
     r"^schedule\.rate: grows past the float32 range.*got 1\.01$"),
    ("multistep growth", doc({"type": "multistep", "start": 0.1, "factor": 10.0,
                              "milestones": list(range(1, 41))}),
     r"^schedule\.factor: grows past the float32 range.*got 10\.0$"),
    # format version
    ("future format", {"lrcore": 2, "schedule": C},
     r"^lrcore: is from a newer lrcore: this one reads format 1; upgrade lrcore, got 2$"),
    ("format 0", {"lrcore": 0, "schedule": C},
     r"^lrcore: must be a format version \(a positive integer\), got 0$"),
    ("format as text", {"lrcore": "1", "schedule": C},
     r'^lrcore: must be a format version \(a positive integer\), got "1"$'),
    ("format as bool", {"lrcore": True, "schedule": C},
     r"^lrcore: must be a format version \(a positive integer\), got true$"),
    # a cosine power past 3 drifts from the float64 reference by more than half the
    # float32 parity tolerance (issue 11: exponent 16 was 31 ulp off on optax)
    ("cosine exponent past the bound", doc({"type": "cosine", "start": 0.1, "duration": 100,
                                            "exponent": 16}),
     r"^schedule\.exponent: must be <= 3: float32 backends cannot follow a steeper cosine "
     r"power within parity tolerance \(for a steeper decay, use polynomial with a larger "
     r"power\), got 16$"),
    ("cosine exponent just past the bound", doc({"type": "cosine", "start": 0.1,
                                                 "duration": 100, "exponent": 3.0001}),
     r"^schedule\.exponent: must be <= 3: .*got 3\.0001$"),
    ("cosine exponent not a number", doc({"type": "cosine", "start": 0.1, "duration": 100,
                                          "exponent": "3"}),
     r'^schedule\.exponent: must be a number in \(0, 3\], got "3"$'),
    ("not a mapping", ["lrcore", 1], r"^a spec document must be a mapping, got \[.*lrcore"),
    # a deep error names the whole path
    ("deep path", doc({"type": "clip", "min": 0.0, "schedule": seq(
        dict(C, duration=1), lin(-5))}),
     rf"^schedule\.schedule\.phases\[1\]\.duration: {REAL_RULE}, got -5$"),
]


@pytest.mark.parametrize("data,match", [c[1:] for c in AT_LOAD], ids=[c[0] for c in AT_LOAD])
def test_invalid_documents(data, match):
    with pytest.raises(SpecError, match=match) as info:
        lrcore.Schedule.from_dict(data)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(info.value.path + ": " if info.value.path else "")


def test_error_message_of_the_issue():
    """The contract's example message, in full (the epoch form is written "Nep")."""
    data = doc({"type": "clip", "min": 0.0, "schedule": seq(dict(C, duration=1), lin(-5))})
    with pytest.raises(SpecError) as info:
        lrcore.Schedule.from_dict(data)
    assert str(info.value) == ('schedule.schedule.phases[1].duration: must be a number of '
                               'steps > 0, "Nep" or "N%", got -5')
    assert info.value.path == "schedule.schedule.phases[1].duration"
    assert info.value.value == -5


def test_builders_validate_too():
    """A builder call outside a document names the node type as the path."""
    with pytest.raises(SpecError, match=rf"^linear\.duration: {REAL_RULE}, got 0$"):
        lrcore.linear(start=0.1, end=0.0, duration=0)
    with pytest.raises(SpecError, match=r"^constant\.value: must be a finite number, got NaN"):
        lrcore.constant(value=float("nan"))
    with pytest.raises(SpecError, match=r"^piecewise_constant\.boundaries\[1\]: must be "
                                        r"strictly greater"):
        lrcore.piecewise_constant(values=[0.3, 0.2, 0.1], boundaries=[4, 2])



@pytest.mark.parametrize("call,match", [
    (lambda: lrcore.cosine(start=0.1, duration=10, exponet=2.0),
     r"^cosine\.exponet: is not a parameter of cosine \(did you mean 'exponent'\?\); "
     r"known: start, end, exponent, periodic, duration, got 2\.0$"),
    (lambda: lrcore.cosine(duration=10), r"^cosine\.start: is required for cosine$"),
    (lambda: lrcore.cosine(0.1, 10),
     r"^cosine: takes keyword arguments only: lrcore\.cosine\(start=\.\.\.\), "
     r"got \[0\.1, 10\]$"),
    (lambda: lrcore.step(start=0.1, factor=0.5), r"^step\.every: is required for step$"),
])
def test_builder_mistakes_are_spec_errors_like_in_a_file(call, match):
    """The Python builders fail as a spec file does (SpecError, did-you-mean), not with
    dataclass TypeErrors."""
    with pytest.raises(SpecError, match=match):
        call()


def test_presets_refuse_a_cosine_exponent_past_the_bound():
    """optax's cosine_decay_schedule(exponent=16) builds no spec that float32 backends
    cannot draw: the preset refuses with the cosine's own rule."""
    from lrcore.presets import optax

    with pytest.raises(SpecError) as info:
        optax.cosine_decay_schedule(0.1, 1000, exponent=16.0)
    assert str(info.value) == (
        "cosine.exponent: must be <= 3: float32 backends cannot follow a steeper cosine "
        "power within parity tolerance (for a steeper decay, use polynomial with a larger "
        "power), got 16.0")


# ---- rules that need the context (raised when resolving) -----------------------------------

AT_RESOLVE = [
    ("epochs without steps_per_epoch", doc(lin("3ep")),
     r'^schedule\.duration: epochs need steps_per_epoch .*got "3ep"$'),
    ("share without total_steps", doc(lin("30%")),
     r'^schedule\.duration: a share of the run needs total_steps .*got "30%"$'),
    ("nested epochs", doc(seq(lin("2ep"), C)),
     r"^schedule\.phases\[0\]\.duration: epochs need steps_per_epoch"),
    ("epoch boundary", doc({"type": "piecewise_constant", "values": [0.2, 0.1],
                            "boundaries": ["1ep"]}),
     r'^schedule\.boundaries\[0\]: epochs need steps_per_epoch .*got "1ep"$'),
    ("resolves to no steps", doc({"type": "step", "start": 0.1, "factor": 0.5,
                                  "every": "0.1ep"}, steps_per_epoch=2),
     r'^schedule\.every: resolves to 0 steps; must be at least 1, got "0\.1ep"$'),
    ("resolves past the domain", doc({"type": "step", "start": 0.1, "factor": 0.5,
                                      "every": "200%"}, total_steps=2**31 - 1),
     r'^schedule\.every: resolves to 4294967294 steps; must be <= 2\*\*31 - 1, got "200%"$'),
    ("real duration resolves past 2**53", doc(lin("10000000ep"), steps_per_epoch=2**31 - 1),
     r'^schedule\.duration: resolves to 21474836470000000 steps; must be <= 2\*\*53, '
     r'got "10000000ep"$'),
    ("a real phase length before one that cannot start between steps",
     doc(seq(lin("2.5%"), lin(1.5), {"type": "step", "start": 0.1, "factor": 0.5,
                                     "every": 3}), total_steps=1000),
     r"^schedule\.phases\[2\]: starts between two steps, .*, got 26\.5$"),
    ("unsorted once resolved", doc({"type": "piecewise_constant", "values": [0.3, 0.2, 0.1],
                                    "boundaries": ["2ep", 10]}, steps_per_epoch=10),
     r"^schedule\.boundaries\[1\]: must be strictly greater than the previous entry \(20\)"),
    ("no duration and no total", doc({"type": "cosine", "start": 0.1}),
     r"^schedule\.duration: is required: cosine runs over a length"),
    ("no steps left for the last phase", doc(seq(dict(C, duration=10), lin(None)),
                                             total_steps=10),
     r"^schedule\.phases\[1\]\.duration: has no steps left: the phases before it take 10 "
     r"of the 10 available"),
    # products and one-cycle floors past float32: the deepest such node is named, with
    # the bound written out (1e38 * 1e38; 1e30 / 25 / 1e-20; 1e20 * 1e20)
    ("scale past float32", doc({"type": "scale", "by": 1e38, "schedule": dict(C, value=1e38)}),
     r"^schedule: can reach a rate past float32's range \(3\.403e\+38\) before step "
     r"2\*\*31 - 1, got 9\.99999\d*e\+75$"),
    ("one-cycle floor above float32", doc({"type": "onecycle", "peak": 1e30, "duration": 100,
                                           "final_div_factor": 1e-20}),
     r"^schedule: can reach a rate past float32's range .*got 4e\+48$"),
    ("scale by a schedule, nested", doc(seq(dict(C, duration=5), {
        "type": "scale", "by": dict(C, value=1e20), "schedule": dict(C, value=1e20)})),
     r"^schedule\.phases\[1\]: can reach a rate past float32's range .*got 1e\+40$"),
    ("scale of a growth", doc({"type": "scale", "by": 4.0, "schedule": {
        "type": "step", "start": 1e38, "factor": 1.0000001, "every": 1000}}),
     r"^schedule: can reach a rate past float32's range"),
    # a whole curve below 1e-28 (and not 0): float32 flushes or truncates it past what
    # the tolerance's absolute slack (1e-9 of the peak) forgives; the node is named
    ("constant in float32's subnormals", doc(dict(C, value=1e-40)),
     rf"^schedule: {TINY_RULE}, got 1e-40$"),
    ("a tiny product", doc({"type": "scale", "by": 1e-30, "schedule": dict(C, value=1e-8)}),
     rf"^schedule: {TINY_RULE}, got 1\.0000000000000001e-38$"),
    ("a tiny phase", doc(seq(dict(C, duration=5), lin(10, start=1e-29))),
     rf"^schedule\.phases\[1\]: {TINY_RULE}, got 1e-29$"),
    ("total_steps as a share", doc(C, total_steps="50%"),
     r'^total_steps: must be steps or epochs \("Nep"\), not a share, got "50%"$'),
    ("total_steps in epochs without steps_per_epoch", doc(C, total_steps="3ep"),
     r'^total_steps: epochs need steps_per_epoch .*got "3ep"$'),
]


@pytest.mark.parametrize("data,match", [c[1:] for c in AT_RESOLVE],
                         ids=[c[0] for c in AT_RESOLVE])
def test_invalid_in_context(data, match):
    spec = lrcore.Schedule.from_dict(data)  # valid on its own
    with pytest.raises(SpecError, match=match):
        lrcore.evaluate(spec, [0, 1])


def test_bad_context_arguments():
    spec = lrcore.Schedule.from_dict(doc(lin("3ep")))
    with pytest.raises(SpecError, match=r"^steps_per_epoch: must be an integer in \[1, "):
        lrcore.evaluate(spec, [0], steps_per_epoch=0)
    with pytest.raises(SpecError, match=rf"^total_steps: {DURATION_RULE}, got -4$"):
        lrcore.evaluate(spec, [0], steps_per_epoch=3, total_steps=-4)


@pytest.mark.parametrize("steps,match", [
    (-1, r"^steps: must be in \[0, 2\*\*31 - 1\], got -1$"),
    ([0, 2**31], r"^steps: must be in \[0, 2\*\*31 - 1\], got 2147483648$"),
    # the value as given, not wrapped by a cast to int64
    ([2**63], r"^steps: must be in \[0, 2\*\*31 - 1\], got 9223372036854775808$"),
    (np.asarray([2**64 - 1], np.uint64),
     r"^steps: must be in \[0, 2\*\*31 - 1\], got 18446744073709551615$"),
    ([3e9], r"^steps: must be in \[0, 2\*\*31 - 1\], got 3000000000$"),
    (2.5, r"^steps: must be integers \(optimizer updates already applied\), got 2\.5$"),
    ([True, False], r"^steps: must be integers"),
    ("3", r"^steps: must be integers"),
    (float("nan"), r"^steps: must be integers.*got NaN$"),
    ([[1, 2], [3]], r"^steps: must be an integer or an array of integers"),
])
def test_bad_steps(steps, match):
    with pytest.raises(SpecError, match=match):
        lrcore.evaluate(lrcore.constant(value=0.1), steps)


# ---- text and files -----------------------------------------------------------------------

TEXTS = [
    ("yaml list", "- lrcore\n- 1\n", r"^a spec document must be a mapping, got \[.*lrcore"),
    ("yaml scalar", "42\n", r"^a spec document must be a mapping, got 42$"),
    ("yaml syntax", "lrcore: 1\nschedule: {type: constant, value: 0.1\n",
     # libyaml says "did not find expected ..."; the pure-Python parser "expected ..."
     r"^spec:3:1: is not valid YAML \((did not find )?expected ',' or '\}'"),
    ("yaml bad indent", "lrcore: 1\nschedule:\n  type: constant\n value: 0.1\n",
     r"^spec:\d+:\d+: is not valid YAML"),
    ("two yaml documents", "lrcore: 1\nschedule: {type: constant, value: 0.1}\n---\nlrcore: 1\n",
     r"^spec:3:1: is not valid YAML \(but found another document\)"),
    ("json syntax", '{"lrcore": 1, "schedule": }',
     r"^spec:1:27: is not valid JSON \(Expecting value\)"),
    ("json trailing comma", '{"lrcore": 1, "schedule": {"type": "constant", "value": 0.1},}',
     r"^spec:1:\d+: is not valid JSON"),
    ("yaml duplicate key", "lrcore: 1\nlrcore: 1\nschedule: {type: constant, value: 0.1}\n",
     r'^line 2: duplicate key, got "lrcore"$'),
    ("yaml nested duplicate key", "lrcore: 1\nschedule:\n  type: constant\n  value: 0.1\n"
                                  "  value: 0.2\n",
     r'^line 5: duplicate key, got "value"$'),
    ("json duplicate key", '{"lrcore": 1, "lrcore": 1, "schedule": {"type": "constant", '
                           '"value": 0.1}}',
     r'^lrcore: duplicate key, got "lrcore"$'),
    ("json nested duplicate key", '{"lrcore": 1, "schedule": {"type": "constant", '
                                  '"value": 0.1, "value": 0.2}}',
     r'duplicate key, got "value"$'),
    ("yaml nan", "lrcore: 1\nschedule: {type: constant, value: .nan}\n",
     r"^schedule\.value: must be a finite number, got NaN$"),
    ("json nan", '{"lrcore": 1, "schedule": {"type": "constant", "value": NaN}}',
     r"^schedule\.value: must be a finite number, got NaN$"),
    ("yaml future format", "lrcore: 2\nschedule: {type: constant, value: 0.1}\n",
     r"^lrcore: is from a newer lrcore"),
    ("yaml missing format", "schedule: {type: constant, value: 0.1}\nname: x\n",
     r"^lrcore: is required"),
    ("yaml python tag", "lrcore: 1\nschedule: !!python/object/apply:os.getcwd []\n",
     r"^spec:2:11: is not valid YAML \(could not determine a constructor for the tag "
     r"'tag:yaml\.org,2002:python/object/apply:os\.getcwd'\)"),
    ("yaml python name", "lrcore: 1\nschedule: {type: constant, value: !!python/name:math.pi }\n",
     r"^spec:2:\d+: is not valid YAML \(could not determine a constructor for the tag "
     r"'tag:yaml\.org,2002:python/name:math\.pi'\)"),
    ("yaml local tag", "lrcore: 1\nschedule: !sched {type: constant, value: 0.1}\n",
     r"^spec:2:11: is not valid YAML \(could not determine a constructor for the tag '!sched'"),
]


@pytest.mark.parametrize("text,match", [c[1:] for c in TEXTS], ids=[c[0] for c in TEXTS])
def test_invalid_text(text, match):
    with pytest.raises(SpecError, match=match):
        lrcore.load(text)


@pytest.mark.parametrize("suffix,content,match", [
    (".yaml", "- 1\n- 2\n", r"must hold a mapping \(lrcore: 1, schedule: \.\.\.\), got \[1, 2\]$"),
    (".yaml", "", r"must hold a mapping .*got null$"),
    (".yaml", "lrcore: 1\nschedule: {type: constant, value: 0.1\n", r":3:1: is not valid YAML"),
    (".json", '{"lrcore": 1,\n "schedule": }', r":2:14: is not valid JSON"),
    (".json", '{"lrcore": 1, "schedule": {"type": "constant", "value": 0.1}, "lrcore": 1}',
     r"^lrcore: duplicate key"),
])
def test_invalid_files(tmp_path, suffix, content, match):
    path = tmp_path / f"spec{suffix}"
    path.write_text(content)
    with pytest.raises(SpecError, match=match) as info:
        lrcore.load(path)
    if ":" in match[:3]:
        assert str(info.value).startswith(str(path))


def test_file_problems(tmp_path):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(SpecError, match=rf"^{re.escape(str(missing))}: file not found"):
        lrcore.load(missing)
    with pytest.raises(SpecError, match=rf"^{re.escape(str(missing))}: file not found"):
        lrcore.load(str(missing))
    with pytest.raises(SpecError, match=rf"^{re.escape(str(tmp_path))}: is a directory"):
        lrcore.load(tmp_path)
    binary = tmp_path / "latin1.yaml"
    binary.write_bytes(b"lrcore: 1\nname: caf\xe9\n")
    with pytest.raises(SpecError, match=rf"^{re.escape(str(binary))}: is not UTF-8 text"):
        lrcore.load(binary)
    with pytest.raises(SpecError, match=r"must end in \.yaml, \.yml or \.json, got \"\.txt\""):
        lrcore.dump(lrcore.constant(value=0.1), tmp_path / "spec.txt")
    assert not (tmp_path / "spec.txt").exists()
    with pytest.raises(SpecError, match=r"^format: must be 'yaml' or 'json', got \"toml\""):
        lrcore.dumps(lrcore.constant(value=0.1), "toml")
    with pytest.raises(SpecError, match=r"^spec: must be a mapping, a path or spec text"):
        lrcore.load(3.5)


# ---- hostile input --------------------------------------------------------------------------

def test_python_tags_are_never_executed(tmp_path):
    """A tag that would run a command (create a file) is rejected and nothing runs."""
    target = tmp_path / "pwned"
    payloads = [
        f"lrcore: 1\nschedule: !!python/object/apply:os.system ['touch {target}']\n",
        f"lrcore: 1\nschedule: {{type: constant, value: !!python/object/apply:os.system "
        f"['touch {target}']}}\n",
        f"lrcore: 1\nname: !!python/object/apply:subprocess.call [['touch', '{target}']]\n"
        "schedule: {type: constant, value: 0.1}\n",
        f"lrcore: 1\nschedule: !!python/object/new:subprocess.Popen [['touch', '{target}']]\n",
    ]
    for i, text in enumerate(payloads):
        path = tmp_path / f"tag{i}.yaml"
        path.write_text(text)
        for source in (text, path):
            with pytest.raises(SpecError, match=r"is not valid YAML \(could not determine a "
                                                r"constructor for the tag 'tag:yaml\.org,"
                                                r"2002:python/object/"):
                lrcore.load(source)
    assert not target.exists()


def test_deep_nesting_as_a_dict():
    """100 nested clip nodes: a bounded, clear SpecError (not a RecursionError)."""
    node = dict(C)
    for _ in range(100):
        node = {"type": "clip", "min": 0.0, "schedule": node}
    with pytest.raises(SpecError, match=r"^schedule(\.schedule){60,}: nesting must be at most "
                                        r"\d+ levels deep"):
        lrcore.Schedule.from_dict(doc(node))
    node = dict(C)
    for _ in range(10**4):
        node = {"type": "clip", "min": 0.0, "schedule": node}
    with pytest.raises(SpecError, match=r"nesting must be at most \d+ levels deep"):
        lrcore.Schedule.from_dict(doc(node))


def test_deep_nesting_within_the_limit_works():
    node = dict(C)
    for _ in range(40):
        node = {"type": "clip", "min": 0.0, "schedule": node}
    spec = lrcore.Schedule.from_dict(doc(node))
    assert lrcore.evaluate(spec, [0, 10**9]).tolist() == [0.1, 0.1]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_deep_nesting_as_text(fmt):
    """10**4 levels of nesting in JSON / YAML text: a clear SpecError."""
    n = 10**4
    if fmt == "json":
        text = ('{"lrcore": 1, "schedule": ' + '{"type": "clip", "min": 0.0, "schedule": ' * n
                + '{"type": "constant", "value": 0.1}' + "}" * n + "}")
    else:
        text = ("lrcore: 1\nschedule: " + "{type: clip, min: 0.0, schedule: " * n
                + "{type: constant, value: 0.1}" + "}" * n + "\n")
    with pytest.raises(SpecError, match=r"(is nested too deeply to read|exceeded maximum "
                       r"nesting depth|nesting must be at "
                                        r"most \d+ levels deep)"):
        lrcore.load(text)
    lists = "[" * n + "0.1" + "]" * n
    text = (f'{{"lrcore": 1, "schedule": {{"type": "constant", "value": {lists}}}}}'
            if fmt == "json" else f"lrcore: 1\nschedule: {{type: constant, value: {lists}}}\n")
    with pytest.raises(SpecError, match=r"^spec: is nested too deeply to read|"
                                        r"^schedule\.value: must be a learning rate"):
        lrcore.load(text)


def test_deeply_nested_value_in_a_dict():
    """A 10**4-deep list where a number belongs: SpecError naming the field, even though
    the value cannot be printed in full (no RecursionError while building the message)."""
    value = 0.1
    for _ in range(10**4):
        value = [value]
    with pytest.raises(SpecError, match=r"^schedule\.value: must be a learning rate"):
        lrcore.Schedule.from_dict(doc({"type": "constant", "value": value}))


def _quick(fn, limit=5.0):
    """Run ``fn`` and return how long it took; fail past a generous limit."""
    t0 = time.perf_counter()
    fn()
    took = time.perf_counter() - t0
    assert took < limit, f"took {took:.1f} s"


@pytest.mark.parametrize("field,node", [
    ("boundaries", {"type": "piecewise_constant", "values": [0.1],
                    "boundaries": list(range(1, 10**5 + 1))}),
    ("values", {"type": "piecewise_constant", "values": [0.1] * (10**5 + 1),
                "boundaries": list(range(1, 10**5 + 1))}),
    ("milestones", {"type": "multistep", "start": 0.1, "factor": 0.9,
                    "milestones": list(range(1, 10**5 + 1))}),
    ("points", {"type": "piecewise_linear", "points": [[i, 0.1] for i in range(10**5)]}),
    ("phases", {"type": "sequence", "phases": [dict(C, duration=1)] * 10**5}),
])
def test_huge_lists_are_refused_quickly(field, node):
    """10**5 entries: refused with the limit named, before any per-item work."""
    def load():
        with pytest.raises(SpecError, match=rf"^schedule\.{field}: must have at most 10000 "
                                            r'items, got "10000[01] items"$'):
            lrcore.Schedule.from_dict(doc(node))

    _quick(load)


def test_huge_list_in_yaml_text_is_refused():
    """10**5 boundaries as YAML text (under the 1 MiB limit): refused with the list
    limit once parsed; parsing is bounded by the size limit (about 4 s here with the
    pure-Python SafeLoader, so the limit below is generous)."""
    text = ("lrcore: 1\nschedule:\n  type: piecewise_constant\n  values: [0.1]\n"
            "  boundaries: [" + ", ".join(str(i) for i in range(1, 10**5 + 1)) + "]\n")
    _quick(lambda: _expect(lambda: lrcore.load(text), r"^schedule\.boundaries: must have at "
                           r'most 10000 items, got "100000 items"$'), limit=15.0)


def test_too_many_nodes_is_refused():
    """100 sequences of 101 phases: more nodes than a spec may hold."""
    inner = seq(*[dict(C, duration=1)] * 101, duration=101)
    with pytest.raises(SpecError, match=r"^schedule[^:]*: (a spec )?must have at most 10000 nodes"):
        lrcore.Schedule.from_dict(doc(seq(*[inner] * 100)))


def test_huge_text_is_refused_quickly(tmp_path):
    big = json.dumps(doc({"type": "piecewise_constant", "values": [0.1] * (10**5 + 1),
                          "boundaries": list(range(1, 10**5 + 1))}))
    assert len(big) > 1 << 20
    _quick(lambda: _expect(lambda: lrcore.load(big),
                           r'^spec: must be at most 1048576 bytes, got "\d+ bytes"$'))
    path = tmp_path / "big.json"
    path.write_text(big)
    _quick(lambda: _expect(lambda: lrcore.load(path),
                           rf"^{re.escape(str(path))}: must be at most 1048576 bytes"))


def _expect(fn, match):
    with pytest.raises(SpecError, match=match):
        fn()


_CHILD = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    import lrcore
    try:
        lrcore.load(sys.argv[1])
    except lrcore.SpecError as err:
        print("SpecError:", str(err)[:300])
    else:
        print("loaded")
""")


def _load_in_child(tmp_path, text, timeout=10):
    """Load ``text`` from a file in a child process limited to 3 GiB and ``timeout``
    seconds (a refusal takes well under one)."""
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    assert len(text) < 4000  # a small file...
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True,
                              text=True, timeout=timeout, cwd=tmp_path,
                              env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        proc = None
    if proc is None:  # ...that expands without bound
        pytest.fail(f"loading a {len(text)}-byte alias bomb ran past {timeout} s")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def _lol(levels=9, width=10, scalar='"lol"'):
    """One YAML flow list that defines its own anchors: level 0 holds ``width`` scalars,
    each level ``width`` copies of the one below (``width ** levels`` leaves once
    expanded, a few hundred bytes as text)."""
    text = "&a0 [" + ", ".join([scalar] * width) + "]"
    for i in range(1, levels):
        text = f"&a{i} [{text}, " + ", ".join([f"*a{i - 1}"] * (width - 1)) + "]"
    return text


def test_alias_bomb_in_a_rejected_value(tmp_path):
    """Billion laughs where a number belongs: the error must not try to print 10**9
    strings."""
    text = ("lrcore: 1\nschedule:\n  type: clip\n  schedule: {type: constant, value: 0.1}\n"
            f"  min: 0.0\n  max: {_lol()}\n")
    out = _load_in_child(tmp_path, text)
    assert re.match(r"^SpecError: schedule\.max: must be a learning rate", out), out


def test_alias_bomb_in_document_keys(tmp_path):
    """Billion laughs under name / an unknown key: refused at once."""
    text = f"lrcore: 1\nschedule: {{type: constant, value: 0.1}}\ndescription: {_lol()}\n"
    out = _load_in_child(tmp_path, text)
    assert re.match(r"^SpecError: description: must be a string", out), out
    text = f"lrcore: 1\nschedule: {{type: constant, value: 0.1}}\nlol: {_lol()}\n"
    out = _load_in_child(tmp_path, text)
    assert re.match(r"^SpecError: lol: is not a document key", out), out


def test_alias_bomb_of_schedule_nodes(tmp_path):
    """Nested sequences whose phases alias the level below: 10**9 nodes once expanded.
    Refused with the node limit, without building them."""
    node = "&a0 {type: constant, value: 0.1, duration: 1}"
    for i in range(1, 10):
        node = (f"&a{i} {{type: sequence, duration: {10**i}, phases: [{node}, "
                + ", ".join([f"*a{i - 1}"] * 9) + "]}")
    out = _load_in_child(tmp_path, "lrcore: 1\nschedule: " + node + "\n")
    assert re.match(r"^SpecError: schedule[^:]*: .*at most", out), out


def test_alias_bomb_in_a_list_field(tmp_path):
    """An aliased list of lists as the first boundary: refused at that item."""
    text = ("lrcore: 1\nschedule:\n  type: piecewise_constant\n  values: [0.1, 0.2]\n"
            f"  boundaries: [{_lol(scalar='1')}]\n")
    out = _load_in_child(tmp_path, text)
    assert re.match(r"^SpecError: schedule\.(values|boundaries)", out), out


@pytest.mark.parametrize("spec,steps,want", [
    # products that stay inside float32, written out
    ({"type": "scale", "by": 0.5, "schedule": {"type": "constant", "value": 3e38}}, [0], 1.5e38),
    ({"type": "scale", "by": 2.0, "schedule": {"type": "step", "start": 1e38,
                                               "factor": 1.0000001, "every": 1000}},
     [999], 2e38),
    # torch allows final_div_factor < 1: a floor above the start, well inside float32
    ({"type": "onecycle", "peak": 0.1, "duration": 100, "final_div_factor": 0.5}, [99],
     0.1 / 25 / 0.5),
    # a clip caps an inner curve that stays inside float32
    ({"type": "clip", "max": 1.0, "schedule": {"type": "scale", "by": 1e30,
                                               "schedule": {"type": "constant", "value": 1e8}}},
     [0], 1.0),
])
def test_large_rates_inside_float32_are_accepted(spec, steps, want):
    got = lrcore.evaluate(doc(spec), steps)
    assert got.tolist() == pytest.approx([want], rel=1e-12)
