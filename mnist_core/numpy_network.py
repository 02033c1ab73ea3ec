"""A neural network written from scratch in NumPy: the teaching reference.

784 inputs -> any number of ReLU hidden layers -> 10 softmax outputs (no
hidden layer = softmax regression). Everything the torch engine hides is
spelled out: the forward pass, the cross-entropy, the backward pass (the chain
rule, layer by layer), mini-batch SGD with momentum, L1 and L2, and early
stopping. The conventions are the engine's (mnist_core/train.py), so a NumPy
run and a torch run of the same config take the same steps:

- L2 is weight decay on the weights only: the gradient gets `+ l2 * W`, the
  gradient of `l2 / 2 * sum(W**2)`. Biases are never decayed.
- L1 adds `l1 * sum(|W|)` to the loss, weights only; its gradient is `l1 * sign(W)`.
- Momentum is torch's SGD rule: `v = momentum * v + grad; W -= lr * v`.
- Early stopping watches the validation loss; after `patience` epochs without
  improvement it stops and restores the best weights.
- Inputs are standardized feature rows (N, 784), as the engine keeps them; a
  network with `pixels="unit"` turns them back into 0-1 pixels itself.

Only NumPy is imported (no torch). `state_dict()` names and shapes the weights
exactly like mnist_core/models.py's `SoftmaxRegression` / `MLP`, so the run
store can save them as tensors and load them into the torch model. NumPy's
default OpenBLAS threading was 10-30x slower than one thread for these small
matrices on this machine, so training and prediction use one BLAS thread.
"""
from __future__ import annotations

import math
import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

from .callbacks import BatchEvent, EpochEvent
from .config import ConfigError
from .pixels import images_to_rows, unit_from_standardized

N_FEATURES = 28 * 28
N_CLASSES = 10
MIN_IMPROVEMENT = 1e-6  # a validation loss must drop by more than this to count as better (as in the engine)
EXPLODED_LOSS = 1e4  # the engine's threshold (train.EXPLODED_LOSS): above it the weights have blown up


def images_to_features(images) -> np.ndarray:
    """uint8 images (N, 28, 28) -> float32 standardized rows (N, 784), the network's input.

    >>> images_to_features(np.zeros((2, 28, 28), dtype=np.uint8)).shape
    (2, 784)
    """
    return images_to_rows(images, "standardized")


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


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log(softmax(logits)), computed stably.

    >>> log_softmax(np.zeros((1, 2))).round(4).tolist()
    [[-0.6931, -0.6931]]
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def batch_count(n: int, batch_size: int) -> int:
    """Batches in one epoch, by the engine's rule (data.batch_count): a left-over under half a batch joins the last.

    >>> batch_count(54_000, 128), batch_count(54_001, 1000), batch_count(3, 8)
    (422, 54, 1)
    """
    full, rest = divmod(n, batch_size)
    if full == 0:
        return 1
    return full + (1 if 2 * rest >= batch_size else 0)


class NumpyNetwork:
    """784 -> hidden sizes (ReLU) -> 10 with softmax, trained by SGD with momentum.

    `weights[i]` is (fan_in, fan_out) and `biases[i]` is (fan_out,); with no
    hidden layer, `weights[0]` holds one 28x28 template per class in its
    columns. After `fit`, `history` has one dict per epoch, `status` is
    "completed", "stopped", "early-stopped" or "diverged", and `best_epoch` is
    the epoch whose weights were restored (early stopping only).
    """

    def __init__(self, hidden: tuple[int, ...] = (), seed: int = 0, pixels: str = "standardized"):
        self.hidden = tuple(hidden)
        self.pixels = pixels
        self.reset(seed)

    def reset(self, seed: int = 0) -> None:
        """Fresh weights drawn like torch's nn.Linear: uniform in +-1/sqrt(fan_in)."""
        rng = np.random.default_rng(seed)
        sizes = (N_FEATURES, *self.hidden, N_CLASSES)
        self.weights, self.biases = [], []
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
            self.biases.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
        self._velocity = [np.zeros_like(p) for p in self.weights + self.biases]
        self.history: list[dict] = []
        self.status, self.reason, self.best_epoch, self.steps = "new", "", None, 0

    # ------------------------------------------------------------- the maths
    def forward(self, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Logits (N, 10) and the inputs of every layer (kept for the backward pass)."""
        a = unit_from_standardized(X) if self.pixels == "unit" else X
        layer_inputs = []
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            layer_inputs.append(a)
            z = a @ W + b  # (N, fan_in) @ (fan_in, fan_out) -> (N, fan_out)
            a = np.maximum(z, 0.0) if i < len(self.weights) - 1 else z  # ReLU on hidden layers only
        return a, layer_inputs

    def backward(self, dlogits: np.ndarray, layer_inputs: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The chain rule, from the output layer back to the first: (dL/dW, dL/db) per layer.

        `dlogits` is dL/dz of the output layer. A layer z = a @ W + b gives
        dL/dW = a.T @ dL/dz, dL/db = the column sums of dL/dz and dL/da = dL/dz @ W.T;
        ReLU passes the gradient on only where its input was positive (a > 0).
        """
        grads = []
        dz = dlogits
        for i in reversed(range(len(self.weights))):
            a = layer_inputs[i]
            grads.append((a.T @ dz, dz.sum(axis=0)))  # (fan_in, N) @ (N, fan_out) -> (fan_in, fan_out)
            if i > 0:
                da = dz @ self.weights[i].T  # (N, fan_out) @ (fan_out, fan_in) -> (N, fan_in)
                dz = da * (a > 0)  # a is this ReLU's output: positive exactly where its input was
        return grads[::-1]

    def loss_and_gradients(self, X: np.ndarray, y: np.ndarray, l1: float = 0.0,
                           l2: float = 0.0) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
        """Mean cross-entropy + l1 * sum|W| + l2 / 2 * sum(W**2) on one batch, and its gradients.

        >>> loss, grads = NumpyNetwork().loss_and_gradients(np.zeros((1, 784)), np.array([3]))
        >>> 2.0 < loss < 2.6, grads[0][0].shape, grads[0][1].shape
        (True, (784, 10), (10,))
        """
        n = len(y)
        logits, layer_inputs = self.forward(X)
        log_probs = log_softmax(logits)
        self._last_correct = int((logits.argmax(axis=1) == y).sum())
        loss = -log_probs[np.arange(n), y].mean()
        # d(mean cross-entropy)/d(logits) is (probabilities - one_hot(y)) / N.
        dlogits = np.exp(log_probs)
        dlogits[np.arange(n), y] -= 1.0
        dlogits /= n
        grads = self.backward(dlogits, layer_inputs)
        for i, W in enumerate(self.weights):
            dW, db = grads[i]
            if l1:
                loss += l1 * np.abs(W).sum()
                dW = dW + l1 * np.sign(W)  # the subgradient 0 at W == 0, as torch's abs() uses
            if l2:
                loss += 0.5 * l2 * (W * W).sum()
                dW = dW + l2 * W
            grads[i] = (dW, db)
        return float(loss), grads

    def step(self, X: np.ndarray, y: np.ndarray, lr: float, momentum: float = 0.0,
             l1: float = 0.0, l2: float = 0.0) -> tuple[float, int]:
        """One SGD-with-momentum step on the batch (X, y); returns (loss, correct) before the step."""
        loss, grads = self.loss_and_gradients(X, y, l1, l2)
        params = self.weights + self.biases
        flat = [g[0] for g in grads] + [g[1] for g in grads]
        for param, velocity, grad in zip(params, self._velocity, flat):
            velocity *= momentum  # torch.optim.SGD's momentum: v = momentum * v + grad
            velocity += grad
            param -= lr * velocity
        self.steps += 1
        return loss, self._last_correct

    # ----------------------------------------------------------- evaluation
    def predict_proba(self, X: np.ndarray, batch_size: int = 10_000) -> np.ndarray:
        """Class probabilities (N, 10) for standardized feature rows X (N, 784)."""
        X = self._check_features(X)
        with threadpool_limits(limits=1, user_api="blas"):
            return np.concatenate([softmax(self.forward(X[i:i + batch_size])[0])
                                   for i in range(0, len(X), batch_size)] or [np.zeros((0, N_CLASSES))])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable class of each row."""
        return self.predict_proba(X).argmax(axis=1)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Share of rows whose predicted class is y, in [0, 1]."""
        return float((self.predict(X) == np.asarray(y)).mean())

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float, list[float]]:
        """Plain cross-entropy (no penalty), accuracy and per-class accuracy over a whole set."""
        probs = self.predict_proba(X)
        loss = float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None)).mean())
        correct = probs.argmax(axis=1) == y
        counts = np.maximum(np.bincount(y, minlength=N_CLASSES), 1)
        per_class = np.bincount(y[correct], minlength=N_CLASSES) / counts
        return loss, float(correct.mean()), [round(float(v), 6) for v in per_class]

    # ------------------------------------------------------------- weights
    def state_dict(self) -> dict[str, np.ndarray]:
        """The weights under the torch model's names and shapes ((out, in) weights), as float32 arrays."""
        if not self.hidden:
            names = ["linear"]
        else:  # MLP's nn.Sequential: Linear, ReLU per hidden layer, then the output Linear
            names = [f"layers.{2 * i}" for i in range(len(self.weights))]
        out = {}
        for name, W, b in zip(names, self.weights, self.biases):
            out[f"{name}.weight"] = np.ascontiguousarray(W.T, dtype=np.float32)
            out[f"{name}.bias"] = np.asarray(b, dtype=np.float32).copy()
        return out

    def load_state_dict(self, state: dict) -> None:
        """Weights from `state_dict()` (or from the torch model's, as arrays)."""
        arrays = [np.asarray(v, dtype=np.float32) for v in state.values()]
        self.weights = [a.T.copy() for a in arrays[0::2]]
        self.biases = [a.copy() for a in arrays[1::2]]
        self._velocity = [np.zeros_like(p) for p in self.weights + self.biases]

    # ------------------------------------------------------------ training
    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
            lr: float = 0.01, momentum: float = 0.9, batch_size: int = 128, epochs: int = 5,
            l1: float = 0.0, l2: float = 0.0, patience: int = 0, seed: int = 0, rows: np.ndarray | None = None,
            callbacks=(), stop: threading.Event | None = None, log_every: int = 10,
            max_steps: int = 0) -> "NumpyNetwork":
        """Train from fresh weights (seeded by `seed`, which also fixes the batch order).

        The training set is X[rows], y[rows] (all of X when `rows` is None),
        indexed batch by batch so that no second copy of X is made. `callbacks`
        get the engine's BatchEvent / EpochEvent (any object with
        `on_batch_end` / `on_epoch_end`). `stop` is checked before every batch.
        """
        X = self._check_features(X)
        y = np.asarray(y, dtype=np.int64)
        rows = np.arange(len(y)) if rows is None else np.asarray(rows)
        has_val = X_val is not None and y_val is not None and len(y_val) > 0
        _check_hyper_parameters(lr, momentum, batch_size, epochs, l1, l2, patience, len(rows), has_val)
        self.reset(seed)
        rng = np.random.default_rng(seed + 1)
        n, count = len(rows), batch_count(len(rows), batch_size)
        total_steps = min(epochs * count, max_steps) if max_steps else epochs * count
        best_loss, best, stale = math.inf, None, 0
        self.status = "completed"
        with threadpool_limits(limits=1, user_api="blas"):
            for epoch in range(1, epochs + 1):
                epoch_start = time.perf_counter()
                order = rows[rng.permutation(n)]
                sums, window = [0.0, 0, 0], [0.0, 0, 0, time.perf_counter()]  # loss, correct, seen (, t)
                for i in range(count):
                    if stop is not None and stop.is_set():
                        self.status = "stopped"
                        self.reason = f"stopped by the user at step {self.steps} (epoch {epoch})."
                        break
                    if max_steps and self.steps >= max_steps:
                        break
                    batch = order[i * batch_size:n if i == count - 1 else (i + 1) * batch_size]
                    loss, correct = self.step(X[batch], y[batch], lr, momentum, l1, l2)
                    if not math.isfinite(loss) or loss > EXPLODED_LOSS:
                        self.status = "diverged"
                        self.reason = (f"loss became {loss:.3g} at step {self.steps}: the learning rate "
                                       f"{lr:g} is too large — try {lr / 10:g}.")
                        return self
                    for totals in (sums, window):
                        totals[0] += loss * len(batch)
                        totals[1] += correct
                        totals[2] += len(batch)
                    if self.steps % log_every == 0 or self.steps == total_steps:
                        now = time.perf_counter()
                        event = BatchEvent(step=self.steps, epoch=epoch, total_steps=total_steps,
                                           loss=window[0] / window[2], running_accuracy=window[1] / window[2],
                                           examples_per_second=window[2] / max(now - window[3], 1e-9))
                        for cb in callbacks:
                            cb.on_batch_end(event)
                        window = [0.0, 0, 0, now]
                if not sums[2]:
                    break
                val_loss, val_accuracy, per_class = (self.evaluate(X_val, y_val) if has_val else (None, None, []))
                event = EpochEvent(epoch=epoch, step=self.steps, train_loss=sums[0] / sums[2],
                                   train_accuracy=sums[1] / sums[2], val_loss=val_loss, val_accuracy=val_accuracy,
                                   per_class_val_accuracy=per_class, seconds=time.perf_counter() - epoch_start)
                self.history.append(event.to_dict())
                for cb in callbacks:
                    cb.on_epoch_end(event)
                if self.status == "stopped" or (max_steps and self.steps >= max_steps):
                    break
                if patience:
                    if val_loss < best_loss - MIN_IMPROVEMENT:
                        best_loss, stale, best = val_loss, 0, (epoch, self.state_dict(), val_accuracy)
                    else:
                        stale += 1
                        if stale >= patience:
                            self.best_epoch, state, self.best_val_accuracy = best
                            self.load_state_dict(state)
                            self.status = "early-stopped"
                            self.reason = (f"early-stopped at epoch {epoch}: the validation loss has not "
                                           f"improved for {stale} epochs, so the weights of epoch "
                                           f"{self.best_epoch} (the best) were restored.")
                            return self
        if self.status == "completed":
            self.reason = f"completed {len(self.history)} epochs ({self.steps} steps)."
        return self

    def _check_features(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != N_FEATURES:
            raise ValueError(f"Expected feature rows of shape (N, {N_FEATURES}), got {X.shape}: "
                             "turn uint8 images into rows with images_to_features().")
        return X


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
