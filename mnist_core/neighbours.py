"""How MNIST-like is my drawing? Its nearest training images, by pixels and by the last hidden layer.

Two distances, both Euclidean:
- **by pixels**: on the 784 pixel values in [0, 1], what a nearest-neighbour
  classifier would use;
- **by the last hidden layer**: on what the network feeds its final linear layer
  (the 128 units of the CNN's dense layer, an MLP's last hidden layer; a softmax
  regression has no hidden layer, so there this is the pixels again). Two images
  close here look alike *to the network*.

`NeighbourIndex` keeps the training images' features and their squared norms, so
one query is one matrix product (|a - b|^2 = |a|^2 + |b|^2 - 2 a.b): about 10 ms
for 60,000 images on one core once built (`python bench/neighbours_speed.py`).
Building the hidden features is one forward pass over the training set: cache the
index per run (`index_for_run`), never rebuild it on a page's rerun.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .data import MNIST_MEAN, MNIST_STD

FEATURE_BATCH = 1000
DEFAULT_K = 8


def last_linear(model: nn.Module) -> nn.Linear:
    """The model's final linear layer (the one that makes the 10 logits)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("This model has no linear layer, so it has no last hidden layer to compare.")
    return linears[-1]


@torch.no_grad()
def hidden_features(model: nn.Module, x: torch.Tensor, batch_size: int = FEATURE_BATCH) -> torch.Tensor:
    """(N, D) float32: the input of the model's last linear layer for normalized images (N, 1, 28, 28)."""
    from .models import as_model_input as _as_input

    captured: list[torch.Tensor] = []
    handle = last_linear(model).register_forward_pre_hook(lambda module, args: captured.append(args[0].detach()))
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(x), batch_size):
            model(_as_input(model, x[start:start + batch_size]))
    finally:
        handle.remove()
        model.train(was_training)
    return torch.cat(captured).flatten(1).float() if captured else torch.zeros(0, 0)


def pixel_features(x: torch.Tensor) -> torch.Tensor:
    """(N, 784) pixel values in [0, 1] from normalized images."""
    return (x.reshape(len(x), -1) * MNIST_STD + MNIST_MEAN).clamp(0, 1)


@dataclass
class Neighbours:
    """The k nearest training images of one query, nearest first."""
    indices: list[int]  # into the training set
    labels: list[int]
    distances: list[float]


class NeighbourIndex:
    """Exact k-nearest-neighbour search over a fixed set of feature vectors."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor):
        self.features = features.float().contiguous()  # (N, D)
        self.squared_norms = (self.features * self.features).sum(dim=1)  # (N,)
        self.labels = labels.long()

    def __len__(self) -> int:
        return len(self.labels)

    def query(self, feature: torch.Tensor, k: int = DEFAULT_K) -> Neighbours:
        """The k nearest rows to one feature vector (D,), by Euclidean distance."""
        q = feature.reshape(-1).float()
        squared = (self.squared_norms - 2 * (self.features @ q) + (q @ q)).clamp_min(0)  # (N,)
        k = min(k, len(self))
        best = torch.topk(squared, k, largest=False)  # sorted, nearest first
        return Neighbours(best.indices.tolist(), self.labels[best.indices].tolist(),
                          [round(float(d), 4) for d in best.values.sqrt()])


@dataclass
class RunNeighbours:
    """Both indexes for one run's model over one training set."""
    by_pixels: NeighbourIndex
    by_hidden: NeighbourIndex
    model: nn.Module

    def nearest(self, x: torch.Tensor, k: int = DEFAULT_K) -> dict[str, Neighbours]:
        """The k nearest training images to one normalized image (1, 1, 28, 28), both ways."""
        return {"pixels": self.by_pixels.query(pixel_features(x)[0], k),
                "hidden": self.by_hidden.query(hidden_features(self.model, x)[0], k)}


def build_run_neighbours(model: nn.Module, train_x: torch.Tensor, train_labels: torch.Tensor) -> RunNeighbours:
    """Both indexes (the hidden one costs a forward pass over train_x)."""
    return RunNeighbours(NeighbourIndex(pixel_features(train_x), train_labels),
                         NeighbourIndex(hidden_features(model, train_x), train_labels), model)


_CACHE: dict[tuple, RunNeighbours] = {}
_CACHE_LOCK = threading.Lock()
MAX_CACHED_RUNS = 4


def index_for_run(key: tuple, model: nn.Module, train_x: torch.Tensor, train_labels: torch.Tensor) -> RunNeighbours:
    """The indexes for one run, built once per process and kept for the MAX_CACHED_RUNS latest runs.

    `key` names the run and the data (e.g. (run_id, data.source)); the pixel index is shared.
    """
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        pixels = next((c.by_pixels for c in _CACHE.values() if len(c.by_pixels) == len(train_labels)), None)
    built = RunNeighbours(pixels or NeighbourIndex(pixel_features(train_x), train_labels),
                          NeighbourIndex(hidden_features(model, train_x), train_labels), model)
    with _CACHE_LOCK:
        _CACHE[key] = built
        while len(_CACHE) > MAX_CACHED_RUNS:
            _CACHE.pop(next(iter(_CACHE)))
    return built


def cached_index(key: tuple) -> RunNeighbours | None:
    """The run's indexes if `index_for_run` built them in this process, else None (never builds)."""
    with _CACHE_LOCK:
        return _CACHE.get(key)


def brute_force_nearest(features: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    """The reference: sort every distance (for tests and a doubting student).

    >>> brute_force_nearest(np.array([[0.0], [3.0], [1.0]]), np.array([0.9]), 2)
    [2, 0]
    """
    distances = np.sqrt(((features - query) ** 2).sum(axis=1))
    return [int(i) for i in np.argsort(distances, kind="stable")[:k]]
