"""How fast and how faithful the exported plain-PyTorch script is (issue 15).

Trains a run with the engine (fit), exports it with script_export.training_script, runs
the script as a student would (`python FILE.py --data-dir DIR`, one thread) and prints both
test accuracies and both training times. The script batches from tensors in memory, as the
engine does, so an MLP epoch takes seconds, not a DataLoader's 10-15 s.

    source scripts/env.sh && .venv/bin/python bench/exported_script.py [--arch mlp] [--epochs 1]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_core.config import TrainConfig  # noqa: E402
from mnist_core.data import load_mnist, resolve_data_dir  # noqa: E402
from mnist_core.script_export import training_script  # noqa: E402
from mnist_core.train import fit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="mlp")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = TrainConfig(arch=args.arch, epochs=args.epochs)
    data_dir = resolve_data_dir().resolve()
    result = fit(config, load_mnist(data_dir, download=False))
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "train_run.py"
        script.write_text(training_script(config))
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, str(script), "--data-dir", str(data_dir)], capture_output=True,
                                   text=True, env=dict(os.environ, OMP_NUM_THREADS="1"), check=True)
        wall = time.perf_counter() - started
    trained = sum(float(s) for s in re.findall(r"\(([0-9.]+) s of training\)", completed.stdout))
    accuracy = float(completed.stdout.strip().splitlines()[-1].split(": ")[1])
    print(f"config: {config.short_description()}")
    print(f"engine fit():     test accuracy {result.test_accuracy:.4f}, {result.train_seconds:.1f} s of training")
    print(f"exported script:  test accuracy {accuracy:.4f}, {trained:.1f} s of training, {wall:.1f} s wall "
          "(torch import and MNIST load included)")


if __name__ == "__main__":
    main()
