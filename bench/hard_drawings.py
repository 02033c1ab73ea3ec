"""A hard set of drawn digits, made as people draw them on the Draw page's 280x280 canvas.

    python bench/hard_drawings.py --out /tmp/hard-drawings            # writes 600 PNGs (seed 13)
    python bench/hard_drawings.py --out /tmp/hard-drawings --run RUN_DIR [--predict-flags ...]

Each drawing is a few pen paths (polylines, in the order a hand draws them) in a unit
box, bent by the hand's own variation, then placed on a black 280x280 canvas and
drawn with a round white pen, anti-aliased like the browser's canvas (drawn at 2x,
averaged down). The PNGs are what the canvas hands the server: white on opaque black.
With --run the script reads every PNG through the real command,
`python -m mnist_core predict RUN_DIR IMAGES...`, and prints the accuracy overall, per
digit and per style, and the most common confusions, ending with one JSON line.

Never train on this set: it is a test of how a model reads real handwriting.

Parameter ranges (all drawn from one numpy Generator seeded with --seed, default 13):
- digit: 60 of each 0-9 by default (--count 600), in a shuffled order;
- style: uniform over the digit's styles (STYLES below): open and closed 4s, looped and
  plain 2s, 7s with and without a bar, one- and two-stroke 5s, 8s as a figure of eight,
  a lemniscate or two stacked loops, 1s as a stick or with a flag and a base, ...;
- proportions: a smooth warp of the box, y -> y ** exp(U(-0.35, 0.35)) (the waist of an 8 or
  the loop of a 9 moves up or down), x -> x ** exp(U(-0.25, 0.25)) and a bow
  x += U(-0.08, 0.08) * sin(pi y); strokes after a pen lift land N(0, 0.05) of the box off;
- hand variation: every control point moved by N(0, 0.045) of the box, and a slow
  tremble of N(0, 1.5) px along the path (smoothed over 9 points 3 px apart);
- height: 70 to 250 px (small and large digits); width: the style's width x U(0.6, 1.15) (narrow hands close the loops);
- slant: U(-15, 15) degrees, as a shear (italic) or a rotation of the whole digit, half each;
- pen width: thin U(0.03, 0.08), medium U(0.08, 0.15) or thick U(0.15, 0.25) of the
  digit's height (a third each), at least 3 px: a thick pen is up to a quarter of the height;
- placement: anywhere on the canvas with the whole digit (pen included) inside it, so
  most digits are off-centre.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280
SUPERSAMPLE = 2  # drawn at 2x and averaged down: anti-aliased edges like the browser's canvas
SEED = 13
HEIGHT_RANGE = (70.0, 250.0)  # px on the 280x280 canvas
WIDTH_JITTER = (0.6, 1.15)  # times the style's own width
SLANT_DEGREES = 15.0  # +- this, as a shear or a rotation
PEN_CLASSES = {"thin": (0.03, 0.08), "medium": (0.08, 0.15), "thick": (0.15, 0.25)}  # share of the height
MIN_PEN = 3.0  # px
POINT_JITTER = 0.045  # hand variation of each control point, in box units
WAIST = 0.35  # y -> y ** exp(U(-WAIST, WAIST)): moves the middle of the digit up or down (top-heavy 8s, small 9 loops)
LEAN = 0.25  # x -> x ** exp(U(-LEAN, LEAN)): one side wider than the other
BEND = 0.08  # x += U(-BEND, BEND) * sin(pi * y): a bowed digit
STROKE_OFFSET = 0.05  # every stroke after the first lands N(0, this) off, as after a pen lift
TREMBLE = 1.5  # px, smoothed over 9 points 3 px apart: a hand wobbles slowly


def arc(cx, cy, rx, ry, start, end, n=24):
    """Points along an ellipse arc; degrees, y downwards (-90 is the top, 0 the right)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, end, n)]


def lemniscate(n=60):
    """A figure of eight in one stroke (Gerono's lemniscate), started at the top."""
    out = []
    for t in np.linspace(0, 2 * math.pi, n):
        out.append((0.5 - math.sin(t) * math.cos(t), 0.5 - 0.5 * math.cos(t)))
    return out


# digit -> style -> (width share of the height, strokes in a unit box: x right, y down).
STYLES: dict[int, dict[str, tuple[float, list]]] = {
    0: {"oval": (0.7, [arc(0.5, 0.5, 0.5, 0.5, -95, 268, 40)]),
        "overlap": (0.75, [arc(0.5, 0.5, 0.5, 0.5, -60, 330, 44)]),
        "gap": (0.7, [arc(0.5, 0.5, 0.5, 0.5, -80, 235, 36)])},
    1: {"stick": (0.12, [[(0.5, 0.0), (0.5, 1.0)]]),
        "flag": (0.45, [[(0.05, 0.25), (0.75, 0.0), (0.75, 1.0)]]),
        "flag-base": (0.6, [[(0.1, 0.22), (0.55, 0.0), (0.55, 1.0)], [(0.1, 1.0), (0.95, 1.0)]])},
    2: {"plain": (0.75, [arc(0.5, 0.28, 0.45, 0.28, 195, 365, 18) + [(0.05, 1.0), (1.0, 1.0)]]),
        "looped": (0.8, [arc(0.5, 0.28, 0.45, 0.28, 195, 360, 18) + [(0.12, 0.88)]
                         + arc(0.2, 0.86, 0.16, 0.12, 0, 360, 16) + [(1.0, 0.95)]]),
        "z-like": (0.75, [[(0.05, 0.12), (0.5, 0.0), (0.92, 0.15), (0.9, 0.35), (0.05, 1.0), (1.0, 1.0)]]),
        "curly": (0.7, [arc(0.55, 0.2, 0.3, 0.2, 180, 380, 16) + [(0.1, 0.95)]
                        + arc(0.25, 0.9, 0.12, 0.1, 180, 360, 8) + [(1.0, 0.85)]]),
        "big-loop": (0.75, [arc(0.5, 0.25, 0.42, 0.25, 190, 370, 16) + [(0.45, 0.6), (0.2, 0.8)]
                            + arc(0.35, 0.82, 0.28, 0.18, 180, 400, 16) + [(1.0, 1.0)]])},
    3: {"round": (0.65, [arc(0.45, 0.25, 0.45, 0.25, -160, 90, 20) + arc(0.45, 0.74, 0.52, 0.26, -90, 160, 20)[1:]]),
        "flat-top": (0.7, [[(0.05, 0.0), (0.95, 0.0), (0.4, 0.42)] + arc(0.45, 0.7, 0.5, 0.3, -80, 160, 20)]),
        "deep-cusp": (0.6, [arc(0.5, 0.22, 0.42, 0.22, -170, 100, 20) + [(0.3, 0.46)]
                            + arc(0.5, 0.72, 0.5, 0.28, -110, 150, 20)]),
        "curled-ends": (0.6, [arc(0.22, 0.14, 0.12, 0.1, 90, -90, 8) + arc(0.5, 0.24, 0.45, 0.24, -120, 95, 18)
                              + arc(0.5, 0.73, 0.5, 0.27, -95, 175, 20) + arc(0.2, 0.82, 0.12, 0.12, 180, 300, 6)])},
    4: {"closed": (0.8, [[(0.7, 0.0), (0.0, 0.66), (1.0, 0.66)], [(0.7, 0.0), (0.7, 1.0)]]),
        "open": (0.75, [[(0.12, 0.0), (0.05, 0.58), (0.95, 0.58)], [(0.72, 0.02), (0.72, 1.0)]]),
        "open-narrow": (0.65, [[(0.4, 0.0), (0.05, 0.52), (0.95, 0.55)], [(0.72, 0.0), (0.7, 1.0)]]),
        "open-rounded": (0.65, [[(0.3, 0.0), (0.08, 0.4), (0.2, 0.58), (0.55, 0.58), (0.95, 0.5)],
                                [(0.75, 0.02), (0.72, 1.0)]]),
        "open-one-stroke": (0.7, [[(0.1, 0.0), (0.08, 0.5), (0.7, 0.52), (0.75, 0.05), (0.7, 1.0)]])},
    5: {"one-stroke": (0.7, [[(0.95, 0.0), (0.15, 0.0), (0.1, 0.45)] + arc(0.45, 0.68, 0.5, 0.32, -140, 150, 20)]),
        "two-stroke": (0.7, [[(0.15, 0.0), (0.1, 0.45)] + arc(0.45, 0.68, 0.5, 0.32, -140, 150, 20),
                             [(0.15, 0.0), (0.95, 0.02)]]),
        "small-belly": (0.6, [[(0.2, 0.0), (0.15, 0.5)] + arc(0.5, 0.74, 0.45, 0.26, -150, 155, 20),
                              [(0.2, 0.0), (0.9, 0.0)]]),
        "closing-belly": (0.6, [[(0.95, 0.0), (0.25, 0.02), (0.15, 0.42)] + arc(0.5, 0.7, 0.45, 0.3, -150, 185, 24)])},
    6: {"curved": (0.7, [arc(0.95, 0.62, 0.85, 0.62, -100, -180, 10)
                         + arc(0.5, 0.74, 0.4, 0.26, 180, 530, 30)]),
        "straight-stem": (0.7, [[(0.75, 0.0), (0.1, 0.65)] + arc(0.5, 0.72, 0.42, 0.28, 200, 560, 30)]),
        "small-loop": (0.6, [[(0.8, 0.0), (0.25, 0.55)] + arc(0.5, 0.8, 0.35, 0.2, 200, 560, 26)]),
        "hooked": (0.65, [arc(0.6, 0.12, 0.3, 0.12, 20, -180, 10) + arc(0.9, 0.62, 0.8, 0.55, -150, -180, 4)
                          + arc(0.5, 0.72, 0.42, 0.28, 180, 540, 30)])},
    7: {"plain": (0.75, [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)]]),
        "bar": (0.75, [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)], [(0.3, 0.5), (0.95, 0.5)]]),
        "hook": (0.75, [[(0.0, 0.15), (0.05, 0.0), (1.0, 0.02), (0.6, 0.5), (0.45, 1.0)]])},
    8: {"figure8": (0.65, [arc(0.5, 0.24, 0.4, 0.24, 20, -300, 28)[:-1]
                           + arc(0.5, 0.74, 0.5, 0.26, -90, 270, 30)[1:] + arc(0.5, 0.24, 0.4, 0.24, 60, 10, 4)]),
        "lemniscate": (0.6, [lemniscate()]),
        "stacked": (0.65, [arc(0.5, 0.23, 0.42, 0.23, 90, 450, 28), arc(0.5, 0.73, 0.5, 0.27, -90, 270, 30)])},
    9: {"straight": (0.65, [arc(0.5, 0.28, 0.5, 0.28, 0, -360, 30) + [(0.98, 0.3), (0.9, 1.0)]]),
        "curved": (0.65, [arc(0.5, 0.28, 0.5, 0.28, 10, -350, 30) + [(0.98, 0.45), (0.8, 0.9), (0.45, 1.0)]]),
        "loop-first": (0.6, [arc(0.5, 0.28, 0.5, 0.28, -30, 330, 30), [(0.98, 0.2), (0.85, 1.0)]]),
        "small-loop": (0.55, [arc(0.55, 0.2, 0.4, 0.2, 10, -350, 26) + [(0.95, 0.25), (0.7, 1.0)]])},
}


def _densify(points, spacing):
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) / spacing))
        out.extend((x0 + (x1 - x0) * t / n, y0 + (y1 - y0) * t / n) for t in range(1, n + 1))
    return out


def draw_digit(digit: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """One drawing: (280, 280) uint8 white-on-black ink, and the parameters that made it."""
    style = str(rng.choice(sorted(STYLES[digit])))
    width_share, strokes = STYLES[digit][style]
    height = rng.uniform(*HEIGHT_RANGE)
    width = max(6.0, height * width_share * rng.uniform(*WIDTH_JITTER))
    slant = rng.uniform(-SLANT_DEGREES, SLANT_DEGREES)
    as_shear = bool(rng.random() < 0.5)
    pen_class = str(rng.choice(sorted(PEN_CLASSES)))
    pen = max(MIN_PEN, height * rng.uniform(*PEN_CLASSES[pen_class]))
    # Hand variation: the digit's proportions change (a smooth warp of the box), each control
    # point moves a little, and a stroke after a pen lift lands a little off.
    waist, lean, bend = (math.exp(rng.uniform(-WAIST, WAIST)), math.exp(rng.uniform(-LEAN, LEAN)),
                         rng.uniform(-BEND, BEND))

    def warp(x, y):
        xw = min(max(x, 0.0), 1.0) ** lean + (x - min(max(x, 0.0), 1.0))
        yw = min(max(y, 0.0), 1.0) ** waist + (y - min(max(y, 0.0), 1.0))
        return xw + bend * math.sin(math.pi * yw), yw

    jittered = []
    for number, stroke in enumerate(strokes):
        noise = rng.normal(0, POINT_JITTER, (len(stroke), 2))
        shift = rng.normal(0, STROKE_OFFSET, 2) if number else np.zeros(2)
        jittered.append([warp(x + dx + shift[0], y + dy + shift[1]) for (x, y), (dx, dy) in zip(stroke, noise)])
    # To canvas pixels about the box's centre, then slant, then place.
    t = math.tan(math.radians(slant))
    c, s = math.cos(math.radians(slant)), math.sin(math.radians(slant))
    paths = []
    for stroke in jittered:
        path = []
        for x, y in stroke:
            px, py = (x - 0.5) * width, (y - 0.5) * height
            if as_shear:
                px = px - t * py  # positive slant leans the top to the right
            else:
                px, py = c * px - s * py, s * px + c * py
            path.append((px, py))
        paths.append(path)
    xs = [p[0] for path in paths for p in path]
    ys = [p[1] for path in paths for p in path]
    margin = pen / 2 + 2
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    left = rng.uniform(margin, max(margin, CANVAS - span_x - margin)) - min(xs)
    top = rng.uniform(margin, max(margin, CANVAS - span_y - margin)) - min(ys)
    big = CANVAS * SUPERSAMPLE
    picture = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(picture)
    radius = pen * SUPERSAMPLE / 2
    for path in paths:
        points = _densify([(x + left, y + top) for x, y in path], spacing=3.0)
        shaky = np.array(points) + rng.normal(0, TREMBLE, (len(points), 2))
        kernel = np.ones(9) / 9  # a hand wobbles slowly: smooth the tremble
        if len(shaky) >= 9:
            shaky = np.stack([np.convolve(np.pad(shaky[:, k], 4, mode="edge"), kernel, "valid")
                              for k in range(2)], axis=1)
        scaled = [(float(x) * SUPERSAMPLE, float(y) * SUPERSAMPLE) for x, y in shaky]
        if len(scaled) > 1:
            draw.line(scaled, fill=255, width=max(1, int(round(2 * radius))), joint="curve")
        for x, y in scaled:  # a round brush: round ends and joints
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    ink = np.asarray(picture.resize((CANVAS, CANVAS), Image.Resampling.BOX))
    params = {"digit": digit, "style": style, "height": round(height, 1), "width": round(width, 1),
              "slant": round(slant, 1), "slant_as": "shear" if as_shear else "rotation",
              "pen": round(pen, 1), "pen_class": pen_class}
    return ink, params


def make_set(count: int = 600, seed: int = SEED) -> list[tuple[np.ndarray, dict]]:
    """`count` drawings, the digits in equal numbers (as far as count allows), shuffled."""
    rng = np.random.default_rng(seed)
    digits = np.arange(count) % 10
    rng.shuffle(digits)
    return [draw_digit(int(d), rng) for d in digits]


def write_set(out: Path, count: int = 600, seed: int = SEED) -> list[dict]:
    """Write the set as canvas-like RGB PNGs `NNNN-D-style.png`, plus index.json; returns the index."""
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for number, (ink, params) in enumerate(make_set(count, seed)):
        name = f"{number:04d}-{params['digit']}-{params['style']}.png"
        Image.fromarray(np.repeat(ink[:, :, None], 3, axis=2)).save(out / name)
        index.append({"file": name, **params})
    (out / "index.json").write_text(json.dumps(index, indent=1))
    return index


def read_with_cli(run_dir: str, out: Path, index: list[dict], flags: list[str]) -> dict:
    """Read every drawing through `python -m mnist_core predict` and score it."""
    files = [str(out / row["file"]) for row in index]
    command = [sys.executable, "-m", "mnist_core", "--threads", "1", "predict", run_dir, *files, *flags]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode == 2:
        raise SystemExit(done.stderr.strip())
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    read = {Path(line["image"]).name: line.get("digit") for line in lines}
    hits, confusions = Counter(), Counter()
    totals = Counter()
    for row in index:
        got = read.get(row["file"])
        for key in (("all",), ("digit", row["digit"]), ("style", f"{row['digit']}-{row['style']}"),
                    ("pen", row["pen_class"])):
            totals[key] += 1
            hits[key] += got == row["digit"]
        if got != row["digit"]:
            confusions[f"{row['digit']}->{got}"] += 1
    share = {key: hits[key] / totals[key] for key in totals}
    return {"accuracy": share[("all",)], "correct": hits[("all",)], "count": totals[("all",)],
            "per_digit": {k[1]: round(v, 3) for k, v in sorted(share.items()) if k[0] == "digit"},
            "per_style": {k[1]: round(v, 3) for k, v in sorted(share.items()) if k[0] == "style"},
            "per_pen": {k[1]: round(v, 3) for k, v in sorted(share.items()) if k[0] == "pen"},
            "confusions": dict(confusions.most_common(8)), "flags": flags}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="/tmp/hard-drawings", help="folder for the PNGs (default /tmp/hard-drawings)")
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--run", default=None, metavar="RUN_DIR", help="read the set with this run and score it")
    parser.add_argument("--predict-flags", nargs="*", default=[], help="extra flags for predict, e.g. --no-deskew")
    parser.add_argument("--sheet", default=None, help="also write a contact sheet of the first 100 drawings here")
    args = parser.parse_args()
    out = Path(args.out)
    index = write_set(out, args.count, args.seed)
    print(f"wrote {len(index)} drawings to {out}", file=sys.stderr)
    if args.sheet:
        tiles = [np.asarray(Image.open(out / row["file"]).convert("L").resize((70, 70), Image.Resampling.BOX))
                 for row in index[:100]]
        rows = [np.concatenate(tiles[r * 10:(r + 1) * 10], axis=1) for r in range(len(tiles) // 10)]
        Image.fromarray(np.concatenate(rows, axis=0)).save(args.sheet)
    if args.run:
        report = read_with_cli(args.run, out, index, [f if f.startswith("--") else f"--{f}" for f in args.predict_flags])
        print(json.dumps(report))


if __name__ == "__main__":
    main()
