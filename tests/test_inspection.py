"""Tests of mnist_core.inspection: weights, activations via hooks and confusion cells.

Activations are checked against the same layers computed by hand (a second
way to get the same numbers). The pictures are tested in test_pictures.py.
"""
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_core import inspection
from mnist_core.config import TrainConfig
from mnist_core.data import normalize
from mnist_core.metrics import confusion_matrix, misclassified
from mnist_core.models import create_model


@pytest.fixture(scope="module")
def models():
    """One freshly initialised model per architecture, in eval mode (seeded)."""
    return {arch: create_model(TrainConfig(arch=arch, hidden=(32,) if arch == "mlp" else None)).eval()
            for arch in ("softmax", "mlp", "deep-mlp", "cnn")}


@pytest.fixture(scope="module")
def one_image():
    torch.manual_seed(0)
    return (torch.rand(28, 28) * 255).to(torch.uint8).numpy()


# ------------------------------------------------------------------ weights
def test_layer_labels_name_every_weighted_layer(models):
    labels = [layer.label for layer in inspection.parametrised_layers(models["cnn"])]
    assert labels == ["Conv layer 1 (1→16 channels, 3×3 filters)", "Conv layer 2 (16→32 channels, 3×3 filters)",
                      "Hidden layer 1 (1568→128)", "Output layer (128→10)"]
    assert [layer.label for layer in inspection.parametrised_layers(models["softmax"])] == ["Output layer (784→10)"]


def test_softmax_templates_are_the_weight_rows_as_pictures(models):
    templates = inspection.softmax_templates(models["softmax"])
    weight = models["softmax"].linear.weight.detach().numpy()
    assert templates.shape == (10, 28, 28)
    np.testing.assert_array_equal(templates[3].ravel(), weight[3])
    templates[0, 0, 0] = 123.0  # a copy: the (possibly shared) model is untouched
    assert models["softmax"].linear.weight[0, 0].item() != 123.0


def test_templates_and_filters_refuse_models_without_them(models):
    with pytest.raises(inspection.InspectError, match="Only softmax"):
        inspection.softmax_templates(models["mlp"])
    with pytest.raises(inspection.InspectError, match="28×28 pixels"):
        inspection.first_layer_units(models["cnn"])
    with pytest.raises(inspection.InspectError, match="no convolution"):
        inspection.conv_filters(models["mlp"])


def test_first_layer_units_and_their_order(models):
    units = inspection.first_layer_units(models["mlp"])
    assert units.shape == (32, 28, 28)
    np.testing.assert_array_equal(units[5].ravel(), models["mlp"].layers[0].weight[5].detach().numpy())
    order = inspection.strongest_units(units)
    norms = np.linalg.norm(units.reshape(32, -1), axis=1)
    assert (np.diff(norms[order]) <= 0).all() and sorted(order.tolist()) == list(range(32))


def test_conv_filters_are_the_first_layer_kernels(models):
    filters = inspection.conv_filters(models["cnn"])
    assert filters.shape == (16, 3, 3)
    np.testing.assert_allclose(filters[7], models["cnn"].features[0].weight[7, 0].detach().numpy())


def test_roughness_scale():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((10, 28, 28))
    assert inspection.roughness(noise) == pytest.approx(1.0, abs=0.05)
    yy, xx = np.mgrid[0:28, 0:28]
    blob = np.exp(-((yy - 14) ** 2 + (xx - 14) ** 2) / 50.0)[None]
    assert inspection.roughness(blob) < 0.05
    assert inspection.roughness(np.zeros((1, 28, 28))) == 0.0


@pytest.mark.integration
def test_l2_makes_softmax_templates_smoother_on_mnist(mnist):
    """Weight decay fades the weights that only fit a few training images, so neighbours differ less.

    Measured here: roughness about 0.38 without L2 and 0.25 with L2 = 0.01 (2 epochs, all
    of MNIST). On tiny subsets the effect can reverse (L2 also removes the smooth offset
    the border pixels learn), so this uses the full training set as a class would.
    """
    from mnist_core.train import fit

    base = TrainConfig(arch="softmax", optimizer="sgd", lr=0.5, epochs=2, batch_size=256)
    plain = fit(base, mnist, evaluate_test=False).model
    decayed = fit(base.replace(l2=0.01), mnist, evaluate_test=False).model
    assert inspection.roughness(inspection.softmax_templates(decayed)) < 0.85 * inspection.roughness(inspection.softmax_templates(plain))
    assert np.abs(inspection.softmax_templates(decayed)).mean() < np.abs(inspection.softmax_templates(plain)).mean()


def test_weight_histograms_count_every_weight(models):
    histograms = inspection.weight_histograms(models["deep-mlp"], bins=20)
    weights = [m.weight for m in models["deep-mlp"].modules() if isinstance(m, nn.Linear)]
    assert [h.count for h in histograms] == [w.numel() for w in weights]
    assert all(h.counts.sum() == h.count and len(h.edges) == 21 for h in histograms)
    assert histograms[0].std == pytest.approx(weights[0].detach().double().std(unbiased=False).item(), rel=1e-4)


# ------------------------------------------------------------------ one input through the network
def test_image_to_input_normalizes_like_training(one_image):
    x = inspection.image_to_input(one_image)
    np.testing.assert_allclose(x.numpy(), normalize(torch.from_numpy(one_image)[None]).numpy(), atol=1e-6)
    np.testing.assert_allclose(inspection.image_to_input(one_image / 255.0).numpy(), x.numpy(), atol=1e-5)
    with pytest.raises(inspection.InspectError, match="28×28"):
        inspection.image_to_input(np.zeros((20, 20)))


def test_mlp_activations_equal_the_layers_computed_by_hand(models, one_image):
    model, x = models["mlp"], inspection.image_to_input(one_image)
    activations = inspection.layer_activations(model, x)
    assert [a.label for a in activations] == ["Hidden layer 1 after ReLU (32 units)", "Output scores (logits)",
                                              "Probabilities (softmax of the scores)"]
    first, last = model.layers[0], model.layers[-1]
    hidden = F.relu(first(x.flatten(1)))[0]
    np.testing.assert_allclose(activations[0].values, hidden.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(activations[1].values, last(hidden).detach().numpy(), atol=1e-5)
    assert activations[2].values.sum() == pytest.approx(1.0, abs=1e-5)
    assert activations[2].values.argmax() == model(x).argmax().item()


def test_cnn_feature_maps_equal_conv_then_relu(models, one_image):
    model, x = models["cnn"], inspection.image_to_input(one_image)
    maps = inspection.feature_maps(model, x)
    assert [m.values.shape for m in maps] == [(16, 28, 28), (32, 14, 14)]
    assert maps[0].label == "Conv layer 1 after ReLU (16 maps, 28×28)"
    expected = F.relu(model.features[0](x))[0].detach().numpy()
    np.testing.assert_allclose(maps[0].values, expected, atol=1e-5)
    assert (maps[1].values >= 0).all()


def test_softmax_activations_are_scores_and_probabilities(models, one_image):
    activations = inspection.layer_activations(models["softmax"], inspection.image_to_input(one_image))
    assert [a.values.shape for a in activations] == [(10,), (10,)]
    with pytest.raises(inspection.InspectError, match="no convolution"):
        inspection.feature_maps(models["softmax"], inspection.image_to_input(one_image))


def test_activations_leave_no_hooks_and_take_one_image(models, one_image):
    model = models["cnn"]
    inspection.layer_activations(model, inspection.image_to_input(one_image))
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(inspection.InspectError, match="exactly one image"):
        inspection.layer_activations(model, torch.zeros(2, 1, 28, 28))


def test_activations_ignore_forward_passes_of_other_threads(models, one_image):
    """A cached model is shared by sessions: another thread's forward pass must not be recorded."""
    class RunsTwiceInAnotherThreadFirst(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            other = threading.Thread(target=lambda: self.inner(torch.zeros_like(x)))
            other.start()
            other.join()
            return self.inner(x)

    x = inspection.image_to_input(one_image)
    wrapped = inspection.layer_activations(RunsTwiceInAnotherThreadFirst(models["mlp"]), x)
    direct = inspection.layer_activations(models["mlp"], x)
    assert len(wrapped) == len(direct)
    np.testing.assert_allclose(wrapped[0].values, direct[0].values)


# ------------------------------------------------------------------ confusion cells
Y_TRUE = np.array([9, 9, 9, 4, 4])
PROBABILITIES = np.zeros((5, 10), np.float32)
PROBABILITIES[[0, 1, 2, 3, 4], [4, 4, 9, 4, 9]] = [0.75, 0.875, 0.625, 1.0, 0.625]
PROBABILITIES[[0, 1, 2, 3, 4], [9, 9, 4, 9, 4]] = [0.25, 0.125, 0.375, 0.0, 0.375]


def test_cell_examples_are_that_cell_most_confident_first():
    cell = inspection.cell_examples(Y_TRUE, PROBABILITIES, true=9, predicted=4)
    assert cell.index.tolist() == [1, 0]
    assert cell.confidence.tolist() == [0.875, 0.75]
    assert cell.top3_labels[:, 0].tolist() == [4, 4]
    # The off-diagonal cells agree with misclassified(); the diagonal holds right answers.
    assert sorted(cell.index) == sorted(misclassified(Y_TRUE, PROBABILITIES).filter(9, 4).index)
    assert inspection.cell_examples(Y_TRUE, PROBABILITIES, true=4, predicted=4).index.tolist() == [3]
    assert len(inspection.cell_examples(Y_TRUE, PROBABILITIES, true=1, predicted=7)) == 0


def test_cell_sizes_add_up_to_the_confusion_matrix():
    cm = confusion_matrix(Y_TRUE, PROBABILITIES.argmax(1))
    for t in range(10):
        for p in range(10):
            assert len(inspection.cell_indices(Y_TRUE, PROBABILITIES.argmax(1), t, p)) == cm[t, p]


def test_average_image_by_hand():
    images = np.zeros((3, 28, 28), np.uint8)
    images[0, 0, 0], images[1, 0, 0], images[2, 5, 5] = 255, 51, 255
    average = inspection.average_image(images, [0, 1])
    assert average[0, 0] == pytest.approx(0.6) and average[5, 5] == 0.0
    assert inspection.average_image(torch.from_numpy(images), [2])[5, 5] == 1.0
    assert inspection.average_image(images, []) is None
