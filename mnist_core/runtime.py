"""Process-wide settings for running torch on a small shared CPU.

Two OpenMP threads spin-waiting against another busy process run 5-10x slower,
so the thread count is always chosen on purpose: the CLI uses every core for
its single job, the app gives each queued training job one thread.
"""
from __future__ import annotations

import os

import torch

# Makes glibc keep big activation buffers instead of returning them to the OS
# every step: ~2x faster CNN training here. Must be set before Python starts,
# so launch scripts export it; `malloc_tuning_active()` tells whether it is.
GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=17179869184"


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (default: the number of cores) and return it."""
    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    return threads


def malloc_tuning_active() -> bool:
    return "mmap_threshold" in os.environ.get("GLIBC_TUNABLES", "")
