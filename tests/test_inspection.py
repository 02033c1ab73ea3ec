"""Tests of mnist_core.inspection: weight pictures, activations via hooks, confusion cells and exports.

Activations are checked against the same layers computed by hand (a second
way to get the same numbers), pictures by their sizes and pixel values.
"""
import csv
import io
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from mnist_core import inspection
from mnist_core.config import TrainConfig
from mnist_core.data import normalize
from mnist_core.metrics import confusion_matrix, misclassified, per_class_accuracy, precision_recall_f1
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


# ------------------------------------------------------------------ colours and pictures
def test_diverging_colours_are_blue_white_orange_and_clip():
    rgb = inspection.diverging_rgb(np.array([-5.0, -1.0, 0.0, 1.0, 5.0]), limit=1.0)
    assert rgb[2].tolist() == [247, 247, 247]  # zero is white
    assert rgb[1].tolist() == rgb[0].tolist()  # beyond the limit is clipped
    assert rgb[1, 2] > rgb[1, 0]  # negative is blue
    assert rgb[3, 0] > rgb[3, 2]  # positive is orange
    assert rgb.dtype == np.uint8


def test_diverging_colours_get_darker_away_from_zero():
    brightness = inspection.diverging_rgb(np.linspace(0, 1, 9), limit=1.0).astype(int).sum(axis=1)
    assert (np.diff(brightness) <= 0).all()


def test_symmetric_limit_ignores_rare_extremes():
    values = np.concatenate([np.full(999, 0.1), [100.0]])
    assert inspection.symmetric_limit(values, quantile=0.99) == pytest.approx(0.1)
    assert inspection.symmetric_limit(np.zeros(4)) == 1.0


def test_grey_and_upscale():
    grey = inspection.grey_rgb(np.array([[0.0, 2.0]]))
    assert grey[0, 1].tolist() == [255, 255, 255] and grey[0, 0].tolist() == [0, 0, 0]
    big = inspection.upscale(np.arange(4).reshape(2, 2), 3)
    assert big.shape == (6, 6) and big[2, 2] == 0 and big[3, 3] == 3


def test_tile_grid_places_tiles_in_rows_with_gaps():
    tiles = [np.full((2, 3, 3), value, np.uint8) for value in (10, 20, 30)]
    grid = np.asarray(tile_grid := inspection.tile_grid(tiles, columns=2, scale=2, gap=1))
    assert tile_grid.size == (2 * 6 + 1, 2 * 4 + 1)  # (width, height)
    assert grid[0, 0, 0] == 10 and grid[0, 7, 0] == 20 and grid[5, 0, 0] == 30
    assert grid[0, 6].tolist() == [255, 255, 255]  # the gap


def test_tile_grid_with_labels_makes_room_for_text():
    tiles = [np.zeros((28, 28, 3), np.uint8)] * 2
    plain = inspection.tile_grid(tiles, columns=2)
    labelled = inspection.tile_grid(tiles, columns=2, labels=["a", "b"], label_size=14)
    assert labelled.size[0] == plain.size[0] and labelled.size[1] > plain.size[1]


def test_digit_png_is_a_crisp_upscaled_greyscale_picture():
    image = np.zeros((28, 28), np.uint8)
    image[0, 0] = 255
    picture = Image.open(io.BytesIO(inspection.digit_png(image, scale=4)))
    assert picture.size == (112, 112)
    pixels = np.asarray(picture)
    assert pixels[3, 3] == 255 and pixels[4, 4] == 0  # one pixel became a sharp 4x4 square
    assert np.asarray(Image.open(io.BytesIO(inspection.digit_png(image / 255.0, scale=1)))).max() == 255


def test_colour_legend_is_a_picture():
    assert inspection.colour_legend(0.5, width=200).size[0] > 200


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


# ------------------------------------------------------------------ exports
def test_confidence_text_never_claims_certainty():
    assert inspection.confidence_text(0.9999) == ">99.9%"
    assert inspection.confidence_text(0.996) == "99.6%"
    assert inspection.confidence_text(0.5) == "50%"


def test_contact_sheet_has_one_captioned_tile_per_mistake():
    images = np.zeros((5, 28, 28), np.uint8)
    mistakes = misclassified(Y_TRUE, PROBABILITIES)
    sheet = inspection.contact_sheet(images, mistakes, columns=2, scale=2)
    one_row = inspection.contact_sheet(images, mistakes.filter(true_label=4), columns=2, scale=2)
    assert sheet.size[0] == 2 * 56 + 10 and sheet.size[1] > 2 * one_row.size[1]
    capped = inspection.contact_sheet(images, mistakes, columns=2, scale=2, max_tiles=1)
    assert capped.size == one_row.size


def test_confusion_matrix_csv_reads_back():
    cm = np.arange(100).reshape(10, 10)
    rows = list(csv.reader(io.StringIO(inspection.confusion_matrix_csv(cm))))
    assert rows[0] == ["true \\ predicted"] + [str(d) for d in range(10)]
    assert np.array([[int(v) for v in row[1:]] for row in rows[1:]]).tolist() == cm.tolist()


def test_class_table_rows_add_accuracy_and_export_as_csv():
    cm = np.array([[8, 2], [1, 9]])
    rows = inspection.class_table_rows(precision_recall_f1(cm), per_class_accuracy(cm))
    assert [r["accuracy"] for r in rows] == [0.8, 0.9, pytest.approx(0.85)]
    table = list(csv.DictReader(io.StringIO(inspection.csv_text(rows))))
    assert [r["digit"] for r in table] == ["0", "1", "macro"]
    assert float(table[0]["precision"]) == pytest.approx(8 / 9)


def test_export_pictures_have_the_expected_layout():
    cm = np.diag(np.full(10, 100))
    cm[9, 4] = 7
    picture = inspection.confusion_matrix_picture(cm, cell=40)
    assert picture.size == (40 + 10 * 40 + 8,) * 2
    report = precision_recall_f1(cm)
    table = inspection.class_table_picture(report, per_class_accuracy(cm))
    assert table.size[1] > 12 * 30  # header, ten digits and the macro row
