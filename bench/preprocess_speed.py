"""Speed of the Draw page's path: canvas RGBA -> MNIST-style 28x28 -> model probabilities.

Times, with time.perf_counter over --runs runs (after 5 warm-up runs), on one torch thread:
  1. `to_mnist` on a 280x280 RGBA canvas drawing (what streamlit-drawable-canvas returns);
  2. `predict_digit` (preprocessing + prediction) with softmax, MLP and the small CNN;
  3. `to_mnist` on a 1200x900 JPEG photo given as bytes (decoding included).
The budget for 2 with the CNN is 30 ms per drawing.

    python bench/preprocess_speed.py            # 100 runs each, a few seconds
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from mnist_core.models import MLP, SmallCNN, SoftmaxRegression  # noqa: E402
from mnist_core.predict import predict_digit  # noqa: E402
from mnist_core.preprocess import to_mnist  # noqa: E402


def canvas_drawing() -> np.ndarray:
    """A white "7" on the canvas's opaque black background, (280, 280, 4) uint8."""
    picture = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(picture).line([(70, 50), (210, 50), (110, 240)], fill=255, width=18, joint="curve")
    ink = np.asarray(picture)
    return np.dstack([ink, ink, ink, np.full_like(ink, 255)])


def timed(function, runs: int) -> list[float]:
    for _ in range(5):
        function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"{label:<44} mean {statistics.mean(times):6.2f} ms   median {statistics.median(times):6.2f} ms"
          f"   p95 {p95:6.2f} ms   max {ordered[-1]:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    canvas = canvas_drawing()
    print(f"{args.runs} runs each, torch {torch.__version__}, 1 thread")
    report("to_mnist, 280x280 RGBA canvas", timed(lambda: to_mnist(canvas), args.runs))
    for name, model in [("softmax", SoftmaxRegression()), ("mlp 784-512-10", MLP((512,))), ("cnn", SmallCNN())]:
        model.eval()
        report(f"predict_digit ({name}), 280x280 RGBA", timed(lambda: predict_digit(model, canvas), args.runs))

    buffer = io.BytesIO()
    Image.fromarray(255 - canvas[..., 0]).resize((1200, 900)).save(buffer, "JPEG", quality=85)
    photo = buffer.getvalue()
    report("to_mnist, 1200x900 JPEG bytes (with decoding)", timed(lambda: to_mnist(photo), args.runs))


if __name__ == "__main__":
    main()
