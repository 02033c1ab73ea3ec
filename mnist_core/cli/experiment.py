"""`experiment NAME`: run a ready-made study, one JSON line per run, each run saved."""
from __future__ import annotations

import argparse
import sys
import time

from ..config import ConfigError
from ..experiments import MAX_SEEDS, STUDIES, RunRow, get_study, run_and_save, takeaway, with_budget
from ..runs import RunStore
from .common import UsageError, load_data, print_json


def cmd_experiment(args) -> int:
    study = with_budget(get_study(args.name), subset=args.subset, epochs=args.epochs)
    if not 1 <= args.seeds <= MAX_SEEDS:
        raise ConfigError(f"--seeds must be between 1 and {MAX_SEEDS} (got {args.seeds}).")
    seeds = tuple(study.base.seed + i for i in range(args.seeds))
    data = load_data(args.data_dir)
    store = RunStore(args.out)
    store.check_writable()  # a read-only folder is said now, not after the first run
    print(f"{study.title}: {len(study.variants) * len(seeds)} runs; {study.settings_note()}", file=sys.stderr)
    start = time.perf_counter()

    def print_row(row: RunRow) -> None:
        record = row.record()
        line = {"experiment": study.name, "label": row.label, "group": row.group, "knob": study.knob,
                "value": record["value"], "seed": row.seed, "status": row.status,
                "test_accuracy": record["test_accuracy"], "train_seconds": record["train_seconds"],
                "macro_precision": record["macro_precision"], "macro_recall": record["macro_recall"],
                "macro_f1": record["macro_f1"], "parameters": row.parameters,
                "first_epoch_train_loss": record["first_epoch_train_loss"],
                "first_epoch_val_loss": record["first_epoch_val_loss"],
                "final_train_loss": record["final_train_loss"], "final_val_loss": record["final_val_loss"],
                "run_dir": str(store.root / row.run_id) if row.run_id else None}
        if row.reported_test_accuracy is not None:
            line["reported_test_accuracy"] = row.reported_test_accuracy
        print_json(line)

    if args.executor == "ray":
        rows = _run_on_ray(args, study, data, store, seeds, print_row)
    else:
        rows = run_and_save(study, data, store, seeds=seeds, owner="cli", on_row=print_row)
    print(f"takeaway: {takeaway(study, rows)}", file=sys.stderr)
    print(f"wall time: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def _run_on_ray(args, study, data, store, seeds, print_row) -> list[RunRow]:
    """The study as one job on the Ray cluster; rows are printed as they arrive."""
    from ..jobs import JobError, JobManager

    try:
        manager = JobManager(store, executor="ray", ray_address=args.ray_address)
        job = manager.submit_study(args.name, data, owner="cli", seeds=seeds,
                                   options={"subset": args.subset, "epochs": args.epochs})
    except JobError as error:  # no ray, or no cluster at that address: one line
        raise UsageError(str(error)) from None
    printed = 0
    while job.active or printed < len(job.progress.snapshot()["rows"]):
        rows = job.progress.snapshot()["rows"]
        for row in rows[printed:]:
            print_row(row)
        printed = len(rows)
        time.sleep(0.2)
    if job.error:
        raise ConfigError(job.error)
    return job.result


def add_commands(sub) -> None:
    p = sub.add_parser("experiment", help="run a ready-made study; one JSON line per run")
    p.add_argument("name", choices=list(STUDIES), metavar="NAME",
                   help="one of " + ", ".join(STUDIES))
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNIST_DATA_DIR or ./data)")
    p.add_argument("--out", default=None, metavar="RUNS_DIR",
                   help="run store folder for the runs (default: $MNIST_LAB_RUNS or ./runs)")
    p.add_argument("--seeds", type=int, default=1, help="repeat every run over this many seeds (1-5)")
    p.add_argument("--subset", type=int, default=None, metavar="PER_CLASS",
                   help="override the study's training images per digit")
    p.add_argument("--epochs", type=int, default=None, help="override the study's epochs")
    # Also accepted after NAME; SUPPRESS keeps the main parser's --threads when absent here.
    p.add_argument("--threads", type=int, default=argparse.SUPPRESS, help="torch threads")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="local: train here, one run after another; ray: as a job on a Ray cluster")
    p.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                   help="the Ray cluster for --executor ray (default: $MNIST_LAB_RAY_ADDRESS)")
    p.set_defaults(func=cmd_experiment)
