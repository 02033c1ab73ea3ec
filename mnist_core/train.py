"""The training loop: `fit(config, data)` trains one model and reports through callbacks.

It knows nothing about pages or the CLI. It checks a stop flag before every
batch, ends a run whose loss turns NaN or explodes as `diverged` (not an exception),
restores the best weights when early stopping, and evaluates on the test set
at the end, so that a `TrainResult` is everything a page or the run store needs.
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

from .callbacks import BatchEvent, Callback, EpochEvent
from .config import OPTIMIZERS, ConfigError, TrainConfig
from .data import NUM_CLASSES, MnistData, batch_count, iterate_batches, make_split
from .models import count_parameters, create_model
from .snapshots import SnapshotCallback

STATUSES = ("completed", "stopped", "diverged", "early-stopped", "failed")
EVAL_BATCH = 1000  # big batches are fastest for inference and still small in memory
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
    history: dict = field(default_factory=lambda: {"batches": [], "epochs": []})
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


def _as_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """CNNs run in channels_last layout (faster on CPU); other models take x as it is."""
    if isinstance(getattr(model, "features", None), nn.Sequential):
        return x.contiguous(memory_format=torch.channels_last)
    return x


@torch.no_grad()
def predict_probabilities(model: nn.Module, x: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Softmax outputs (N, 10) for normalized images (N, 1, 28, 28), in eval mode."""
    was_training = model.training
    model.eval()
    out = [F.softmax(model(_as_input(model, x[i:i + batch_size])), dim=1)
           for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, NUM_CLASSES)


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


def _make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    # Weight decay (L2) applies to weights, not biases: a bias does not make a template noisy.
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


def fit(config: TrainConfig, data: MnistData, callbacks: list[Callback] | tuple = (),
        stop: threading.Event | None = None, log_every: int = 10, evaluate_test: bool = True) -> TrainResult:
    """Train a model as `config` says on `data`, reporting to `callbacks`.

    `stop` is checked before every batch: when it is set the run ends with
    status "stopped" and keeps what it learned. Returns a TrainResult.
    """
    config.validate()
    callbacks = [*callbacks, SnapshotCallback()]  # every run keeps weights for time travel
    if config.engine == "numpy":  # the from-scratch network; same split, batches, callbacks and result
        from .numpy_engine import fit_numpy
        return fit_numpy(config, data, callbacks, stop, log_every, evaluate_test)
    start = time.perf_counter()
    split = make_split(data, config.val_fraction, config.subset, config.seed)
    n_train = len(split.train_index)
    if config.batch_size > n_train:
        raise ConfigError(f"The batch size {config.batch_size:,} is larger than the training set "
                          f"({n_train:,} images): choose at most {n_train:,}.")
    model = create_model(config)
    optimizer = _make_optimizer(model, config)
    steps_per_epoch = batch_count(n_train, config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
                 if config.schedule == "onecycle" else None)
    order_gen = torch.Generator().manual_seed(config.seed + 1)
    torch.manual_seed(config.seed + 2)  # dropout masks
    l1_weights = [p for p in model.parameters() if p.dim() > 1] if config.l1 else []
    x_val, y_val = data.train_x[split.val_index], data.train_labels[split.val_index]

    result = TrainResult(model=model, config=config, status="completed", reason="",
                         parameters=count_parameters(model), train_size=n_train, data_source=data.source)
    info = {"total_steps": total_steps, "epochs": config.epochs, "steps_per_epoch": steps_per_epoch,
            "train_size": n_train, "val_size": len(split.val_index), "parameters": result.parameters,
            "model": model}  # lets a callback evaluate the live model (e.g. bench/train_speed.py)
    for cb in callbacks:
        cb.on_train_start(info)

    step, best_loss, best_state, stale = 0, math.inf, None, 0
    status, reason = "completed", ""
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        sums = {"loss": 0.0, "correct": 0, "seen": 0}  # since epoch start
        window = {"loss": 0.0, "correct": 0, "seen": 0, "t": time.perf_counter()}
        for index in iterate_batches(n_train, config.batch_size, order_gen):
            if stop is not None and stop.is_set():
                status, reason = "stopped", f"stopped by the user at step {step} (epoch {epoch})."
                break
            if config.max_steps and step >= config.max_steps:
                break
            t0 = time.perf_counter()
            rows = split.train_index[index]
            x, y = _as_input(model, data.train_x[rows]), data.train_labels[rows]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            objective = loss + config.l1 * sum(p.abs().sum() for p in l1_weights) if l1_weights else loss
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            step += 1
            result.epochs_run = epoch  # counted once a batch ran: a stop between epochs starts none
            loss_value = loss.item()
            result.train_seconds += time.perf_counter() - t0
            if not math.isfinite(loss_value) or loss_value > EXPLODED_LOSS:
                status, reason = "diverged", divergence_reason(config, step, loss_value)
                break
            correct = (logits.argmax(1) == y).sum().item()
            for totals in (sums, window):
                totals["loss"] += loss_value * len(y)
                totals["correct"] += correct
                totals["seen"] += len(y)
            if step % log_every == 0 or step == total_steps:
                now = time.perf_counter()
                event = BatchEvent(step=step, epoch=epoch, total_steps=total_steps,
                                   loss=window["loss"] / window["seen"],
                                   running_accuracy=window["correct"] / window["seen"],
                                   examples_per_second=window["seen"] / max(now - window["t"], 1e-9))
                result.history["batches"].append(event.to_dict())
                for cb in callbacks:
                    cb.on_batch_end(event)
                window = {"loss": 0.0, "correct": 0, "seen": 0, "t": now}
        result.steps = step
        if status == "diverged":
            break
        # End of epoch (or of a stopped partial epoch): validate and report.
        val = evaluate(model, x_val, y_val)
        if val["loss"] is not None and not math.isfinite(val["loss"]):
            # The last step blew the weights up after its own loss was measured.
            status, reason = "diverged", divergence_reason(config, step, val["loss"])
            break
        train_loss = sums["loss"] / sums["seen"] if sums["seen"] else math.nan
        train_acc = sums["correct"] / sums["seen"] if sums["seen"] else math.nan
        event = EpochEvent(epoch=epoch, step=step, train_loss=train_loss, train_accuracy=train_acc,
                           val_loss=val["loss"], val_accuracy=val["accuracy"],
                           per_class_val_accuracy=val["per_class_accuracy"],
                           seconds=time.perf_counter() - epoch_start)
        if sums["seen"]:
            result.history["epochs"].append(event.to_dict())
            result.train_accuracy, result.val_accuracy = train_acc, val["accuracy"]
            for cb in callbacks:
                cb.on_epoch_end(event)
        if status == "stopped" or (config.max_steps and step >= config.max_steps):
            break
        if config.early_stopping and val["loss"] is not None:
            if val["loss"] < best_loss - 1e-6:
                best_loss, stale = val["loss"], 0
                best_state = (epoch, copy.deepcopy(model.state_dict()), val["accuracy"])
            else:
                stale += 1
                if stale >= config.early_stopping:
                    status = "early-stopped"
                    reason = (f"early-stopped at epoch {epoch}: the validation loss has not improved for "
                              f"{stale} epoch{'s' if stale > 1 else ''}, so the weights of epoch "
                              f"{best_state[0]} (the best) were restored.")
                    break

    if status == "early-stopped" and best_state is not None:
        result.best_epoch, state, result.val_accuracy = best_state
        model.load_state_dict(state)
    if status == "completed":
        reason = f"completed {result.epochs_run} epoch{'s' if result.epochs_run > 1 else ''} ({step} steps)."
    model.eval()
    if evaluate_test and status != "diverged":
        test = evaluate(model, data.test_x, data.test_labels)
        if test["loss"] is not None and not math.isfinite(test["loss"]):
            status, reason = "diverged", divergence_reason(config, step, test["loss"])  # no validation set caught it
        else:
            result.test_accuracy, result.test_loss = test["accuracy"], test["loss"]
            result.test_probabilities = test["probabilities"].numpy().astype(np.float32)
    result.status, result.reason = status, reason
    result.total_seconds = time.perf_counter() - start
    for cb in callbacks:
        cb.on_train_end(result)
    return result
