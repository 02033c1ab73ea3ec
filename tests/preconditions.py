"""What a test needs before it can run (real MNIST, Chromium, Playwright), checked in one place.

`require(condition, reason)` skips the test when the condition fails, so a laptop without
MNIST or a browser still runs the rest. Under CI=true it FAILS instead, with the reason on
one line: a green CI must mean that every test ran.

This is a plain module, not a conftest, so tests/ and tests/e2e/ import the same one
(two files both named conftest.py cannot import each other).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MNIST_DIR = REPO_ROOT.parent / "shared" / "mnist"
MNIST_MISSING = "real MNIST is not available (set MNIST_DATA_DIR)"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip the calling test (or test module) unless `condition`; under CI=true fail with `reason`."""
    if condition:
        return
    if on_ci():
        pytest.fail(f"CI=true and this test cannot run: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_module(name: str, reason: str):
    """The module `name` (e.g. "playwright.sync_api"), imported, if it is installed; else require() fails."""
    require(importlib.util.find_spec(name.split(".")[0]) is not None, reason)
    return importlib.import_module(name)


def mnist_data_dir() -> Path:
    """$MNIST_DATA_DIR, else ../shared/mnist beside the repository."""
    return Path(os.environ.get("MNIST_DATA_DIR") or DEFAULT_MNIST_DIR)


def have_mnist(root: Path | None = None) -> bool:
    return ((root or mnist_data_dir()) / "MNIST" / "raw").is_dir()


def require_mnist(root: Path | None = None) -> None:
    require(have_mnist(root), MNIST_MISSING)
