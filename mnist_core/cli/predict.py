"""`predict RUN_DIR IMAGE...`: read digits from pictures with a saved run, one JSON line each.

    python -m mnist_core predict runs/20261122-193000-cnn-3f9a1c seven.png scan.jpg

prints one JSON object per picture on stdout, in the order given:

    {"image": "seven.png", "digit": 7, "probabilities": [0.0001, ..., 0.9962, ...]}
    {"image": "blank.png", "error": "Nothing drawn yet: draw a digit with the mouse or a finger."}

Every picture goes through the same MNIST-style preprocessing as the Draw page
(`mnist_core.preprocess.to_mnist`). A picture that cannot be read or holds no
digit gets an "error" line and the others are still read; the exit status is
then 1. A run folder that cannot be opened stops the command with status 2 and
one line on stderr.
"""
from __future__ import annotations

import sys

from ..predict import PREPROCESSING_STEPS, STEP_DEFAULTS, predict_file
from ..runs import open_run_folder
from .common import print_json


def cmd_predict(args) -> int:
    store, run_id = open_run_folder(args.run_dir)
    model = store.load_model(run_id)  # RunStoreError -> exit 2 with one line (see cli.main)
    toggles = {step: (STEP_DEFAULTS[step] or getattr(args, f"with_{step}", False)) and not getattr(args, f"no_{step}")
               for step in PREPROCESSING_STEPS}
    failures = 0
    for path in args.images:
        line = predict_file(model, path, **toggles)
        failures += "error" in line
        print_json(line)
    if failures:
        print(f"{failures} of {len(args.images)} picture(s) could not be read as a digit.", file=sys.stderr)
    return 1 if failures else 0


def add_commands(sub) -> None:
    parser = sub.add_parser(
        "predict", help="read digits from PNG/JPEG pictures with a saved run, one JSON line each",
        description="Read the digit in each picture with a saved run. Pictures get the same MNIST-style "
                    "preprocessing as the Draw page. Exit status: 0 all read, 1 some could not be read, "
                    "2 the run cannot be opened.")
    parser.add_argument("run_dir", help="a run folder, e.g. runs/20261122-193000-cnn-3f9a1c")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files")
    for step, what in PREPROCESSING_STEPS.items():
        parser.add_argument(f"--no-{step.replace('_', '-')}", dest=f"no_{step}", action="store_true",
                            help=f"do not {what} (to see what the step is worth)")
        if not STEP_DEFAULTS[step]:  # a step that is off by default can be switched on
            parser.add_argument(f"--{step.replace('_', '-')}", dest=f"with_{step}", action="store_true",
                                help=f"also {what} (off by default: it read drawings worse)")
    parser.set_defaults(func=cmd_predict)
