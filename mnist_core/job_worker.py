"""A JobSpec run in a worker process: the bridge between jobs.py and workers.py.

In the worker, `job_task` rebuilds the Job from its plain-data spec and runs
the same runner a thread would (jobs.RUNNERS), with a `Relay` as its progress
object: every progress call (fit's events, a study's start_run/end_run, an
analysis's update) is applied to a real History, StudyProgress or TaskProgress
there and sent, as plain data, to the server, where `replay` applies it to
the Job's own progress object. So a page draws the same snapshot whether a job
ran in a thread or in a process.

`shared_pool(data)` is the one process-wide pool for a dataset: every
JobManager (one per run-store folder) shares its warm workers.
"""
from __future__ import annotations

import threading

from .workers import TASKS, WorkerPool

# The progress calls that change what a page draws (an analysis's TaskProgress has one: `update`);
# everything else (set_model, snapshot, to_dict, ...) stays in the worker.
RELAYED = {"on_train_start", "on_batch_end", "on_epoch_end", "on_train_end", "plan", "start_run", "end_run",
           "finish", "update"}
TASKS["job"] = "mnist_core.job_worker:job_task"

_POOLS: dict[int, WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


class Relay:
    """Wraps a progress object: relayed calls run on it and are also reported to the server."""

    def __init__(self, target, report):
        self._target, self._report = target, report

    def __getattr__(self, name):
        value = getattr(self._target, name)
        if name not in RELAYED:
            return value

        def relayed(*args):
            value(*args)
            # on_train_end gets the TrainResult, model and all: the result travels once, at the end.
            self._report("call", (name, (None,) if name == "on_train_end" else args))
        return relayed


def replay(progress, call) -> None:
    """Apply a relayed call (name, args) to the server's progress object."""
    name, args = call
    if name in RELAYED:
        getattr(progress, name)(*args)


def job_task(data, payload: dict, report, stop) -> dict:
    """Run payload["spec"] (a JobSpec dict) as jobs.py would in a thread; the outcome as plain data."""
    from .caps import checked_store
    from .device import for_inspection
    from .jobs import RUNNERS, Job, JobManager, JobSpec
    from .runs import RunStore
    from .train import TrainResult

    spec = JobSpec.from_dict(payload["spec"])
    job = Job(job_id=payload["job_id"], spec=spec, progress=Relay(JobManager.new_progress(spec), report),
              stop_event=stop)
    store = checked_store(payload["runs_root"]) if payload.get("check_space") else RunStore(payload["runs_root"])
    result = RUNNERS[spec.kind](job, data, store)
    if isinstance(result, TrainResult) and result.model is not None:
        result.model = for_inspection(result.model)
    return {"result": result, "run_info": job.run_info, "save_error": job.save_error}


def shared_pool(data, workers: int | None = None) -> WorkerPool:
    """The warm pool of worker processes for `data`, started on first use (its tensors go to shared memory)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(id(data))
        if pool is None or pool.data is not data:
            pool = _POOLS[id(data)] = WorkerPool(data, workers=workers)
        return pool
