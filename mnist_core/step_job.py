"""Step mode as a job: a StepSession in a worker thread, driven by the page's presses.

It stays in a thread of the server, never a worker process: it is interactive (one press, a few
batches, then a picture the page shows at once), so its live session must sit next to the page.

The page never trains: it calls `progress.request("step", 1)` (or `("step", 10)`,
`("epoch",)`, `("finish",)`), which queues a command and returns an Event that is
set once the worker has done it. The worker holds a training slot only while it
trains a press's batches, so a student thinking between two presses never holds
up the class's queue; while the session is open it is the student's one active
training job. Save keeps the session so far as a run and goes on; Finish (or
Stop, or IDLE_MINUTES without a press) saves it and ends it.

`StepProgress` is the job's one progress object: a `History` (the session
reports every batch and epoch into it, so the sidebar's progress bar and the
live curves work as for any run) plus, in `snapshot()`, what the step view
draws: every batch's loss before/after, the last press's picture of the first
layer's change (PNG bytes) and where the session is.
"""
from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass, field

from .history import History
from .pictures import png_bytes
from .stepping import StepSession

IDLE_MINUTES = 30  # a session nobody pressed for this long is saved and closed
COMMANDS = ("step", "epoch", "save", "finish")
MAX_STEPS_PER_PRESS = 10_000


@dataclass
class StepCommand:
    kind: str  # one of COMMANDS
    count: int = 1  # batches, for "step"
    done: threading.Event = field(default_factory=threading.Event)


class StepProgress(History):
    """Thread-safe: the worker publishes the session after each press, the page reads snapshots."""

    def __init__(self):
        super().__init__()
        self._commands: queue.Queue[StepCommand] = queue.Queue()
        self._state = {"records": [], "picture": None, "limit": None, "legend": None,
                       "step": 0, "epoch": 0, "total_steps": 0, "steps_per_epoch": 1, "left_in_epoch": 0,
                       "done": False, "status": "starting", "busy": False, "finishing": False, "presses": 0,
                       "saved": []}  # the runs Save made: (run id, batches), oldest first

    # --- the page's side --------------------------------------------------------------
    def request(self, kind: str, count: int = 1) -> threading.Event:
        """Queue a press; the returned Event is set when the worker has done it."""
        if kind not in COMMANDS:
            raise ValueError(f"Unknown step command {kind!r}.")
        command = StepCommand(kind, max(1, min(int(count), MAX_STEPS_PER_PRESS)))
        with self._lock:
            self._state["busy"] = True
            self._state["finishing"] = self._state["finishing"] or kind == "finish"
        self._commands.put(command)
        return command.done

    def snapshot(self) -> dict:
        """History's snapshot (info, batches, epochs, latest_batch, finished) and the step view's state."""
        snapshot = super().snapshot()
        with self._lock:
            snapshot.update(self._state, records=list(self._state["records"]))
        return snapshot

    # --- the worker's side ------------------------------------------------------------
    def next_command(self, timeout: float) -> StepCommand | None:
        try:
            return self._commands.get(timeout=timeout)
        except queue.Empty:
            return None

    def publish(self, session: StepSession, busy: bool = False, with_picture: bool = True) -> None:
        picture = limit = legend = None
        if with_picture:
            image, limit, legend_image = session.change_picture()
            picture, legend = png_bytes(image), png_bytes(legend_image)
        with self._lock:
            self._state.update(
                records=[dict(vars(r)) for r in session.records], step=session.step_count, epoch=session.epoch,
                total_steps=session.total_steps,
                steps_per_epoch=session.steps_per_epoch, left_in_epoch=session.batches_left_in_epoch,
                done=session.done, status=session.status, busy=busy)
            if with_picture:
                self._state.update(picture=picture, limit=limit, legend=legend,
                                   presses=self._state["presses"] + 1)

    def set_busy(self, busy: bool) -> None:
        with self._lock:
            self._state["busy"] = busy

    def add_saved(self, run_id: str, batches: int) -> None:
        with self._lock:
            self._state["saved"] = [*self._state["saved"], (run_id, batches)]


def run_step_session(job, data, slot=contextlib.nullcontext, idle_minutes: float = IDLE_MINUTES, save=None):
    """The worker of a step-mode job: presses until Finish, Stop or a long idle; returns the TrainResult.

    `slot()` is held while a press trains (the job queue's training slot); `save(result)` keeps a
    Save press's run and returns its RunInfo (the job queue saves the final result itself).
    """
    progress: StepProgress = job.progress
    with slot():
        session = StepSession(job.spec.config, data, history=progress)
    progress.publish(session, with_picture=False)
    last_press = time.time()
    while not job.stop_event.is_set() and time.time() - last_press < idle_minutes * 60:
        command = progress.next_command(timeout=0.2)
        if command is None:
            continue
        last_press = time.time()
        if command.kind == "finish":
            command.done.set()
            break
        if command.kind == "save":
            with slot():
                info = save(session.result()) if save is not None else None
            if info is not None:
                progress.add_saved(info.run_id, session.step_count)
            progress.set_busy(False)
            command.done.set()
            continue
        with slot():
            session.step_to_epoch_end() if command.kind == "epoch" else session.step(command.count)
        progress.publish(session)
        command.done.set()
    with slot():
        result = session.result()
    progress.publish(session, with_picture=False)
    while (command := progress.next_command(timeout=0)) is not None:
        command.done.set()  # presses that came in after Finish: nothing more to do
    return result
