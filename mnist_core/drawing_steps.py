"""Two preprocessing steps that meet drawings halfway: deskew and stroke normalization.

Both are pure functions on an ink map (H, W) float32 in [0, 1], ink = 1, and both
are toggles of `mnist_core.preprocess.to_mnist` (`deskew=`, `strokes=`), so the Draw
page can show what each is worth.

- **Deskew** (the classic MNIST trick): the slant of a digit is read from its image
  moments, the covariance of the ink's column with its row over the variance of the
  row (mu11 / mu02), and a horizontal shear about the centre of mass removes it.
  An upright digit has a skew of 0; a digit leaning right by 15 degrees has
  tan(15 deg) = 0.27.
- **Stroke normalization**: the pen's width is estimated as 2 x area / perimeter (a
  stroke of length L and width w has area L*w and a perimeter of about 2L; the
  perimeter is the total variation of the ink, so grey edges count too). MNIST's
  strokes are STROKE_WIDTH_MNIST = 2.6 px wide in their 20 px box (median over the
  training set). A drawing whose strokes, once scaled to that box, are thinner than
  that is thickened, and a very thick one is thinned toward it; both are exact
  Euclidean distance thresholds (dilation and erosion by a disc).
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy.ndimage import distance_transform_edt

STROKE_WIDTH_MNIST = 2.6  # px in the 28x28 frame (digit box 20 px): median 2 x area / perimeter of MNIST's train set
STROKE_TOLERANCE = 1.25  # widths within this factor of the target are left alone
TARGET_BOX = 20  # MNIST's digit box: the width is judged at this scale
MAX_SKEW = 1.0  # shears beyond 45 degrees are not slants but odd shapes: clip
INK_LEVEL = 0.5  # a pixel is ink, for the morphology, at half intensity or more


def skew(ink: np.ndarray) -> float:
    """The digit's slant as mu11 / mu02: how far the ink's column moves per row (0 = upright).

    Positive means the top leans right (the column falls as the row grows).

    >>> lean = np.zeros((20, 20)); lean[np.arange(20), 19 - np.arange(20) // 2] = 1.0
    >>> round(skew(lean), 2)
    -0.5
    """
    mass = float(ink.sum())
    if mass == 0:
        return 0.0
    rows, cols = np.indices(ink.shape, dtype=np.float64)
    r_mean = float((rows * ink).sum()) / mass
    c_mean = float((cols * ink).sum()) / mass
    mu02 = float(((rows - r_mean) ** 2 * ink).sum()) / mass
    mu11 = float(((rows - r_mean) * (cols - c_mean) * ink).sum()) / mass
    return mu11 / mu02 if mu02 > 1e-9 else 0.0


def skew_angle(ink: np.ndarray) -> float:
    """The slant in degrees (positive: the top leans right), from `skew`.

    >>> upright = np.zeros((20, 20)); upright[:, 10] = 1.0
    >>> skew_angle(upright)
    0.0
    """
    return -math.degrees(math.atan(skew(ink))) + 0.0


def deskew(ink: np.ndarray) -> np.ndarray:
    """Shear the ink horizontally about its centre of mass so that its skew becomes 0.

    The result is wider where needed, so no ink falls off the picture.

    >>> lean = np.zeros((40, 40), np.float32)
    >>> for r in range(40): lean[r, 10 + (39 - r) // 3: 14 + (39 - r) // 3] = 1.0
    >>> abs(skew_angle(deskew(lean))) < 2 < abs(skew_angle(lean))
    True
    """
    alpha = float(np.clip(skew(ink), -MAX_SKEW, MAX_SKEW))
    if abs(alpha) < 1e-3:
        return ink.astype(np.float32, copy=True)
    height, width = ink.shape
    mass = float(ink.sum())
    r_mean = float(ink.sum(axis=1) @ np.arange(height)) / mass
    pad = int(math.ceil(abs(alpha) * height)) + 1
    out_width = width + 2 * pad
    # Output pixel (r, c) takes input column c - pad + alpha * (r - r_mean): the shear that
    # cancels mu11 (columns move by alpha per row), in Pillow's inverse-map convention.
    coefficients = (1.0, alpha, -pad - alpha * r_mean, 0.0, 1.0, 0.0)
    picture = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32), mode="F")
    sheared = picture.transform((out_width, height), Image.Transform.AFFINE, coefficients,
                                resample=Image.Resampling.BILINEAR)
    return np.clip(np.asarray(sheared, dtype=np.float32), 0.0, 1.0)


def stroke_width(ink: np.ndarray) -> float:
    """The pen's width in pixels, as 2 x area / perimeter (0 for blank ink).

    >>> bar = np.zeros((60, 60)); bar[10:50, 28:33] = 1.0  # a 5 px wide bar, 40 long
    >>> round(stroke_width(bar), 1)
    4.5
    """
    area = float(ink.sum())
    if area == 0:
        return 0.0
    gy, gx = np.gradient(ink.astype(np.float32))
    perimeter = float(np.sqrt(gx * gx + gy * gy).sum())
    return 2 * area / perimeter if perimeter > 0 else 0.0


def normalize_strokes(ink: np.ndarray, target: float | None = None) -> tuple[np.ndarray, float]:
    """Bring the pen width toward MNIST's; returns (ink, width before, in 20 px box pixels).

    `ink` should be cropped to the digit (its larger side becomes the 20 px box). `target`
    is the wanted width in ink pixels; by default MNIST's width scaled to this drawing.
    A width within STROKE_TOLERANCE of the target is left as it is.

    >>> thin_line = np.zeros((200, 200), np.float32); thin_line[:, 98:101] = 1.0
    >>> thicker, before = normalize_strokes(thin_line)
    >>> round(before, 1), stroke_width(thicker) > 3 * stroke_width(thin_line)
    (0.3, True)
    """
    width = stroke_width(ink)
    if width == 0:
        return ink.astype(np.float32, copy=True), 0.0
    core_side = max(max(ink.shape) - width, 1.0)  # the box without the pen's overhang
    if target is None:
        # The wanted width w satisfies w / (core_side + w) * TARGET_BOX = STROKE_WIDTH_MNIST.
        share = STROKE_WIDTH_MNIST / TARGET_BOX
        target = share * core_side / (1 - share)
    in_box = width * TARGET_BOX / (core_side + width)
    if target / STROKE_TOLERANCE <= width <= target * STROKE_TOLERANCE:
        return ink.astype(np.float32, copy=True), in_box
    inked = ink >= INK_LEVEL
    if width < target:
        # Dilation by a disc of radius (target - width) / 2: distance to the nearest ink.
        radius = (target - width) / 2
        pad = int(math.ceil(radius)) + 1
        padded = np.pad(inked, pad)
        grown = distance_transform_edt(~padded) <= radius
        out = np.maximum(np.pad(ink, pad), grown.astype(np.float32))
    else:
        # Erosion by a disc: keep ink farther than the radius from the background, but never
        # thinner than a 1.5 px core, so no part of the digit disappears.
        depth = distance_transform_edt(np.pad(inked, 1))[1:-1, 1:-1]
        radius = min((width - target) / 2, max(float(depth.max()) - 1.5, 0.0))
        out = (depth > radius).astype(np.float32)
    return out, in_box
