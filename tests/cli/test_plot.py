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
