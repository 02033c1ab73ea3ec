"""The NumPy engine: a `TrainConfig` with `engine="numpy"` trained by the from-scratch network.

`fit_numpy` is what `train.fit` calls for such a config. It trains
`numpy_network.NumpyNetwork` on the same split, batch rule and callbacks as the
torch engine, then puts the weights into the equivalent torch model, so the run
is saved, inspected, drawn on and exported like any other run.

Callbacks get the torch twin as their model (`set_model`); it holds the NumPy
weights from the end of each epoch on (between epochs it lags behind).

`gradient_check` is the lesson's proof: on one batch, the largest difference
between the NumPy backward pass and torch autograd.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import torch
import torch.nn.functional as F

from .callbacks import Callback
from .config import TrainConfig
from .data import MnistData, make_split
from .history import History, log_interval
from .models import count_parameters, create_model
from .numpy_network import NumpyNetwork, batch_count


def _rows(x: torch.Tensor) -> np.ndarray:
    """(N, 1, 28, 28) standardized tensor -> (N, 784) NumPy view of the same memory (no copy)."""
    return x.reshape(len(x), -1).numpy()


def network_for(config: TrainConfig) -> NumpyNetwork:
    """A fresh NumPy network of the config's shape, seeded by the config."""
    return NumpyNetwork(config.hidden_sizes, seed=config.seed, pixels=config.pixels)


def torch_model_from(network: NumpyNetwork, config: TrainConfig) -> torch.nn.Module:
    """The torch model of `config` holding the NumPy network's weights (strict: same keys and shapes)."""
    model = create_model(config)
    model.load_state_dict({name: torch.from_numpy(array) for name, array in network.state_dict().items()})
    return model.eval()


def fit_numpy(config: TrainConfig, data: MnistData, callbacks: list[Callback] | tuple = (),
              stop: threading.Event | None = None, evaluate_test: bool = True,
              history: History | None = None, log_every: int | None = None):
    """Train `config` with the NumPy network; returns a `train.TrainResult` like `train.fit`."""
    from .train import TrainResult, evaluate

    start = time.perf_counter()
    history = history if history is not None else History()
    split = make_split(data, config.val_fraction, config.subset, config.seed)
    n_train = len(split.train_index)
    config.check_batch_size(n_train)
    X, y = _rows(data.train_x), data.train_labels.numpy()
    val_rows = split.val_index.numpy()
    network = network_for(config)
    momentum = config.momentum if config.optimizer == "momentum" else 0.0
    steps_per_epoch = batch_count(n_train, config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    template = create_model(config)
    result = TrainResult(model=template, config=config, status="completed", reason="",
                         parameters=count_parameters(template), train_size=n_train, data_source=data.source)

    class _SyncTwin(Callback):
        """Copies the NumPy weights into the torch twin at every epoch end, before the other callbacks
        see the event, so a callback that reads `self.model` (snapshots, a test-loss curve) sees them."""

        def on_epoch_end(self, event):
            template.load_state_dict({k: torch.from_numpy(v) for k, v in network.state_dict().items()})

    listeners = [_SyncTwin(), history, *callbacks]
    for cb in listeners:
        cb.set_model(template)
    info = {"total_steps": total_steps, "epochs": config.epochs, "steps_per_epoch": steps_per_epoch,
            "train_size": n_train, "val_size": len(val_rows), "parameters": result.parameters}
    for cb in listeners:
        cb.on_train_start(info)

    fit_start = time.perf_counter()
    network.fit(X, y, X[val_rows], y[val_rows], lr=config.lr, momentum=momentum, batch_size=config.batch_size,
                epochs=config.epochs, l1=config.l1, l2=config.l2, patience=config.early_stopping,
                seed=config.seed, rows=split.train_index.numpy(), callbacks=listeners,
                stop=stop, log_every=log_every or log_interval(config, total_steps), max_steps=config.max_steps)
    result.train_seconds = time.perf_counter() - fit_start
    result.steps, result.epochs_run = network.steps, len(network.history)
    if network.history:
        last = network.history[-1]
        result.train_accuracy, result.val_accuracy = last["train_accuracy"], last["val_accuracy"]
    status, reason = network.status, network.reason
    if status == "early-stopped":
        result.best_epoch, result.val_accuracy = network.best_epoch, network.best_val_accuracy
    if status != "diverged":
        result.model = torch_model_from(network, config)
        if evaluate_test:
            test = evaluate(result.model, data.test_x, data.test_labels)
            result.test_accuracy, result.test_loss = test["accuracy"], test["loss"]
            result.test_probabilities = test["probabilities"].numpy().astype(np.float32)
    result.status, result.reason = status, reason
    result.history = history.to_dict()
    result.total_seconds = time.perf_counter() - start
    for cb in listeners:
        cb.on_train_end(result)
    return result


def gradient_check(config: TrainConfig, data: MnistData, batch_size: int = 64) -> dict:
    """On one batch: NumPy's gradients vs torch autograd's for the same weights.

    Returns the largest absolute difference over every weight and bias, the
    largest gradient (for scale) and the batch size, in float64 so that the
    difference shows the maths, not float32 rounding.
    """
    network = network_for(config)
    network.weights = [w.astype(np.float64) for w in network.weights]
    network.biases = [b.astype(np.float64) for b in network.biases]
    X = _rows(data.train_x[:batch_size]).astype(np.float64)
    y = data.train_labels[:batch_size].numpy()
    _, grads = network.loss_and_gradients(X, y, l1=config.l1, l2=config.l2)

    model = create_model(config).double()
    model.load_state_dict({name: torch.from_numpy(array.astype(np.float64))
                           for name, array in network.state_dict().items()})
    weights = [p for p in model.parameters() if p.dim() > 1]
    logits = model(torch.from_numpy(X).reshape(-1, 1, 28, 28))
    loss = (F.cross_entropy(logits, torch.from_numpy(y)) + config.l1 * sum(w.abs().sum() for w in weights)
            + 0.5 * config.l2 * sum((w * w).sum() for w in weights))
    loss.backward()
    torch_grads = [p.grad.numpy() for p in model.parameters()]  # weight, bias, weight, bias, ...
    numpy_grads = [g for dW, db in grads for g in (dW.T, db)]
    difference = max(float(np.abs(a - b).max()) for a, b in zip(numpy_grads, torch_grads))
    largest = max(float(np.abs(g).max()) for g in torch_grads)
    return {"max_difference": difference, "largest_gradient": largest, "batch_size": len(y),
            "parameters": sum(g.size for g in numpy_grads)}
