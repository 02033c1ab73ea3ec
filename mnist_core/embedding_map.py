"""A map of the hidden layer: test images placed in 2-D by PCA or t-SNE of the last hidden layer.

Each of MAP_SIZE (2,000) test images becomes a point; images the network finds
alike land close together, so the ten digits form islands, and the islands that
touch are the digits it confuses. A drawing can be marked on the map:
- PCA is a linear projection, so a new point is projected exactly;
- t-SNE has no projection for new points, so a drawing is placed at the mean map
  position of its 5 nearest test images in hidden space (said on the page).

t-SNE of 2,000 points takes 10-30 s on one core: it runs as a job, and the map is
cached in the run's folder (`hidden_map_<method>.npz`), so each run computes it once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .neighbours import hidden_features

MAP_SIZE = 2000  # test images on the map
METHODS = {"pca": "PCA (a linear projection)", "tsne": "t-SNE (keeps neighbours together)"}
PLACE_NEIGHBOURS = 5  # t-SNE: a drawing sits at the mean position of this many nearest test images
CACHE_FILE = "hidden_map_{method}.npz"


@dataclass
class HiddenMap:
    """The test images' map positions and what is needed to mark a new drawing on it."""
    method: str
    points: np.ndarray  # (n, 2) float32 map positions
    labels: np.ndarray  # (n,) true digits
    indices: np.ndarray  # (n,) positions in the test set (for the hover image)
    features: np.ndarray  # (n, d) hidden features of the mapped images
    mean: np.ndarray | None = None  # PCA: feature mean (d,)
    components: np.ndarray | None = None  # PCA: (2, d)

    def place(self, feature: np.ndarray) -> tuple[float, float]:
        """Map position of a new hidden feature vector (d,)."""
        feature = np.asarray(feature, np.float32).reshape(-1)
        if self.method == "pca":
            x, y = (feature - self.mean) @ self.components.T
            return float(x), float(y)
        distances = ((self.features - feature) ** 2).sum(axis=1)
        nearest = np.argsort(distances)[:PLACE_NEIGHBOURS]
        x, y = self.points[nearest].mean(axis=0)
        return float(x), float(y)


def map_sample(n_test: int, size: int = MAP_SIZE, seed: int = 0) -> np.ndarray:
    """Which test images are on the map: a fixed seeded sample, sorted."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_test, size=min(size, n_test), replace=False))


def compute_hidden_map(model: torch.nn.Module, test_x: torch.Tensor, test_labels: torch.Tensor,
                       method: str = "pca", size: int = MAP_SIZE, seed: int = 0,
                       progress: Callable[[str, float], None] | None = None) -> HiddenMap:
    """Embed `size` test images' last hidden layer in 2-D with scikit-learn's PCA or t-SNE."""
    from sklearn.decomposition import PCA

    if method not in METHODS:
        raise ValueError(f"Unknown map method {method!r}: choose one of {', '.join(METHODS)}.")
    say = progress or (lambda text, share: None)
    indices = map_sample(len(test_labels), size, seed)
    say("hidden features of the test images", 0.05)
    features = hidden_features(model, test_x[torch.from_numpy(indices)]).numpy()
    labels = test_labels[torch.from_numpy(indices)].numpy()
    if method == "pca":
        pca = PCA(n_components=2, random_state=seed).fit(features)
        say("PCA done", 1.0)
        return HiddenMap("pca", pca.transform(features).astype(np.float32), labels, indices, features,
                         pca.mean_.astype(np.float32), pca.components_.astype(np.float32))
    from sklearn.manifold import TSNE

    say("t-SNE (this takes a while)", 0.2)
    # PCA to 50 dimensions first, as scikit-learn recommends: faster and less noisy.
    reduced = PCA(n_components=min(50, features.shape[1], len(features)), random_state=seed).fit_transform(features)
    points = TSNE(n_components=2, init="pca", random_state=seed, perplexity=30,
                  learning_rate="auto").fit_transform(reduced)
    say("t-SNE done", 1.0)
    return HiddenMap("tsne", points.astype(np.float32), labels, indices, features)


def save_map(hidden_map: HiddenMap, run_dir: str | os.PathLike) -> Path:
    """Keep the map in the run's folder (written to a temporary name, then renamed)."""
    path = Path(run_dir) / CACHE_FILE.format(method=hidden_map.method)
    temporary = path.with_suffix(".tmp.npz")
    arrays = {k: v for k, v in {"points": hidden_map.points, "labels": hidden_map.labels,
                                "indices": hidden_map.indices, "features": hidden_map.features,
                                "mean": hidden_map.mean, "components": hidden_map.components}.items()
              if v is not None}
    np.savez_compressed(temporary, **arrays)
    os.replace(temporary, path)
    return path


def load_map(run_dir: str | os.PathLike, method: str) -> HiddenMap | None:
    """The cached map of a run, or None if it was never computed (or the file is damaged)."""
    path = Path(run_dir) / CACHE_FILE.format(method=method)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return HiddenMap(method, data["points"], data["labels"], data["indices"], data["features"],
                             data["mean"] if "mean" in data else None,
                             data["components"] if "components" in data else None)
    except (OSError, ValueError, KeyError):
        return None
