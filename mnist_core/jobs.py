"""Background training jobs behind one small global queue.

A page never trains inside its script run. It submits a job here; the job
runs in a worker thread that waits for a free training slot, reports progress
into a thread-safe `ProgressLog`, and saves its run to the run store. The page
polls `job.snapshot()` and draws. Nothing here imports streamlit, and no worker
ever touches the UI.

Jobs are kept in a process-wide registry keyed by owner (a browser user's
token), so a reload or a page switch finds its running job again, and one
user can never see or stop another user's job.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

from .callbacks import ProgressLog
from .config import ConfigError, TrainConfig
from .runs import RunInfo, RunStore, RunStoreError

QUEUED, RUNNING, FINISHED, FAILED, CANCELLED = "queued", "running", "finished", "failed", "cancelled"
ACTIVE_STATES = (QUEUED, RUNNING)
KEEP_FINISHED_PER_OWNER = 20  # older finished jobs are dropped from memory (their runs stay on disk)


class JobError(RuntimeError):
    """A job cannot be submitted or controlled; the message is for the user."""


def default_slots() -> int:
    """Training slots: one per core, less one core kept free for the web server."""
    return int(os.environ.get("MNIST_LAB_TRAINING_SLOTS") or max(1, (os.cpu_count() or 2) - 1))


@dataclass
class Job:
    job_id: int
    owner: str
    label: str  # what the user sees, e.g. the run's name
    kind: str  # "train" or "experiment"
    config: TrainConfig | None
    work: Callable[["Job"], object]  # runs in the worker thread once a slot is free
    progress: ProgressLog = field(default_factory=ProgressLog)
    stop_event: threading.Event = field(default_factory=threading.Event)
    state: str = QUEUED
    result: object = None  # what `work` returned (a TrainResult for training jobs)
    run_info: RunInfo | None = None  # the saved run, when saving worked
    error: str | None = None  # why the job failed, in words
    save_error: str | None = None  # the run finished but could not be saved
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    extra: dict = field(default_factory=dict)  # free space for work functions (e.g. experiment progress)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def stop(self) -> None:
        """Ask the job to stop; a running fit() notices before its next batch. Safe to call twice."""
        self.stop_event.set()


class JobManager:
    """Runs at most `slots` jobs at once; the rest wait in first-come order."""

    def __init__(self, store: RunStore, slots: int | None = None, threads_per_job: int = 1,
                 max_active_per_owner: int = 1):
        # max_active_per_owner counts per kind: a user may train one model while one experiment runs.
        self.store = store
        self.slots = slots or default_slots()
        self.threads_per_job = threads_per_job
        self.max_active_per_owner = max_active_per_owner
        self._lock = threading.Condition()
        self._jobs: dict[int, Job] = {}
        self._waiting: list[int] = []  # queued job ids, in order
        self._running = 0
        self._ids = itertools.count(1)

    # --- submitting ----------------------------------------------------------
    def submit(self, owner: str, work: Callable[[Job], object], label: str, kind: str = "train",
               config: TrainConfig | None = None) -> Job:
        """Queue `work(job)` for `owner`; JobError if the owner already has an active job of this kind."""
        if not owner:
            raise JobError("This browser session has no identity yet; reload the page.")
        with self._lock:
            active = [j for j in self._jobs.values() if j.owner == owner and j.active and j.kind == kind]
            if len(active) >= self.max_active_per_owner:
                raise JobError(f"“{active[0].label}” is still {active[0].state}: stop it or wait for it "
                               "before starting another.")
            job = Job(job_id=next(self._ids), owner=owner, label=label, kind=kind, config=config, work=work)
            self._jobs[job.job_id] = job
            self._waiting.append(job.job_id)
            self._forget_old(owner)
        threading.Thread(target=self._run, args=(job,), name=f"mnist-lab-job-{job.job_id}", daemon=True).start()
        return job

    def submit_training(self, config: TrainConfig, data, owner: str, name: str | None = None,
                        extra: dict | None = None, fit_kwargs: dict | None = None) -> Job:
        """Queue one training run of `config` on `data`; its run is saved when it ends."""
        from .train import fit  # imported here: torch is heavy and pages import this module early

        config.validate()
        label = name or config.short_description()

        def work(job: Job):
            result = fit(config, data, callbacks=[job.progress], stop=job.stop_event, **(fit_kwargs or {}))
            self.save_result(job, result, name=name, extra=extra, test_labels=data.test_labels)
            return result

        return self.submit(owner, work, label=label, kind="train", config=config)

    def save_result(self, job: Job, result, name=None, extra=None, test_labels=None) -> RunInfo | None:
        """Save a TrainResult to the store; a failure is kept as job.save_error, not raised."""
        try:
            info = self.store.save(result, name=name, owner=job.owner, extra=extra, test_labels=test_labels)
        except RunStoreError as error:
            job.save_error = (f"{error} The trained model is kept in this session until the server "
                              "restarts, but it is not in the run history.")
            return None
        job.run_info = info
        return info

    # --- the worker --------------------------------------------------------
    def _run(self, job: Job) -> None:
        with self._lock:
            # First come, first served: start once fewer jobs are ahead than slots are free.
            while not job.stop_event.is_set() and self._waiting.index(job.job_id) >= self.slots - self._running:
                self._lock.wait(timeout=0.5)
            self._waiting.remove(job.job_id)
            if job.stop_event.is_set():
                job.state, job.finished = CANCELLED, time.time()
                self._lock.notify_all()
                return
            self._running += 1
            job.state, job.started = RUNNING, time.time()
        try:
            import torch
            # Process-wide, but every job sets the same value: one thread per job.
            torch.set_num_threads(self.threads_per_job)
            job.result = job.work(job)
            job.state = FINISHED
        except ConfigError as error:
            job.error, job.state = str(error), FAILED
        except Exception as error:  # a crash must end as a visible failed job, never a hung one
            job.error = f"The training crashed: {type(error).__name__}: {error}"
            job.state = FAILED
            traceback.print_exc()  # for the teacher's terminal; the user sees job.error
        finally:
            job.finished = time.time()
            with self._lock:
                self._running -= 1
                self._lock.notify_all()

    # --- looking up ----------------------------------------------------------
    def jobs_of(self, owner: str) -> list[Job]:
        """This owner's jobs, newest first (never anyone else's)."""
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.owner == owner), key=lambda j: -j.job_id)

    def active_job(self, owner: str, kind: str | None = None) -> Job | None:
        for job in self.jobs_of(owner):
            if job.active and (kind is None or job.kind == kind):
                return job
        return None

    def latest_job(self, owner: str, kind: str | None = None) -> Job | None:
        for job in self.jobs_of(owner):
            if kind is None or job.kind == kind:
                return job
        return None

    def get(self, owner: str, job_id: int) -> Job:
        """The job, if it belongs to `owner`; JobError otherwise."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise JobError("That run does not exist or belongs to someone else.")
        return job

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to start, 2 for the one after, ...; None if not waiting."""
        with self._lock:
            return self._waiting.index(job.job_id) + 1 if job.job_id in self._waiting else None

    def stop(self, owner: str, job_id: int) -> Job:
        job = self.get(owner, job_id)
        job.stop()
        return job

    def stats(self) -> dict:
        with self._lock:
            return {"running": self._running, "waiting": len(self._waiting), "slots": self.slots,
                    "jobs": len(self._jobs)}

    def _forget_old(self, owner: str) -> None:
        done = sorted((j for j in self._jobs.values() if j.owner == owner and not j.active),
                      key=lambda j: -j.job_id)
        for job in done[KEEP_FINISHED_PER_OWNER:]:
            del self._jobs[job.job_id]
