"""Prediction, in one home: a model's probabilities for images, and its reading of a drawing.

- `predict_probabilities`: softmax outputs for a batch of normalized images (what
  training's evaluation, the inspection pages and the CLI's `evaluate` use).
- `predict_digit`: one picture through the MNIST-style preprocessing
  (`mnist_core.preprocess.to_mnist`), then the model.
- `read_drawing`: what the Draw page calls on every stroke: the prediction with
  every preprocessing step, plus, on request, the predictions with steps left out.
- `predict_file`: the JSON line of `python -m mnist_core predict` for one picture
  (the command itself is in mnist_core/cli/predict.py).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import NUM_CLASSES
from .models import as_model_input
from .preprocess import (DESKEW_DEFAULT, STROKES_DEFAULT, PreprocessError, PreprocessResult, load_image,
                         to_mnist)

PREPROCESSING_STEPS = {  # toggle name -> what the step does, for pages and --help
    "crop": "crop to the ink's bounding box",
    "scale": "scale the ink to fit a 20x20 box",
    "center_of_mass": "centre the ink by its centre of mass",
    "deskew": "remove the slant (deskew by image moments)",
    "strokes": "bring the pen's width toward MNIST's stroke width",
}
STEP_DEFAULTS = {"crop": True, "scale": True, "center_of_mass": True,  # what predict and the Draw page use
                 "deskew": DESKEW_DEFAULT, "strokes": STROKES_DEFAULT}
DECIMALS = 6  # probabilities in the JSON output; plenty to tell 0.999999 from 1
EVAL_BATCH = 1000  # big batches are fastest for inference and still small in memory


@torch.no_grad()
def predict_probabilities(model: nn.Module, x: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Softmax outputs (N, 10) for normalized images (N, 1, 28, 28), in eval mode (the mode is restored)."""
    was_training = model.training
    model.eval()
    out = [F.softmax(model(as_model_input(model, x[i:i + batch_size])), dim=1)
           for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, NUM_CLASSES)


@dataclass
class DigitPrediction:
    """A model's reading of one picture, or the reason there is none (blank drawing)."""
    probabilities: list[float] | None  # 10 floats summing to 1, or None when blank
    digit: int | None  # the most probable digit, or None when blank
    confidence: float | None  # its probability
    blank: bool
    message: str
    preprocessed: PreprocessResult


def predict_digit(model: torch.nn.Module, image: Any, **toggles) -> DigitPrediction:
    """Preprocess `image` like MNIST (see `to_mnist`, whose toggles it accepts) and read it with `model`.

    A blank drawing gives probabilities=None and the message to show instead.

    >>> from mnist_core.models import SoftmaxRegression
    >>> canvas = np.zeros((280, 280), np.uint8); canvas[40:200, 150:170] = 255
    >>> prediction = predict_digit(SoftmaxRegression(), canvas)
    >>> len(prediction.probabilities), round(sum(prediction.probabilities), 4)
    (10, 1.0)
    >>> predict_digit(SoftmaxRegression(), np.zeros((280, 280), np.uint8)).probabilities is None
    True
    """
    result = to_mnist(image, **toggles)
    if result.blank:
        return DigitPrediction(None, None, None, True, result.message, result)
    probabilities = predict_probabilities(model, result.tensor)[0].tolist()
    digit = int(np.argmax(probabilities))
    return DigitPrediction(probabilities, digit, probabilities[digit], False, result.message, result)


@dataclass
class DrawingReading:
    """One drawing read by one model: with full preprocessing, and with steps left out."""
    prediction: DigitPrediction  # every step on: what the page shows large
    without: dict[str, DigitPrediction] = field(default_factory=dict)  # variant name -> prediction
    seconds: float = 0.0  # wall time of the whole reading, decoding the picture included


def ablation_toggles(steps_off: list[str] | tuple[str, ...]) -> dict[str, dict[str, bool]]:
    """The variants to compare: each step switched away from its default alone, and all of them
    together when several are. A step on by default is left out; one off by default (deskew) is
    switched on, so its card shows what it would change.

    >>> list(ablation_toggles(["crop"]))
    ['crop']
    >>> v = ablation_toggles(["crop", "scale"])["crop+scale"]
    >>> v["crop"], v["scale"], v["center_of_mass"]
    (False, False, True)
    >>> ablation_toggles(["deskew"])["deskew"]["deskew"]
    True
    """
    unknown = [s for s in steps_off if s not in PREPROCESSING_STEPS]
    if unknown:
        raise ValueError(f"Unknown preprocessing step(s): {', '.join(unknown)}.")
    variants = {step: {s: STEP_DEFAULTS[s] != (s == step) for s in PREPROCESSING_STEPS} for step in steps_off}
    if len(steps_off) > 1:
        variants["+".join(steps_off)] = {s: STEP_DEFAULTS[s] != (s in steps_off) for s in PREPROCESSING_STEPS}
    return variants


@torch.no_grad()
def read_drawing(model: torch.nn.Module, image: Any, steps_off: list[str] | tuple[str, ...] = ()) -> DrawingReading:
    """Read a drawing (canvas RGBA array, picture file, data URL, ...) with full preprocessing,
    and again without each step in `steps_off` (see `ablation_toggles`).

    Raises PreprocessError if `image` is not a picture; a blank drawing is a prediction
    with blank=True, and then no variants are computed.
    """
    start = time.perf_counter()
    if isinstance(image, (str, bytes)) or hasattr(image, "read") or hasattr(image, "getvalue"):
        image = load_image(image)  # decode once, not once per variant
    prediction = predict_digit(model, image)  # every step at its default
    without = {}
    if not prediction.blank:
        without = {name: predict_digit(model, image, **toggles)
                   for name, toggles in ablation_toggles(steps_off).items()}
    return DrawingReading(prediction, without, time.perf_counter() - start)


def predict_file(model: torch.nn.Module, path: str, **toggles) -> dict:
    """The JSON-able line for one picture file: its digit and probabilities, or an error sentence.

    >>> from mnist_core.models import SoftmaxRegression
    >>> predict_file(SoftmaxRegression(), "no-such-file.png")
    {'image': 'no-such-file.png', 'error': 'The file no-such-file.png does not exist.'}
    """
    try:
        prediction = predict_digit(model, path, **toggles)
    except PreprocessError as error:
        return {"image": path, "error": str(error)}
    if prediction.blank:
        return {"image": path, "error": prediction.message}
    return {"image": path, "digit": prediction.digit,
            "probabilities": [round(p, DECIMALS) for p in prediction.probabilities]}
