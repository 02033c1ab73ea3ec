"""Command line: scripted runs and a teacher's pre-training before class.

    python -m mnist_core train --arch cnn --epochs 2 --data-dir ../shared/mnist
    python -m mnist_core evaluate runs/20261122-193000-cnn-3f9a1c

Progress goes to stderr; the last line on stdout is one JSON object. A bad
argument, a missing data folder or a damaged run exits with status 2 and one
line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

from .config import ACTIVATIONS, ARCHITECTURES, OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig

USAGE_ERROR = 2


class UsageError(Exception):
    """Raised instead of argparse's multi-line usage dump."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _add_train_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--arch", choices=list(ARCHITECTURES), default=d.arch)
    p.add_argument("--hidden", type=int, nargs="*", default=None, metavar="N",
                   help="hidden layer sizes (default: 512 for mlp, 512 256 for deep-mlp)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default=d.activation)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default=d.optimizer)
    p.add_argument("--momentum", type=float, default=d.momentum)
    p.add_argument("--schedule", choices=list(SCHEDULES), default=d.schedule)
    p.add_argument("--l2", type=float, default=d.l2)
    p.add_argument("--l1", type=float, default=d.l1)
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--early-stopping", type=int, default=d.early_stopping, metavar="PATIENCE")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction)
    p.add_argument("--subset", type=int, default=d.subset, metavar="PER_CLASS",
                   help="train on this many images per class (0 = all)")
    p.add_argument("--max-steps", type=int, default=d.max_steps, help="stop after N batches (smoke tests)")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(arch=args.arch, hidden=tuple(args.hidden) if args.hidden is not None else None,
                       activation=args.activation, dropout=args.dropout, optimizer=args.optimizer,
                       lr=args.lr, momentum=args.momentum, schedule=args.schedule,
                       batch_size=args.batch_size, epochs=args.epochs, l2=args.l2, l1=args.l1,
                       early_stopping=args.early_stopping, val_fraction=args.val_fraction,
                       subset=args.subset, seed=args.seed, max_steps=args.max_steps).validate()


def _print_json(obj) -> None:
    print(json.dumps(obj), flush=True)


def _load_data(data_dir):
    """MNIST for a command. Missing files are downloaded, but a folder the user named
    (--data-dir or $MNIST_DATA_DIR) must exist: a typo should end in one clear line,
    not in a download attempt into a new folder."""
    import os

    from .data import DATA_DIR_ENV, DataError, load_mnist, resolve_data_dir

    root = resolve_data_dir(data_dir)
    if (data_dir or os.environ.get(DATA_DIR_ENV)) and not root.is_dir():
        raise DataError(f"The MNIST folder {root} does not exist: check --data-dir and {DATA_DIR_ENV}, "
                        "or leave both unset to download MNIST into ./data.")
    return load_mnist(root)


def cmd_train(args) -> int:
    from .callbacks import PrintProgress
    from .runs import RunStore
    from .train import fit

    config = config_from_args(args)
    data = _load_data(args.data_dir)
    store = RunStore(args.out)
    store.check_writable()  # a read-only folder is said now, not after the training
    result = fit(config, data, callbacks=[PrintProgress()])
    print(f"{result.status}: {result.reason}", file=sys.stderr)
    info = store.save(result, name=args.name, owner="cli", test_labels=data.test_labels)
    summary = {k: result.summary()[k] for k in ("status", "reason", "test_accuracy", "val_accuracy",
                                                "train_accuracy", "epochs_run", "train_seconds")}
    summary["run_dir"] = str(info.path)
    _print_json(summary)
    return 0


def cmd_evaluate(args) -> int:
    from .metrics import classification_summary
    from .runs import open_run_folder
    from .train import predict_probabilities

    store, run_id = open_run_folder(args.run_dir)
    model = store.load_model(run_id)
    data = _load_data(args.data_dir)
    report = classification_summary(data.test_labels, predict_probabilities(model, data.test_x))
    _print_json({"run_dir": str(store.root / run_id), **report})
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m mnist_core", description="MNIST Lab's training engine.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train one model and save it as a run")
    _add_train_arguments(train)
    train.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNIST_DATA_DIR or ./data)")
    train.add_argument("--out", default=None, metavar="RUNS_DIR",
                       help="run store folder; the run gets a new folder inside (default: $MNIST_LAB_RUNS or ./runs)")
    train.add_argument("--name", default=None, help="display name of the run")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="test metrics of a saved run, as JSON")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--data-dir", default=None)
    evaluate.set_defaults(func=cmd_evaluate)

    # Other modules add their subcommands here (predict, experiment).
    for add_command in _extra_commands():
        add_command(sub)
    return parser


def _extra_commands():
    """Subcommands that live beside their feature: each module has add_cli_command(subparsers)."""
    import importlib

    for module_name in ("mnist_core.predict", "mnist_core.experiments", "mnist_core.export_import_cli"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        yield module.add_cli_command


def main(argv: list[str] | None = None) -> int:
    from .data import DataError
    from .runs import RunStoreError
    from .runtime import configure_threads

    try:
        args = build_parser().parse_args(argv)
        configure_threads(args.threads)
        return args.func(args)
    except (UsageError, ConfigError, DataError, RunStoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
