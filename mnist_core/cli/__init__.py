"""Command line: scripted runs and a teacher's pre-training before class.

    python -m mnist_core train --arch cnn --epochs 2 --data-dir ../shared/mnist
    python -m mnist_core evaluate runs/20261122-193000-cnn-3f9a1c
    python -m mnist_core predict runs/20261122-193000-cnn-3f9a1c seven.png
    python -m mnist_core experiment lr-sweep
    python -m mnist_core class-board --class K7QX2M
    python -m mnist_core export runs/20261122-193000-cnn-3f9a1c --out mine.zip   (or --script, --notebook)
    python -m mnist_core import mine.zip

Progress goes to stderr; the last line on stdout is one JSON object. A bad
argument, a missing data folder or a damaged run exits with status 2 and one
line on stderr, never a traceback.

One module per command family, each with `add_commands(subparsers)`:
`train.py` (train, evaluate), `predict.py`, `experiment.py`, `export_import.py` (export, import),
`class_board.py`.
"""
from __future__ import annotations

import sys

from ..classroom import ClassroomError
from ..config import ConfigError
from ..database import DatabaseError
from ..data import DataError
from ..runs import RunStoreError
from ..runtime import configure_threads
from . import class_board, experiment, export_import, predict, train
from .common import USAGE_ERROR, Parser, UsageError

COMMAND_MODULES = (train, predict, experiment, export_import, class_board)  # each adds its subcommands to the parser


def build_parser() -> Parser:
    parser = Parser(prog="python -m mnist_core", description="MNIST Lab's training engine.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in COMMAND_MODULES:
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        configure_threads(args.threads)
        return args.func(args)
    except (UsageError, ConfigError, DataError, RunStoreError, ClassroomError, DatabaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
