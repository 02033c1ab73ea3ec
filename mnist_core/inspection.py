"""Looking inside a trained model, as plain arrays and pictures (no Streamlit here).

What the "Look inside" pages draw comes from this module:

- weights as pictures: softmax templates, first-layer MLP units, first-layer conv filters,
  with a diverging colour scale centred at 0 (`diverging_rgb`);
- what happens to one input: the activations of every layer and the conv feature maps,
  captured with forward hooks (`layer_activations`, `feature_maps`);
- numbers per layer: weight histograms (`weight_histograms`), template roughness;
- confusion cells: which test images fall in a cell and their average image;
- exports: contact sheets and confusion-matrix pictures as PNG (Pillow), tables as CSV.

Pictures are upscaled with nearest-neighbour (each pixel becomes a crisp square),
so a 28x28 digit stays sharp on a projector. Cached models are shared by every
session, so nothing here changes a model: hooks are removed again and only
record calls made by the thread that added them.
"""
from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import nn

from .data import IMAGE_SIZE, MNIST_MEAN, MNIST_STD
from .metrics import ClassReport, Mistakes

# Blue (negative) - white (zero) - orange (positive): readable with red-green colour blindness
# (the ends of ColorBrewer's PuOr-like scales, close to Vega's "blueorange").
DIVERGING_ANCHORS = np.array([
    [8, 69, 148],  # -1
    [107, 174, 214],  # -0.5
    [247, 247, 247],  # 0
    [253, 174, 97],  # +0.5
    [179, 88, 6],  # +1
], dtype=np.float64)
ACTIVATION_TYPES = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.GELU)


class InspectError(ValueError):
    """A view does not apply to this model or input; the message says why in plain words."""


# ---------------------------------------------------------------- colours and pictures
def symmetric_limit(values, quantile: float = 0.99) -> float:
    """A colour-scale limit L for values shown on [-L, L]: a high quantile of |values|.

    A quantile instead of the maximum keeps one extreme weight from washing out the rest.

    >>> symmetric_limit(np.array([-2.0, 1.0, 0.5, 0.0]), quantile=1.0)
    2.0
    """
    magnitude = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    if magnitude.size == 0:
        return 1.0
    limit = float(np.quantile(magnitude, quantile))
    return limit if limit > 0 else (float(magnitude.max()) or 1.0)


def diverging_rgb(values, limit: float | None = None) -> np.ndarray:
    """Values -> uint8 RGB (..., 3) on a blue-white-orange scale: -limit blue, 0 white, +limit orange.

    >>> diverging_rgb(np.array([-1.0, 0.0, 1.0]), limit=1.0).tolist()
    [[8, 69, 148], [247, 247, 247], [179, 88, 6]]
    """
    values = np.asarray(values, dtype=np.float64)
    limit = symmetric_limit(values) if limit is None else float(limit) or 1.0
    position = (np.clip(values / limit, -1.0, 1.0) + 1.0) * 2.0  # 0..4 over the 5 anchors
    low = np.minimum(np.floor(position).astype(np.int64), 3)
    fraction = (position - low)[..., None]
    rgb = DIVERGING_ANCHORS[low] * (1 - fraction) + DIVERGING_ANCHORS[low + 1] * fraction
    return np.round(rgb).astype(np.uint8)


def grey_rgb(values, high: float | None = None) -> np.ndarray:
    """Non-negative values -> uint8 RGB greys, 0 black and `high` (default: the maximum) white.

    Used for digits and ReLU feature maps: bright means "a lot of ink" or "fired strongly".

    >>> grey_rgb(np.array([0.0, 0.5, 1.0]), high=1.0)[:, 0].tolist()
    [0, 128, 255]
    """
    values = np.asarray(values, dtype=np.float64)
    high = float(values.max()) if high is None and values.size else (high or 1.0)
    scaled = np.clip(values / (high if high > 0 else 1.0), 0.0, 1.0) * 255.0
    return np.repeat(np.round(scaled).astype(np.uint8)[..., None], 3, axis=-1)


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling: each pixel becomes a scale x scale square (stays crisp).

    >>> upscale(np.array([[1, 2]]), 2).tolist()
    [[1, 1, 2, 2], [1, 1, 2, 2]]
    """
    return np.repeat(np.repeat(np.asarray(image), scale, axis=0), scale, axis=1)


def font(size: int) -> ImageFont.ImageFont:
    """Pillow's built-in scalable font (no system fonts needed)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the small bitmap font
        return ImageFont.load_default()


def tile_grid(tiles: list[np.ndarray], columns: int, scale: int = 1, gap: int = 4,
              labels: list[str] | None = None, label_size: int = 14,
              background=(255, 255, 255)) -> Image.Image:
    """Equal-sized RGB tiles (H, W, 3) laid out in rows of `columns`, each upscaled by `scale`.

    With `labels`, each tile gets its text below it (lines separated by "\\n").

    >>> tile_grid([np.zeros((2, 2, 3), np.uint8)] * 3, columns=2, scale=2, gap=1).size
    (9, 9)
    """
    if not tiles:
        return Image.new("RGB", (1, 1), background)
    height, width = tiles[0].shape[0] * scale, tiles[0].shape[1] * scale
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    lines = max((label.count("\n") + 1 for label in labels), default=0) if labels else 0
    label_height = int(lines * label_size * 1.3) if labels else 0
    sheet = Image.new("RGB", (columns * width + (columns - 1) * gap,
                              rows * (height + label_height) + (rows - 1) * gap), background)
    draw = ImageDraw.Draw(sheet) if labels else None
    text_font = font(label_size) if labels else None
    for i, tile in enumerate(tiles):
        row, column = divmod(i, columns)
        x, y = column * (width + gap), row * (height + label_height + gap)
        sheet.paste(Image.fromarray(upscale(tile, scale)), (x, y))
        if labels:
            draw.multiline_text((x + width / 2, y + height + 2), labels[i], fill=(20, 20, 20), font=text_font,
                                anchor="ma", align="center", spacing=2)
    return sheet


def png_bytes(image: Image.Image | np.ndarray) -> bytes:
    """A picture (PIL image or uint8 array) encoded as PNG."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # speed over size: these are small
    return buffer.getvalue()


def digit_png(image, scale: int = 4) -> bytes:
    """One 28x28 digit (uint8 0-255, or float in [0, 1]) as a crisp, upscaled greyscale PNG."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    return png_bytes(upscale(image, scale))


def colour_legend(limit: float, width: int = 300, height: int = 16, label_size: int = 14) -> Image.Image:
    """A horizontal bar from -limit (blue) through 0 (white) to +limit (orange), with its three values."""
    bar = diverging_rgb(np.tile(np.linspace(-limit, limit, width), (height, 1)), limit)
    text_height = int(label_size * 1.4)
    legend = Image.new("RGB", (width + 2 * label_size * 2, height + text_height), (255, 255, 255))
    left = label_size * 2
    legend.paste(Image.fromarray(bar), (left, 0))
    draw, text_font = ImageDraw.Draw(legend), font(label_size)
    for x, text, anchor in ((left, f"{-limit:.2g}", "la"), (left + width // 2, "0", "ma"),
                            (left + width, f"+{limit:.2g}", "ra")):
        draw.text((x, height + 2), text, fill=(20, 20, 20), font=text_font, anchor=anchor)
    return legend


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


# ---------------------------------------------------------------- exports
def confidence_text(probability: float) -> str:
    """A probability as a percentage that never claims a certainty it does not have.

    A softmax output is never exactly 1, so anything above 99.9% is shown as such, not as 100%.

    >>> [confidence_text(p) for p in (0.973, 0.9951, 1.0)]
    ['97%', '99.5%', '>99.9%']
    """
    if probability >= 0.999:
        return ">99.9%"
    return f"{100 * probability:.1f}%" if probability >= 0.99 else f"{100 * probability:.0f}%"


def mistake_caption(true_label: int, predicted_label: int, confidence: float) -> str:
    """The two lines under a contact-sheet tile (plain ASCII words: Pillow's font has no arrows).

    >>> mistake_caption(9, 4, 0.973)
    '9 read as 4\\n97% sure'
    """
    return f"{true_label} read as {predicted_label}\n{confidence_text(confidence)} sure"


def contact_sheet(images, mistakes: Mistakes, columns: int = 10, scale: int = 3,
                  max_tiles: int = 500) -> Image.Image:
    """The mistakes (most confident first) as one printable sheet: digit tiles with 'true → read as · confidence'."""
    images = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    count = min(len(mistakes), max_tiles)
    tiles = [grey_rgb(images[mistakes.index[i]], high=255) for i in range(count)]
    labels = [mistake_caption(int(mistakes.true_label[i]), int(mistakes.predicted_label[i]),
                              float(mistakes.confidence[i])) for i in range(count)]
    if not tiles:
        return tile_grid([], columns)
    return tile_grid(tiles, columns, scale=scale, gap=10, labels=labels, label_size=max(11, 4 * scale + 1))


def confusion_matrix_picture(cm: np.ndarray, cell: int = 56) -> Image.Image:
    """The confusion matrix as a picture with a count in every cell (rows = true, columns = predicted).

    Off-diagonal cells are orange by their share of the true class; the diagonal is blue.
    """
    cm = np.asarray(cm)
    n = cm.shape[0]
    support = np.maximum(cm.sum(axis=1, keepdims=True), 1)
    share = cm / support
    off = share.copy()
    np.fill_diagonal(off, 0)
    off_limit = max(float(off.max()), 1e-9)
    margin = cell  # room for the axis titles and digits
    picture = Image.new("RGB", (margin + n * cell + 8, margin + n * cell + 8), (255, 255, 255))
    draw = ImageDraw.Draw(picture)
    number_font, title_font = font(int(cell * 0.3)), font(int(cell * 0.28))
    for t in range(n):
        for p in range(n):
            if t == p:
                colour = tuple(int(v) for v in diverging_rgb(-0.25 - 0.75 * share[t, p], 1.0))
            else:
                colour = tuple(int(v) for v in diverging_rgb(share[t, p] / off_limit, 1.0))
            x, y = margin + p * cell, margin + t * cell
            draw.rectangle([x, y, x + cell - 2, y + cell - 2], fill=colour)
            dark = sum(colour) < 400
            draw.text((x + cell / 2, y + cell / 2), f"{cm[t, p]:,}", font=number_font, anchor="mm",
                      fill=(255, 255, 255) if dark else (20, 20, 20))
        draw.text((margin - 8, margin + t * cell + cell / 2), str(t), font=number_font, anchor="rm", fill=(20, 20, 20))
        draw.text((margin + t * cell + cell / 2, margin - 6), str(t), font=number_font, anchor="mb", fill=(20, 20, 20))
    draw.text((margin, 4), "predicted digit", font=title_font, fill=(80, 80, 80))
    draw.text((4, margin - 10), "true", font=title_font, fill=(80, 80, 80), anchor="lb")
    return picture


def class_table_picture(report: ClassReport, accuracy_per_class: np.ndarray) -> Image.Image:
    """The per-class table (accuracy, precision, recall, F1, support) as a picture for slides."""
    header = ["digit", "accuracy", "precision", "recall", "F1", "support"]
    rows = class_table_rows(report, accuracy_per_class)
    cells = [header] + [[r["digit"]] + [_percent(r[k]) for k in ("accuracy", "precision", "recall", "f1")]
                        + [f"{r['support']:,}"] for r in rows]
    text_font, row_height, column_width = font(20), 34, 130
    picture = Image.new("RGB", (column_width * len(header) + 16, row_height * len(cells) + 16), (255, 255, 255))
    draw = ImageDraw.Draw(picture)
    for i, row in enumerate(cells):
        y = 8 + i * row_height
        if i == 0 or row[0] == "macro":
            draw.rectangle([0, y, picture.width, y + row_height - 2], fill=(242, 245, 249))
        for j, text in enumerate(row):
            draw.text((8 + (j + 1) * column_width - 12, y + row_height / 2), text, font=text_font,
                      anchor="rm", fill=(20, 20, 20))
    return picture


def _percent(value) -> str:
    return "—" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{100 * value:.1f}%"


def class_table_rows(report: ClassReport, accuracy_per_class: np.ndarray) -> list[dict]:
    """report.rows() with each digit's accuracy added (the macro row gets the mean accuracy)."""
    rows = report.rows()
    accuracy_per_class = np.asarray(accuracy_per_class, dtype=np.float64)
    for row, value in zip(rows, list(accuracy_per_class) + [float(np.nanmean(accuracy_per_class))]):
        row["accuracy"] = None if np.isnan(value) else float(value)
    return rows


def csv_text(rows: list[dict]) -> str:
    """Rows of equal keys as CSV text (header first).

    >>> csv_text([{"a": 1, "b": 2}])
    'a,b\\r\\n1,2\\r\\n'
    """
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def confusion_matrix_csv(cm: np.ndarray) -> str:
    """The confusion matrix as CSV: one row per true digit, one column per predicted digit.

    >>> confusion_matrix_csv(np.array([[1, 0], [2, 3]])).splitlines()
    ['true \\\\ predicted,0,1', '0,1,0', '1,2,3']
    """
    cm = np.asarray(cm)
    rows = [{"true \\ predicted": str(t), **{str(p): int(cm[t, p]) for p in range(cm.shape[1])}}
            for t in range(cm.shape[0])]
    return csv_text(rows).replace("\r\n", "\n")
