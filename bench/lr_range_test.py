"""Seconds of the learning-rate range test for the default model (issue 11 asks for at most 10 s on 2 cores).

    python bench/lr_range_test.py --threads 2
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from mnist_core.config import TrainConfig  # noqa: E402
from mnist_core.data import load_mnist  # noqa: E402
from mnist_core.lr_range_test import lr_range_test  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR") or str(REPO.parent / "shared" / "mnist"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_mnist(args.data_dir, download=False)
    figures = []
    for config in (TrainConfig(), TrainConfig(arch="softmax", optimizer="sgd", schedule="constant")):
        for _ in range(args.repeats):
            result = lr_range_test(config, data)
            figures.append({"model": config.short_description(), "seconds": round(result.seconds, 2),
                            "batches": len(result.lrs), "suggested_lr": result.suggested_lr})
            print(f"{figures[-1]['model']}: {result.seconds:.2f} s, {len(result.lrs)} batches, "
                  f"suggested lr {result.suggested_lr:.2g}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
