"""Tests for mnist_core.drawing_steps (deskew, stroke normalization) and their toggles in to_mnist.

The deskew test shears upright digits by a known angle and checks the angle that is
left; the stroke test draws one digit with a thin, a medium and a thick pen and checks
that the widths come out close to MNIST's.
"""
import math

import numpy as np
import pytest
from PIL import Image

from digit_strokes import render_digit
from mnist_core.drawing_steps import (STROKE_WIDTH_MNIST, deskew, normalize_strokes, skew, skew_angle,
                                      stroke_width)
from mnist_core.preprocess import to_mnist


def shear(ink: np.ndarray, degrees: float) -> np.ndarray:
    """Lean the picture's top to the right by `degrees` (a reference shear with Pillow, padded)."""
    t = math.tan(math.radians(degrees))
    h, w = ink.shape
    pad = int(abs(t) * h) + 2
    picture = Image.fromarray(np.pad(ink.astype(np.float32), ((0, 0), (pad, pad))), mode="F")
    # output column c takes input column c + t * (r - h / 2): the top (small r) moves right.
    out = picture.transform((w + 2 * pad, h), Image.Transform.AFFINE, (1, t, -t * h / 2, 0, 1, 0),
                            resample=Image.Resampling.BILINEAR)
    return np.clip(np.asarray(out), 0, 1)


def upright_digit(digit: int) -> np.ndarray:
    placement = {"left": 90, "top": 40, "width": 110, "height": 200, "slant": 0.0, "pen": 18}
    return render_digit(digit, np.random.default_rng(digit), placement=placement, tremble=0).astype(np.float32) / 255


def test_skew_of_a_leaning_bar_is_its_slope():
    bar = np.zeros((100, 100))
    for row in range(100):
        bar[row, 30 + (99 - row) // 4: 34 + (99 - row) // 4] = 1.0
    assert skew(bar) == pytest.approx(-0.25, abs=0.01)
    assert skew_angle(bar) == pytest.approx(math.degrees(math.atan(0.25)), abs=0.6)


@pytest.mark.parametrize("digit", [1, 4, 7, 9])
@pytest.mark.parametrize("degrees", [-15, 15])
def test_deskew_straightens_a_sheared_digit(digit, degrees):
    upright = upright_digit(digit)
    sheared = shear(upright, degrees)
    assert abs(skew_angle(sheared) - skew_angle(upright) - degrees) < 2  # the reference shear did its job
    straightened = deskew(sheared)
    assert abs(skew_angle(straightened)) < 2
    assert straightened.sum() == pytest.approx(sheared.sum(), rel=0.02)  # no ink lost over the edges


def test_deskew_leaves_an_upright_bar_alone():
    bar = np.zeros((50, 50), np.float32)
    bar[5:45, 20:26] = 1.0
    assert np.array_equal(deskew(bar), bar)


def test_stroke_width_of_bars_is_close_to_their_width():
    for width in (3, 6, 12):
        bar = np.zeros((200, 200), np.float32)
        bar[20:180, 100:100 + width] = 1.0
        assert stroke_width(bar) == pytest.approx(width, rel=0.15)


@pytest.mark.parametrize("pen", [4, 18, 50])
def test_strokes_come_out_near_mnist_width_in_the_20px_box(pen):
    placement = {"left": 90, "top": 40, "width": 110, "height": 200, "slant": 0.0, "pen": pen}
    ink = render_digit(3, np.random.default_rng(0), placement=placement, tremble=0).astype(np.float32) / 255
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    region = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    before = to_mnist(region, strokes=False).image
    after = to_mnist(region, strokes=True).image
    distance_before = abs(math.log(stroke_width(before) / STROKE_WIDTH_MNIST))
    distance_after = abs(math.log(stroke_width(after) / STROKE_WIDTH_MNIST))
    assert distance_after < 0.35  # within ~40% of MNIST's width, whatever the pen
    if pen != 18:  # a thin or a very thick pen is brought toward MNIST's width
        assert distance_after < distance_before - 0.2


def test_thinning_never_erases_the_digit():
    blob = np.zeros((120, 120), np.float32)
    blob[10:110, 40:80] = 1.0  # one very thick stroke
    thinner, before = normalize_strokes(blob)
    assert before > STROKE_WIDTH_MNIST * 1.5 and 0 < thinner.sum() < blob.sum()


def test_the_toggles_are_reported_and_default_to_the_measured_choice():
    canvas = upright_digit(7)
    result = to_mnist(canvas, deskew=True, strokes=True)
    assert result.steps["deskew"] and result.steps["strokes"]
    assert "deskewed" in result.message and "pen width" in result.message
    plain = to_mnist(canvas, deskew=False, strokes=False)
    assert not plain.steps["deskew"] and not plain.steps["strokes"]
