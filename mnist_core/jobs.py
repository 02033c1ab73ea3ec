"""Background jobs behind one small global queue: training runs and studies, one API.
(Just over 450 lines on purpose: every kind of job, training, study, step mode and analysis, is submitted,
queued, looked up and stopped here, in one place; the executors are workers.py and ray_executor.py.)

A page never trains inside its script run. It describes the work as a
`JobSpec` (plain data: kind, a TrainConfig or a study name with seeds, the
owner, options) and calls `submit_training(...)` or `submit_study(...)`. The
manager runs the spec in a worker thread once a training slot is free; the job
reports into ONE typed progress object (a `History` for a training run, a
`StudyProgress` for a study), saves its runs to the run store, and the page
polls `job.progress.snapshot()` to draw. Nothing here imports streamlit, no
worker touches the UI, and nothing in a spec or an event is a closure or a live
object, so the same form can run in another process or on another machine.

Jobs are kept in a process-wide registry keyed by owner (a browser user's
token), so a reload or a page switch finds its running job again, and one
user can never see or stop another user's job.

Where jobs run is the executor's choice: "threads" (in this process, first come
first served; what tests of the queue use), "processes" (the app's default:
a warm pool of worker processes, see workers.py, where a crash fails one job,
never the server) or "ray" (tasks on a Ray cluster, see ray_executor.py). With `records` (job_records.py) every job is also a row in
the database, so that after a restart `recover()` queues the waiting jobs again
and marks the interrupted ones for their owners to re-run.
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

import torch

from .analysis_jobs import ANALYSIS, TaskProgress, run_analysis_job, runs_in_worker, task_label
from .callbacks import Callback, JobStopped
from .caps import CapError
from .config import ConfigError, TrainConfig
from .experiments import StudyProgress, run_and_save, run_plan, study_for
from .history import History
from .job_executors import ElsewhereAndAfterRestart
from .job_records import JobRecords
from .runs import RunInfo, RunStore, RunStoreError, clean_run_name
from .train import TrainResult, fit

QUEUED, RUNNING, FINISHED, FAILED, CANCELLED = "queued", "running", "finished", "failed", "cancelled"
ACTIVE_STATES = (QUEUED, RUNNING)
TRAIN, STUDY = "train", "study"  # the kinds of job; a user may run one of each at a time
STEP_MODE = "step"  # options["mode"] of a TRAIN job trained by hand, one press at a time (mnist_core/step_job.py)
KEEP_FINISHED_PER_OWNER = 20  # older finished jobs are dropped from memory (their runs stay on disk)
EXECUTOR_ENV = "MNIST_LAB_EXECUTOR"  # threads, processes (the app's default) or ray
EXECUTORS = ("threads", "processes", "ray")


class JobError(RuntimeError):
    """A job cannot be submitted or controlled; the message is for the user."""


def default_slots() -> int:
    """Training slots: one per core, less one core kept free for the web server."""
    return int(os.environ.get("MNIST_LAB_TRAINING_SLOTS") or max(1, (os.cpu_count() or 2) - 1))


@dataclass(frozen=True)
class JobSpec:
    """What a job does, as plain data (JSON-able through `to_dict`)."""
    kind: str  # TRAIN or STUDY
    owner: str  # the user the job and its runs belong to
    config: TrainConfig | None = None  # kind TRAIN: the run's settings
    study: str | None = None  # kind STUDY: a name in experiments.STUDIES, or "custom"
    seeds: tuple[int, ...] = (0,)  # kind STUDY: every run is repeated for each seed
    name: str | None = None  # kind TRAIN: the run's display name (None: its settings)
    options: dict = field(default_factory=dict)  # plain extras: a custom study's knob/values/base, a budget

    @property
    def label(self) -> str:
        """What the user sees: the run's name, its settings, or the study's title."""
        if self.kind == STUDY:
            return study_for(self.study, self.options).title
        if self.kind == ANALYSIS:
            return task_label(self.options)
        return self.name or (self.config.short_description() if self.config else self.kind)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["config"] = self.config.to_dict() if self.config else None
        d["seeds"] = list(self.seeds)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "JobSpec":
        d = dict(d)
        d["config"] = TrainConfig.from_dict(d["config"]) if d.get("config") else None
        d["seeds"] = tuple(d.get("seeds") or (0,))
        return cls(**d)


@dataclass
class Job:
    job_id: int
    spec: JobSpec
    progress: Callback  # History (kind TRAIN) or StudyProgress (kind STUDY): what the page draws
    stop_event: threading.Event = field(default_factory=threading.Event)
    state: str = QUEUED
    result: object = None  # a TrainResult (TRAIN) or the list of RunRows (STUDY)
    run_info: RunInfo | None = None  # the saved run of a training job, when saving worked
    error: str | None = None  # why the job failed, in words
    save_error: str | None = None  # the run finished but could not be saved
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    on_stop: Callable[[], None] | None = field(default=None, repr=False)  # tells a worker process
    worker_pid: int | None = None  # the worker process running it (executor "processes"), None in a thread

    @property
    def owner(self) -> str:
        return self.spec.owner

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def config(self) -> TrainConfig | None:
        return self.spec.config

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def step_mode(self) -> bool:
        """A run trained by hand (Step mode): it holds a training slot only while a press trains."""
        return is_step_mode(self.spec)

    def stop(self) -> None:
        """Ask the job to stop; a running fit() notices before its next batch. Safe to call twice."""
        self.stop_event.set()
        if self.on_stop is not None:
            self.on_stop()


def is_step_mode(spec: JobSpec) -> bool:
    return spec.kind == TRAIN and spec.options.get("mode") == STEP_MODE


def save_error_text(error: RunStoreError) -> str:
    return (f"{error} The trained model is kept in this session until the server restarts, but it is "
            "not in the run history.")


def train_and_save(config: TrainConfig, data, store: RunStore, owner: str, name: str | None = None,
                   callbacks: list[Callback] | tuple = (), stop: threading.Event | None = None,
                   history: History | None = None, extra: dict | None = None) -> tuple[TrainResult, RunInfo]:
    """Train one run and save it as `owner`'s: what the CLI and a training job both do.
    A save the store refuses raises RunStoreError (the result is then on the error's `result`).
    `extra` (plain data, e.g. the student's guess) is kept in the run's meta.json."""
    if name is not None:
        clean_run_name(name)  # a name that cannot be saved is refused before the training, not after
    result = fit(config, data, callbacks=callbacks, stop=stop, history=history)
    try:
        info = store.save(result, name=name, owner=owner, test_labels=data.test_labels, extra=extra)
    except RunStoreError as error:
        error.result = result
        raise
    return result, info


def run_training_job(job: Job, data, store: RunStore) -> TrainResult:
    """The worker of a TRAIN job."""
    spec = job.spec
    try:
        result, job.run_info = train_and_save(spec.config, data, store, owner=spec.owner, name=spec.name,
                                              stop=job.stop_event, history=job.progress,
                                              extra=spec.options.get("extra"))
    except RunStoreError as error:
        job.save_error = save_error_text(error)
        return getattr(error, "result", None)
    return result


def run_study_job(job: Job, data, store: RunStore) -> list:
    """The worker of a STUDY job: every run saved as the owner's as it finishes."""
    spec = job.spec

    def keep_save_error(error: RunStoreError) -> None:
        job.save_error = save_error_text(error)

    return run_and_save(study_for(spec.study, spec.options), data, store, seeds=spec.seeds, owner=spec.owner,
                        progress=job.progress, stop=job.stop_event, on_save_error=keep_save_error)


RUNNERS: dict[str, Callable[[Job, object, RunStore], object]] = {
    TRAIN: run_training_job, STUDY: run_study_job, ANALYSIS: run_analysis_job}


class JobManager(ElsewhereAndAfterRestart):
    """Runs at most `slots` jobs at once; the rest wait in first-come order."""

    def __init__(self, store: RunStore, slots: int | None = None, threads_per_job: int = 1,
                 max_active_per_owner: int = 1, runners: dict | None = None, executor: str = "threads",
                 records: JobRecords | None = None, ray_address: str | None = None, policy=None):
        # max_active_per_owner counts per kind: a user may train one model while one study runs.
        # A policy (caps.ClassroomPolicy) replaces that count with each class's caps.
        self.policy = policy
        if executor not in EXECUTORS:
            raise ConfigError(f"Unknown executor {executor!r}: choose {', '.join(EXECUTORS)}.")
        self.executor, self.records, self._pool, self._remote = executor, records, None, None
        self.ray_address = ray_address  # executor "ray": HOST:PORT (default $MNIST_LAB_RAY_ADDRESS)
        self._pool_ids: dict[int, int] = {}  # job id -> the worker pool's id for it
        self.store = store
        if executor == "processes":  # one worker process per core (workers.default_workers)
            from .workers import default_workers
            self.slots = slots or default_workers()
        else:
            self.slots = slots or default_slots()
        self.threads_per_job = threads_per_job
        self.max_active_per_owner = max_active_per_owner
        self.runners = dict(runners or RUNNERS)  # kind -> worker(job, data, store)
        self._lock = threading.Condition()  # the jobs, the queue and the slots; held only for quick work
        self._submit_lock = threading.Lock()  # one submit at a time (its checks and its row are slow)
        self._jobs: dict[int, Job] = {}
        self._waiting: list = []  # queued job ids (and Step-mode presses waiting for a slot), in order
        self._running = 0
        self._ids = itertools.count(1)

    # --- submitting ----------------------------------------------------------
    def submit_training(self, config: TrainConfig, data, owner: str, name: str | None = None,
                        extra: dict | None = None) -> Job:
        """Queue one training run of `config` on `data`; its run is saved when it ends.
        `extra` (plain data, e.g. a guess) is saved with the run. RunStoreError now if `name` cannot be saved."""
        if name is not None:
            clean_run_name(name)
        options = {"extra": dict(extra)} if extra else {}
        return self.submit(JobSpec(kind=TRAIN, owner=owner, config=config, name=name, options=options), data)

    def submit_stepping(self, config: TrainConfig, data, owner: str, name: str | None = None) -> Job:
        """Open a Step-mode session of `config`: a TRAIN job (the owner's one active training) that trains
        when `job.progress.request(...)` asks and is saved as a run when it ends (Finish, Stop, idle)."""
        return self.submit(JobSpec(kind=TRAIN, owner=owner, config=config, name=name,
                                   options={"mode": STEP_MODE}), data)

    def submit_study(self, study: str, data, owner: str, seeds: tuple[int, ...] = (0,),
                     options: dict | None = None) -> Job:
        """Queue a study (a name in STUDIES, or "custom" with options); each finished run is saved.
        ConfigError if the study or its options are not valid."""
        spec = JobSpec(kind=STUDY, owner=owner, study=study, seeds=tuple(seeds), options=dict(options or {}))
        study_for(spec.study, spec.options)  # a bad name or option is said now, not by a failed job
        return self.submit(spec, data)

    def submit_analysis(self, task: str, data, owner: str, **options) -> Job:
        """Queue one of the Draw page's heavy computations (analysis_jobs.TASKS), e.g. a t-SNE map."""
        return self.submit(JobSpec(kind=ANALYSIS, owner=owner, options={"task": task, **options}), data)

    def submit(self, spec: JobSpec, data=None) -> Job:
        """Queue `spec` for its owner; JobError if the owner already has an active job of this kind."""
        if not spec.owner:
            raise JobError("This browser session has no identity yet; reload the page.")
        if spec.kind not in self.runners:
            raise JobError(f"Unknown kind of job {spec.kind!r}.")
        # Submits queue behind one another at `_submit_lock`, never at `_lock`: the caps' database
        # reads, the disk check and the job's row are slow next to a page's look-up, and every
        # page of every session looks its jobs up under `_lock` (30 Train presses at once held
        # all pages for seconds). One submit at a time keeps "one active job per owner" exact:
        # nothing else adds jobs, and jobs only stop being active meanwhile.
        with self._submit_lock:
            limit = self.policy.active_limit(spec) if self.policy is not None else self.max_active_per_owner
            with self._lock:
                active = [j for j in self._jobs.values() if j.owner == spec.owner and j.active and j.kind == spec.kind]
                waiting = len(self._waiting)
            if self.policy is not None and len(active) < limit:
                try:
                    self.policy.admit(spec, waiting=waiting, slots=self.slots)
                except CapError as error:
                    raise JobError(str(error)) from None
            if len(active) >= limit:
                raise JobError(f"“{active[0].label}” is still {active[0].state}: stop it or wait for it "
                               "before starting another.")
            job_id = (self.records.add(spec.owner, spec.kind, spec.label, spec.to_dict()) if self.records
                      else next(self._ids))
            job = Job(job_id=job_id, spec=spec, progress=self.new_progress(spec))
            with self._lock:
                self._jobs[job.job_id] = job
                self._forget_old(spec.owner)
                if self._runs_elsewhere(spec):
                    self._submit_to_pool(job, data)
                    return job
                self._waiting.append(job.job_id)
        threading.Thread(target=self._run, args=(job, data), name=f"mnist-lab-job-{job.job_id}",
                         daemon=True).start()
        return job

    def _runs_elsewhere(self, spec: JobSpec) -> bool:
        """Training runs, studies and (executor "processes") analyses but the neighbour index go to the executor;
        a Step-mode session, driven press by press from the page (step_job.py), runs in a thread here."""
        if spec.kind == ANALYSIS:
            return self.executor == "processes" and runs_in_worker(spec.options)
        return self.executor != "threads" and spec.kind in (TRAIN, STUDY) and not is_step_mode(spec)

    @staticmethod
    def new_progress(spec: JobSpec) -> Callback:
        if spec.kind == STUDY:
            return StudyProgress(run_plan(study_for(spec.study, spec.options), spec.seeds))
        if is_step_mode(spec):
            from .step_job import StepProgress
            return StepProgress()
        if spec.kind == ANALYSIS:
            return TaskProgress()
        return History()

    # --- the worker --------------------------------------------------------
    def _wait_for_slot(self, ticket, stop: threading.Event | None) -> bool:
        """First come, first served: True once fewer tickets are ahead than slots are free (lock held),
        False if `stop` was set while waiting. `ticket` is in self._waiting."""
        while not (stop is not None and stop.is_set()) and self._waiting.index(ticket) >= self.slots - self._running:
            self._lock.wait(timeout=0.5)
        self._waiting.remove(ticket)
        if stop is not None and stop.is_set():
            self._lock.notify_all()
            return False
        self._running += 1
        return True

    @contextlib.contextmanager
    def training_slot(self):
        """Hold one training slot (waiting in line for it) while the block runs: a Step-mode press."""
        ticket = object()
        with self._lock:
            self._waiting.append(ticket)
            self._wait_for_slot(ticket, None)
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._lock.notify_all()

    def _run_step_mode(self, job: Job, data) -> None:
        from .step_job import run_step_session

        with self._lock:
            self._waiting.remove(job.job_id)  # a session holds no slot between presses
            job.state, job.started = RUNNING, time.time()
        try:
            torch.set_num_threads(self.threads_per_job)

            def save(result) -> RunInfo | None:
                try:
                    job.run_info = self.store.save(result, name=job.spec.name, owner=job.owner,
                                                   test_labels=data.test_labels)
                    job.save_error = None
                except RunStoreError as error:
                    job.run_info, job.save_error = None, save_error_text(error)
                return job.run_info

            result = run_step_session(job, data, slot=self.training_slot, save=save)
            saved = job.progress.snapshot()["saved"]
            if not (saved and saved[-1][1] == result.steps and job.run_info is not None):
                save(result)  # unless a Save press has just kept these very weights
            job.result, job.state = result, FINISHED
        except ConfigError as error:
            job.error, job.state = str(error), FAILED
        except Exception as error:  # a crash must end as a visible failed job, never a hung one
            job.error = f"The training crashed: {type(error).__name__}: {error}"
            job.state = FAILED
            traceback.print_exc()
        finally:
            job.finished = time.time()

    def _run(self, job: Job, data) -> None:
        if job.step_mode:
            return self._run_step_mode(job, data)
        with self._lock:
            if not self._wait_for_slot(job.job_id, job.stop_event):
                job.state, job.finished = CANCELLED, time.time()
                return
            job.state, job.started = RUNNING, time.time()
        self._record_start(job)
        try:
            # Process-wide, but every job sets the same value: one thread per job.
            torch.set_num_threads(self.threads_per_job)
            job.result = self.runners[job.kind](job, data, self.store)
            job.state = FINISHED
        except JobStopped:  # an analysis stopped midway: nothing kept
            job.state = CANCELLED
        except ConfigError as error:
            job.error, job.state = str(error), FAILED
        except Exception as error:  # a crash must end as a visible failed job, never a hung one
            job.error = f"The training crashed: {type(error).__name__}: {error}"
            job.state = FAILED
            traceback.print_exc()  # for the teacher's terminal; the user sees job.error
        finally:
            self._record_end(job)  # before `finished`: whoever sees the job ended finds its row ended too
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
        if self._pool is not None:
            return self._pool.queue_position(self._pool_ids.get(job.job_id, 0))
        with self._lock:
            return self._waiting.index(job.job_id) + 1 if job.job_id in self._waiting else None

    def all_jobs(self) -> list[Job]:
        """Every job in memory, newest first: for the teacher console only (it acts as the teacher)."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: -j.job_id)

    def clear_queue(self) -> int:
        """Cancel every job still waiting (running ones go on); returns how many."""
        with self._lock:
            waiting = [self._jobs[i] for i in self._waiting if i in self._jobs]
        for job in waiting:
            job.stop()
        return len(waiting)

    def stop(self, owner: str, job_id: int) -> Job:
        job = self.get(owner, job_id)
        job.stop()
        return job

    def stats(self) -> dict:
        if self._remote is not None:
            remote = self._remote.stats()
            return {"running": remote["running"], "waiting": 0, "slots": remote["workers"], "jobs": len(self._jobs)}
        if self._pool is not None:
            pool = self._pool.stats()
            return {"running": pool["running"], "waiting": pool["waiting"], "slots": pool["workers"],
                    "jobs": len(self._jobs)}
        with self._lock:
            return {"running": self._running, "waiting": len(self._waiting), "slots": self.slots,
                    "jobs": len(self._jobs)}

    def _forget_old(self, owner: str) -> None:
        done = sorted((j for j in self._jobs.values() if j.owner == owner and not j.active),
                      key=lambda j: -j.job_id)
        for job in done[KEEP_FINISHED_PER_OWNER:]:
            del self._jobs[job.job_id]
            self._pool_ids.pop(job.job_id, None)
