"""Tests of mnist_core.runtime: torch's thread count, and the malloc setting (environment or mallopt)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mnist_core import runtime
from mnist_core.runtime import GLIBC_TUNABLES, apply_malloc_tuning, configure_threads, malloc_tuning_active

REPO = Path(__file__).resolve().parent.parent


def test_configure_threads_sets_torch_and_defaults_to_every_core():
    before = torch.get_num_threads()
    try:
        assert configure_threads(2) == 2 and torch.get_num_threads() == 2
        assert configure_threads() == (os.cpu_count() or 1) == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)  # the other tests run on one thread (conftest.py)


def test_malloc_tuning_is_read_from_the_environment(monkeypatch):
    monkeypatch.setattr(runtime, "_applied_in_process", False)
    monkeypatch.setenv("GLIBC_TUNABLES", GLIBC_TUNABLES)
    assert malloc_tuning_active() and apply_malloc_tuning() == "environment"
    monkeypatch.delenv("GLIBC_TUNABLES")
    assert not malloc_tuning_active()


# Allocates and frees a 50 MB tensor 20 times and counts page faults per round: when glibc
# returns the buffer to the OS each time, every round faults all 12,800 of its pages in again.
PROBE = """
import json, resource
import mnist_core
from mnist_core.runtime import malloc_tuning_active
import torch
torch.set_num_threads(1)
n = 50 * 2**20 // 4
for _ in range(20):  # the first rounds grow the heap, with or without the setting
    x = torch.empty(n); x.fill_(1.0); del x
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    x = torch.empty(n); x.fill_(1.0); del x
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
print(json.dumps({"faults_per_round": faults, "active": malloc_tuning_active()}))
"""
PAGES_IN_50_MB = 50 * 2**20 // 4096


def _probe(**env_changes) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_mallopt_keeps_big_buffers_without_the_environment():
    tuned = _probe()
    untuned = _probe(MNIST_LAB_MALLOC_TUNING="0")
    assert tuned["active"] and not untuned["active"]
    # Untuned, each round faults the whole buffer in again; tuned, it is reused.
    assert untuned["faults_per_round"] > 0.9 * PAGES_IN_50_MB
    assert tuned["faults_per_round"] < 0.1 * PAGES_IN_50_MB


def test_the_server_settings_keep_one_torch_thread_and_a_short_switch_interval():
    import sys

    import torch

    from mnist_core.runtime import SERVER_SWITCH_INTERVAL, configure_server

    before = (torch.get_num_threads(), sys.getswitchinterval())
    try:
        configure_server()
        assert torch.get_num_threads() == 1
        assert sys.getswitchinterval() == pytest.approx(SERVER_SWITCH_INTERVAL) and SERVER_SWITCH_INTERVAL < 0.005
    finally:
        torch.set_num_threads(before[0])
        sys.setswitchinterval(before[1])


def test_a_frozen_heap_leaves_full_collections_little_to_walk_in_a_fresh_server_like_process():
    # In a fresh interpreter (freezing this test process would keep every earlier test's objects).
    script = """
import gc, json
import torch, altair, pandas
from mnist_core.runtime import freeze_heap
gc.collect()
before = sum(len(gc.get_objects(generation=g)) for g in range(3))
frozen = freeze_heap()
after = sum(len(gc.get_objects(generation=g)) for g in range(3))
print(json.dumps({"frozen": frozen, "before": before, "after": after}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parent.parent, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["frozen"] > 100_000  # torch, altair and pandas: many long-lived objects
    assert figures["after"] < figures["before"] / 100  # what a full pass walks: almost nothing left
