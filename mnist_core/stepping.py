"""Step mode: train one batch at a time and see what each step changed.

A `StepSession` holds one model, its optimizer and its place in the batch
order. `step(count)` trains `count` batches (`step_to_epoch_end()` the rest of
the epoch) and returns, for each batch, the loss on that batch before and
after its update (both with dropout off, so they compare like with like) and
the running training accuracy of the epoch. It also keeps the first layer's
weights from before the press, so `first_layer_change()` shows what the press
did to them: for softmax regression the ten digit templates, for an MLP the
first-layer units that moved most, for a CNN the first conv filters.

It is built from fit()'s own pieces (train.py's `_prepare` and `_train_step`),
so stepping a session through all its batches takes exactly the steps fit()
takes (same split, batch order, initial weights, schedule and dropout masks)
and a stepped run is an ordinary run. Every batch and epoch goes into a
`History`, as fit() reports them, so the live view draws a stepped run like any
other. `result()` evaluates it and returns a TrainResult for the run store. Nothing here knows about threads or pages;
mnist_core/jobs.py runs a session as a job.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .callbacks import BatchEvent, EpochEvent
from .config import TrainConfig
from .data import MnistData, iterate_batches
from .history import History
from .inspection import conv_filters, first_layer_units, strongest_units
from .models import as_model_input
from .pictures import colour_legend, diverging_rgb, symmetric_limit, tile_grid
# The engine's own preparation and step (train.py): a stepped run is fit()'s run, one press at a time.
from .train import TrainResult, _prepare, _train_step, divergence_reason, evaluate, has_diverged

UNITS_SHOWN = 16  # first-layer units drawn for an MLP: the ones the press moved most


@dataclass
class StepRecord:
    """One batch trained by hand."""
    step: int  # batches done since the start (1-based)
    epoch: int  # 1-based
    loss_before: float  # loss on this batch before the update (dropout off)
    loss_after: float  # loss on the same batch after it (dropout off)
    loss: float  # the training loss the gradient came from (dropout on)
    running_accuracy: float  # training accuracy over this epoch's batches so far
    batch_size: int


def first_layer_weights(model: torch.nn.Module) -> np.ndarray:
    """(tiles, h, w): the first layer's weights as pictures (pixel templates or conv filters)."""
    try:
        return first_layer_units(model)
    except ValueError:  # a CNN: its first layer is a set of small filters
        return conv_filters(model)


class StepSession:
    """One run trained by hand, batch by batch."""

    def __init__(self, config: TrainConfig, data: MnistData, history: History | None = None):
        self.config, self.data = config, data
        # `history` gets every batch (log interval 1) and epoch event, as fit() reports them.
        self.history = history if history is not None else History()
        self._run = _prepare(config, data, self.history, callbacks=(), log_every=1)
        self.model, self.split, self.total_steps = self._run.model, self._run.split, self._run.total_steps
        self.train_size = len(self.split.train_index)
        self.steps_per_epoch = self.history.steps_per_epoch
        self.epoch = 0
        self._epoch_batches: list[torch.Tensor] = []
        self._sums = {"loss": 0.0, "correct": 0, "seen": 0}
        self.records: list[StepRecord] = []
        self.epoch_events: list[dict] = []
        self.status, self.reason = "running", ""
        self.train_seconds = 0.0
        self._weights_before_press = first_layer_weights(self.model)

    @property
    def step_count(self) -> int:
        return self._run.step

    # --- where the session is ---------------------------------------------------
    @property
    def done(self) -> bool:
        return self.status != "running" or self.step_count >= self.total_steps

    @property
    def batches_left_in_epoch(self) -> int:
        if self.epoch == 0 or not self._epoch_batches:
            return min(self.steps_per_epoch, self.total_steps - self.step_count)
        return min(len(self._epoch_batches), self.total_steps - self.step_count)

    # --- stepping -------------------------------------------------------------------
    def step(self, count: int = 1) -> list[StepRecord]:
        """Train up to `count` batches (fewer at the end of the run); their records."""
        self._weights_before_press = first_layer_weights(self.model)
        done = []
        for _ in range(max(0, int(count))):
            if self.done:
                break
            done.append(self._one_batch())
        return done

    def step_to_epoch_end(self) -> list[StepRecord]:
        """Train the rest of the current epoch (a whole epoch if the last one just ended)."""
        return self.step(self.batches_left_in_epoch)

    def _start_epoch(self) -> None:
        self.epoch += 1
        self._epoch_batches = list(iterate_batches(self.train_size, self.config.batch_size, self._run.order))
        self._sums = {"loss": 0.0, "correct": 0, "seen": 0}
        self._epoch_start = time.perf_counter()

    @torch.no_grad()
    def _batch_loss(self, x, y) -> float:
        self.model.eval()
        return F.cross_entropy(self.model(as_model_input(self.model, x)), y).item()

    def _one_batch(self) -> StepRecord:
        if not self._epoch_batches:
            self._start_epoch()
        t0 = time.perf_counter()
        rows = self.split.train_index[self._epoch_batches.pop(0)]
        x, y = self.data.train_x[rows], self.data.train_labels[rows]
        before = self._batch_loss(x, y)
        self.model.train()
        loss, correct = _train_step(self._run, x, y)
        self._run.step += 1
        after = self._batch_loss(x, y)
        seconds = time.perf_counter() - t0
        self.train_seconds += seconds
        self._sums["loss"] += loss * len(y)
        self._sums["correct"] += correct
        self._sums["seen"] += len(y)
        record = StepRecord(step=self.step_count, epoch=self.epoch, loss_before=before, loss_after=after,
                            loss=loss, running_accuracy=self._sums["correct"] / self._sums["seen"],
                            batch_size=len(y))
        self.records.append(record)
        self.history.on_batch_end(BatchEvent(step=record.step, epoch=record.epoch, total_steps=self.total_steps,
                                             loss=loss, running_accuracy=record.running_accuracy,
                                             examples_per_second=len(y) / max(seconds, 1e-9)))
        if has_diverged(loss) or has_diverged(after):
            self.status, self.reason = "diverged", divergence_reason(self.config, self.step_count, loss)
        elif not self._epoch_batches or self.step_count >= self.total_steps:
            self._end_epoch()
        return record

    def _epoch_event(self) -> EpochEvent:
        x_val = self.data.train_x[self.split.val_index]
        val = evaluate(self.model, x_val, self.data.train_labels[self.split.val_index])
        seen = self._sums["seen"]
        return EpochEvent(epoch=self.epoch, step=self.step_count, train_loss=self._sums["loss"] / seen,
                          train_accuracy=self._sums["correct"] / seen, val_loss=val["loss"],
                          val_accuracy=val["accuracy"], per_class_val_accuracy=val["per_class_accuracy"],
                          seconds=time.perf_counter() - self._epoch_start)

    def _end_epoch(self) -> None:
        event = self._epoch_event()
        self.epoch_events.append(event.to_dict())
        self.history.on_epoch_end(event)
        self._epoch_batches = []

    # --- what a press changed --------------------------------------------------------
    def first_layer_change(self) -> np.ndarray:
        """(tiles, h, w): first-layer weights now minus before the last press."""
        return first_layer_weights(self.model) - self._weights_before_press

    def change_picture(self, scale: int = 3):
        """The last press's change in the first layer as one picture (a PIL image) and its colour limit.

        Softmax: the ten digit templates; MLP: the UNITS_SHOWN units that moved most; CNN: the filters.
        Orange means the weight went up, blue that it went down.
        """
        change = self.first_layer_change()
        labels = None
        if self.config.arch == "softmax":
            labels = [str(d) for d in range(10)]
        elif self.config.arch != "cnn":
            order = strongest_units(change)[:UNITS_SHOWN]
            change, labels = change[order], [f"unit {i + 1}" for i in order]
        limit = symmetric_limit(change) if np.abs(change).max() > 0 else 1.0
        tile_scale = scale if change.shape[-1] > 8 else scale * 8  # 3x3 filters need to be drawn big
        picture = tile_grid([diverging_rgb(tile, limit) for tile in change], columns=10 if labels else 8,
                            scale=tile_scale, labels=labels, label_size=12)
        return picture, limit, colour_legend(limit)

    # --- the end ---------------------------------------------------------------------
    def result(self, evaluate_test: bool = True) -> TrainResult:
        """The session so far as a run (what the run store saves); stepping can go on afterwards."""
        history = self.history.to_dict()
        if self._epoch_batches and self._sums["seen"]:
            history["epochs"].append(self._epoch_event().to_dict())  # a partial epoch is validated, as fit() does
        for row, record in zip(history["batches"], self.records):
            row.update(loss_before=record.loss_before, loss_after=record.loss_after)
        finished = self.step_count >= self.total_steps and self.status == "running"
        status = self.status if self.status != "running" else ("completed" if finished else "stopped")
        epochs = max(self.epoch, 1 if self.step_count else 0)
        batches = f"{self.step_count} batch{'es' if self.step_count != 1 else ''}"
        reason = self.reason or (f"trained by hand, one press at a time: {batches} in {epochs} "
                                 f"epoch{'s' if epochs != 1 else ''}.")
        result = self._run.result
        result.model, result.status, result.reason, result.history = self.model.eval(), status, reason, history
        result.epochs_run, result.steps, result.train_seconds = self.epoch, self.step_count, self.train_seconds
        if history["epochs"]:
            result.train_accuracy = history["epochs"][-1]["train_accuracy"]
            result.val_accuracy = history["epochs"][-1]["val_accuracy"]
        if evaluate_test and status != "diverged":
            test = evaluate(self.model, self.data.test_x, self.data.test_labels)
            result.test_accuracy, result.test_loss = test["accuracy"], test["loss"]
            result.test_probabilities = test["probabilities"].numpy().astype(np.float32)
        return result
