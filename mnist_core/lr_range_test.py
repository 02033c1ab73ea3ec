"""The learning-rate range test: one short run whose learning rate grows at every batch.

The lr rises exponentially from 1e-5 to 10 over about 300 batches while the
loss is recorded. While the lr is too small the loss barely moves; in the
good range it falls fast; past it the loss shoots up. The suggested lr is a
tenth of the lr where the (smoothed) loss was lowest: safely inside the range
where the loss still fell fast.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import ConfigError, TrainConfig
from .data import MnistData, iterate_batches, make_split
from .models import create_model

START_LR, END_LR, STEPS = 1e-5, 10.0, 300
SMOOTHING = 0.9  # exponential moving average of the batch loss, so one noisy batch does not set the minimum
STOP_FACTOR = 4.0  # stop once the smoothed loss is this many times its minimum: the lr is far too large

HOW_TO_READ = ("Read it from left to right: where the curve is flat the steps are too small to learn; where it "
               "falls steeply the learning rate is in its useful range; where it turns up, steps overshoot. "
               "The suggestion (the dashed line) is a tenth of the learning rate at the lowest point.")


@dataclass
class RangeTestResult:
    lrs: list[float]  # the learning rate of each batch
    losses: list[float]  # the raw batch loss
    smoothed: list[float]  # the moving average that the minimum is read from
    min_loss_lr: float  # lr at the lowest smoothed loss
    suggested_lr: float  # a tenth of min_loss_lr
    stopped_early: bool  # the loss blew up before END_LR
    seconds: float

    def rows(self) -> list[dict]:
        """One dict per batch, for a chart."""
        return [{"lr": lr, "loss": loss, "smoothed": s} for lr, loss, s in zip(self.lrs, self.losses, self.smoothed)]


def lr_schedule(steps: int = STEPS, start: float = START_LR, end: float = END_LR) -> list[float]:
    """The exponentially growing lr of each batch.

    >>> [f"{lr:g}" for lr in lr_schedule(4, 1e-3, 1.0)]
    ['0.001', '0.01', '0.1', '1']
    """
    return [start * (end / start) ** (i / max(steps - 1, 1)) for i in range(steps)]


def lr_range_test(config: TrainConfig, data: MnistData, steps: int = STEPS, start: float = START_LR,
                  end: float = END_LR, stop: threading.Event | None = None) -> RangeTestResult:
    """Run the range test for `config`'s model and optimizer (its lr and schedule are ignored)."""
    from .train import make_optimizer

    config.validate()
    if not 0 < start < end:
        raise ConfigError(f"The range test needs 0 < start lr < end lr (got {start:g} and {end:g}).")
    began = time.perf_counter()
    split = make_split(data, config.val_fraction, config.subset, config.seed)
    batch_size = min(config.batch_size, len(split.train_index))
    model = create_model(config.replace(engine="torch"))  # the NumPy network's torch twin learns alike
    optimizer = make_optimizer(model, config.replace(lr=start))
    generator = torch.Generator().manual_seed(config.seed + 1)
    torch.manual_seed(config.seed + 2)
    schedule = lr_schedule(steps, start, end)
    lrs, losses, smoothed = [], [], []
    average, best = 0.0, math.inf
    batches = iter(())
    model.train()
    for i, lr in enumerate(schedule):
        if stop is not None and stop.is_set():
            break
        index = next(batches, None)
        if index is None:  # a new epoch of batches when a small set runs out
            batches = iterate_batches(len(split.train_index), batch_size, generator)
            index = next(batches)
        rows = split.train_index[index]
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(model(data.train_x[rows]), data.train_labels[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = loss.item()
        if not math.isfinite(value):
            break
        average = SMOOTHING * average + (1 - SMOOTHING) * value
        debiased = average / (1 - SMOOTHING ** (i + 1))
        lrs.append(lr)
        losses.append(value)
        smoothed.append(debiased)
        best = min(best, debiased)
        if debiased > STOP_FACTOR * best and i > 10:
            break
    if not smoothed:
        raise ConfigError("The range test could not take a single step: the loss was not a number at once.")
    lowest = min(range(len(smoothed)), key=smoothed.__getitem__)
    return RangeTestResult(lrs=lrs, losses=losses, smoothed=smoothed, min_loss_lr=lrs[lowest],
                           suggested_lr=lrs[lowest] / 10, stopped_early=len(lrs) < len(schedule),
                           seconds=time.perf_counter() - began)
