"""Looking inside a trained model, as plain arrays (no Streamlit here).

What the "Look inside" pages show of a model comes from this module:

- weights: softmax templates, first-layer MLP units, first-layer conv filters, weight
  histograms per layer and template roughness;
- what happens to one input: the activations of every layer and the conv feature maps,
  captured with forward hooks (`layer_activations`, `feature_maps`);
- confusion cells: which test images fall in a cell and their average image.

The pictures of all this are drawn by mnist_core.pictures. Cached models are shared by
every session, so nothing here changes a model: hooks are removed again and only record
calls made by the thread that added them.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .data import IMAGE_SIZE, MNIST_MEAN, MNIST_STD
from .metrics import Mistakes

ACTIVATION_TYPES = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.GELU)


class InspectError(ValueError):
    """A view does not apply to this model or input; the message says why in plain words."""


# ---------------------------------------------------------------- layers and weights
@dataclass
class Layer:
    name: str  # the module's name in the model, e.g. "layers.0"
    module: nn.Module
    label: str  # what a student reads, e.g. "Hidden layer 1 (784→512)"


def parametrised_layers(model: nn.Module) -> list[Layer]:
    """The model's Linear and Conv2d layers in forward order, with plain-word labels."""
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    linears = [m for _, m in found if isinstance(m, nn.Linear)]
    layers, conv_count, hidden_count = [], 0, 0
    for name, module in found:
        if isinstance(module, nn.Conv2d):
            conv_count += 1
            kh, kw = module.kernel_size
            label = (f"Conv layer {conv_count} ({module.in_channels}→{module.out_channels} "
                     f"channels, {kh}×{kw} filters)")
        elif module is linears[-1]:
            label = f"Output layer ({module.in_features}→{module.out_features})"
        else:
            hidden_count += 1
            label = f"Hidden layer {hidden_count} ({module.in_features}→{module.out_features})"
        layers.append(Layer(name, module, label))
    return layers


def _first_pixel_layer(model: nn.Module) -> nn.Linear:
    for layer in parametrised_layers(model):
        if isinstance(layer.module, nn.Linear) and layer.module.in_features == IMAGE_SIZE * IMAGE_SIZE:
            return layer.module
    raise InspectError("This model has no layer that looks at the 28×28 pixels directly "
                       "(a CNN looks through small filters instead).")


def softmax_templates(model: nn.Module) -> np.ndarray:
    """(10, 28, 28): each digit's weights over the pixels, the 'template' a softmax model matches.

    Positive weights (orange) are pixels where ink is evidence for the digit.
    """
    layer = _first_pixel_layer(model)
    if layer.out_features != 10:
        raise InspectError("Only softmax regression has one 28×28 template per digit.")
    return layer.weight.detach().cpu().numpy().reshape(10, IMAGE_SIZE, IMAGE_SIZE).copy()


def first_layer_units(model: nn.Module) -> np.ndarray:
    """(units, 28, 28): the weights of each first-layer unit over the pixels (MLP or softmax)."""
    weight = _first_pixel_layer(model).weight.detach().cpu().numpy()
    return weight.reshape(-1, IMAGE_SIZE, IMAGE_SIZE).copy()


def strongest_units(units: np.ndarray) -> np.ndarray:
    """Unit indices ordered by the size (L2 norm) of their weights, largest first.

    >>> strongest_units(np.array([[[0.1]], [[-2.0]], [[1.0]]])).tolist()
    [1, 2, 0]
    """
    norms = np.sqrt((np.asarray(units, dtype=np.float64) ** 2).reshape(len(units), -1).sum(axis=1))
    return np.argsort(-norms, kind="stable")


def conv_filters(model: nn.Module) -> np.ndarray:
    """(filters, k, k): the first conv layer's filters (its input is the one grey channel)."""
    for layer in parametrised_layers(model):
        if isinstance(layer.module, nn.Conv2d):
            weight = layer.module.weight.detach().cpu().numpy()  # (out, in, k, k)
            return weight[:, 0].copy() if weight.shape[1] == 1 else weight.mean(axis=1)
    raise InspectError("This model has no convolution layer, so it has no filters to show.")


def roughness(images: np.ndarray) -> float:
    """How noisy weight pictures are: neighbour differences over overall size (≈1 noise, 0 smooth).

    It is (mean dx² + mean dy²) / (4 · mean w²), so pixel-independent noise gives about 1
    a picture where neighbours are equal gives 0 and a checkerboard gives 2.
    L2 regularization lowers it.

    >>> roughness(np.ones((1, 4, 4)))
    0.0
    >>> roughness(np.array([[[1.0, -1.0], [-1.0, 1.0]]]))
    2.0
    """
    w = np.asarray(images, dtype=np.float64)
    dx = np.diff(w, axis=-1) ** 2
    dy = np.diff(w, axis=-2) ** 2
    size = (w ** 2).mean()
    return float((dx.mean() + dy.mean()) / (4 * size)) if size > 0 else 0.0


@dataclass
class WeightHistogram:
    label: str  # e.g. "Hidden layer 1 (784→512)"
    counts: np.ndarray  # (bins,)
    edges: np.ndarray  # (bins + 1,)
    count: int  # number of weights
    mean: float
    std: float


def weight_histograms(model: nn.Module, bins: int = 40) -> list[WeightHistogram]:
    """One histogram of the weights (not biases) of each Linear/Conv2d layer, in forward order."""
    out = []
    for layer in parametrised_layers(model):
        w = layer.module.weight.detach().cpu().numpy().ravel().astype(np.float64)
        counts, edges = np.histogram(w, bins=bins)
        out.append(WeightHistogram(layer.label, counts, edges, int(w.size), float(w.mean()), float(w.std())))
    return out


# ---------------------------------------------------------------- one input through the network
@dataclass
class LayerActivation:
    label: str  # e.g. "Conv layer 1 after ReLU (16 maps, 28×28)"
    values: np.ndarray  # one input's output: (units,) or (channels, H, W) for feature maps

    @property
    def is_feature_map(self) -> bool:
        return self.values.ndim == 3


def image_to_input(image) -> torch.Tensor:
    """A 28x28 picture (uint8 0-255, or float in [0, 1] with ink = 1) -> the model's (1, 1, 28, 28) input."""
    image = np.asarray(image)
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise InspectError(f"Expected a 28×28 picture, got one of shape {image.shape}.")
    x = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    return torch.from_numpy((x - MNIST_MEAN) / MNIST_STD).reshape(1, 1, IMAGE_SIZE, IMAGE_SIZE)


@torch.no_grad()
def layer_activations(model: nn.Module, x: torch.Tensor) -> list[LayerActivation]:
    """What each layer outputs for ONE input x (1, 1, 28, 28), in forward order.

    Recorded: the output of every activation function (hidden units after ReLU/tanh/
    sigmoid; for a CNN, conv feature maps), then the output layer's scores (logits)
    and the probabilities (softmax of the logits). The model is used as it is (eval
    mode expected) and left unchanged.
    """
    if x.dim() != 4 or x.shape[0] != 1:
        raise InspectError("layer_activations takes exactly one image, shaped (1, 1, 28, 28).")
    layers = parametrised_layers(model)
    if not layers:
        raise InspectError("This model has no layers with weights.")
    # Which parametrised layer feeds each activation module: the last one registered before it.
    labels_for: dict[int, str] = {}
    previous = None
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            previous = next(layer for layer in layers if layer.module is module)
        elif isinstance(module, ACTIVATION_TYPES) and previous is not None:
            labels_for[id(module)] = previous.label.split(" (")[0] + f" after {type(module).__name__}"
    output_layer = layers[-1].module
    labels_for[id(output_layer)] = "Output scores (logits)"

    # The model may be shared with other sessions: record only this thread's forward pass.
    me = threading.get_ident()
    recorded: list[LayerActivation] = []

    def record(module, _inputs, output):
        if threading.get_ident() == me:
            recorded.append(LayerActivation(labels_for[id(module)], output[0].detach().cpu().numpy().copy()))

    handles = [m.register_forward_hook(record) for _, m in model.named_modules() if id(m) in labels_for]
    try:
        logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    for item in recorded:
        if item.is_feature_map:
            c, h, w = item.values.shape
            item.label += f" ({c} maps, {h}×{w})"
        elif item.label != "Output scores (logits)":
            item.label += f" ({item.values.size} units)"
    recorded.append(LayerActivation("Probabilities (softmax of the scores)",
                                    torch.softmax(logits[0], dim=0).cpu().numpy()))
    return recorded


def feature_maps(model: nn.Module, x: torch.Tensor) -> list[LayerActivation]:
    """The feature maps (channels, H, W) of every conv layer for one input, after its activation."""
    maps = [a for a in layer_activations(model, x) if a.is_feature_map]
    if not maps:
        raise InspectError("This model has no convolution layers, so it has no feature maps.")
    return maps


# ---------------------------------------------------------------- confusion cells
def cell_indices(y_true, y_pred, true: int, predicted: int, probabilities=None) -> np.ndarray:
    """Indices of the examples in one confusion cell (true class `true`, read as `predicted`).

    With `probabilities`, the most confident first; otherwise in index order.

    >>> cell_indices([4, 9, 9, 9], [4, 4, 9, 4], true=9, predicted=4).tolist()
    [1, 3]
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    index = np.flatnonzero((y_true == true) & (y_pred == predicted))
    if probabilities is not None and len(index):
        confidence = np.asarray(probabilities)[index, predicted]
        index = index[np.argsort(-confidence, kind="stable")]
    return index


def cell_examples(y_true, probabilities, true: int, predicted: int) -> Mistakes:
    """The examples of one confusion cell as a `Mistakes` record (right answers too on the diagonal),
    most confident first, with each example's top-3 digits.

    >>> probabilities = [[0.25, 0.5, 0.25], [0.0, 0.75, 0.25], [0.0, 1.0, 0.0]]
    >>> twos_read_as_one = cell_examples([2, 2, 1], probabilities, true=2, predicted=1)
    >>> twos_read_as_one.index.tolist(), twos_read_as_one.confidence.tolist(), twos_read_as_one.top3_labels.tolist()
    ([1, 0], [0.75, 0.5], [[1, 2, 0], [1, 0, 2]])
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float32)
    index = cell_indices(y_true, probabilities.argmax(axis=1), true, predicted, probabilities)
    chosen = probabilities[index]
    top = np.argsort(-chosen, axis=1, kind="stable")[:, :3]
    return Mistakes(index=index, true_label=y_true[index], predicted_label=np.full(len(index), predicted),
                    confidence=chosen[:, predicted] if len(index) else np.zeros(0, np.float32),
                    top3_labels=top, top3_probabilities=np.take_along_axis(chosen, top, axis=1))


def average_image(images, indices) -> np.ndarray | None:
    """The pixel-wise mean (28, 28) float in [0, 1] of images[indices]; None when there are none.

    >>> average_image(np.array([[[0, 255]], [[255, 255]]], dtype=np.uint8), [0, 1]).tolist()
    [[0.5, 1.0]]
    """
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size == 0:
        return None
    images = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    chosen = images[indices].astype(np.float64)
    return (chosen.mean(axis=0) / (255.0 if images.dtype == np.uint8 else 1.0)).astype(np.float32)
