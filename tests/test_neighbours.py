"""Tests for mnist_core.neighbours: exact nearest training images, by pixels and by hidden layer."""
import numpy as np
import pytest
import torch

from mnist_core.config import TrainConfig
from mnist_core.models import create_model
from mnist_core.neighbours import (NeighbourIndex, brute_force_nearest, build_run_neighbours, hidden_features,
                                   index_for_run, pixel_features)


def test_the_index_is_exact_on_a_tiny_set():
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(50, 7, generator=gen)
    labels = torch.arange(50) % 10
    index = NeighbourIndex(features, labels)
    for q in torch.randn(10, 7, generator=gen):
        found = index.query(q, k=8)
        expected = brute_force_nearest(features.numpy(), q.numpy(), 8)
        assert found.indices == expected
        assert found.labels == [int(labels[i]) for i in expected]
        assert found.distances == pytest.approx([float(np.linalg.norm(features[i] - q)) for i in expected], abs=1e-3)


def test_a_training_image_is_its_own_nearest_neighbour(synthetic):
    model = create_model(TrainConfig(arch="cnn")).eval()
    both = build_run_neighbours(model, synthetic.train_x, synthetic.train_labels)
    found = both.nearest(synthetic.train_x[17:18], k=3)
    for way in ("pixels", "hidden"):
        assert found[way].indices[0] == 17 and found[way].distances[0] == pytest.approx(0, abs=1e-2)
        assert found[way].labels[0] == int(synthetic.train_labels[17])


@pytest.mark.parametrize("arch, width", [("softmax", 784), ("mlp", 512), ("deep-mlp", 256), ("cnn", 128)])
def test_hidden_features_are_the_last_linear_layers_input(arch, width, synthetic):
    model = create_model(TrainConfig(arch=arch)).eval()
    features = hidden_features(model, synthetic.test_x[:5])
    assert features.shape == (5, width)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        assert torch.allclose(last(features), model(synthetic.test_x[:5]), atol=1e-4)


def test_pixel_features_undo_the_normalization(synthetic):
    assert torch.allclose(pixel_features(synthetic.test_x[:3]) * 255,
                          synthetic.test_images[:3].reshape(3, -1).float(), atol=1e-3)


def test_the_cache_builds_once_per_run(synthetic):
    model = create_model(TrainConfig(arch="mlp")).eval()
    first = index_for_run(("run-a", "synthetic"), model, synthetic.train_x, synthetic.train_labels)
    again = index_for_run(("run-a", "synthetic"), model, synthetic.train_x, synthetic.train_labels)
    other = index_for_run(("run-b", "synthetic"), model, synthetic.train_x, synthetic.train_labels)
    assert first is again and other is not first
    assert other.by_pixels is first.by_pixels  # the pixel index does not depend on the run
