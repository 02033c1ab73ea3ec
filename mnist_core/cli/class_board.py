"""`class-board`: every student's latest run, one JSON line per student (what the teacher's board shows)."""
from __future__ import annotations

import sys

from ..class_board import board_json_lines, board_rows
from ..classroom import Classroom
from ..database import open_database
from ..runs import RunStore
from .common import print_json


def cmd_class_board(args) -> int:
    store = RunStore(args.out)
    room = Classroom(open_database(store.root))
    info = room.get_class(args.class_code)  # an unknown code is one line, not an empty board
    lines = board_json_lines(board_rows(store, room, info.code))
    for line in lines:
        print_json(line)
    if not lines:
        print(f"No student of class {info.code} has a run yet.", file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("class-board", help="each student's latest run, one JSON line per student")
    p.add_argument("--out", default=None, metavar="RUNS_DIR",
                   help="run store folder (default: $MNIST_LAB_RUNS or ./runs)")
    p.add_argument("--class", dest="class_code", default=None, metavar="CODE",
                   help="the class's join code (default: the default class)")
    p.set_defaults(func=cmd_class_board)
