"""`train` (one model, saved as a run) and `evaluate` (test metrics of a saved run)."""
from __future__ import annotations

import argparse
import sys

from ..callbacks import PrintProgress
from ..config import ACTIVATIONS, ARCHITECTURES, OPTIMIZERS, SCHEDULES, TrainConfig
from ..jobs import train_and_save
from ..metrics import classification_summary
from ..predict import predict_probabilities
from ..runs import RunStore, open_run_folder
from .common import load_data, print_json


def add_train_arguments(p: argparse.ArgumentParser) -> None:
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
                       subset=args.subset, seed=args.seed, max_steps=args.max_steps)



def cmd_train(args) -> int:
    config = config_from_args(args)
    data = load_data(args.data_dir)
    store = RunStore(args.out)
    store.check_writable()  # a read-only folder is said now, not after the training
    result, info = train_and_save(config, data, store, owner="cli", name=args.name,
                                  callbacks=[PrintProgress()])
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
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="test metrics of a saved run, as JSON")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--data-dir", default=None)
    evaluate.set_defaults(func=cmd_evaluate)
