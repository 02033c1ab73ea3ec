"""Digit pictures on the page: crisp upscaling, tile galleries with paging, and weight pictures.

A gallery page is one `st.html` block of tiles (40 per page), not 40 separate
elements: it renders in one go and the top-3 probabilities are a hover
tooltip plus a click-to-open list, without a rerun. Every label is a digit or
a number that we format ourselves, so no user text goes into the HTML.
"""
from __future__ import annotations

import base64
import math

import numpy as np
import streamlit as st

from mnist_core.pictures import confidence_text, digit_png, png_bytes, upscale
from mnist_core.metrics import Mistakes

from .charts.palette import BACKGROUND, BORDER, GREEN, GREY, VERMILLION

TILES_PER_PAGE = 40
TILE_PIXELS = 112  # 28 x 4: nearest-neighbour, so every MNIST pixel is a crisp 4x4 square

# Browsers smooth upscaled pictures by default, which blurs 28x28 digits on a projector;
# a row of tiles (st.image of a list) gets a small gap so that neighbours do not merge.
_CRISP_CSS = """<style>
[data-testid="stImage"] img, img.mnist-digit { image-rendering: pixelated; }
[data-testid="stImage"] [data-testid="stImageContainer"] { margin-right: 8px; }
</style>"""


def crisp_images() -> None:
    """Tell the browser to enlarge the pictures on this page pixel by pixel (no blur)."""
    st.html(_CRISP_CSS)


def show_picture(picture, caption: str | None = None, width="content", container=st, alt: str | None = None) -> None:
    """A PIL picture, uint8 array or PNG bytes, shown crisp as PNG.

    Always PNG: Streamlit's default for colour pictures is JPEG, whose colour
    subsampling smears neighbouring pixels of a weight picture into each other.
    """
    data = picture if isinstance(picture, bytes) else png_bytes(picture)
    container.image(data, caption=caption, width=width, output_format="PNG", alt=alt or caption or "A picture")


@st.cache_resource(show_spinner=False)
def sample_grid(source: str, _images, _labels, per_digit: int) -> bytes:
    """One row per digit 0-9 of its first `per_digit` training images, with 2 px gaps, as a PNG.

    `source` is the cache key: the image tensors are the shared dataset and are not hashed.
    Encoded once for every session (bytes are immutable), and defined here rather than in the
    page: a cached function defined in a page script is re-made, its source read and tokenized,
    on every visit. Show it with `show_picture` (PNG): st.image's default re-encodes PNG bytes
    as JPEG on every visit.
    """
    labels = _labels.numpy()
    pad, size = 2, 28
    grid = np.full((10 * (size + pad) + pad, per_digit * (size + pad) + pad), 40, dtype=np.uint8)
    for digit in range(10):
        for column, index in enumerate(np.flatnonzero(labels == digit)[:per_digit]):
            top, left = pad + digit * (size + pad), pad + column * (size + pad)
            grid[top:top + size, left:left + size] = _images[index].numpy()
    return png_bytes(upscale(grid, 2))  # 2x2 screen pixels per MNIST pixel: readable


def show_tiles(tiles: list[np.ndarray], captions: list[str], width: int = 96) -> None:
    """Small RGB pictures in a row that wraps, each enlarged to `width` pixels (crisp) with a text caption.

    The pictures are sent at their own size (e.g. 28x28) and enlarged by the browser
    pixel by pixel, so the captions stay real text and the pictures stay sharp at any size.
    """
    st.image([png_bytes(tile) for tile in tiles], caption=captions, width=width, output_format="PNG", alt=captions)


def _tile_html(image: np.ndarray, test_index: int, true_label: int, predicted: int, confidence: float,
               top_labels, top_probabilities) -> str:
    data = base64.b64encode(digit_png(image, scale=TILE_PIXELS // 28)).decode("ascii")
    top = [f"{int(d)}: {100 * float(p):.1f}%" for d, p in zip(top_labels, top_probabilities)]
    wrong = true_label != predicted
    colour = VERMILLION if wrong else GREEN
    return (
        f'<div title="Top 3 — {", ".join(top)}" style="border:1px solid {BORDER};border-radius:6px;'
        f'padding:6px;text-align:center;background:{BACKGROUND};">'
        f'<img class="mnist-digit" src="data:image/png;base64,{data}" width="{TILE_PIXELS}" '
        f'height="{TILE_PIXELS}" alt="test image {test_index}: a {true_label}, read as {predicted} with {confidence_text(confidence)} confidence" style="image-rendering:pixelated;display:block;'
        f'margin:0 auto;">'
        f'<div style="font-size:1.05rem;margin-top:4px;">true <b>{true_label}</b> → '
        f'<b style="color:{colour}">{predicted}</b></div>'
        f'<div style="font-size:0.95rem;color:{GREY};">{confidence_text(confidence)} sure</div>'
        f'<details style="font-size:0.85rem;color:{GREY};"><summary style="cursor:pointer;">top 3</summary>'
        + "<br>".join(top) + f'<br><span style="color:{GREY}">test #{test_index}</span></details></div>'
    )


def tiles_html(images: np.ndarray, examples: Mistakes, start: int, stop: int) -> str:
    """The HTML grid of tiles examples[start:stop] (images are the uint8 test images)."""
    tiles = [_tile_html(images[examples.index[i]], int(examples.index[i]), int(examples.true_label[i]),
                        int(examples.predicted_label[i]), float(examples.confidence[i]),
                        examples.top3_labels[i], examples.top3_probabilities[i]) for i in range(start, stop)]
    return ('<div style="display:grid;grid-template-columns:repeat(auto-fill,minmax(136px,1fr));gap:10px;">'
            + "".join(tiles) + "</div>")


def paged_gallery(images: np.ndarray, examples: Mistakes, key: str, what: str = "mistakes",
                  per_page: int = TILES_PER_PAGE) -> None:
    """Tiles of `examples` in their order, `per_page` at a time, with a page chooser.

    `key` must change when the examples change (e.g. include the filters), so that
    a new selection starts again at page 1.
    """
    total = len(examples)
    if total == 0:
        st.info(f"No {what} match these filters.")
        return
    pages = math.ceil(total / per_page)
    if pages > 1:
        left, right = st.columns([1, 3], vertical_alignment="bottom")
        page = left.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, step=1, key=key)
    else:
        page, right = 1, st
    start, stop = (page - 1) * per_page, min(page * per_page, total)
    right.caption(f"Showing {start + 1:,}–{stop:,} of {total:,} {what}. Hover over a picture "
                  "(or open “top 3”) to see the three most likely digits.")
    st.html(tiles_html(images, examples, start, stop))
