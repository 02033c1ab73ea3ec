"""Integration: a CNN trained on real MNIST reads digits drawn anywhere on the canvas, at any size.

The drawings come from `digit_strokes`: strokes of each digit drawn with Pillow on a
280x280 canvas (the Draw page's size) at a random place, size, slant and pen width,
with a slight tremble. They are saved as PNG files and read by the real
`python -m mnist_core predict` command, exactly as a user would run it. Half are
saved as the canvas sends them (white on opaque black RGBA), half as grey PNGs.

The same drawings shrunk crudely to 28x28 (every preprocessing step off) are read
much worse: that is the lesson of the Draw page's preprocessing toggles.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digit_strokes import as_canvas_rgba, render_digit
from mnist_core.config import TrainConfig
from mnist_core.runs import RunStore
from mnist_core.train import fit

REPO_ROOT = Path(__file__).resolve().parent.parent
DRAWINGS_PER_DIGIT = 30
# The Draw page's default model, on 2,000 images per class to keep the test near 10 s on one thread.
CONFIG = TrainConfig(arch="cnn", epochs=1, schedule="onecycle", lr=5e-3, batch_size=128, subset=2000)


@pytest.fixture(scope="module")
def cnn_run(mnist, tmp_path_factory):
    result = fit(CONFIG, mnist, evaluate_test=True)
    assert result.status == "completed", result.reason
    assert result.test_accuracy > 0.95
    return RunStore(tmp_path_factory.mktemp("runs")).save(result, name="default CNN", owner="test",
                                                           test_labels=mnist.test_labels).path


@pytest.fixture(scope="module")
def drawings(tmp_path_factory):
    """(path, digit) for DRAWINGS_PER_DIGIT random drawings of each digit, saved as PNG files."""
    folder = tmp_path_factory.mktemp("drawings")
    rng = np.random.default_rng(2026)
    out = []
    for i in range(DRAWINGS_PER_DIGIT):
        for digit in range(10):
            ink = render_digit(digit, rng)
            picture = as_canvas_rgba(ink) if i % 2 == 0 else ink
            path = folder / f"{digit}-{i:03d}.png"
            Image.fromarray(picture).save(path)
            out.append((path, digit))
    return out


def predict_with_cli(run_dir: Path, paths: list[Path], *flags: str) -> list[dict]:
    completed = subprocess.run(
        [sys.executable, "-m", "mnist_core", "--threads", "1", "predict", str(run_dir), *flags,
         *map(str, paths)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [line["image"] for line in lines] == [str(p) for p in paths]
    return lines


def per_digit_accuracy(lines: list[dict], digits: list[int]) -> np.ndarray:
    read = np.array([line["digit"] for line in lines])
    truth = np.array(digits)
    return np.array([(read[truth == d] == d).mean() for d in range(10)])


@pytest.mark.integration
def test_drawn_digits_are_read_correctly_through_predict(cnn_run, drawings):
    paths, digits = zip(*drawings)
    lines = predict_with_cli(cnn_run, list(paths))
    accuracy = np.mean([line["digit"] == d for line, d in zip(lines, digits)])
    per_digit = per_digit_accuracy(lines, list(digits))
    print(f"\n{len(lines)} drawings read correctly: {accuracy:.1%}; per digit: {np.round(per_digit, 2).tolist()}")
    assert accuracy >= 0.90
    assert per_digit.min() >= 0.6, per_digit  # no digit the model cannot read at all

    crude = predict_with_cli(cnn_run, list(paths), "--no-crop", "--no-scale", "--no-center-of-mass")
    crude_accuracy = np.mean([line["digit"] == d for line, d in zip(crude, digits)])
    print(f"the same drawings crudely shrunk to 28x28: {crude_accuracy:.1%}")
    assert crude_accuracy < accuracy - 0.2
