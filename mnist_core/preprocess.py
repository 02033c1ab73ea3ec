"""Turn any drawing or picture of a digit into the 28x28 input an MNIST model expects.

MNIST itself was made this way (LeCun et al.): the ink of each digit was
cropped to its bounding box, scaled with anti-aliasing so that the larger side
is 20 px (keeping the aspect ratio), and pasted into a 28x28 frame so that the
ink's centre of mass sits at the centre of the frame. `to_mnist` repeats those
steps for a canvas drawing, an uploaded PNG/JPEG or any array, then normalizes
exactly as in training (`mnist_core.data.normalize`).

Conventions:
- Ink is 1 and background 0 (MNIST's white-on-black), whatever the input's colours.
- Centre of mass uses pixel-index coordinates: the centre of pixel (row r, column c)
  is the point (r, c), so the frame's geometric middle is (13.5, 13.5). MNIST's
  training digits have a mean centre of mass of (13.99, 14.00) in this convention,
  so we put it at FRAME_CENTER = (14, 14), with an integer shift as MNIST did
  (every MNIST digit's centre of mass lies within 0.52 px of (14, 14)).
- Bounding boxes are (top, left, bottom, right) with bottom and right exclusive.

The three steps can be switched off one by one (`crop`, `scale`,
`center_of_mass`) so that a page can show what each one is worth:
- crop=False keeps the whole picture instead of cutting it to the ink's bounding
  box, so the digit keeps its place and its margins inside the picture.
- scale=False skips size normalization: the picture is shrunk by the fixed factor
  that maps its larger side to 28 px (the crude "resize the canvas to 28x28"
  factor), so a small drawing stays small and a huge one stays huge.
- center_of_mass=False centres the kept region by its box instead of by its ink's
  centre of mass.
With all three off, the result is the crude resize of the whole picture to 28x28.
Whatever the toggles, the ink is stretched so its strongest pixel is 1, as in every
MNIST digit (a thin stroke averaged down to pale grey would otherwise look faint).

Blank input (a reset canvas is all black and opaque) is not an error: the result
says `blank=True` with a message to show instead of a prediction.

Speed: about 0.4 ms for a 280x280 RGBA canvas, 0.7 ms with the small CNN's
prediction, on one thread (`python bench/preprocess_speed.py`).
"""
from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .data import IMAGE_SIZE, normalize

TARGET_BOX = 20  # MNIST scaled every digit so that its larger side is 20 px
FRAME_CENTER = (14.0, 14.0)  # where MNIST's centre of mass lies (pixel-index coordinates)
MAX_PICTURE_PIXELS = 25_000_000  # 5000x5000: larger pictures are refused before they are decoded
MIN_CONTRAST = 0.15  # below this (in [0, 1]) nothing differs visibly from the background
NOISE_FLOOR = 0.08  # share of the ink's peak treated as background noise (JPEG, paper grain)
INK_LEVEL = 0.5  # a pixel counts as inked (for the blank test) at half the peak or more
MIN_INK_PIXELS = 25  # fewer inked pixels than this (on a large picture) is a blank drawing ...
MIN_INK_SHARE = 0.005  # ... or, on a small picture, fewer than 0.5% of its pixels
BORDER_SHARE = 0.02  # the border ring used to find the background is 2% of the smaller side
# Shrinking averages the area each output pixel covers: grey levels are ink coverage, the way
# MNIST's anti-aliasing made them (on MNIST digits upscaled 10x and put back, it rebuilds the
# original within 0.01 mean abs difference). Enlarging a tiny drawing uses bilinear, as area
# averaging would make blocks.
SHRINK_FILTER = Image.Resampling.BOX
ENLARGE_FILTER = Image.Resampling.BILINEAR

# Defaults are what read drawn digits best (bench/README.md, "Reading drawings"): stroke normalization
# gained 0.8-1.7 points on the hard drawing set with every model measured; deskew lost 0-0.5 points
# (MNIST's training digits are not deskewed, so a deskewed drawing is the odd one out).
DESKEW_DEFAULT = False  # remove the slant (drawing_steps.deskew)
STROKES_DEFAULT = True  # bring the pen width toward MNIST's (drawing_steps.normalize_strokes)
WORK_SIDE = 100  # deskew and stroke normalization work on the digit shrunk to at most this many pixels
NOTHING_DRAWN = "Nothing drawn yet: draw a digit with the mouse or a finger."


class PreprocessError(ValueError):
    """The input cannot be read as a picture; the message says why in plain words."""


@dataclass
class PreprocessResult:
    """What `to_mnist` made of one picture: the model's input plus what happened on the way."""
    image: np.ndarray  # (28, 28) float32 in [0, 1], ink = 1: exactly what the model sees, for display
    tensor: torch.Tensor | None  # (1, 1, 28, 28) float32, normalized as in training; None when blank
    blank: bool  # True when nothing (or next to nothing) is drawn: show `message`, not a prediction
    message: str  # one plain sentence for the page
    polarity: str = ""  # "white-on-black", "black-on-white" or "transparent" (ink in the alpha channel)
    background: tuple[float, ...] | None = None  # background colour in [0, 1] (None when transparent)
    contrast: float = 0.0  # largest difference from the background, in [0, 1]
    ink_pixels: int = 0  # pixels of the input inked at INK_LEVEL of the peak or more
    bbox: tuple[int, int, int, int] | None = None  # ink's box in the input: (top, left, bottom, right)
    scale_factor: float | None = None  # output pixels per input pixel
    offset: tuple[int, int] | None = None  # where the scaled region's top-left corner went in the frame
    center_of_mass: tuple[float, float] | None = None  # of the output image, (row, col), pixel-index coords
    input_shape: tuple[int, ...] = ()
    steps: dict = field(default_factory=dict)  # the toggles used: crop, scale, center_of_mass


class _Ink(NamedTuple):
    ink: np.ndarray  # (H, W) float32 in [0, 1], ink = 1
    polarity: str
    background: tuple[float, ...] | None
    contrast: float


# ---------------------------------------------------------------- reading input

def load_image(source: Any) -> np.ndarray:
    """Read a PNG/JPEG (path, bytes, data URL or file-like object) into a uint8 array.

    Returns (H, W) for grey pictures, (H, W, 3) for colour and (H, W, 4) when the
    file has transparency. A phone photo's EXIF rotation is applied.

    >>> buffer = io.BytesIO(); Image.new("L", (40, 30), 255).save(buffer, "PNG")
    >>> load_image(buffer.getvalue()).shape
    (30, 40)
    """
    name = "The uploaded file"
    if isinstance(source, (str, os.PathLike)):
        text = str(source)
        if text.startswith("data:image"):
            try:
                data = base64.b64decode(text.split(",", 1)[1], validate=False)
            except (IndexError, ValueError):
                raise PreprocessError("The image data URL is damaged: it could not be decoded.") from None
        else:
            path = Path(source)
            name = f"The file {path.name}"
            if not path.is_file():
                raise PreprocessError(f"The file {path} does not exist.")
            data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "getvalue"):  # io.BytesIO, Streamlit's UploadedFile
        data = source.getvalue()
    elif hasattr(source, "read"):
        data = source.read()
    else:
        raise PreprocessError(f"Cannot read a picture from a {type(source).__name__}: "
                              "give an array, a file path or the file's bytes.")
    if not data:
        raise PreprocessError(f"{name} is empty.")
    try:
        with Image.open(io.BytesIO(data)) as picture:
            _check_size(picture.size[1], picture.size[0], name)  # from the header, before a pixel is decoded
            picture = ImageOps.exif_transpose(picture)
            return _pil_to_array(picture)
    except PreprocessError:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit (179 M pixels), met in Image.open itself
        raise PreprocessError(f"{name} is too large (over {MAX_PICTURE_PIXELS:,} pixels): scale it down first.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        # Pillow reports damaged files through several exception types; the user needs one sentence.
        raise PreprocessError(f"{name} is not a picture that can be read: "
                              "it is damaged or not an image (PNG or JPEG expected).") from None


def _check_size(height: int, width: int, name: str = "The picture") -> None:  # a 20000x20000 PNG: 400 MB decoded
    if height * width > MAX_PICTURE_PIXELS:
        raise PreprocessError(f"{name} is too large ({width}x{height} pixels, over {MAX_PICTURE_PIXELS:,}): scale it down first.")


def _pil_to_array(picture: Image.Image) -> np.ndarray:
    """A Pillow image of any mode as uint8 grey, RGB or RGBA (transparency kept)."""
    mode = picture.mode
    if mode in ("I", "I;16", "I;16L", "I;16B", "F"):
        values = np.asarray(picture, dtype=np.float64)
        top = 65535.0 if values.max() > 255 else 255.0  # 16-bit PNGs use the full range
        return np.clip(values / top * 255 + 0.5, 0, 255).astype(np.uint8)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in picture.info
    if has_alpha:
        return np.asarray(picture.convert("RGBA"))
    if mode in ("1", "L"):
        return np.asarray(picture.convert("L"))
    return np.asarray(picture.convert("RGB"))


def _as_array(image: Any) -> np.ndarray:
    """Whatever `to_mnist` was given, as a 2-D or (H, W, C) numpy array."""
    if isinstance(image, np.ndarray):
        array = image
    elif isinstance(image, torch.Tensor):
        array = image.detach().cpu().numpy()
    elif isinstance(image, Image.Image):
        array = _pil_to_array(image)
    else:
        array = load_image(image)
    while array.ndim > 3 and array.shape[0] == 1:  # (1, 1, H, W) batches of one
        array = array[0]
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[2] > 4:  # channels first
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (2, 3, 4)):
        raise PreprocessError(f"A picture must be grey (H, W), RGB (H, W, 3) or RGBA (H, W, 4); "
                              f"this array has shape {tuple(array.shape)}.")
    if array.shape[0] < 2 or array.shape[1] < 2:
        raise PreprocessError(f"The picture is too small ({array.shape[0]}x{array.shape[1]} pixels).")
    _check_size(array.shape[0], array.shape[1])  # a canvas or an array is bounded like a file
    return array


def _to_unit_float(array: np.ndarray) -> np.ndarray:
    """Pixel values as float32 in [0, 1]: uint8 / 255, uint16 / 65535, floats in [0, 1] or [0, 255]."""
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.float32) * np.float32(1 / 255)
    if array.dtype == np.uint16:
        return array.astype(np.float32) * np.float32(1 / 65535)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise PreprocessError(f"Pixel values of type {array.dtype} cannot be read as a picture.")
    values = array.astype(np.float32)
    if not np.isfinite(values).all():
        raise PreprocessError("The picture has missing (NaN or infinite) pixel values.")
    if values.max(initial=0) > 1.0:  # integers or floats on the 0-255 scale
        values = values * np.float32(1 / 255)
    return np.clip(values, 0.0, 1.0)


def _border(plane: np.ndarray) -> np.ndarray:
    """The pixels of a ring along the picture's edges, shape (n, ...) ."""
    width = max(1, round(min(plane.shape[:2]) * BORDER_SHARE))
    return np.concatenate([
        plane[:width].reshape(-1, *plane.shape[2:]), plane[-width:].reshape(-1, *plane.shape[2:]),
        plane[width:-width, :width].reshape(-1, *plane.shape[2:]),
        plane[width:-width, -width:].reshape(-1, *plane.shape[2:]),
    ])


def _read_ink(array: np.ndarray) -> _Ink:
    values = _to_unit_float(array)
    if values.ndim == 2:
        values = values[:, :, None]
    colour = values[:, :, :3] if values.shape[2] >= 3 else values[:, :, :1]
    alpha = values[:, :, -1] if values.shape[2] in (2, 4) else None

    if alpha is not None and np.median(_border(alpha)) < 0.5:
        # Transparent background: whatever is opaque is ink, whatever its colour.
        raw, polarity, background = alpha, "transparent", None
    else:
        # The background is the border's typical colour (the median is robust to a
        # digit touching the edge); ink is how far a pixel's colour is from it, so
        # white-on-black, black-on-white and blue-on-yellow all read the same.
        bg = np.median(_border(colour), axis=0).astype(np.float32)  # (channels,)
        if alpha is not None and alpha.min() < 1:  # semi-transparent pixels blend into the background
            colour = colour * alpha[:, :, None] + bg * (1 - alpha[:, :, None])
        # The largest difference over the channels (a per-channel loop: numpy's max over a
        # short last axis is 50x slower on a 280x280 canvas).
        raw = np.abs(colour[:, :, 0] - bg[0])
        for channel in range(1, colour.shape[2]):
            np.maximum(raw, np.abs(colour[:, :, channel] - bg[channel]), out=raw)
        luminance = float(bg.mean()) if len(bg) == 1 else float(bg @ np.array([0.299, 0.587, 0.114]))
        polarity = "white-on-black" if luminance < 0.5 else "black-on-white"
        background = tuple(round(float(v), 4) for v in bg)

    contrast = float(raw.max())
    if contrast < MIN_CONTRAST:
        return _Ink(np.zeros(raw.shape, np.float32), polarity, background, contrast)
    # Stretch so the darkest stroke is full ink (a pale pencil reads like a marker),
    # and drop the faint noise of JPEG or paper so it neither moves the box nor the centre.
    floor = NOISE_FLOOR * contrast
    ink = np.clip((raw - floor) / (contrast - floor), 0.0, 1.0).astype(np.float32)
    return _Ink(ink, polarity, background, contrast)


def ink_from_image(array: Any) -> np.ndarray:
    """Ink map (H, W) float32 in [0, 1], ink = 1, with the polarity read from the picture.

    The background is the dominant colour of the picture's border (or
    transparency, when the border is transparent: then ink is the alpha channel).
    Ink is stretched so that the strongest stroke is 1, and faint noise is set to 0.
    A picture with no visible contrast gives an all-zero map.

    >>> paper = np.full((5, 5), 255, np.uint8); paper[2, 1:4] = 0  # black line on white
    >>> ink_from_image(paper)[2].tolist()
    [0.0, 1.0, 1.0, 1.0, 0.0]
    """
    return _read_ink(_as_array(array)).ink


# ---------------------------------------------------------------- geometry

def _resize(region: np.ndarray, height: int, width: int) -> np.ndarray:
    if region.shape == (height, width):
        return region.copy()
    shrinking = height <= region.shape[0] and width <= region.shape[1]
    resized = Image.fromarray(np.ascontiguousarray(region, dtype=np.float32)).resize(
        (width, height), SHRINK_FILTER if shrinking else ENLARGE_FILTER)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _ink_box(plane: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right), bottom/right exclusive, of the non-zero pixels; None if none."""
    rows = np.flatnonzero(plane.any(axis=1))
    cols = np.flatnonzero(plane.any(axis=0))
    if len(rows) == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Ink-weighted mean (row, col) in pixel-index coordinates (pixel (r, c) is the point (r, c)).

    >>> frame = np.zeros((28, 28)); frame[14, 10] = frame[14, 20] = 1.0
    >>> centre_of_mass(frame)
    (14.0, 15.0)
    """
    mass = float(image.sum())
    if mass == 0:
        return (float("nan"), float("nan"))
    rows = float(image.sum(axis=1) @ np.arange(image.shape[0])) / mass
    cols = float(image.sum(axis=0) @ np.arange(image.shape[1])) / mass
    return (rows, cols)


def _place(patch: np.ndarray, by_centre_of_mass: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """Paste a (h <= 28, w <= 28) patch into a 28x28 frame; return the frame and the offset."""
    h, w = patch.shape
    if by_centre_of_mass:
        cy, cx = centre_of_mass(patch)
        # An integer shift, as MNIST did: no resampling blur, and the box stays <= 20 px.
        dy, dx = int(np.floor(FRAME_CENTER[0] - cy + 0.5)), int(np.floor(FRAME_CENTER[1] - cx + 0.5))
        # A lopsided digit could be pushed off the frame: keep all its ink inside.
        top, left, bottom, right = _ink_box(patch)
        dy = min(max(dy, -top), IMAGE_SIZE - bottom)
        dx = min(max(dx, -left), IMAGE_SIZE - right)
    else:
        dy, dx = (IMAGE_SIZE - h) // 2, (IMAGE_SIZE - w) // 2
    frame = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    # Only background can fall outside the frame (crop=False with a centre-of-mass shift).
    src_top, src_left = max(0, -dy), max(0, -dx)
    dst_top, dst_left = max(0, dy), max(0, dx)
    rows = min(h - src_top, IMAGE_SIZE - dst_top)
    cols = min(w - src_left, IMAGE_SIZE - dst_left)
    frame[dst_top:dst_top + rows, dst_left:dst_left + cols] = patch[src_top:src_top + rows,
                                                                    src_left:src_left + cols]
    return frame, (dy, dx)


# ---------------------------------------------------------------- the pipeline

def _blank_result(message: str, **details) -> PreprocessResult:
    return PreprocessResult(image=np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32), tensor=None,
                            blank=True, message=message, **details)


def to_mnist(image: Any, crop: bool = True, scale: bool = True, center_of_mass: bool = True,
             deskew: bool = DESKEW_DEFAULT, strokes: bool = STROKES_DEFAULT) -> PreprocessResult:
    """Make the MNIST-style model input from a drawing, picture, file or array.

    `image` may be a canvas's RGBA array ((H, W, 4) uint8), an RGB or grey array,
    a Pillow image, a tensor, or a PNG/JPEG given as a path, bytes, a data URL or an
    uploaded file; None (no canvas yet) counts as blank. The toggles switch the
    MNIST steps off one by one (see the module docstring). Raises PreprocessError
    for input that is not a picture; a blank drawing is a result with blank=True.

    >>> canvas = np.zeros((280, 280, 4), np.uint8); canvas[..., 3] = 255
    >>> canvas[40:200, 150:170, :3] = 255  # a white "1", off to the right
    >>> result = to_mnist(canvas)
    >>> result.blank, tuple(result.tensor.shape), result.polarity
    (False, (1, 1, 28, 28), 'white-on-black')
    >>> [round(v) for v in result.center_of_mass]
    [14, 14]
    >>> to_mnist(np.zeros((280, 280, 4), np.uint8)).message
    'Nothing drawn yet: draw a digit with the mouse or a finger.'
    """
    steps = {"crop": bool(crop), "scale": bool(scale), "center_of_mass": bool(center_of_mass),
             "deskew": bool(deskew), "strokes": bool(strokes)}
    if image is None:
        return _blank_result(NOTHING_DRAWN, steps=steps)
    array = _as_array(image)
    height, width = array.shape[:2]
    ink = _read_ink(array)
    details = dict(polarity=ink.polarity, background=ink.background, contrast=round(ink.contrast, 4),
                   input_shape=tuple(array.shape), steps=steps)

    ink_pixels = int(np.count_nonzero(ink.ink >= INK_LEVEL))
    details["ink_pixels"] = ink_pixels
    if ink.contrast < MIN_CONTRAST:
        return _blank_result(NOTHING_DRAWN, **details)
    if ink_pixels < min(MIN_INK_PIXELS, MIN_INK_SHARE * height * width):
        return _blank_result(f"Almost nothing drawn (only {ink_pixels} pixel{'s' if ink_pixels != 1 else ''} "
                             "of ink): draw a digit with the mouse or a finger.", **details)

    bbox = _ink_box(ink.ink)
    top, left, bottom, right = bbox
    region = ink.ink[top:bottom, left:right] if crop else ink.ink
    if strokes or deskew:  # drawing_steps: pen width toward MNIST's, then the slant removed
        region = _meet_drawing_halfway(region, strokes, deskew, crop, scale)
    # Size normalization: the larger side to 20 px; without it, the crude canvas-to-28 factor.
    factor = TARGET_BOX / max(region.shape) if scale else IMAGE_SIZE / max(height, width)
    new_h = min(IMAGE_SIZE, max(1, int(region.shape[0] * factor + 0.5)))
    new_w = min(IMAGE_SIZE, max(1, int(region.shape[1] * factor + 0.5)))
    patch = _resize(region, new_h, new_w)
    peak = float(patch.max())
    if peak < 1 / 255:  # a speck shrunk to nothing (scale=False on a tiny mark)
        return _blank_result("The drawing is too small to see at 28x28 pixels: draw it bigger.",
                             bbox=bbox, scale_factor=factor, **details)
    # Every MNIST digit's darkest pixel is 254 or 255; thin strokes averaged down to pale
    # grey are brought back to full ink the same way.
    patch /= peak
    frame, offset = _place(patch, center_of_mass)

    # Quantize to 8 bits like MNIST's files, so display, model input and training data agree exactly.
    pixels = np.clip(np.floor(frame * 255 + 0.5), 0, 255).astype(np.uint8)
    shown = pixels.astype(np.float32) / 255
    tensor = normalize(torch.from_numpy(pixels).unsqueeze(0))  # (1, 1, 28, 28)
    com = centre_of_mass(shown)
    return PreprocessResult(
        image=shown, tensor=tensor, blank=False,
        message=f"Read {_describe(ink.polarity)}; {_describe_steps(steps)}.",
        bbox=bbox, scale_factor=factor, offset=offset,
        center_of_mass=(round(com[0], 3), round(com[1], 3)), **details)


def _meet_drawing_halfway(region: np.ndarray, strokes: bool, deskew: bool, crop: bool, scale: bool) -> np.ndarray:
    from . import drawing_steps

    side = max(region.shape)
    if scale and side > WORK_SIDE:  # the morphology at 5x the final 20 px box: as exact, and ~10x faster than at 280 px
        factor = WORK_SIDE / side
        region = _resize(region, max(1, round(region.shape[0] * factor)), max(1, round(region.shape[1] * factor)))
        region /= max(float(region.max()), 1e-6)
    if strokes:
        region, _ = drawing_steps.normalize_strokes(region)
    if deskew:
        region = drawing_steps.deskew(region)
    if crop:
        box = _ink_box(region)
        region = region[box[0]:box[2], box[1]:box[3]] if box else region
    return region


def _describe(polarity: str) -> str:
    return {"white-on-black": "light ink on a dark background",
            "black-on-white": "dark ink on a light background",
            "transparent": "ink on a transparent background"}.get(polarity, polarity)


def _describe_steps(steps: dict) -> str:
    done = [text for key, text in (("crop", "cropped to the ink"),
                                   ("scale", "scaled to a 20 px box"),
                                   ("center_of_mass", "centred by centre of mass"),
                                   ("deskew", "deskewed"), ("strokes", "pen width normalized"))
            if steps.get(key)]
    return ", ".join(done) if done else "shrunk to 28x28 as it is"
