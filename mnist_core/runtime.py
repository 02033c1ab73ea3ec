"""Process-wide settings for running torch on a small shared CPU.

Two OpenMP threads spin-waiting against another busy process run 5-10x slower,
so the thread count is always chosen on purpose: the CLI uses every core for
its single job, the app gives each queued training job one thread.

glibc's allocator hands big buffers (an activation of a few MB) back to the OS
when they are freed and faults them in again on the next step: that halves CNN
speed here. `GLIBC_TUNABLES` fixes it, but only from process start, so
`apply_malloc_tuning()` sets the same two thresholds with `mallopt` from inside
the process when the environment does not (`streamlit run app.py` needs no
launch script). The package's `__init__` calls it, before torch allocates.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

# The environment form, for launch scripts and child processes.
GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=17179869184"
# mallopt's parameter numbers, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# mallopt takes an int: the largest value keeps every buffer under 2 GiB on the heap, and
# keeps up to 2 GiB of freed memory instead of trimming it (the environment says 4 and 16 GiB).
_MALLOPT_MAX = 2**31 - 1
# Set to 0 to leave glibc's defaults alone (to measure what the setting is worth).
TUNING_ENV = "MNIST_LAB_MALLOC_TUNING"

_applied_in_process = False


def apply_malloc_tuning() -> str:
    """Keep big buffers on the heap; returns how: "environment", "mallopt", "off" or "unavailable".

    Safe to call more than once. Does nothing when GLIBC_TUNABLES already sets the
    thresholds, when MNIST_LAB_MALLOC_TUNING=0, or off glibc (macOS, Windows, musl).
    """
    global _applied_in_process
    if "mmap_threshold" in os.environ.get("GLIBC_TUNABLES", ""):
        return "environment"
    if os.environ.get(TUNING_ENV, "1") == "0":
        return "off"
    if _applied_in_process:
        return "mallopt"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "unavailable"
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success, 0 when glibc refuses the value.
    if mallopt(M_MMAP_THRESHOLD, _MALLOPT_MAX) != 1 or mallopt(M_TRIM_THRESHOLD, _MALLOPT_MAX) != 1:
        return "unavailable"
    _applied_in_process = True
    return "mallopt"


def malloc_tuning_active() -> bool:
    """True when big buffers stay on the heap, by the environment or by apply_malloc_tuning()."""
    return "mmap_threshold" in os.environ.get("GLIBC_TUNABLES", "") or _applied_in_process


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (default: the number of cores) and return it."""
    import torch

    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    return threads


# The web server's GIL hand-over interval. Python's default (5 ms) makes the server's event loop,
# which must take the GIL for every message it sends, wait behind busy page-script threads; with
# 30 sessions that queueing is most of a page's time. 1 ms, measured with bench/load_test.py
# (30 named sessions, quiet 2-core machine, alternating rounds): page p95 1.13 / 1.31 s at 5 ms
# against 1.03 / 0.81 s at 1 ms.
SERVER_SWITCH_INTERVAL = 0.001  # seconds; MNIST_LAB_SWITCH_INTERVAL overrides it (for measuring)


def configure_server() -> None:
    """Process-wide settings for the web server: one torch thread, a short GIL switch interval."""
    import sys

    configure_threads(1)
    sys.setswitchinterval(float(os.environ.get("MNIST_LAB_SWITCH_INTERVAL") or SERVER_SWITCH_INTERVAL))


def freeze_heap() -> int:
    """Move every object alive now out of the garbage collector's reach (`gc.freeze`); returns how many.

    For the web server, once torch, the page libraries and MNIST are loaded: Python's automatic
    full collections otherwise walk those ~335,000 long-lived objects each time, about 190 ms
    with the GIL held, during which no page of any session moves. Objects made later are still
    collected as usual.
    """
    import gc

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
