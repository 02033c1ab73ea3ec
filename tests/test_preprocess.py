"""Tests for mnist_core.preprocess: drawings of every kind become MNIST-like 28x28 inputs.

Drawings are made here with Pillow's ImageDraw on a 280x280 canvas (the Draw page's
size). Checks are computed independently of the module: the ink's box from
`np.nonzero`, the centre of mass from `np.indices`, normalization from the
formula. The integration tests put real MNIST digits back through the pipeline.
"""
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from mnist_core.data import MNIST_MEAN, MNIST_STD, normalize
from mnist_core.models import SmallCNN, SoftmaxRegression
from mnist_core.preprocess import (NOTHING_DRAWN, PreprocessError, PreprocessResult, centre_of_mass,
                                   ink_from_image, load_image, to_mnist)
from mnist_core.predict import predict_digit, predict_probabilities
from digit_strokes import as_canvas_rgba

CANVAS = 280

# The classic MNIST steps only: the tests that rebuild MNIST's own digits check those steps exactly.
CLASSIC = {"deskew": False, "strokes": False}


# ---------------------------------------------------------------- synthetic drawings

def draw_digit(shape: str = "seven", box=(70, 40, 210, 240), width: int = 18, size: int = CANVAS) -> np.ndarray:
    """A white-on-black stroke drawing (size, size) uint8; box is (left, top, right, bottom)."""
    left, top, right, bottom = box
    picture = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(picture)
    if shape == "seven":
        pen.line([(left, top), (right, top), (left + (right - left) // 3, bottom)], fill=255, width=width,
                 joint="curve")
    elif shape == "zero":
        pen.ellipse([left, top, right, bottom], outline=255, width=width)
    elif shape == "one":
        middle = (left + right) // 2
        pen.line([(middle - (right - left) // 4, top + (bottom - top) // 5), (middle, top), (middle, bottom)],
                 fill=255, width=width)
    elif shape == "four":
        pen.line([(left + (right - left) * 2 // 3, bottom), (left + (right - left) * 2 // 3, top),
                  (left, top + (bottom - top) * 2 // 3), (right, top + (bottom - top) * 2 // 3)],
                 fill=255, width=width)
    else:
        raise ValueError(shape)
    return np.asarray(picture)


def as_transparent(ink: np.ndarray, colour=(30, 60, 200)) -> np.ndarray:
    """Coloured strokes on a transparent background: only the alpha channel carries the ink."""
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = ink
    return rgba


def as_colour_on_paper(ink: np.ndarray, ink_colour=(20, 20, 160), paper=(250, 240, 190)) -> np.ndarray:
    weight = ink[..., None].astype(np.float64) / 255
    blend = weight * np.array(ink_colour) + (1 - weight) * np.array(paper)
    return np.round(blend).astype(np.uint8)


def encode(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


# ---------------------------------------------------------------- independent checks

def ink_box(image: np.ndarray):
    rows, cols = np.nonzero(image)
    return rows.min(), cols.min(), rows.max() + 1, cols.max() + 1


def mass_centre(image: np.ndarray):
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def assert_mnist_like(result: PreprocessResult):
    """The MNIST recipe: a 28x28 [0, 1] image whose ink fits 20x20 and is centred by mass at (14, 14)."""
    assert not result.blank, result.message
    assert result.image.shape == (28, 28) and result.image.dtype == np.float32
    assert result.image.min() >= 0 and result.image.max() == pytest.approx(1.0)
    top, left, bottom, right = ink_box(result.image)
    height, width = bottom - top, right - left
    assert height <= 20 and width <= 20, (height, width)
    assert max(height, width) >= 19, (height, width)  # scaled up to the box, not just inside it
    row, col = mass_centre(result.image)
    assert np.hypot(row - 14, col - 14) <= 1.0, (row, col)
    assert result.center_of_mass == pytest.approx((row, col), abs=1e-3)
    assert tuple(result.tensor.shape) == (1, 1, 28, 28) and result.tensor.dtype == torch.float32


DRAWINGS = {
    "centred": dict(shape="seven"),
    "off-centre": dict(shape="seven", box=(5, 8, 95, 120), width=12),
    "off-centre bottom right": dict(shape="zero", box=(180, 170, 275, 276), width=10),
    "tiny": dict(shape="four", box=(150, 150, 172, 178), width=3),
    "huge": dict(shape="zero", box=(0, 0, 279, 279), width=30),
    "thick": dict(shape="seven", box=(50, 30, 230, 250), width=45),
    "thin": dict(shape="zero", box=(60, 40, 200, 240), width=2),
    "one (narrow)": dict(shape="one", box=(100, 30, 180, 250), width=16),
}


@pytest.mark.parametrize("name", DRAWINGS)
def test_canvas_drawings_become_mnist_like(name):
    result = to_mnist(as_canvas_rgba(draw_digit(**DRAWINGS[name])))
    assert_mnist_like(result)
    assert result.polarity == "white-on-black"


def test_bounding_box_is_reported_in_input_pixels():
    drawing = draw_digit("zero", box=(30, 50, 130, 200), width=10)
    result = to_mnist(drawing)
    assert result.bbox == ink_box(drawing)
    assert result.input_shape == (CANVAS, CANVAS)


def test_aspect_ratio_is_kept():
    wide = draw_digit("zero", box=(20, 100, 260, 180), width=12)  # 240 wide, 80 tall
    top, left, bottom, right = ink_box(to_mnist(wide).image)
    assert right - left == 20
    assert 6 <= bottom - top <= 8  # 80 / 240 * 20 = 6.7


# ---------------------------------------------------------------- polarity and formats

def test_white_on_black_and_black_on_white_give_the_same_image():
    drawing = draw_digit("four")
    on_black = to_mnist(drawing)
    on_white = to_mnist(255 - drawing)
    assert on_black.polarity == "white-on-black" and on_white.polarity == "black-on-white"
    assert np.abs(on_black.image - on_white.image).mean() < 0.01
    assert_mnist_like(on_white)


def test_transparent_background_reads_ink_from_alpha():
    drawing = draw_digit("seven")
    reference = to_mnist(drawing).image
    for colour in [(0, 0, 0), (255, 255, 255), (30, 60, 200)]:  # black strokes would be invisible as RGB
        result = to_mnist(as_transparent(drawing, colour))
        assert result.polarity == "transparent" and result.background is None
        assert np.abs(result.image - reference).mean() < 0.01


def test_coloured_ink_on_coloured_paper():
    drawing = draw_digit("zero")
    result = to_mnist(as_colour_on_paper(drawing))
    assert result.polarity == "black-on-white"
    assert result.background == pytest.approx((250 / 255, 240 / 255, 190 / 255), abs=1e-3)
    assert np.abs(result.image - to_mnist(drawing).image).mean() < 0.02


def test_greyscale_inputs_of_every_layout_agree():
    drawing = draw_digit("one")
    reference = to_mnist(drawing).image
    layouts = [drawing[..., None], drawing.astype(np.float32) / 255, drawing.astype(np.float64),
               np.repeat(drawing[..., None], 3, axis=2), torch.tensor(drawing), Image.fromarray(drawing)]
    for layout in layouts:
        np.testing.assert_allclose(to_mnist(layout).image, reference, atol=1 / 255)


def test_pale_pencil_reads_like_a_marker():
    drawing = draw_digit("seven")
    pale = 255 - (drawing // 4)  # light grey strokes on white paper: 25% contrast
    assert np.abs(to_mnist(pale).image - to_mnist(drawing).image).mean() < 0.02


def test_ink_from_image_decides_polarity_from_the_border():
    drawing = draw_digit("zero")
    expected = drawing.astype(np.float32) / 255
    for picture in [drawing, 255 - drawing, as_canvas_rgba(drawing), as_transparent(drawing)]:
        ink = ink_from_image(picture)
        assert ink.shape == drawing.shape and ink.min() >= 0 and ink.max() <= 1
        assert ink[expected == 0].max() == 0  # background is exactly 0 in every polarity
        assert ink[expected == 1].min() == 1  # the stroke's core is exactly 1
    # A digit touching the edge still leaves the border mostly background.
    huge = draw_digit("zero", box=(0, 0, 279, 279), width=30)
    assert ink_from_image(255 - huge)[140, 140] == 0 and ink_from_image(255 - huge)[140, 5] == 1


@pytest.mark.parametrize("fmt, options", [("PNG", {}), ("JPEG", {"quality": 75})])
def test_files_on_disk(tmp_path, fmt, options):
    drawing = 255 - draw_digit("four")  # a black digit scanned on white paper
    path = tmp_path / f"digit.{fmt.lower()}"
    path.write_bytes(encode(drawing, fmt, **options))
    reference = to_mnist(drawing, **CLASSIC).image
    for source in [path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes())]:
        result = to_mnist(source, **CLASSIC)
        assert_mnist_like(result)
        assert result.polarity == "black-on-white"
        # JPEG's ringing is removed by the noise floor: the image stays close to the clean one.
        assert np.abs(result.image - reference).mean() < (0.001 if fmt == "PNG" else 0.02)


def test_colour_png_with_transparency_and_a_large_photo_sized_jpeg(tmp_path):
    drawing = draw_digit("seven")
    png = tmp_path / "sticker.png"
    png.write_bytes(encode(as_transparent(drawing), "PNG"))
    assert load_image(png).shape == (CANVAS, CANVAS, 4)
    assert to_mnist(png).polarity == "transparent"

    photo = Image.fromarray(as_colour_on_paper(drawing)).resize((1200, 900), Image.Resampling.BILINEAR)
    jpeg = tmp_path / "photo.jpg"
    photo.save(jpeg, "JPEG", quality=85)
    assert load_image(jpeg).shape == (900, 1200, 3)
    assert_mnist_like(to_mnist(jpeg))


def test_data_url_from_the_canvas_json():
    import base64
    drawing = as_canvas_rgba(draw_digit("zero"))
    url = "data:image/png;base64," + base64.b64encode(encode(drawing, "PNG")).decode()
    np.testing.assert_array_equal(to_mnist(url).image, to_mnist(drawing).image)


# ---------------------------------------------------------------- blank drawings

BLANKS = {
    "reset canvas (black, opaque)": as_canvas_rgba(np.zeros((CANVAS, CANVAS), np.uint8)),
    "fully transparent": np.zeros((CANVAS, CANVAS, 4), np.uint8),
    "white paper": np.full((CANVAS, CANVAS, 3), 255, np.uint8),
    "faint smudge": np.pad(np.full((40, 40), 20, np.uint8), 120),
}


@pytest.mark.parametrize("name", BLANKS)
def test_blank_drawings_say_nothing_is_drawn(name):
    result = to_mnist(BLANKS[name])
    assert result.blank and result.tensor is None
    assert result.message == NOTHING_DRAWN
    assert not result.image.any()


def test_no_canvas_yet_is_blank():
    assert to_mnist(None).blank


def test_a_few_stray_pixels_are_blank():
    canvas = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[100, 37, :3] = 255
    canvas[200, 201:203, :3] = 255
    result = to_mnist(canvas)
    assert result.blank and result.tensor is None
    assert result.ink_pixels == 3 and "3 pixels" in result.message


def test_a_real_mnist_sized_digit_is_not_blank():
    # 28x28 pictures have few pixels: the stray-pixel rule scales with the picture's size.
    small = np.asarray(Image.fromarray(draw_digit("one", width=20)).resize((28, 28), Image.Resampling.BOX))
    assert not to_mnist(small).blank


# ---------------------------------------------------------------- the toggles

def test_each_toggle_changes_what_the_model_sees():
    small_corner = draw_digit("zero", box=(10, 10, 70, 90), width=8)  # small, in the top-left corner

    no_crop = to_mnist(small_corner, crop=False, center_of_mass=False)
    row, col = mass_centre(no_crop.image)
    assert row < 9 and col < 9  # it stays in its corner

    no_scale = to_mnist(small_corner, scale=False)
    top, left, bottom, right = ink_box(no_scale.image)
    assert max(bottom - top, right - left) <= 9  # 80 px of 280 stays about 8 px of 28
    assert np.hypot(*(np.array(mass_centre(no_scale.image)) - 14)) <= 1  # but it is still centred

    lopsided = draw_digit("seven", width=30)  # heavy bar on top: mass above the box's middle
    by_box = to_mnist(lopsided, center_of_mass=False)
    top, left, bottom, right = ink_box(by_box.image)
    assert (top, 28 - bottom) == (4, 4)  # the 20 px box sits in the middle
    assert mass_centre(by_box.image)[0] < 13  # so the mass sits high
    assert mass_centre(to_mnist(lopsided).image)[0] == pytest.approx(14, abs=0.5)


def test_all_toggles_off_is_the_crude_resize():
    drawing = draw_digit("seven", box=(10, 10, 120, 150), width=14)
    crude = to_mnist(drawing, crop=False, scale=False, center_of_mass=False, **CLASSIC).image
    # The same thing computed another way: torch's area average over 10x10 blocks.
    reference = F.adaptive_avg_pool2d(torch.from_numpy(drawing / 255.0)[None, None], 28)[0, 0].numpy()
    reference = reference / reference.max()
    assert np.abs(crude - reference).max() < 0.05


def test_crop_off_with_centre_of_mass_shifts_the_whole_picture():
    drawing = draw_digit("zero", box=(10, 10, 110, 130), width=10)
    result = to_mnist(drawing, crop=False, scale=False)
    assert np.hypot(*(np.array(mass_centre(result.image)) - 14)) <= 1
    assert result.image.sum() == pytest.approx(to_mnist(drawing, crop=False, scale=False,
                                                        center_of_mass=False).image.sum(), rel=1e-3)


# ---------------------------------------------------------------- model input

def test_tensor_is_normalized_exactly_as_in_training():
    result = to_mnist(as_canvas_rgba(draw_digit("four")))
    pixels = torch.from_numpy(np.round(result.image * 255).astype(np.uint8))
    torch.testing.assert_close(result.tensor, normalize(pixels[None]))
    torch.testing.assert_close(result.tensor[0, 0], (torch.from_numpy(result.image) - MNIST_MEAN) / MNIST_STD)


def test_centre_of_mass_helper_matches_an_independent_count():
    image = to_mnist(draw_digit("one")).image
    assert centre_of_mass(image) == pytest.approx(mass_centre(image))


def test_predict_digit_returns_the_models_probabilities():
    torch.manual_seed(0)
    model = SmallCNN()
    canvas = as_canvas_rgba(draw_digit("seven"))
    prediction = predict_digit(model, canvas)
    assert not prediction.blank and len(prediction.probabilities) == 10
    assert sum(prediction.probabilities) == pytest.approx(1.0, abs=1e-5)
    expected = predict_probabilities(model, to_mnist(canvas).tensor)[0]
    assert prediction.probabilities == pytest.approx(expected.tolist(), abs=1e-6)
    assert prediction.digit == int(expected.argmax()) and prediction.confidence == max(prediction.probabilities)
    assert model.training  # predict_probabilities restores the mode it found


def test_predict_digit_on_a_blank_canvas_gives_the_message_not_a_prediction():
    prediction = predict_digit(SoftmaxRegression(), BLANKS["reset canvas (black, opaque)"])
    assert prediction.blank and prediction.probabilities is None and prediction.digit is None
    assert prediction.message == NOTHING_DRAWN


def test_predict_digit_passes_the_toggles_on():
    drawing = draw_digit("zero", box=(10, 10, 70, 90), width=8)
    off = {"crop": False, "scale": False, "center_of_mass": False, "deskew": False, "strokes": False}
    prediction = predict_digit(SoftmaxRegression(), drawing, **off)
    assert prediction.preprocessed.steps == off
    np.testing.assert_array_equal(prediction.preprocessed.image, to_mnist(drawing, **off).image)


# ---------------------------------------------------------------- errors a user can cause

@pytest.mark.parametrize("content", [b"this is not a picture", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_a_corrupt_file_gives_a_plain_message(tmp_path, content):
    path = tmp_path / "digit.png"
    path.write_bytes(content)
    with pytest.raises(PreprocessError) as error:
        to_mnist(path)
    message = str(error.value)
    assert "digit.png" in message and "not a picture" in message
    assert "PIL" not in message and "Error" not in message  # plain words, no exception names


def test_a_truncated_png_gives_a_plain_message(tmp_path):
    data = encode(draw_digit("seven"), "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PreprocessError, match="damaged or not an image"):
        to_mnist(path)


def test_other_unreadable_inputs(tmp_path):
    with pytest.raises(PreprocessError, match="does not exist"):
        to_mnist(tmp_path / "missing.png")
    with pytest.raises(PreprocessError, match="empty"):
        to_mnist(b"")
    with pytest.raises(PreprocessError, match="shape"):
        to_mnist(np.zeros((10, 10, 7), np.uint8))
    with pytest.raises(PreprocessError, match="NaN"):
        to_mnist(np.full((10, 10), np.nan))
    with pytest.raises(PreprocessError, match="Cannot read a picture"):
        to_mnist(42)
    assert issubclass(PreprocessError, ValueError)


# ---------------------------------------------------------------- real MNIST

def _upscale(digit: np.ndarray, size: int, method) -> np.ndarray:
    return np.asarray(Image.fromarray(digit).resize((size, size), method))


@pytest.mark.integration
def test_real_mnist_digits_come_back_unchanged(mnist):
    """MNIST digits drawn 10x bigger (as on the canvas) are rebuilt as the original 28x28 images."""
    digits = mnist.test_images[:100].numpy()
    nearest, bilinear = [], []
    for digit in digits:
        original = digit / 255.0
        nearest.append(np.abs(to_mnist(_upscale(digit, CANVAS, Image.Resampling.NEAREST), **CLASSIC).image - original).mean())
        smooth = as_canvas_rgba(_upscale(digit, CANVAS, Image.Resampling.BILINEAR))
        bilinear.append(np.abs(to_mnist(smooth, **CLASSIC).image - original).mean())
    assert np.mean(nearest) < 0.01  # pixel blocks average back to the very same grey levels
    assert np.mean(bilinear) < 0.05  # smooth edges: the box grows a little, still close


@pytest.mark.integration
def test_real_mnist_digits_drawn_small_and_off_centre_are_recovered(mnist):
    """A digit drawn small, off-centre and black-on-white is rebuilt; the crude resize is far off."""
    digits = mnist.test_images[:100].numpy()
    ours, crude, centres = [], [], []
    for digit in digits:
        paper = np.zeros((CANVAS, CANVAS), np.uint8)
        paper[20:160, 125:265] = _upscale(digit, 140, Image.Resampling.NEAREST)
        paper = 255 - paper
        result = to_mnist(paper, **CLASSIC)
        ours.append(np.abs(result.image - digit / 255.0).mean())
        naive = to_mnist(paper, crop=False, scale=False, center_of_mass=False, **CLASSIC).image
        crude.append(np.abs(naive - digit / 255.0).mean())
        centres.append(mass_centre(result.image))
    assert np.mean(ours) < 0.01
    assert np.mean(crude) > 0.1
    # The mean centre of mass lands where MNIST's does: (13.99, 14.00).
    assert np.mean(centres, axis=0) == pytest.approx((14.0, 14.0), abs=0.1)
