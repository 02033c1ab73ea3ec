"""Tests of mnist_core.runtime: torch's thread count and the malloc tuning check."""
import os

import torch

from mnist_core.runtime import GLIBC_TUNABLES, configure_threads, malloc_tuning_active


def test_configure_threads_sets_torch_and_defaults_to_every_core():
    before = torch.get_num_threads()
    try:
        assert configure_threads(2) == 2 and torch.get_num_threads() == 2
        assert configure_threads() == (os.cpu_count() or 1) == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)  # the other tests run on one thread (conftest.py)


def test_malloc_tuning_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("GLIBC_TUNABLES", GLIBC_TUNABLES)
    assert malloc_tuning_active()
    monkeypatch.delenv("GLIBC_TUNABLES")
    assert not malloc_tuning_active()
