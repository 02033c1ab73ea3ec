"""How long "the 8 nearest MNIST training images" takes once a run's index is cached (budget: 200 ms).

    python bench/neighbours_speed.py [--queries 50] [--threads 1] [--arch cnn]

Builds `mnist_core.neighbours.build_run_neighbours` over the 60,000 training images for a
freshly initialised model of `--arch` (a forward pass costs the same whatever the weights),
prints the build time (done once per run, as a background job on the Draw page), then the
median and p95 of one query by pixels and by the last hidden layer together, for test images.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_core.config import TrainConfig  # noqa: E402
from mnist_core.data import load_mnist  # noqa: E402
from mnist_core.models import create_model  # noqa: E402
from mnist_core.neighbours import build_run_neighbours  # noqa: E402

BUDGET_MS = 200.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--arch", default="cnn")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_mnist(args.data_dir, download=False)
    model = create_model(TrainConfig(arch=args.arch)).eval()
    start = time.perf_counter()
    index = build_run_neighbours(model, data.train_x, data.train_labels)
    build = time.perf_counter() - start
    times = []
    for i in range(args.queries):
        start = time.perf_counter()
        index.nearest(data.test_x[i:i + 1], k=8)
        times.append(1000 * (time.perf_counter() - start))
    times = np.array(times)
    print(f"{args.arch}, 60,000 training images, torch threads = {args.threads}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"index build (once per run): {build:.1f} s")
    print(f"one query, both ways: median {np.median(times):.1f} ms, p95 {np.percentile(times, 95):.1f} ms: "
          f"{'within' if np.percentile(times, 95) <= BUDGET_MS else 'OVER'} the {BUDGET_MS:.0f} ms budget")


if __name__ == "__main__":
    main()
