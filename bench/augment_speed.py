"""What augmentation costs: the recipe's time against a CNN training epoch (budget: at most 30%).

    python bench/augment_speed.py [--steps 100] [--threads 1]

Times the same `--steps` batches of 128 MNIST training images three ways, best of 2:
1. the CNN's training steps alone (forward, backward, Adam step), as `fit` runs them;
2. `mnist_core.augment.augment_batch` alone on those batches;
3. both, as `fit` does with `TrainConfig(augment=True)`.
It prints the augmentation's share of a plain epoch ((3 - 1) / 1 and 2 / 1) and the load
average: the machine is shared, so quote the ratio, not the absolute times.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_core.augment import augment_batch  # noqa: E402
from mnist_core.config import TrainConfig  # noqa: E402
from mnist_core.data import load_mnist  # noqa: E402
from mnist_core.models import as_model_input, create_model  # noqa: E402
from mnist_core.runtime import malloc_tuning_active  # noqa: E402

BUDGET = 0.30


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_mnist(args.data_dir, download=False)
    batches = [torch.randint(len(data.train_labels), (128,), generator=torch.Generator().manual_seed(i))
               for i in range(args.steps)]
    model = create_model(TrainConfig(arch="cnn"))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    generator = torch.Generator().manual_seed(0)

    def train(augment: bool):
        def work():
            for rows in batches:
                x = data.train_x[rows]
                if augment:
                    x = augment_batch(x, generator=generator)
                loss = F.cross_entropy(model(as_model_input(model, x)), data.train_labels[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        return work

    def augment_only():
        for rows in batches:
            augment_batch(data.train_x[rows], generator=generator)

    train(False)()  # warm-up
    plain = best_of(2, train(False))
    alone = best_of(2, augment_only)
    both = best_of(2, train(True))
    print(f"{args.steps} CNN steps of batch 128, torch threads = {args.threads}, "
          f"malloc tuning {'on' if malloc_tuning_active() else 'off'}, load average {os.getloadavg()[0]:.1f}")
    print(f"training steps alone:      {plain:7.2f} s  ({1000 * plain / args.steps:.1f} ms a step)")
    print(f"augmentation alone:        {alone:7.2f} s  ({1000 * alone / args.steps:.1f} ms a batch)")
    print(f"training with augmentation:{both:7.2f} s")
    share = max(both - plain, 0.0) / plain
    print(f"augmentation costs {100 * alone / plain:.0f}% of a plain epoch measured alone, {100 * share:.0f}% "
          f"measured inside training: {'within' if max(share, alone / plain) <= BUDGET else 'OVER'} "
          f"the {100 * BUDGET:.0f}% budget.")


if __name__ == "__main__":
    main()
