"""The training loop: `fit(config, data)` trains one model and reports through callbacks.

It reads like pytorch/examples' mnist/main.py: `fit` prepares a model and an
optimizer, then for each epoch calls `train_epoch`, `evaluate` on the held-out
images, and asks `EarlyStopping` whether to go on. It knows nothing about
pages or the CLI: every event goes into the run's one `History` and to the
callbacks. It checks a stop flag before every batch, ends a run whose loss
turns NaN or explodes as `diverged` (not an exception), restores the best
weights when early stopping, and evaluates on the test set at the end, so that
a `TrainResult` is everything a page or the run store needs.
"""
from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .augment import augment_batch
from .callbacks import BatchEvent, Callback, EpochEvent
from .config import NUM_CLASSES, OPTIMIZERS, TrainConfig
from .data import MnistData, Split, batch_count, iterate_batches, make_split
from .device import for_inspection, on_device, resolve_device
from .history import History, log_interval
from .models import as_model_input, count_parameters, create_model
from .predict import predict_probabilities
from .snapshots import SnapshotCallback

STATUSES = ("completed", "stopped", "diverged", "early-stopped", "failed")
# A batch loss above this means the weights have blown up (chance level is ln 10 = 2.3).
# ReLU nets hit by a huge learning rate often reach 1e15 and then die, never turning NaN;
# a rate that is merely high (softmax, SGD lr 30) peaks near 1e3 and still learns.
EXPLODED_LOSS = 1e4


@dataclass
class TrainResult:
    model: nn.Module
    config: TrainConfig
    status: str  # one of STATUSES
    reason: str  # a sentence saying what happened, for the status line
    history: dict = field(default_factory=lambda: {"batches": [], "epochs": []})  # History.to_dict()
    epochs_run: int = 0  # epochs started (a stopped run counts its partial epoch)
    steps: int = 0
    train_seconds: float = 0.0  # time spent inside the training batches
    total_seconds: float = 0.0  # wall time of fit(), evaluation included
    best_epoch: int | None = None  # the epoch whose weights were restored (early stopping)
    train_accuracy: float | None = None  # of the last epoch, dropout on
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    test_loss: float | None = None
    test_probabilities: np.ndarray | None = None  # (n_test, 10) float32 softmax outputs
    parameters: int = 0
    train_size: int = 0
    data_source: str = "mnist"
    snapshots: dict = field(default_factory=dict)  # {epoch: state_dict}, from snapshots.SnapshotCallback

    def summary(self) -> dict:
        """Plain-number summary: what the CLI prints and the run store saves as metrics."""
        return {
            "status": self.status, "reason": self.reason,
            "test_accuracy": self.test_accuracy, "test_loss": self.test_loss,
            "val_accuracy": self.val_accuracy, "train_accuracy": self.train_accuracy,
            "epochs_run": self.epochs_run, "steps": self.steps, "best_epoch": self.best_epoch,
            "train_seconds": round(self.train_seconds, 3), "total_seconds": round(self.total_seconds, 3),
            "parameters": self.parameters, "train_size": self.train_size, "data_source": self.data_source,
        }


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Loss, accuracy, per-class accuracy, predictions and probabilities on (x, y)."""
    probs = predict_probabilities(model, x)
    if len(y) == 0:
        return {"loss": None, "accuracy": None, "per_class_accuracy": [], "predictions": y, "probabilities": probs}
    loss = F.nll_loss(torch.log(probs.clamp_min(1e-12)), y).item()
    predictions = probs.argmax(1)
    correct = predictions == y
    counts = torch.bincount(y, minlength=NUM_CLASSES).clamp_min(1)
    per_class = torch.bincount(y[correct], minlength=NUM_CLASSES) / counts
    return {"loss": loss, "accuracy": correct.float().mean().item(),
            "per_class_accuracy": [round(v, 6) for v in per_class.tolist()],
            "predictions": predictions, "probabilities": probs}


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer `config` names. Weight decay (L2) applies to weights, not biases: a bias does
    not make a template noisy."""
    weights = [p for p in model.parameters() if p.dim() > 1]
    biases = [p for p in model.parameters() if p.dim() <= 1]
    groups = [{"params": weights, "weight_decay": config.l2}, {"params": biases, "weight_decay": 0.0}]
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr, fused=True)  # fused: ~2x faster step on CPU
    momentum = config.momentum if config.optimizer == "momentum" else 0.0
    return torch.optim.SGD(groups, lr=config.lr, momentum=momentum)


def _suggest_lr(config: TrainConfig) -> float:
    """A learning rate worth trying after a divergence: the optimizer's usual one, or 10x smaller."""
    usual = OPTIMIZERS[config.optimizer][1]
    return usual if config.lr > usual else config.lr / 10


def divergence_reason(config: TrainConfig, step: int, loss: float) -> str:
    """The sentence shown when the loss stops being a number or explodes."""
    if math.isfinite(loss):
        what = f"exploded to {loss:.3g}"
    else:
        what = "became NaN" if math.isnan(loss) else "became infinite"
    name = OPTIMIZERS[config.optimizer][0]
    return (f"loss {what} at step {step}: the learning rate {config.lr:g} is too large for "
            f"{name} — try {_suggest_lr(config):g}.")


def has_diverged(loss: float | None) -> bool:
    """The divergence check: a loss that is NaN, infinite or above EXPLODED_LOSS.

    >>> has_diverged(float("nan")), has_diverged(1e5), has_diverged(0.3), has_diverged(None)
    (True, True, False, False)
    """
    return loss is not None and (not math.isfinite(loss) or loss > EXPLODED_LOSS)


class EarlyStopping:
    """Remembers the best validation loss and its weights; says when `patience` epochs brought
    nothing better. patience 0 never stops."""

    def __init__(self, patience: int):
        self.patience, self.best_loss, self.stale = patience, math.inf, 0
        self.best: tuple[int, dict, float | None] | None = None  # (epoch, state_dict, val accuracy)

    def should_stop(self, epoch: int, val_loss: float | None, val_accuracy, model: nn.Module) -> bool:
        if not self.patience or val_loss is None:
            return False
        if val_loss < self.best_loss - 1e-6:
            self.best_loss, self.stale = val_loss, 0
            self.best = (epoch, copy.deepcopy(model.state_dict()), val_accuracy)
            return False
        self.stale += 1
        return self.stale >= self.patience

    def reason(self, epoch: int) -> str:
        return (f"early-stopped at epoch {epoch}: the validation loss has not improved for {self.stale} "
                f"epoch{'s' if self.stale > 1 else ''}, so the weights of epoch {self.best[0]} (the best) "
                "were restored.")


class _Window:
    """Running loss and accuracy over the batches since it was last reset."""

    def __init__(self):
        self.loss, self.correct, self.seen, self.started = 0.0, 0, 0, time.perf_counter()

    def add(self, loss: float, correct: int, n: int) -> None:
        self.loss, self.correct, self.seen = self.loss + loss * n, self.correct + correct, self.seen + n

    @property
    def mean_loss(self) -> float:
        return self.loss / self.seen if self.seen else math.nan

    @property
    def accuracy(self) -> float:
        return self.correct / self.seen if self.seen else math.nan


@dataclass
class _Run:
    """What one fit() works with: the pieces train_epoch needs, and the counters it moves."""
    config: TrainConfig
    data: MnistData
    split: Split
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    order: torch.Generator
    total_steps: int
    every: int  # steps between batch events
    history: History
    callbacks: list
    result: TrainResult
    step: int = 0
    augment: torch.Generator | None = None  # the augmentation's random stream, when config.augment


def _train_step(run: _Run, x: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
    """One batch forward and backward; returns (loss, correct predictions)."""
    config, model = run.config, run.model
    logits = model(as_model_input(model, x))
    loss = F.cross_entropy(logits, y)
    if config.l1:
        loss_to_minimise = loss + config.l1 * sum(p.abs().sum() for p in model.parameters() if p.dim() > 1)
    else:
        loss_to_minimise = loss
    run.optimizer.zero_grad(set_to_none=True)
    loss_to_minimise.backward()
    run.optimizer.step()
    if run.scheduler is not None:
        run.scheduler.step()
    return loss.item(), (logits.argmax(1) == y).sum().item()


def _emit(run: _Run, hook: str, event) -> None:
    getattr(run.history, hook)(event)
    for cb in run.callbacks:
        getattr(cb, hook)(event)


def train_epoch(run: _Run, epoch: int, stop: threading.Event | None) -> tuple[str, str, _Window]:
    """One pass over the training images. Returns (status, reason, the epoch's running totals);
    status is "" when the epoch simply ended."""
    run.model.train()
    epoch_totals, window = _Window(), _Window()
    for index in iterate_batches(len(run.split.train_index), run.config.batch_size, run.order):
        if stop is not None and stop.is_set():
            return "stopped", f"stopped by the user at step {run.step} (epoch {epoch}).", epoch_totals
        if run.config.max_steps and run.step >= run.config.max_steps:
            break
        t0 = time.perf_counter()
        rows = run.split.train_index[index]
        y = run.data.train_labels[rows]
        x = run.data.train_x[rows]
        if run.augment is not None:
            x = augment_batch(x, generator=run.augment)
        loss, correct = _train_step(run, x, y)
        run.step += 1
        run.result.epochs_run = epoch  # counted once a batch ran: a stop between epochs starts none
        run.result.train_seconds += time.perf_counter() - t0
        if has_diverged(loss):
            return "diverged", divergence_reason(run.config, run.step, loss), epoch_totals
        epoch_totals.add(loss, correct, len(y))
        window.add(loss, correct, len(y))
        if run.step % run.every == 0 or run.step == run.total_steps:
            now = time.perf_counter()
            _emit(run, "on_batch_end", BatchEvent(
                step=run.step, epoch=epoch, total_steps=run.total_steps, loss=window.mean_loss,
                running_accuracy=window.accuracy, examples_per_second=window.seen / max(now - window.started, 1e-9)))
            window = _Window()
    return "", "", epoch_totals


def _prepare(config: TrainConfig, data: MnistData, history: History, callbacks, log_every: int | None) -> _Run:
    device = resolve_device(config.device)  # DeviceError (one sentence) for cuda on a machine without it
    split = make_split(data, config.val_fraction, config.subset, config.seed)  # on the CPU, seeded alike
    n_train = len(split.train_index)
    config.check_batch_size(n_train)
    model = create_model(config)
    if device != "cpu":
        data = on_device(data, device)  # the tensors move once, never batch by batch
        split = Split(split.train_index.to(device), split.val_index.to(device))
        model = model.to(device)
    optimizer = make_optimizer(model, config)
    steps_per_epoch = batch_count(n_train, config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
                 if config.schedule == "onecycle" else None)
    order = torch.Generator().manual_seed(config.seed + 1)
    torch.manual_seed(config.seed + 2)  # dropout masks
    result = TrainResult(model=model, config=config, status="completed", reason="",
                         parameters=count_parameters(model), train_size=n_train, data_source=data.source)
    augment = torch.Generator().manual_seed(config.seed + 3) if config.augment else None
    run = _Run(config, data, split, model, optimizer, scheduler, order, total_steps,
               log_every or log_interval(config, total_steps), history, list(callbacks), result, augment=augment)
    for cb in run.callbacks:
        cb.set_model(model)
    _emit(run, "on_train_start", {"total_steps": total_steps, "epochs": config.epochs,
                                  "steps_per_epoch": steps_per_epoch, "train_size": n_train,
                                  "val_size": len(split.val_index), "parameters": result.parameters})
    return run


def fit(config: TrainConfig, data: MnistData, callbacks: list[Callback] | tuple = (),
        stop: threading.Event | None = None, evaluate_test: bool = True,
        history: History | None = None, log_every: int | None = None) -> TrainResult:
    """Train a model as `config` says on `data`, reporting into `history` and to `callbacks`.

    `stop` is checked before every batch: when it is set the run ends with
    status "stopped" and keeps what it learned. The engine decides how often a
    batch event is recorded (`history.log_interval`); `log_every` asks for another
    interval (tests and benchmarks that count events). Returns a TrainResult.
    """
    callbacks = [*callbacks, SnapshotCallback()]  # every run keeps weights for time travel
    if config.engine == "numpy":  # the from-scratch network: same split, batches, events and result
        from .numpy_engine import fit_numpy
        return fit_numpy(config, data, callbacks, stop, evaluate_test, history, log_every)
    start = time.perf_counter()
    history = history if history is not None else History()
    run = _prepare(config, data, history, callbacks, log_every)
    result, model, data = run.result, run.model, run.data
    x_val, y_val = data.train_x[run.split.val_index], data.train_labels[run.split.val_index]
    early = EarlyStopping(config.early_stopping)
    status, reason = "completed", ""
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        status, reason, totals = train_epoch(run, epoch, stop)
        result.steps = run.step
        if status == "diverged":
            break
        val = evaluate(model, x_val, y_val)
        if val["loss"] is not None and not math.isfinite(val["loss"]):
            # The last step blew the weights up after its own loss was measured.
            status, reason = "diverged", divergence_reason(config, run.step, val["loss"])
            break
        if totals.seen:
            result.train_accuracy, result.val_accuracy = totals.accuracy, val["accuracy"]
            _emit(run, "on_epoch_end", EpochEvent(
                epoch=epoch, step=run.step, train_loss=totals.mean_loss, train_accuracy=totals.accuracy,
                val_loss=val["loss"], val_accuracy=val["accuracy"], per_class_val_accuracy=val["per_class_accuracy"],
                seconds=time.perf_counter() - epoch_start))
        status = status or "completed"
        if status == "stopped" or (config.max_steps and run.step >= config.max_steps):
            break
        if early.should_stop(epoch, val["loss"], val["accuracy"], model):
            status, reason = "early-stopped", early.reason(epoch)
            result.best_epoch, state, result.val_accuracy = early.best
            model.load_state_dict(state)
            break

    if status == "completed":
        reason = f"completed {result.epochs_run} epoch{'s' if result.epochs_run > 1 else ''} ({run.step} steps)."
    model.eval()
    if evaluate_test and status != "diverged":
        test = evaluate(model, data.test_x, data.test_labels)
        if test["loss"] is not None and not math.isfinite(test["loss"]):
            status, reason = "diverged", divergence_reason(config, run.step, test["loss"])  # no validation set caught it
        else:
            result.test_accuracy, result.test_loss = test["accuracy"], test["loss"]
            result.test_probabilities = test["probabilities"].cpu().numpy().astype(np.float32)
    result.status, result.reason = status, reason
    result.model = for_inspection(model)  # on the CPU, where pages, the store and drawing expect it
    result.history = history.to_dict()
    result.total_seconds = time.perf_counter() - start
    _emit(run, "on_train_end", result)
    return result
