"""How long the server takes to read a drawing, from the canvas's PNG to the ten probabilities.

    python bench/predict_latency.py [--drawings 200] [--threads 1] [--runs RUNS_DIR]

The Draw page gets each drawing as a PNG data URL of the 280x280 RGBA canvas. This
times what the server then does, per architecture: decode the PNG, the MNIST
preprocessing (crop, 20 px box, centre of mass) and the model's forward pass
(`mnist_core.predict.read_drawing`, the page's own call). Columns: "classic" is crop, scale
and centre of mass only; "deskew+strokes" adds both drawing steps (the budget is checked on
this one); "page default" is the page's reading (stroke normalization on, deskew off);
"with variants" adds the preprocessing lesson: crop, scale and centre of mass switched off one
by one, and all together (4 more readings).

Models are freshly initialised (a forward pass costs the same whatever the weights);
with --runs, the newest saved run of each architecture in that store is used instead.
The drawings come from tests/digit_strokes.py: random digits, places, sizes and pens.
The page's budget is 30 ms.
"""
from __future__ import annotations

import argparse
import os
import base64
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from digit_strokes import as_canvas_rgba, render_digit  # noqa: E402
from mnist_core.config import ARCHITECTURES, TrainConfig  # noqa: E402
from mnist_core.models import create_model  # noqa: E402
from mnist_core.predict import predict_digit, read_drawing  # noqa: E402
from mnist_core.runs import RunStore  # noqa: E402
from mnist_core.runtime import malloc_tuning_active  # noqa: E402

BUDGET_MS = 30.0
CLASSIC_STEPS = ("crop", "scale", "center_of_mass")  # "with variants": the lesson's cards for these three


def canvas_data_urls(count: int, seed: int = 0) -> list[str]:
    """What the canvas sends: PNG data URLs of white-on-black RGBA drawings."""
    rng = np.random.default_rng(seed)
    urls = []
    for i in range(count):
        buffer = io.BytesIO()
        Image.fromarray(as_canvas_rgba(render_digit(i % 10, rng))).save(buffer, "PNG")
        urls.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    return urls


def models(runs_dir: str | None) -> dict[str, tuple[torch.nn.Module, str]]:
    """arch -> (model in eval mode, where it came from)."""
    out = {arch: (create_model(TrainConfig(arch=arch)).eval(), "untrained") for arch in ARCHITECTURES}
    if runs_dir:
        store = RunStore(runs_dir)
        for info in reversed(store.list()):  # oldest first, so the newest of each arch wins
            out[info.config.arch] = (store.load_model(info.run_id), info.run_id)
    return out


def time_readings(model, urls: list[str], steps_off=()) -> np.ndarray:
    """Milliseconds per drawing, PNG decoding included."""
    read_drawing(model, urls[0], steps_off)  # torch's one-off set-up on the first call
    times = []
    for url in urls:
        start = time.perf_counter()
        reading = read_drawing(model, url, steps_off)
        times.append(1000 * (time.perf_counter() - start))
        assert reading.prediction.probabilities is not None
    return np.array(times)


def time_predictions(model, urls: list[str], **toggles) -> np.ndarray:
    """Milliseconds per drawing for one reading with the given preprocessing steps, PNG decoding included."""
    predict_digit(model, urls[0], **toggles)
    times = []
    for url in urls:
        start = time.perf_counter()
        assert predict_digit(model, url, **toggles).probabilities is not None
        times.append(1000 * (time.perf_counter() - start))
    return np.array(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the app serves with 1)")
    parser.add_argument("--runs", default=None, help="use the newest saved run of each architecture here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    urls = canvas_data_urls(args.drawings)
    print(f"{args.drawings} canvas drawings (280x280 RGBA PNG data URLs), torch threads = {args.threads}, "
          f"malloc tuning {'on' if malloc_tuning_active() else 'off'}")
    print(f"{'model':<22}{'classic: median':>17}{'p95':>8}{'deskew+strokes: median':>25}{'p95':>8}"
          f"{'page default: median':>23}{'p95':>8}{'with variants: median':>24}{'p95':>8}")
    worst = 0.0
    for arch, (model, source) in models(args.runs).items():
        classic = time_predictions(model, urls, deskew=False, strokes=False)
        both = time_predictions(model, urls, deskew=True, strokes=True)
        main_ms = time_readings(model, urls)
        all_ms = time_readings(model, urls, steps_off=CLASSIC_STEPS)
        worst = max(worst, float(np.percentile(both, 95)))
        print(f"{ARCHITECTURES[arch]:<22}{np.median(classic):>14.2f} ms{np.percentile(classic, 95):>8.2f}"
              f"{np.median(both):>22.2f} ms{np.percentile(both, 95):>8.2f}"
              f"{np.median(main_ms):>20.2f} ms{np.percentile(main_ms, 95):>8.2f}"
              f"{np.median(all_ms):>21.2f} ms{np.percentile(all_ms, 95):>8.2f}"
              + ("" if source == "untrained" else f"   ({source})"))
    verdict = "within" if worst < BUDGET_MS else "OVER"
    print(f"Worst p95 of one reading with deskew and stroke normalization on: {worst:.1f} ms, {verdict} the "
          f"{BUDGET_MS:.0f} ms budget (load average {os.getloadavg()[0]:.1f}: on a busy machine every figure grows).")


if __name__ == "__main__":
    main()
