"""Tasks that tests run in worker processes (imported in the worker, by name)."""
import os
import time


def _status(field: str) -> int:
    """A field of /proc/self/status in kB (RssAnon: private memory; RssShmem: shared memory)."""
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def memory_task(data, payload, report, stop):
    """Reads every training image, and says how much private and shared memory that took."""
    before = {"anon": _status("RssAnon"), "shmem": _status("RssShmem")}
    total = float(data.train_x.sum()) + int(data.train_images.count_nonzero())  # (sum() of uint8 makes an int64 copy)
    after = {"anon": _status("RssAnon"), "shmem": _status("RssShmem")}
    return {"before": before, "after": after, "total": total,
            "bytes": data.train_x.numel() * 4 + data.train_images.numel()}


def threads_task(data, payload, report, stop):
    """Reports torch's thread count after every stop check, until stopped or timed out."""
    import torch

    deadline = time.time() + payload.get("seconds", 60)
    while time.time() < deadline:
        if stop.is_set():
            return {"stopped": True}
        report("threads", {"threads": torch.get_num_threads(), "pid": os.getpid()})
        time.sleep(0.05)
    return {"stopped": False}


def crash_task(data, payload, report, stop):
    raise ValueError("a bug in the job")
