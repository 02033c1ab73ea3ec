"""Past one machine: the job API's work as Ray tasks on a Ray cluster.

Turned on by `MNIST_LAB_EXECUTOR=ray` with `MNIST_LAB_RAY_ADDRESS=HOST:PORT`
(or the CLI's `experiment ... --executor ray --ray-address HOST:PORT`). A job
runs `job_worker.job_task` as a Ray task, exactly as a worker process would:
its runs are saved into the run store folder the job names (a volume every node
shares), its progress calls travel back through a small `JobChannel` actor that
the server drains a few times a second, and Stop raises a flag in that actor,
which the task reads before every batch. The dataset is put in Ray's object
store once per server. Nothing here imports streamlit; ray is imported only
when this executor is used.
"""
from __future__ import annotations

import itertools
import os
import socket
import threading
import time

from .jobs import JobError

RAY_ADDRESS_ENV = "MNIST_LAB_RAY_ADDRESS"
POLL_SECONDS = 0.25  # progress reaches the page at least 2-4 times a second
STOP_CHECK_SECONDS = 0.2  # how often a task asks its channel whether Stop was pressed

_EXECUTORS: dict[str, "RayExecutor"] = {}
_LOCK = threading.Lock()


class RayUnavailable(JobError):
    """Ray is missing or the cluster cannot be reached; the message says what to do."""


def _ray():
    try:
        import ray
    except ImportError:
        raise RayUnavailable("The Ray executor needs ray: pip install -r requirements-dev.txt.") from None
    return ray


def _channel_class():
    ray = _ray()

    @ray.remote(num_cpus=0)
    class JobChannel:
        """Events from a task to the server, and the Stop flag the other way."""

        def __init__(self):
            self.events, self.stopped = [], False

        def put(self, event):
            self.events.append(event)

        def drain(self):
            events, self.events = self.events, []
            return events

        def stop(self):
            self.stopped = True

        def is_stopped(self):
            return self.stopped

    return JobChannel


class _RemoteStop:
    """fit()'s stop flag inside a Ray task: asks the channel, at most every STOP_CHECK_SECONDS."""

    def __init__(self, channel):
        self.channel, self.checked, self.stopped = channel, 0.0, False

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self.stopped and now - self.checked >= STOP_CHECK_SECONDS:
            import ray
            self.stopped, self.checked = ray.get(self.channel.is_stopped.remote()), now
        return self.stopped


def _run_job_task(data, payload, channel):
    """The body of the Ray task: the same job_task a worker process runs."""
    import torch

    from .job_worker import job_task

    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))

    def report(kind, event):
        channel.put.remote((kind, event))

    outcome = job_task(data, payload, report, _RemoteStop(channel))
    # Calls from one caller to an actor run in order: once this one has run, every event put
    # above is in the channel, so the server's last drain (after the task ends) sees them all.
    import ray
    ray.get(channel.is_stopped.remote())
    return outcome


class RayExecutor:
    """Submits jobs as Ray tasks on the cluster at `address` and relays their events to `on_event`."""

    def __init__(self, address: str):
        ray = _ray()
        if not address:
            raise RayUnavailable(f"The Ray executor needs the cluster's address: set {RAY_ADDRESS_ENV}=HOST:PORT "
                                 "or pass --ray-address HOST:PORT.")
        host, _, port = address.rpartition(":")
        try:  # ray.init waits minutes for an address where nothing listens: ask the port first
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
        except (OSError, ValueError):
            raise RayUnavailable(f"The Ray cluster at {address} cannot be reached: nothing answers there "
                                 "(start it with `ray start --head`, or check HOST:PORT).") from None
        try:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                     include_dashboard=False, configure_logging=False)
        except Exception as error:  # ConnectionError, RuntimeError, ...: said in one sentence
            raise RayUnavailable(f"The Ray cluster at {address} cannot be reached: "
                                 f"{str(error).strip().splitlines()[0][:160] if str(error).strip() else error}."
                                 ) from None
        self.address = address
        self._task = ray.remote(num_cpus=1)(_run_job_task)
        self._channel = _channel_class()
        self._data_refs: dict[int, object] = {}
        self._ids = itertools.count(1)
        self._running: dict[int, object] = {}  # id -> channel
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, address: str | None = None) -> "RayExecutor":
        address = address or os.environ.get(RAY_ADDRESS_ENV, "").strip()
        with _LOCK:
            if address not in _EXECUTORS:
                _EXECUTORS[address] = cls(address)
            return _EXECUTORS[address]

    def submit(self, owner: str, payload: dict, on_event, data) -> int:
        """Start the job on the cluster; `on_event(kind, payload)` is called from a watcher thread."""
        ray = _ray()
        with self._lock:
            if id(data) not in self._data_refs:
                self._data_refs[id(data)] = ray.put(data)  # once: the tasks share it from the object store
            data_ref = self._data_refs[id(data)]
            job_id = next(self._ids)
            channel = self._channel.remote()
            self._running[job_id] = channel
        result_ref = self._task.remote(data_ref, payload, channel)
        threading.Thread(target=self._watch, args=(job_id, result_ref, channel, on_event), daemon=True,
                         name=f"mnist-lab-ray-{job_id}").start()
        return job_id

    def stop(self, job_id: int) -> bool:
        with self._lock:
            channel = self._running.get(job_id)
        if channel is not None:
            channel.stop.remote()
        return channel is not None

    def stats(self) -> dict:
        ray = _ray()
        with self._lock:
            running = len(self._running)
        return {"workers": int(ray.cluster_resources().get("CPU", 1)), "running": running, "waiting": 0}

    def _watch(self, job_id: int, result_ref, channel, on_event) -> None:
        ray = _ray()
        on_event("running", {"pid": None})
        done = False
        while not done:
            done = bool(ray.wait([result_ref], timeout=POLL_SECONDS)[0])
            for kind, event in ray.get(channel.drain.remote()):
                if kind != "running":
                    on_event(kind, event)
        try:
            on_event("done", ray.get(result_ref))
        except Exception as error:  # the task raised, or its worker died: a sentence, never a traceback
            cause = getattr(error, "cause", None) or error
            text = str(cause).strip().splitlines()[-1][:200] if str(cause).strip() else type(cause).__name__
            on_event("failed", f"The training on the Ray cluster failed: {type(cause).__name__}: {text}")
        finally:
            with self._lock:
                self._running.pop(job_id, None)
            ray.kill(channel, no_restart=True)
