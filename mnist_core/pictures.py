"""Pictures for the "Look inside" pages and their downloads, as numpy arrays and PNG (Pillow).

- colour scales: a diverging blue-white-orange scale centred at 0 for weights
  (`diverging_rgb`, `symmetric_limit`, `colour_legend`) and greys for digits (`grey_rgb`);
- layout: nearest-neighbour upscaling (each pixel a crisp square, so a 28x28 digit stays
  sharp on a projector) and labelled tile grids;
- exports: contact sheets of mistakes, the confusion matrix and the per-class table as pictures.

No torch here: models are looked into by mnist_core.inspection; tables as CSV live in
mnist_core.tables.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .metrics import ClassReport, Mistakes
from .tables import class_table_rows

# Blue (negative) - white (zero) - orange (positive): readable with red-green colour blindness
# (the ends of ColorBrewer's PuOr-like scales, close to Vega's "blueorange").
DIVERGING_ANCHORS = np.array([
    [8, 69, 148],  # -1
    [107, 174, 214],  # -0.5
    [247, 247, 247],  # 0
    [253, 174, 97],  # +0.5
    [179, 88, 6],  # +1
], dtype=np.float64)


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
