"""Progress events of a training run, and the callbacks that receive them.

The training loop knows nothing about who listens: it calls the hooks of a
`Callback` with plain numbers. A CLI prints them, a page draws them, a test
keeps them in a list. The events are plain data (picklable, JSON-able), so a
run in another process or on another machine can send them back. The run's own
record of them is `mnist_core.history.History`.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from typing import Callable


@dataclass
class BatchEvent:
    step: int  # batches done since the start of the run (1-based)
    epoch: int  # the epoch this batch belongs to (1-based)
    total_steps: int  # steps the whole run will take if nothing stops it
    loss: float  # mean loss over the batches since the last event
    running_accuracy: float  # training accuracy over the same batches, in [0, 1]
    examples_per_second: float  # training throughput since the last event

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class EpochEvent:
    epoch: int  # 1-based
    step: int  # steps done at the end of this epoch
    train_loss: float  # mean loss over the epoch's batches (dropout on)
    train_accuracy: float
    val_loss: float | None  # None when there is no validation set
    val_accuracy: float | None
    per_class_val_accuracy: list[float] = field(default_factory=list)  # ten values in [0, 1]
    seconds: float = 0.0  # wall time of the epoch, validation included

    def to_dict(self) -> dict:
        return asdict(self)


class JobStopped(Exception):
    """Raised by a job that honours Stop midway with nothing worth keeping (an analysis): it ends as
    "cancelled", in a thread (jobs.py) as in a worker process (workers.py)."""


class Callback:
    """Base class: every hook does nothing. Override the ones you need."""

    model = None  # the live model, once set_model was called

    def set_model(self, model) -> None:
        """Called once before training with the live model (kept as self.model), for a callback that
        evaluates it (bench/train_speed.py, a study's test-loss curve). Events stay plain data."""
        self.model = model

    def on_train_start(self, info: dict) -> None:
        """info (plain numbers): total_steps, epochs, steps_per_epoch, train_size, val_size, parameters."""

    def on_batch_end(self, event: BatchEvent) -> None:
        pass

    def on_epoch_end(self, event: EpochEvent) -> None:
        pass

    def on_train_end(self, result) -> None:
        """result: the TrainResult, with status set."""


class RecordingCallback(Callback):
    """Keeps every event in lists; what tests and the history use."""

    def __init__(self):
        self.start_info: dict | None = None
        self.batches: list[BatchEvent] = []
        self.epochs: list[EpochEvent] = []
        self.result = None

    def on_train_start(self, info):
        self.start_info = info

    def on_batch_end(self, event):
        self.batches.append(event)

    def on_epoch_end(self, event):
        self.epochs.append(event)

    def on_train_end(self, result):
        self.result = result


class PrintProgress(Callback):
    """One line per epoch (and a carriage-return progress line per event) to a sink."""

    def __init__(self, sink: Callable[[str], None] | None = None, live: bool = True):
        self.sink = sink or (lambda text: print(text, file=sys.stderr, flush=True))
        self.live = live and sink is None and sys.stderr.isatty()

    def on_batch_end(self, event):
        if self.live:
            done = event.step / max(event.total_steps, 1)
            bar = "#" * int(30 * done)
            print(f"\r[{bar:<30}] epoch {event.epoch} step {event.step}/{event.total_steps} "
                  f"loss {event.loss:.4f} acc {event.running_accuracy:.3f} "
                  f"{event.examples_per_second:,.0f} img/s", end="", file=sys.stderr, flush=True)

    def on_epoch_end(self, event):
        if self.live:
            print(file=sys.stderr)
        val = ("" if event.val_accuracy is None
               else f" | val loss {event.val_loss:.4f} acc {event.val_accuracy:.4f}")
        self.sink(f"epoch {event.epoch}: train loss {event.train_loss:.4f} acc {event.train_accuracy:.4f}"
                  f"{val} | {event.seconds:.1f} s")
