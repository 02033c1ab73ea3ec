"""`train` (one model, saved as a run) and `evaluate` (test metrics of a saved run)."""
from __future__ import annotations

import argparse
import sys

from ..callbacks import PrintProgress
from ..config import ACTIVATIONS, ARCHITECTURES, CHANCE_ACCURACY, DEVICES, ENGINES, OPTIMIZERS, PIXELS, SCHEDULES, TrainConfig
from ..device import resolve_device
from ..jobs import train_and_save
from ..metrics import classification_summary
from ..predict import predict_probabilities
from ..runs import RunStore, clean_run_name, open_run_folder
from .common import UsageError, load_data, print_json


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    # Every default is None here, so that config_from_args can tell a flag the user gave
    # (it wins over a --preset) from one left out (the preset's value, else TrainConfig's default).
    from ..presets import PRESET_HELP

    d = TrainConfig()
    p.add_argument("--preset", choices=list(PRESET_HELP), default=None,
                   help="; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items()) + " (flags given with it win)")
    p.add_argument("--arch", choices=list(ARCHITECTURES), default=None, help=f"(default: {d.arch})")
    p.add_argument("--hidden", type=int, nargs="*", default=None, metavar="N",
                   help="hidden layer sizes (default: 512 for mlp, 512 256 for deep-mlp)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default=None, help=f"(default: {d.activation})")
    p.add_argument("--lr", type=float, default=None, help=f"(default: {d.lr:g})")
    p.add_argument("--batch-size", type=int, default=None, help=f"(default: {d.batch_size})")
    p.add_argument("--epochs", type=int, default=None, help=f"(default: {d.epochs})")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default=None, help=f"(default: {d.optimizer})")
    p.add_argument("--momentum", type=float, default=None, help=f"(default: {d.momentum:g})")
    p.add_argument("--schedule", choices=list(SCHEDULES), default=None, help=f"(default: {d.schedule})")
    p.add_argument("--l2", type=float, default=None, help=f"(default: {d.l2:g})")
    p.add_argument("--l1", type=float, default=None, help=f"(default: {d.l1:g})")
    p.add_argument("--dropout", type=float, default=None, help=f"(default: {d.dropout:g})")
    p.add_argument("--seed", type=int, default=None, help=f"(default: {d.seed})")
    p.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                   help=f"(default: {d.early_stopping}, off)")
    p.add_argument("--val-fraction", type=float, default=None, help=f"(default: {d.val_fraction:g})")
    p.add_argument("--subset", type=int, default=None, metavar="PER_CLASS",
                   help="train on this many images per class (default: 0 = all)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after N batches (smoke tests)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="train on randomly distorted images (rotation, scale, shear, shift, elastic, "
                        "pen thickness): reads drawings better (default: off)")
    p.add_argument("--device", choices=list(DEVICES), default=None,
                   help=f"auto (a CUDA GPU if torch sees one, else the CPU), cpu or cuda (default: {d.device})")
    p.add_argument("--pixels", choices=list(PIXELS), default=None,
                   help="standardized (mean 0, spread 1) or unit (0-1, as classic studies used) (default: standardized)")
    p.add_argument("--engine", choices=list(ENGINES), default=None,
                   help="torch, or numpy (the from-scratch network: softmax/MLP, SGD or momentum) (default: torch)")


_TRAIN_FIELDS = ("arch", "hidden", "activation", "dropout", "optimizer", "lr", "momentum", "schedule",
                 "batch_size", "epochs", "l2", "l1", "early_stopping", "val_fraction", "subset", "seed",
                 "max_steps", "augment", "pixels", "engine", "device")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    from ..presets import preset_config

    given = {name: getattr(args, name) for name in _TRAIN_FIELDS if getattr(args, name, None) is not None}
    if "hidden" in given:
        given["hidden"] = tuple(given["hidden"])
    if getattr(args, "preset", None):
        return preset_config(args.preset, **given)
    return TrainConfig(**given).validate()


def student_and_guess(args, store: RunStore) -> tuple[str, dict]:
    """The owner a run is filed under (`--student` in `--class`, else "cli") and its extra (the guess)."""
    from ..class_board import Guess, check_guess

    if args.student is None:
        if args.class_code is not None or args.guess is not None or args.guess_diverges:
            raise UsageError("--class, --guess and --guess-diverges go with --student NAME.")
        return "cli", {}
    guess = None
    if args.guess is not None:
        try:
            guess = Guess(check_guess(args.guess), bool(args.guess_diverges))
        except ValueError as error:
            raise UsageError(f"--guess: {error}") from None
    elif args.guess_diverges:  # alone: a run that diverges ends at chance, so that is the accuracy guessed
        guess = Guess(CHANCE_ACCURACY, True)
    from ..classroom import Classroom, clean_student_name
    from ..database import open_database

    clean_student_name(args.student)  # refused before anything is written
    student = Classroom(open_database(store.root)).student_for_cli(args.class_code, args.student)
    extra = {"student": student.name, "class": student.class_code, **(guess.to_extra() if guess else {})}
    return student.owner, extra


def cmd_train(args) -> int:
    config = config_from_args(args)
    if args.name is not None:
        clean_run_name(args.name)  # a name that cannot be saved (blank, or zero-width only) is said now
    resolve_device(config.device)  # `--device cuda` without a GPU: one line, before MNIST is loaded
    data = load_data(args.data_dir)
    store = RunStore(args.out)
    store.check_writable()  # a read-only folder is said now, not after the training
    owner, extra = student_and_guess(args, store)
    result, info = train_and_save(config, data, store, owner=owner, name=args.name,
                                  callbacks=[PrintProgress()], extra=extra or None)
    print(f"{result.status}: {result.reason}", file=sys.stderr)
    summary = {k: result.summary()[k] for k in ("status", "reason", "test_accuracy", "val_accuracy",
                                                "train_accuracy", "epochs_run", "train_seconds")}
    summary["run_dir"] = str(info.path)
    print_json(summary)
    return 0


def cmd_evaluate(args) -> int:
    store, run_id = open_run_folder(args.run_dir)
    model = store.load_model(run_id)
    data = load_data(args.data_dir)
    report = classification_summary(data.test_labels, predict_probabilities(model, data.test_x))
    print_json({"run_dir": str(store.root / run_id), **report})
    return 0


def add_commands(sub) -> None:
    train = sub.add_parser("train", help="train one model and save it as a run")
    add_train_arguments(train)
    train.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNIST_DATA_DIR or ./data)")
    train.add_argument("--out", default=None, metavar="RUNS_DIR",
                       help="run store folder; the run gets a new folder inside (default: $MNIST_LAB_RUNS or ./runs)")
    train.add_argument("--name", default=None, help="display name of the run")
    train.add_argument("--student", default=None, metavar="NAME",
                       help="file the run under this student's name (made in the class if new), for the class board")
    train.add_argument("--class", dest="class_code", default=None, metavar="CODE",
                       help="the student's class (default: the default class)")
    train.add_argument("--guess", type=float, default=None, metavar="FRACTION",
                       help="the student's guess of the final validation accuracy, e.g. 0.9")
    train.add_argument("--guess-diverges", action="store_true",
                       help="the student guesses the run will diverge (alone, without --guess: at chance, "
                            f"{CHANCE_ACCURACY:.0%}% validation accuracy)")  # %% for argparse
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="test metrics of a saved run, as JSON")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--data-dir", default=None)
    evaluate.set_defaults(func=cmd_evaluate)
