"""Training in worker processes: a warm pool, one slot per core, students served in turn.

The web server never trains. `WorkerPool` starts one process per core once
(torch imported once in each) and hands them the MNIST tensors in shared memory
(`share_memory_()`), so N workers hold one copy of the 180 MB training set, not N.
A job is plain data: a task name ("train", ...) and a payload dict; the worker
runs it and sends plain-number events back over its pipe, which the pool passes
to the job's `on_event(kind, payload)` from one dispatcher thread.

- A crash, an out-of-memory kill or a `kill -9` of a worker ends its job as
  "failed" with a sentence; the pool starts a replacement. The server stays up.
- Stop: the pool raises a shared flag that `fit()` reads before every batch (an analysis: at every update).
- Threads: a job alone uses every core; once a second job runs, each uses one
  thread (a shared number the worker applies between batches). Never more
  threads in all than cores. Workers run at a lower priority (`os.nice`, SCHED_IDLE).
- The queue takes owners in turn (round-robin), so one student's 20 runs do
  not hold back the class. A study (many runs in one job) may fill a slot only
  while another slot stays for the class's single runs: when studies already
  hold all slots but one and a single run waits, the single run goes first.
- Streamlit replaces `__main__` by the page script, and the spawn start method
  re-runs `__main__` in the child; processes are started with a clean
  `__main__` (`_clean_main`) so no page script ever runs in a worker.
"""
from __future__ import annotations

import atexit
import importlib
import itertools
import os
import sys
import threading
import time
import traceback
import types
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Callable

import torch.multiprocessing as mp

from .callbacks import Callback, JobStopped

WORKER_NICENESS = 10  # pages before training: the web server keeps its priority
# (used where Linux's SCHED_IDLE is not available, see lower_priority)
# task name -> "module:function" run in the worker as function(data, payload, report, stop) -> dict
TASKS = {"train": "mnist_core.workers:train_task"}
_START_LOCK = threading.Lock()


class WorkerLost(RuntimeError):
    """Raised in a worker when the server that started it is gone: stop without saving."""


def default_workers() -> int:
    """One training slot per core ($MNIST_LAB_TRAINING_SLOTS overrides)."""
    return int(os.environ.get("MNIST_LAB_TRAINING_SLOTS") or os.cpu_count() or 1)


def death_sentence(exitcode: int | None) -> str:
    """Why a worker process ended, in words, from its exit code.

    >>> death_sentence(-9)
    'The process running this job was killed (signal 9; the machine may have run out of memory). The server is fine: start it again to retry.'
    """
    if exitcode is not None and exitcode < 0:
        how = f"was killed (signal {-exitcode}; the machine may have run out of memory)"
    else:
        how = f"ended unexpectedly (exit code {exitcode})"
    return f"The process running this job {how}. The server is fine: start it again to retry."


# ----------------------------------------------------------------- in the worker

class WorkerControl:
    """What the pool can change in a running worker: a stop request and the thread count.

    `fit()` calls `is_set()` before every batch; that is also where a new thread
    count takes effect, and where a worker notices that its server is gone.
    """

    def __init__(self, stop_job, threads, parent_pid: int):
        self.stop_job, self.threads, self.parent_pid = stop_job, threads, parent_pid
        self.job_id, self.applied_threads = 0, 0

    def apply_threads(self) -> None:
        import torch

        wanted = max(1, self.threads.value)
        if wanted != self.applied_threads:
            torch.set_num_threads(wanted)
            self.applied_threads = wanted

    def is_set(self) -> bool:
        self.apply_threads()
        if os.getppid() != self.parent_pid:
            raise WorkerLost("the server that started this worker is gone")
        return self.stop_job.value == self.job_id


class ReportProgress(Callback):
    """Sends fit()'s events to the pool as plain dicts (the model stays in the worker)."""

    def __init__(self, report: Callable[[str, dict], None]):
        self.report = report

    def on_train_start(self, info):
        self.report("train_start", {k: v for k, v in info.items() if k != "model"})

    def on_batch_end(self, event):
        self.report("batch", event.to_dict())

    def on_epoch_end(self, event):
        self.report("epoch", event.to_dict())


def train_task(data, payload: dict, report, stop) -> dict:
    """One training run of payload["config"], saved to the run store at payload["runs_root"]."""
    from .config import TrainConfig
    from .runs import RunStore, RunStoreError
    from .train import fit

    config = TrainConfig.from_dict(payload["config"])
    result = fit(config, data, callbacks=[ReportProgress(report)], stop=stop)
    answer = {"summary": result.summary(), "run_id": None, "save_error": None}
    try:
        info = RunStore(payload["runs_root"]).save(result, name=payload.get("name"), owner=payload["owner"],
                                                   extra=payload.get("extra"), test_labels=data.test_labels)
        answer["run_id"] = info.run_id
    except RunStoreError as error:
        answer["save_error"] = str(error)
    return answer


def _resolve(target: str):
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)


def lower_priority() -> None:
    """Make this process (and the threads it starts later, such as torch's) yield to the web server.

    Linux's SCHED_IDLE runs it only on a core nothing else wants: a page's thread that wakes
    up runs at once instead of waiting for its turn beside a training job (at nice 10, 30
    sessions' pages took 0.5-1.9 s while two jobs trained). It is niced too (what `ps` shows,
    and all there is where SCHED_IDLE is not).
    """
    os.nice(WORKER_NICENESS)
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:
            pass  # nice alone, then


def _worker_main(index: int, data, connection, stop_job, threads, parent_pid: int) -> None:
    """The worker's loop: wait for a job, run it, report; exit when the pool or the server goes."""
    lower_priority()
    import torch  # noqa: F401  (once per worker, before the first job)

    from . import runs, train  # noqa: F401  (the first job should not pay for these imports either)
    from .config import ConfigError

    control = WorkerControl(stop_job, threads, parent_pid)
    control.apply_threads()
    connection.send(("ready", 0, os.getpid()))
    while True:
        try:
            if not connection.poll(1.0):
                if os.getppid() != parent_pid:
                    return
                continue
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job_id, target, payload = message
        control.job_id = job_id

        def report(kind, event, job_id=job_id):
            connection.send(("event", job_id, (kind, event)))

        try:
            connection.send(("event", job_id, ("running", {"pid": os.getpid()})))
            answer = _resolve(target)(data, payload, report, control)
            connection.send(("done", job_id, answer))
        except WorkerLost:
            return
        except JobStopped:
            connection.send(("cancelled", job_id, None))
        except ConfigError as error:
            connection.send(("failed", job_id, str(error)))
        except MemoryError:
            connection.send(("failed", job_id, "The training ran out of memory: try a smaller batch or model."))
        except (BrokenPipeError, EOFError):
            return
        except Exception as error:  # a bug in a job must fail that job, not the worker
            traceback.print_exc()
            text = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            if "can't allocate memory" in text or "out of memory" in text.lower():
                text = "it ran out of memory: try a smaller batch or model"
            connection.send(("failed", job_id, f"The training crashed: {type(error).__name__}: {text}"))


# ----------------------------------------------------------------- in the server

@contextmanager
def _clean_main():
    """Start processes with an empty `__main__`, so spawn does not re-run Streamlit's page script."""
    with _START_LOCK:
        original = sys.modules.get("__main__")
        stub = types.ModuleType("__main__")
        sys.modules["__main__"] = stub
        try:
            yield
        finally:
            if sys.modules.get("__main__") is stub:  # unless a script run installed its own meanwhile
                sys.modules["__main__"] = original


@dataclass
class WorkItem:
    """One queued or running job as the pool sees it."""
    job_id: int
    owner: str
    task: str
    payload: dict
    on_event: Callable[[str, object], None]  # ("running"|"train_start"|"batch"|"epoch"|..., "done", "failed")
    worker: int | None = None
    submitted: float = field(default_factory=time.time)
    long: bool = False  # many runs in one job (a study), which holds its slot for all of them


class _Worker:
    def __init__(self, index: int, process, connection, stop_job, threads):
        self.index, self.process, self.connection = index, process, connection
        self.stop_job, self.threads = stop_job, threads
        self.pid: int | None = None
        self.ready = False
        self.item: WorkItem | None = None


class WorkerPool:
    """A warm pool of training processes with a round-robin queue."""

    def __init__(self, data, workers: int | None = None, cores: int | None = None):
        self.data = data
        self.size = workers or default_workers()
        self.cores = cores or os.cpu_count() or 1
        self._context = mp.get_context("spawn")
        self._lock = threading.RLock()
        self._workers: list[_Worker] = []
        self._waiting: dict[str, deque[WorkItem]] = {}
        self._turns: deque[str] = deque()  # owners with waiting jobs, in the order they are served
        self._items: dict[int, WorkItem] = {}
        self._ids = itertools.count(1)
        self._closed = False
        self.replaced = 0  # workers started again after a crash
        self._share_data()
        for index in range(self.size):
            self._workers.append(self._start_worker(index))
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="mnist-lab-pool", daemon=True)
        self._dispatcher.start()
        atexit.register(self.shutdown)  # before multiprocessing's own exit hook: no replacements while exiting

    # --- public ----------------------------------------------------------------
    def new_job_id(self) -> int:
        return next(self._ids)

    def submit(self, owner: str, task: str, payload: dict, on_event, job_id: int | None = None,
               long: bool = False) -> int:
        """Queue a job; returns its id. `on_event` runs in the pool's thread, so it must be quick.
        `long`: the job runs many trainings (a study); see `_pick_owner`."""
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}")
        item = WorkItem(job_id or self.new_job_id(), owner, task, payload, on_event, long=long)
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is shut down")
            self._items[item.job_id] = item
            self._waiting.setdefault(owner, deque()).append(item)
            if owner not in self._turns:
                self._turns.append(owner)
            self._schedule()
        return item.job_id

    def stop(self, job_id: int) -> bool:
        """Stop a job: a queued one is dropped ("cancelled" event), a running one stops before its next batch."""
        with self._lock:
            item = self._items.get(job_id)
            if item is None:
                return False
            if item.worker is None:
                self._drop_waiting(item)
                self._items.pop(job_id, None)
                self._deliver(item, "cancelled", None)
                return True
            self._workers[item.worker].stop_job.value = job_id
            return True

    def queue_position(self, job_id: int) -> int | None:
        """1 for the job that starts next, 2 for the one after, ... (round-robin order); None if not waiting."""
        with self._lock:
            queues = {owner: deque(items) for owner, items in self._waiting.items()}
            turns, position, long_running = deque(self._turns), 0, self._long_running()
            while turns:  # the order _schedule would take them in, if the running jobs kept their slots
                owner = self._pick_owner(turns, queues, long_running)
                turns.remove(owner)
                position += 1
                if queues[owner].popleft().job_id == job_id:
                    return position
                if queues[owner]:
                    turns.append(owner)
            return None

    def stats(self) -> dict:
        with self._lock:
            return {"workers": self.size, "ready": sum(w.ready for w in self._workers),
                    "running": sum(w.item is not None for w in self._workers),
                    "waiting": sum(len(q) for q in self._waiting.values()), "replaced": self.replaced}

    def worker_pids(self) -> list[int | None]:
        with self._lock:
            return [w.pid for w in self._workers]

    def running_pid(self, job_id: int) -> int | None:
        with self._lock:
            item = self._items.get(job_id)
            return self._workers[item.worker].pid if item and item.worker is not None else None

    def threads_of(self, job_id: int) -> int | None:
        with self._lock:
            item = self._items.get(job_id)
            return self._workers[item.worker].threads.value if item and item.worker is not None else None

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until every worker has imported torch (tests, benchmarks); False on timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(w.ready for w in self._workers):
                return True
            time.sleep(0.05)
        return False

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
        for worker in workers:
            try:
                worker.connection.send(None)
            except (OSError, ValueError):
                pass
        for worker in workers:
            worker.process.join(timeout)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1)

    # --- inside ------------------------------------------------------------------
    def _share_data(self) -> None:
        for name in ("train_images", "train_labels", "test_images", "test_labels", "train_x", "test_x"):
            getattr(self.data, name).share_memory_()  # in place: the server keeps using the same tensors

    def _start_worker(self, index: int) -> _Worker:
        parent_end, child_end = self._context.Pipe(duplex=True)
        stop_job = self._context.RawValue("q", 0)
        threads = self._context.RawValue("i", 1)
        process = self._context.Process(target=_worker_main, name=f"mnist-lab-worker-{index}", daemon=True,
                                        args=(index, self.data, child_end, stop_job, threads, os.getpid()))
        with _clean_main():
            process.start()
        child_end.close()
        return _Worker(index, process, parent_end, stop_job, threads)

    def _drop_waiting(self, item: WorkItem) -> None:
        queue = self._waiting.get(item.owner)
        if queue and item in queue:
            queue.remove(item)
            if not queue:
                del self._waiting[item.owner]
                self._turns.remove(item.owner)

    def _long_running(self) -> int:
        return sum(1 for w in self._workers if w.item is not None and w.item.long)

    def _pick_owner(self, turns, queues, long_running: int) -> str:
        """Whose job starts next: the owner whose turn it is, unless studies already hold every slot
        but one and some owner further on waits with a single run; then that owner goes first."""
        if self.size > 1 and long_running >= self.size - 1 and queues[turns[0]][0].long:
            for owner in turns:
                if not queues[owner][0].long:
                    return owner
        return turns[0]

    def _schedule(self) -> None:
        """Give waiting jobs to free workers, owners in turn; then share the cores out."""
        for worker in self._workers:
            if not self._turns:
                break
            if not worker.ready or worker.item is not None:
                continue
            owner = self._pick_owner(self._turns, self._waiting, self._long_running())
            self._turns.remove(owner)
            item = self._waiting[owner].popleft()
            if self._waiting[owner]:
                self._turns.append(owner)
            else:
                del self._waiting[owner]
            try:
                worker.connection.send((item.job_id, TASKS[item.task], item.payload))
            except (OSError, ValueError):  # the worker just died: put the job back for the next one
                self._waiting.setdefault(owner, deque()).appendleft(item)
                if owner not in self._turns:
                    self._turns.appendleft(owner)
                continue
            worker.item, item.worker = item, worker.index
        self._share_cores()

    def _share_cores(self) -> None:
        busy = [w for w in self._workers if w.item is not None]
        alone = len(busy) == 1 and not self._turns
        for worker in busy:
            worker.threads.value = self.cores if alone else 1

    def _deliver(self, item: WorkItem, kind: str, payload) -> None:
        try:
            item.on_event(kind, payload)
        except Exception:  # a listener's bug must not stop the pool
            traceback.print_exc()

    def _finish(self, worker: _Worker, kind: str, payload) -> None:
        item = worker.item
        worker.item = None
        if item is not None:
            item.worker = None
            self._items.pop(item.job_id, None)
            self._deliver(item, kind, payload)

    def _dispatch_loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                waitables = {w.connection: w for w in self._workers}
                waitables.update({w.process.sentinel: w for w in self._workers})
            for ready in wait(list(waitables), timeout=0.5):
                worker = waitables[ready]
                if ready is worker.connection:
                    self._read(worker)
                elif not self._closed:
                    self._replace(worker)

    def _read(self, worker: _Worker) -> None:
        try:
            while worker.connection.poll():
                kind, job_id, payload = worker.connection.recv()
                with self._lock:
                    if kind == "ready":
                        worker.ready, worker.pid = True, payload
                        self._schedule()
                    elif worker.item is None or worker.item.job_id != job_id:
                        continue  # a late event of a job already ended
                    elif kind == "event":
                        self._deliver(worker.item, *payload)
                    else:  # "done", "failed" or "cancelled" (a job that honoured Stop with nothing to keep)
                        self._finish(worker, kind, payload)
                        self._schedule()
        except (EOFError, OSError):
            pass  # the sentinel reports the death

    def _replace(self, worker: _Worker) -> None:
        worker.process.join(1)
        with self._lock:
            if self._workers[worker.index] is not worker:
                return
            self._finish(worker, "failed", death_sentence(worker.process.exitcode))
            worker.connection.close()
            self._workers[worker.index] = self._start_worker(worker.index)
            self.replaced += 1
            self._share_cores()
