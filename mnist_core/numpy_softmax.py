"""Softmax regression (784 -> 10) written from scratch in NumPy: the teaching reference.

Everything the torch engine hides is spelled out here: the softmax, the
cross-entropy and its gradient, mini-batch SGD with momentum, L1 and L2, and
early stopping. The conventions are the engine's (mnist_core/train.py), so a
lesson can show this file beside a torch run and get the same numbers:

- L2 is weight decay on the weights only: the gradient gets `+ l2 * W`, which
  is the gradient of `l2 / 2 * sum(W**2)`. Biases are never decayed.
- L1 adds `l1 * sum(|W|)` to the loss, weights only; its gradient is `l1 * sign(W)`.
- Momentum is torch's SGD rule: `v = momentum * v + grad; W -= lr * v`.
- Early stopping watches the validation loss (plain cross-entropy); after
  `patience` epochs without improvement it stops and restores the best weights.

Inputs are float32 feature rows (N, 784), normalized exactly like the engine's
images: `images_to_features(uint8 images)` does that. NumPy's default OpenBLAS
threading was 10-30x slower than one thread for these small matrices on this
machine, so training and prediction run with one BLAS thread.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from .callbacks import EpochEvent
from .config import ConfigError
from .data import NUM_CLASSES, normalize

N_FEATURES = 28 * 28
MIN_IMPROVEMENT = 1e-6  # a validation loss must drop by more than this to count as better (as in the engine)


def images_to_features(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) -> float32 rows (N, 784), normalized as in training.

    >>> images_to_features(np.zeros((2, 28, 28), dtype=np.uint8)).shape
    (2, 784)
    """
    images = torch.as_tensor(images)
    return normalize(images).reshape(len(images), N_FEATURES).numpy()  # (N, 1, 28, 28) -> (N, 784)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax: each row of scores becomes probabilities that sum to 1.

    The row maximum is subtracted first so that exp() never overflows; that
    changes nothing mathematically because softmax ignores a constant shift.

    >>> softmax(np.array([[0.0, 0.0], [0.0, math.log(3.0)]])).round(2).tolist()
    [[0.5, 0.5], [0.25, 0.75]]
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=1, keepdims=True)


def cross_entropy_loss_and_gradient(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray,
                                    l1: float = 0.0, l2: float = 0.0) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss and gradients of softmax regression on one batch.

    W is (784, 10), b is (10,), X is (N, 784), y holds N class numbers.
    The loss is the mean cross-entropy + l1 * sum|W| + l2 / 2 * sum(W**2);
    returns (loss, dL/dW, dL/db). The L2 term is the one whose gradient is the
    engine's weight decay `l2 * W`.

    >>> loss, dW, db = cross_entropy_loss_and_gradient(np.zeros((784, 10)), np.zeros(10),
    ...                                                np.ones((1, 784)), np.array([3]))
    >>> round(loss, 4) == round(math.log(10), 4), dW.shape, round(float(db[3]), 2)
    (True, (784, 10), -0.9)
    """
    n = len(y)
    logits = X @ W + b  # (N, 784) @ (784, 10) -> (N, 10)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log-softmax, stable
    loss = -log_probs[np.arange(n), y].mean()
    # d(mean cross-entropy)/d(logits) is (probabilities - one_hot(y)) / N.
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n
    dW = X.T @ dlogits  # (784, N) @ (N, 10) -> (784, 10)
    db = dlogits.sum(axis=0)
    if l1:
        loss += l1 * np.abs(W).sum()
        dW += l1 * np.sign(W)  # the subgradient 0 at W == 0, as torch's abs() uses
    if l2:
        loss += 0.5 * l2 * (W * W).sum()
        dW += l2 * W
    return float(loss), dW, db


def _mean_loss_and_accuracy(W, b, X, y, batch_size=10_000) -> tuple[float, float]:
    """Plain cross-entropy (no penalty) and accuracy over a whole set, in chunks to bound memory."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(y), batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        logits = xb @ W + b
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        total_loss -= log_probs[np.arange(len(yb)), yb].sum()
        correct += int((logits.argmax(axis=1) == yb).sum())
    return float(total_loss / len(y)), correct / len(y)


def _check_hyper_parameters(lr, momentum, batch_size, epochs, l1, l2, patience, n_train, has_val):
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ConfigError(f"The learning rate must be a number greater than 0 (got {lr!r}).")
    if not 0 <= momentum < 1:
        raise ConfigError(f"Momentum must be at least 0 and below 1 (got {momentum:g}).")
    if not isinstance(batch_size, int) or not 1 <= batch_size <= n_train:
        raise ConfigError(f"The batch size must be a whole number from 1 to the training set size "
                          f"{n_train:,} (got {batch_size!r}).")
    if not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"Train for at least 1 epoch (got {epochs!r}).")
    if l1 < 0 or l2 < 0:
        raise ConfigError(f"L1 and L2 must be 0 or more (got L1 {l1:g}, L2 {l2:g}).")
    if not isinstance(patience, int) or patience < 0:
        raise ConfigError(f"Early-stopping patience must be 0 (off) or a positive number of epochs (got {patience!r}).")
    if patience and not has_val:
        raise ConfigError("Early stopping watches the validation loss, so it needs X_val and y_val.")


class NumpySoftmaxRegression:
    """Softmax regression trained by mini-batch SGD with momentum, all in NumPy.

    `W` (784, 10) holds one 28x28 template per class in its columns; `b` (10,)
    is one bias per class. After `fit`, `history` has one dict per epoch,
    `status` is "completed", "early-stopped" or "diverged", and `best_epoch`
    is the epoch whose weights were restored (early stopping only).
    """

    def __init__(self, n_features: int = N_FEATURES, n_classes: int = NUM_CLASSES, seed: int = 0):
        self.n_features, self.n_classes = n_features, n_classes
        self.reset(seed)

    def reset(self, seed: int = 0) -> None:
        """Fresh weights drawn like torch's nn.Linear: uniform in +-1/sqrt(784)."""
        rng = np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(self.n_features)
        self.W = rng.uniform(-bound, bound, (self.n_features, self.n_classes)).astype(np.float32)
        self.b = rng.uniform(-bound, bound, self.n_classes).astype(np.float32)
        self._velocity_W = np.zeros_like(self.W)
        self._velocity_b = np.zeros_like(self.b)
        self.history: list[dict] = []
        self.status, self.reason, self.best_epoch, self.steps = "new", "", None, 0

    def step(self, X: np.ndarray, y: np.ndarray, lr: float, momentum: float = 0.0,
             l1: float = 0.0, l2: float = 0.0) -> float:
        """One SGD-with-momentum step on the batch (X, y); returns the batch loss before the step.

        Biases get neither L1 nor L2, like the engine's parameter groups.
        """
        loss, dW, db = cross_entropy_loss_and_gradient(self.W, self.b, X, y, l1, l2)
        # torch.optim.SGD's momentum: the velocity accumulates gradients, the step follows it.
        self._velocity_W *= momentum
        self._velocity_W += dW
        self._velocity_b *= momentum
        self._velocity_b += db
        self.W -= lr * self._velocity_W
        self.b -= lr * self._velocity_b
        self.steps += 1
        return loss

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
            lr: float = 0.01, momentum: float = 0.9, batch_size: int = 128, epochs: int = 5,
            l1: float = 0.0, l2: float = 0.0, patience: int = 0, seed: int = 0,
            callback=None) -> "NumpySoftmaxRegression":
        """Train from fresh weights (seeded by `seed`, which also fixes the batch order).

        `callback`, if given, is called with an `EpochEvent` after every epoch,
        so `RecordingCallback().on_epoch_end` or `PrintProgress().on_epoch_end`
        can be passed as it is. Returns self.
        """
        X, y = self._check_data(X, y, "training")
        has_val = X_val is not None and y_val is not None and len(y_val) > 0
        if has_val:
            X_val, y_val = self._check_data(X_val, y_val, "validation")
        _check_hyper_parameters(lr, momentum, batch_size, epochs, l1, l2, patience, len(y), has_val)
        self.reset(seed)
        rng = np.random.default_rng(seed + 1)
        best_loss, best_weights, stale = math.inf, None, 0
        self.status = "completed"
        # One BLAS thread: these matrices are small, and threads only fight over them.
        with threadpool_limits(limits=1, user_api="blas"):
            for epoch in range(1, epochs + 1):
                epoch_start = time.perf_counter()
                order = rng.permutation(len(y))
                loss_sum = 0.0
                for start in range(0, len(y), batch_size):
                    rows = order[start:start + batch_size]
                    loss = self.step(X[rows], y[rows], lr, momentum, l1, l2)
                    if not math.isfinite(loss):
                        self.status = "diverged"
                        self.reason = (f"loss became {loss} at step {self.steps}: the learning rate {lr:g} "
                                       f"is too large — try {lr / 10:g}.")
                        return self
                    loss_sum += loss * len(rows)
                train_loss = loss_sum / len(y)  # includes the L1/L2 penalty, as the step saw it
                _, train_accuracy = _mean_loss_and_accuracy(self.W, self.b, X, y)
                val_loss, val_accuracy = (_mean_loss_and_accuracy(self.W, self.b, X_val, y_val)
                                          if has_val else (None, None))
                event = EpochEvent(epoch=epoch, step=self.steps, train_loss=train_loss,
                                   train_accuracy=train_accuracy, val_loss=val_loss, val_accuracy=val_accuracy,
                                   seconds=time.perf_counter() - epoch_start)
                self.history.append(event.to_dict())
                if callback is not None:
                    callback(event)
                if patience:
                    if val_loss < best_loss - MIN_IMPROVEMENT:
                        best_loss, stale = val_loss, 0
                        best_weights = (epoch, self.W.copy(), self.b.copy())
                    else:
                        stale += 1
                        if stale >= patience:
                            self.best_epoch, self.W, self.b = best_weights
                            self.status = "early-stopped"
                            self.reason = (f"early-stopped at epoch {epoch}: the validation loss has not "
                                           f"improved for {stale} epochs, so the weights of epoch "
                                           f"{self.best_epoch} (the best) were restored.")
                            return self
        self.reason = f"completed {epochs} epochs ({self.steps} steps)."
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (N, 10) for feature rows X (N, 784)."""
        X = self._check_features(X)
        with threadpool_limits(limits=1, user_api="blas"):
            return softmax(X @ self.W + self.b)  # (N, 784) @ (784, 10) -> (N, 10)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable class of each row."""
        return self.predict_proba(X).argmax(axis=1)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Share of rows whose predicted class is y, in [0, 1]."""
        return float((self.predict(X) == np.asarray(y)).mean())

    def _check_features(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"Expected feature rows of shape (N, {self.n_features}), got {X.shape}: "
                             "turn uint8 images into rows with images_to_features().")
        return X

    def _check_data(self, X, y, what) -> tuple[np.ndarray, np.ndarray]:
        X = self._check_features(X)
        y = np.asarray(y, dtype=np.int64)
        if y.shape != (len(X),):
            raise ValueError(f"The {what} set has {len(X)} images but {y.size} labels.")
        if len(y) and (y.min() < 0 or y.max() >= self.n_classes):
            raise ValueError(f"The {what} labels must be class numbers from 0 to {self.n_classes - 1}.")
        return X, y
