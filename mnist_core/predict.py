"""Reading digits from pictures with a saved run: the `predict` command and the Draw page's reading.

    python -m mnist_core predict runs/20261122-193000-cnn-3f9a1c seven.png scan.jpg

prints one JSON object per picture on stdout, in the order given:

    {"image": "seven.png", "digit": 7, "probabilities": [0.0001, ..., 0.9962, ...]}
    {"image": "blank.png", "error": "Nothing drawn yet: draw a digit with the mouse or a finger."}

Every picture goes through the same MNIST-style preprocessing as the Draw page
(`mnist_core.preprocess.to_mnist`). A picture that cannot be read or holds no
digit gets an "error" line and the others are still read; the exit status is
then 1. A run folder that cannot be opened stops the command with status 2 and
one line on stderr.

`read_drawing` is what the Draw page calls on every stroke: the prediction with
every preprocessing step, plus, on request, the predictions with steps left out.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from .preprocess import DESKEW_DEFAULT, STROKES_DEFAULT, DigitPrediction, PreprocessError, predict_digit

PREPROCESSING_STEPS = {  # toggle name -> what the step does, for pages and --help
    "crop": "crop to the ink's bounding box",
    "scale": "scale the ink to fit a 20x20 box",
    "center_of_mass": "centre the ink by its centre of mass",
    "deskew": "remove the slant (deskew by image moments)",
    "strokes": "bring the pen's width toward MNIST's stroke width",
}
STEP_DEFAULTS = {"crop": True, "scale": True, "center_of_mass": True,  # what predict and the page use
                 "deskew": DESKEW_DEFAULT, "strokes": STROKES_DEFAULT}
DECIMALS = 6  # probabilities in the JSON output; plenty to tell 0.999999 from 1


@dataclass
class DrawingReading:
    """One drawing read by one model: with full preprocessing, and with steps left out."""
    prediction: DigitPrediction  # every step on: what the page shows large
    without: dict[str, DigitPrediction] = field(default_factory=dict)  # variant name -> prediction
    seconds: float = 0.0  # wall time of the whole reading, decoding the picture included


def ablation_toggles(steps_off: list[str] | tuple[str, ...]) -> dict[str, dict[str, bool]]:
    """The variants to compare: each step off alone, and all of them off together when several are.

    >>> list(ablation_toggles(["crop"]))
    ['crop']
    >>> ablation_toggles(["crop", "scale"])["crop+scale"]
    {'crop': False, 'scale': False, 'center_of_mass': True}
    """
    unknown = [s for s in steps_off if s not in PREPROCESSING_STEPS]
    if unknown:
        raise ValueError(f"Unknown preprocessing step(s): {', '.join(unknown)}.")
    variants = {step: {s: STEP_DEFAULTS[s] and s != step for s in PREPROCESSING_STEPS} for step in steps_off}
    if len(steps_off) > 1:
        variants["+".join(steps_off)] = {s: STEP_DEFAULTS[s] and s not in steps_off for s in PREPROCESSING_STEPS}
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
        from .preprocess import load_image
        image = load_image(image)  # decode once, not once per variant
    prediction = predict_digit(model, image)
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


def cmd_predict(args) -> int:
    from .runs import open_run_folder

    store, run_id = open_run_folder(args.run_dir)
    model = store.load_model(run_id)  # RunStoreError -> exit 2 with one line (see cli.main)
    toggles = {step: STEP_DEFAULTS[step] and not getattr(args, f"no_{step}") for step in PREPROCESSING_STEPS}
    failures = 0
    for path in args.images:
        line = predict_file(model, path, **toggles)
        failures += "error" in line
        print(json.dumps(line), flush=True)
    if failures:
        print(f"{failures} of {len(args.images)} picture(s) could not be read as a digit.", file=sys.stderr)
    return 1 if failures else 0


def add_cli_command(subparsers) -> None:
    """Register `predict RUN_DIR IMAGE [IMAGE ...]` (called by mnist_core.cli)."""
    parser = subparsers.add_parser(
        "predict", help="read digits from PNG/JPEG pictures with a saved run, one JSON line each",
        description="Read the digit in each picture with a saved run. Pictures get the same MNIST-style "
                    "preprocessing as the Draw page. Exit status: 0 all read, 1 some could not be read, "
                    "2 the run cannot be opened.")
    parser.add_argument("run_dir", help="a run folder, e.g. runs/20261122-193000-cnn-3f9a1c")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files")
    for step, what in PREPROCESSING_STEPS.items():
        parser.add_argument(f"--no-{step.replace('_', '-')}", dest=f"no_{step}", action="store_true",
                            help=f"do not {what} (to see what the step is worth)")
    parser.set_defaults(func=cmd_predict)
