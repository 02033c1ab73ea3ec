"""Hand-drawn-like digits made by program, for the Draw page's tests.

Each digit 0-9 is a few pen strokes (polylines) in a unit box: x to the right,
y downwards, both in [0, 1], the way a person draws it on a canvas. The same
strokes serve two tests:
- `render_digit` draws them with Pillow on a 280x280 canvas at a random place,
  size, slant and pen width, with a little tremble, as a person would;
- the browser test replays `strokes_on_canvas` as mouse moves on the real canvas.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float, n: int = 24):
    """Points along an ellipse arc; angles in degrees with y downwards (-90 is the top)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start_deg, end_deg, n)]


# digit -> strokes; a stroke is a list of (x, y) points in the unit box.
DIGIT_STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(0.5, 0.5, 0.36, 0.5, -90, 275, 40)],
    1: [[(0.28, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    2: [_arc(0.5, 0.3, 0.38, 0.3, 190, 375, 20) + [(0.12, 1.0), (0.92, 1.0)]],
    3: [_arc(0.48, 0.25, 0.32, 0.25, -160, 90, 20) + _arc(0.48, 0.73, 0.38, 0.27, -90, 165, 20)[1:]],
    4: [[(0.3, 0.0), (0.08, 0.62), (0.95, 0.62)], [(0.72, 0.1), (0.72, 1.0)]],
    5: [[(0.85, 0.0), (0.22, 0.0), (0.16, 0.45)] + _arc(0.5, 0.68, 0.38, 0.32, -140, 150, 20)],
    6: [[(0.78, 0.02), (0.45, 0.25)] + _arc(0.52, 0.72, 0.38, 0.28, 215, 215 + 360, 36)],
    7: [[(0.06, 0.0), (0.94, 0.0), (0.38, 1.0)]],
    8: [_arc(0.5, 0.24, 0.27, 0.24, 90, 90 + 360, 30) + _arc(0.5, 0.74, 0.34, 0.26, -90, 270, 30)],
    9: [_arc(0.48, 0.28, 0.32, 0.28, 0, -360, 30) + [(0.8, 0.3), (0.74, 1.0)]],
}


def strokes_on_canvas(digit: int, left: float, top: float, width: float, height: float,
                      slant: float = 0.0) -> list[list[tuple[float, float]]]:
    """The digit's strokes mapped into the box (left, top, width, height), in canvas pixels.

    `slant` shears the digit like italic handwriting (0.2 leans the top 20% of the height right).
    """
    strokes = []
    for stroke in DIGIT_STROKES[digit]:
        strokes.append([(left + (x + slant * (1 - y)) * width / (1 + abs(slant)), top + y * height)
                        for x, y in stroke])
    return strokes


def _densify(points, spacing: float = 4.0):
    """Extra points along each segment, so the tremble makes a wobbly line, not a zigzag."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) / spacing))
        out.extend((x0 + (x1 - x0) * t / n, y0 + (y1 - y0) * t / n) for t in range(1, n + 1))
    return out


def random_placement(rng: np.random.Generator, canvas: int = CANVAS) -> dict:
    """A random box, slant and pen width, as different people draw on the same canvas."""
    height = rng.uniform(90, 250)
    width = height * rng.uniform(0.55, 0.85)
    pen = float(np.clip(rng.uniform(10, 30), 0.06 * height, 0.2 * height))
    margin = pen / 2 + 1
    left = rng.uniform(margin, canvas - width - margin)
    top = rng.uniform(margin, canvas - height - margin)
    return {"left": left, "top": top, "width": width, "height": height,
            "slant": rng.uniform(-0.15, 0.25), "pen": pen}


def render_digit(digit: int, rng: np.random.Generator, canvas: int = CANVAS, placement: dict | None = None,
                 tremble: float = 1.5) -> np.ndarray:
    """A white-on-black (canvas, canvas) uint8 drawing of `digit`, placed at random.

    Round pen ends and joints, as the canvas's freehand brush draws them.
    """
    place = placement or random_placement(rng, canvas)
    picture = Image.new("L", (canvas, canvas), 0)
    pen = ImageDraw.Draw(picture)
    width = max(1, int(round(place["pen"])))
    for stroke in strokes_on_canvas(digit, place["left"], place["top"], place["width"], place["height"],
                                    place["slant"]):
        points = _densify(stroke)
        shaky = [(x + rng.normal(0, tremble), y + rng.normal(0, tremble)) for x, y in points]
        # Smooth the tremble a little: a hand wobbles slowly, it does not jitter.
        smooth = [tuple(np.mean(shaky[max(0, i - 2):i + 3], axis=0)) for i in range(len(shaky))]
        pen.line(smooth, fill=255, width=width, joint="curve")
        # A round brush at every point: round ends, and no gaps where short segments meet.
        r = width / 2
        for x, y in smooth:
            pen.ellipse([x - r, y - r, x + r, y + r], fill=255)
    return np.asarray(picture)


def as_canvas_rgba(ink: np.ndarray) -> np.ndarray:
    """What streamlit-drawable-canvas returns: white strokes on an opaque black background."""
    rgba = np.empty((*ink.shape, 4), np.uint8)
    rgba[..., :3] = ink[..., None]
    rgba[..., 3] = 255
    return rgba


def drawing_layer(page, timeout_s: float = 60.0):
    """The canvas's drawing layer (`canvas.upper-canvas`) once exactly one is on the page.

    While Streamlit re-renders the Draw page (after the default model is trained, say)
    the old canvas can stay in the DOM for a moment beside the new one; a locator that
    resolves to both fails Playwright's strict mode. Wait for the page to settle on one.
    """
    import time

    layer = page.locator("canvas.upper-canvas")
    layer.first.wait_for(timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while layer.count() != 1:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected one drawing canvas on the page, found {layer.count()}")
        page.wait_for_timeout(200)
    return layer
