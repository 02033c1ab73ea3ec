"""The one record of a training run: `History`, written by fit() and read by everyone else.

fit() appends every progress event here and then tells its callbacks; the live
view reads `snapshot()` from another thread; the run store saves `to_dict()`;
the Run history page downloads `to_csv()`. The engine decides how many steps an
epoch has and how often a batch event is recorded (`log_interval`), so no page
recomputes either. Nothing here imports streamlit or torch.
"""
from __future__ import annotations

import csv
import io
import threading

from .callbacks import BatchEvent, Callback, EpochEvent
from .config import NUM_CLASSES, TrainConfig

EVENTS_PER_RUN = 100  # a short run still draws a curve of about this many points


def log_interval(config: TrainConfig, total_steps: int) -> int:
    """Steps between two recorded batch events: often enough for about EVENTS_PER_RUN points in a
    short run, and at most every 10 steps (every 2 for the CNN, whose steps are ~15x slower), so
    that a live chart moves at least twice a second.

    >>> log_interval(TrainConfig(arch="mlp"), 1266), log_interval(TrainConfig(arch="cnn"), 1266)
    (10, 2)
    >>> log_interval(TrainConfig(arch="mlp"), 20)
    1
    """
    most = 2 if config.arch in ("cnn", "deep-cnn") else 10
    return max(1, min(most, total_steps // EVENTS_PER_RUN))


class History(Callback):
    """A run's progress, thread-safe: `info` at the start, batch and epoch events as plain dicts.

    The worker writes through the hooks; a reader calls `snapshot()` and gets
    plain lists it may keep. No UI code ever runs in the worker.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.info: dict = {}  # total_steps, epochs, steps_per_epoch, train_size, val_size, parameters
        self.batches: list[dict] = []
        self.epochs: list[dict] = []
        self.latest_batch: dict | None = None
        self.finished = False

    # --- written by fit() -------------------------------------------------------------
    def on_train_start(self, info: dict) -> None:
        with self._lock:
            self.info = dict(info)

    def on_batch_end(self, event: BatchEvent) -> None:
        row = event.to_dict()
        with self._lock:
            self.batches.append(row)
            self.latest_batch = row

    def on_epoch_end(self, event: EpochEvent) -> None:
        with self._lock:
            self.epochs.append(event.to_dict())

    def on_train_end(self, result) -> None:
        with self._lock:
            self.finished = True

    # --- read by pages, the store and the CLI -------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        return self.info.get("steps_per_epoch") or 1

    def snapshot(self) -> dict:
        """Copies of everything so far: info, batches, epochs, latest_batch, finished."""
        with self._lock:
            return {"info": dict(self.info), "batches": list(self.batches), "epochs": list(self.epochs),
                    "latest_batch": self.latest_batch, "finished": self.finished}

    def to_dict(self) -> dict:
        """What a run folder keeps (history.json): the events and the steps per epoch."""
        with self._lock:
            return {"steps_per_epoch": self.steps_per_epoch, "batches": list(self.batches),
                    "epochs": list(self.epochs)}


CSV_COLUMNS = (["event", "epoch", "step", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                "examples_per_second", "seconds"] + [f"val_accuracy_digit_{d}" for d in range(NUM_CLASSES)])


def history_csv_rows(history: dict) -> list[dict]:
    """One row per recorded event, in step order: "batch" rows carry the running training loss and
    accuracy, "epoch" rows the epoch's train and validation numbers and per-digit accuracy.

    >>> rows = history_csv_rows({"batches": [{"step": 10, "epoch": 1, "loss": 0.5, "running_accuracy": 0.8,
    ...                                       "examples_per_second": 9000.0}], "epochs": []})
    >>> rows[0]["event"], rows[0]["train_loss"], rows[0]["val_loss"]
    ('batch', 0.5, '')
    """
    rows = []
    for b in history.get("batches") or []:
        row = dict.fromkeys(CSV_COLUMNS, "")
        row.update(event="batch", epoch=b.get("epoch", ""), step=b.get("step", ""), train_loss=b.get("loss", ""),
                   train_accuracy=b.get("running_accuracy", ""),
                   examples_per_second=b.get("examples_per_second", ""))
        rows.append(row)
    for e in history.get("epochs") or []:
        row = dict.fromkeys(CSV_COLUMNS, "")
        row.update(event="epoch", epoch=e.get("epoch", ""), step=e.get("step", ""),
                   train_loss=e.get("train_loss", ""), train_accuracy=e.get("train_accuracy", ""),
                   val_loss=e.get("val_loss") if e.get("val_loss") is not None else "",
                   val_accuracy=e.get("val_accuracy") if e.get("val_accuracy") is not None else "",
                   seconds=e.get("seconds", ""))
        for digit, acc in enumerate(e.get("per_class_val_accuracy") or []):
            row[f"val_accuracy_digit_{digit}"] = acc
        rows.append(row)
    # Epoch rows sort after the batch row of the same step.
    return sorted(rows, key=lambda r: (r["step"] if r["step"] != "" else 0, r["event"] == "epoch"))


def history_to_csv(history: dict) -> str:
    """The history as CSV text with a header line (see history_csv_rows for the columns)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history_csv_rows(history))
    return out.getvalue()


def best_val_epoch(epochs: list[dict]) -> int | None:
    """The 1-based epoch with the highest validation accuracy (ties go to the earliest), from a
    history's epoch events; None when there is no validation set or no epoch.

    >>> best_val_epoch([{"epoch": 1, "val_accuracy": 0.9}, {"epoch": 2, "val_accuracy": 0.95},
    ...                 {"epoch": 3, "val_accuracy": 0.95}, {"epoch": 4, "val_accuracy": 0.94}])
    2
    >>> best_val_epoch([{"epoch": 1, "val_accuracy": None}]) is None, best_val_epoch([]) is None
    (True, True)
    """
    scored = [(e["val_accuracy"], -e["epoch"]) for e in epochs if e.get("val_accuracy") is not None]
    return -max(scored)[1] if scored else None
