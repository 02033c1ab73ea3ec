"""Fine-tune on our handwriting: a distribution-shift lesson with the class's own drawings.

A model trained on MNIST meets a new population of writers. `fine_tune` continues
training a copy of it on the class's labelled drawings, with three precautions a
teacher can name:
- a held-out fifth of the drawings (every fifth, in digit order, so every digit
  gives its share) is never trained on, so "after" is measured on handwriting the model has not seen;
- MNIST training images are mixed into every batch (MNIST_PER_DRAWING for each
  drawing), so the model does not forget MNIST while it adapts ("catastrophic
  forgetting" is the name of what this prevents);
- a small learning rate, for a few epochs: the model is nudged, not retrained.
It reports accuracy on the held-out drawings and on the MNIST test, before and after.
`as_train_result` wraps the tuned model so the run store saves it as a new run.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .data import MnistData, NUM_CLASSES

MIN_DRAWINGS = 10  # fewer than this and there is nothing to hold out and nothing to learn from


class FineTuneError(ValueError):
    """Fine-tuning cannot start; the message says why in plain words."""


@dataclass(frozen=True)
class FineTuneSettings:
    epochs: int = 5  # passes over the class drawings
    lr: float = 3e-4  # Adam; about a tenth of a training run's peak rate
    batch_size: int = 64  # drawings and MNIST images together
    mnist_per_drawing: int = 3  # MNIST training images mixed in for each drawing
    holdout_every: int = 5  # every 5th drawing of each digit is held out (a fifth)
    seed: int = 0


@dataclass
class FineTuneResult:
    model: torch.nn.Module  # the tuned copy (the original is untouched)
    before: dict  # {"drawings": accuracy on the held-out drawings, "mnist": MNIST test accuracy}
    after: dict
    trained_on: int  # drawings used for training
    held_out: int  # drawings kept aside
    seconds: float
    test_probabilities: np.ndarray | None = None  # (n_test, 10) after tuning, for the run store
    history: dict = field(default_factory=lambda: {"batches": [], "epochs": []})


def holdout_split(labels: np.ndarray, every: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices): a fifth held out, spread over the digits.

    The drawings are ordered by digit (oldest first within a digit) and every `every`-th is
    held out, so each digit gives its share even when it has fewer than `every` drawings.

    >>> train, held = holdout_split(np.array([3, 7, 3, 7, 3, 7, 3, 7, 3, 7]))
    >>> held.tolist(), len(train)
    ([8, 9], 8)
    """
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    held = np.sort(order[every - 1::every]).astype(np.int64)
    train = np.setdiff1d(np.arange(len(labels)), held)
    return train, held


def _accuracy(model, x, y) -> float | None:
    from .predict import predict_probabilities

    if len(y) == 0:
        return None
    return float((predict_probabilities(model, x).argmax(1) == y).float().mean())


def fine_tune(model: torch.nn.Module, drawings: torch.Tensor, labels: torch.Tensor, data: MnistData,
              settings: FineTuneSettings = FineTuneSettings(),
              progress: Callable[[int, int], None] | None = None) -> FineTuneResult:
    """Fine-tune a copy of `model` on normalized drawings (N, 1, 28, 28) with their labels.

    `progress(step, total_steps)` after every batch. Raises FineTuneError with fewer than
    MIN_DRAWINGS drawings.
    """
    from .models import as_model_input as _as_input
    from .predict import predict_probabilities

    start = time.perf_counter()
    labels = torch.as_tensor(labels, dtype=torch.long)
    if len(labels) < MIN_DRAWINGS:
        raise FineTuneError(f"Fine-tuning needs at least {MIN_DRAWINGS} labelled drawings "
                            f"(the class has {len(labels)} so far): save some more on the Draw page.")
    train_idx, held_idx = holdout_split(labels.numpy(), settings.holdout_every)
    x_train, y_train = drawings[train_idx], labels[train_idx]
    x_held, y_held = drawings[held_idx], labels[held_idx]
    before = {"drawings": _accuracy(model, x_held, y_held), "mnist": _accuracy(model, data.test_x, data.test_labels)}

    tuned = copy.deepcopy(model)
    tuned.train()
    optimizer = torch.optim.Adam(tuned.parameters(), lr=settings.lr)
    gen = torch.Generator().manual_seed(settings.seed)
    n_mnist = max(settings.mnist_per_drawing * len(train_idx), settings.batch_size)
    per_batch = max(1, settings.batch_size // (settings.mnist_per_drawing + 1))  # drawings per batch
    batches = max(1, -(-len(train_idx) // per_batch))
    total, step, history = settings.epochs * batches, 0, {"batches": [], "epochs": []}
    for epoch in range(1, settings.epochs + 1):
        order = torch.randperm(len(train_idx), generator=gen)
        mnist_rows = torch.randint(len(data.train_labels), (n_mnist,), generator=gen)
        mnist_per_batch = max(1, n_mnist // batches)
        for b in range(batches):
            own = order[b * per_batch:(b + 1) * per_batch]
            rows = mnist_rows[b * mnist_per_batch:(b + 1) * mnist_per_batch]
            x = torch.cat([x_train[own], data.train_x[rows]])
            y = torch.cat([y_train[own], data.train_labels[rows]])
            loss = F.cross_entropy(tuned(_as_input(tuned, x)), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            history["batches"].append({"step": step, "epoch": epoch, "loss": round(loss.item(), 6)})
            if progress:
                progress(step, total)
    tuned.eval()
    test_probabilities = predict_probabilities(tuned, data.test_x)
    after = {"drawings": _accuracy(tuned, x_held, y_held),
             "mnist": float((test_probabilities.argmax(1) == data.test_labels).float().mean())}
    return FineTuneResult(tuned, before, after, len(train_idx), len(held_idx), time.perf_counter() - start,
                          test_probabilities.numpy().astype(np.float32), history)


def as_train_result(result: FineTuneResult, config, parent_run_id: str, data_source: str = "mnist"):
    """A TrainResult for the run store: the tuned model as a new run that names its parent."""
    from .models import count_parameters
    from .train import TrainResult

    reason = (f"fine-tuned run {parent_run_id} on {result.trained_on} class drawings "
              f"({result.held_out} held out) mixed with MNIST.")
    return TrainResult(model=result.model, config=config, status="completed", reason=reason,
                       history=result.history, epochs_run=0, steps=len(result.history["batches"]),
                       train_seconds=result.seconds, total_seconds=result.seconds,
                       test_accuracy=result.after["mnist"], test_probabilities=result.test_probabilities,
                       parameters=count_parameters(result.model), train_size=result.trained_on,
                       data_source=data_source)
