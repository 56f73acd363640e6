"""`lrcore plot`: PNG, SVG and PDF files that open, have the asked size and content.

The pixel size follows from --size and --dpi (inches times dots per inch); the legend
labels are the specs' names or file stems; the image is not blank.
"""

from __future__ import annotations

import pytest
from cli_helpers import run_cli

pytest.importorskip("matplotlib")
pytest.importorskip("optax")

import matplotlib.image  # noqa: E402 - after the importorskip
import numpy as np  # noqa: E402


def _distinct_colours(img: np.ndarray) -> int:
    rgb = (img[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    return len(np.unique(rgb, axis=0))


def test_png_with_error_panel_has_the_asked_size_and_is_not_blank(specs, tmp_path):
    """Two specs overlaid and optax's error panel, 9 x 6 in at 100 dpi: 900 x 600 px,
    many colours, the first curve's colour (matplotlib's C0, #1f77b4) drawn."""
    out = tmp_path / "curves.png"
    r = run_cli("plot", str(specs["wc"]), str(specs["step"]), "-o", str(out),
                "--backends", "optax")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no warning from matplotlib or jax
    assert r.stdout.strip() == f"wrote {out}"
    img = matplotlib.image.imread(out)
    assert img.shape[:2] == (600, 900)
    assert float(img[..., :3].std()) > 0.05
    assert _distinct_colours(img) > 20
    c0 = np.array([0x1F, 0x77, 0xB4]) / 255
    assert np.sum(np.all(np.abs(img[..., :3] - c0) < 0.02, axis=-1)) > 300


def test_png_size_follows_size_and_dpi(specs, tmp_path):
    """--size 4 3 --dpi 50 is 200 x 150 px; --log draws a curve that starts at 0
    without complaint (zeros are left out of a log axis)."""
    out = tmp_path / "small.png"
    r = run_cli("plot", str(specs["wc"]), "-o", str(out), "--size", "4", "3", "--dpi", "50",
                "--log", "--steps", "1000")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    img = matplotlib.image.imread(out)
    assert img.shape[:2] == (150, 200)
    assert _distinct_colours(img) > 5


def test_svg_holds_legend_text_and_is_reproducible(specs, tmp_path):
    """SVG keeps text as text: the legend names both specs (name, file stem) and the
    error panel names its backend and axis; the same command writes the same bytes."""
    out = tmp_path / "curves.svg"
    args = ("plot", str(specs["wc"]), str(specs["step"]), "-o", str(out), "--backends",
            "optax-x64", "--title", "Two schedules")
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml")
    for text in ("warmup-cosine", "halving", "warmup-cosine: optax-x64",
                 "halving: optax-x64", "error (ulp)", "learning rate", "Two schedules"):
        assert f">{text}<" in svg, text
    first = out.read_bytes()
    assert run_cli(*args).returncode == 0
    assert out.read_bytes() == first


def test_pdf(specs, tmp_path):
    """A PDF file: the %PDF header and a trailer."""
    out = tmp_path / "curve.pdf"
    r = run_cli("plot", str(specs["wc"]), "-o", str(out))
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")


def _constant_specs(n: int) -> list:
    import lrcore

    return [(f"spec {i}", lrcore.load({"lrcore": 1, "total_steps": 100, "schedule": {
        "type": "constant", "value": 0.01 * (i + 1)}})) for i in range(n)]


def test_more_than_ten_curves_stay_distinguishable():
    """matplotlib has ten colours: curves 11 to 40 differ by line style, and past 40 by
    marker too. Read back from the legend's own handles (colour, line style, marker):
    45 curves, 45 different looks; the first ten are solid lines without markers, as
    before, and curve 10 is C0 dashed, not a second solid C0."""
    from matplotlib.colors import to_hex

    from lrcore.plot import figure, plot_steps

    curves = _constant_specs(45)
    t = plot_steps([d for _, d in curves], 100)
    fig = figure(curves, t, 100, False, (), None, (16.0, 12.0), 50)
    handles = fig.axes[0].get_legend().legend_handles
    looks = [(to_hex(h.get_color()), h.get_linestyle(), h.get_marker()) for h in handles]
    assert len(looks) == 45 and len(set(looks)) == 45
    assert [(ls, m) for _, ls, m in looks[:10]] == [("-", "None")] * 10
    assert looks[0][0] == looks[10][0] == "#1f77b4"
    assert looks[10][1:] == ("--", "None")
    assert looks[40][1:] == ("-", "o")


def test_curve_styles_repeat_only_after_320_curves():
    from lrcore.plot import curve_style

    def look(i):
        s = curve_style(i)
        return s["color"], s["linestyle"], s.get("marker", "")

    assert len({look(i) for i in range(320)}) == 320
    assert look(320) == look(0)


def test_plot_command_draws_many_specs(tmp_path):
    """The command with 12 spec files (more than the colour cycle) and an error panel."""
    import lrcore

    paths = []
    for i, (_, doc) in enumerate(_constant_specs(12)):
        paths.append(str(tmp_path / f"s{i}.yaml"))
        lrcore.dump(doc, paths[-1])
    out = tmp_path / "many.png"
    r = run_cli("plot", *paths, "-o", str(out), "--size", "12", "9", "--backends", "python")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert matplotlib.image.imread(out).shape[:2] == (900, 1200)
