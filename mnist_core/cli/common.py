"""What every command shares: the parser that fails in one line, JSON output and loading MNIST."""
from __future__ import annotations

import argparse
import json
import os

from .. import data as mnist_data  # called as mnist_data.load_mnist, so a test can stand in for it
from ..data import DATA_DIR_ENV, DataError, MnistData, resolve_data_dir

USAGE_ERROR = 2


class UsageError(Exception):
    """Raised instead of argparse's multi-line usage dump."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def print_json(obj) -> None:
    print(json.dumps(obj), flush=True)


def load_data(data_dir) -> MnistData:
    """MNIST for a command. Missing files are downloaded, but a folder the user named
    (--data-dir or $MNIST_DATA_DIR) must exist: a typo should end in one clear line,
    not in a download attempt into a new folder."""
    root = resolve_data_dir(data_dir)
    if (data_dir or os.environ.get(DATA_DIR_ENV)) and not root.is_dir():
        raise DataError(f"The MNIST folder {root} does not exist: check --data-dir and {DATA_DIR_ENV}, "
                        "or leave both unset to download MNIST into ./data.")
    return mnist_data.load_mnist(root)
