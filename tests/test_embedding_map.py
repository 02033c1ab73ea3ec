"""Tests for mnist_core.embedding_map: the hidden-layer map, its cache and marking a drawing on it."""
import numpy as np
import pytest
import torch

from mnist_core.config import TrainConfig
from mnist_core.embedding_map import compute_hidden_map, load_map, save_map
from mnist_core.neighbours import hidden_features
from mnist_core.train import fit


@pytest.fixture(scope="module")
def model(synthetic):
    return fit(TrainConfig(arch="mlp", hidden=(32,), epochs=3, val_fraction=0.0), synthetic).model.eval()


def test_pca_map_places_the_test_images_and_projects_a_drawing_exactly(model, synthetic):
    steps = []
    m = compute_hidden_map(model, synthetic.test_x, synthetic.test_labels, "pca", size=80,
                           progress=lambda text, share: steps.append(share))
    assert m.points.shape == (80, 2) and len(set(m.indices.tolist())) == 80 and steps[-1] == 1.0
    assert np.array_equal(m.labels, synthetic.test_labels[torch.from_numpy(m.indices)].numpy())
    i = 5  # a mapped image placed again lands on its own point
    assert m.place(m.features[i]) == pytest.approx(tuple(m.points[i]), abs=1e-3)
    # digits form islands: each point's nearest other point mostly has the same digit
    d = ((m.points[:, None] - m.points[None]) ** 2).sum(-1) + np.eye(80) * 1e9
    assert (m.labels[d.argmin(1)] == m.labels).mean() > 0.8


def test_tsne_map_is_cached_in_the_run_folder(model, synthetic, tmp_path):
    m = compute_hidden_map(model, synthetic.test_x, synthetic.test_labels, "tsne", size=60)
    save_map(m, tmp_path)
    loaded = load_map(tmp_path, "tsne")
    assert np.array_equal(loaded.points, m.points) and loaded.method == "tsne"
    assert load_map(tmp_path, "pca") is None
    feature = hidden_features(model, synthetic.test_x[m.indices[0]:m.indices[0] + 1])[0].numpy()
    x, y = loaded.place(feature)
    assert np.isfinite([x, y]).all()
    (tmp_path / "hidden_map_pca.npz").write_bytes(b"damaged")
    assert load_map(tmp_path, "pca") is None


def test_an_unknown_method_is_refused(model, synthetic):
    with pytest.raises(ValueError, match="Unknown map method"):
        compute_hidden_map(model, synthetic.test_x, synthetic.test_labels, "umap")
