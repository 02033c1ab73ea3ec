"""Tests of mnist_core.pictures: colour scales, tile grids, PNGs and the export pictures.

Pictures are checked by their sizes and pixel values.
"""
import io

import numpy as np
import pytest
from PIL import Image

from mnist_core import pictures
from mnist_core.metrics import misclassified, per_class_accuracy, precision_recall_f1
from test_inspection import PROBABILITIES, Y_TRUE


def test_diverging_colours_are_blue_white_orange_and_clip():
    rgb = pictures.diverging_rgb(np.array([-5.0, -1.0, 0.0, 1.0, 5.0]), limit=1.0)
    assert rgb[2].tolist() == [247, 247, 247]  # zero is white
    assert rgb[1].tolist() == rgb[0].tolist()  # beyond the limit is clipped
    assert rgb[1, 2] > rgb[1, 0]  # negative is blue
    assert rgb[3, 0] > rgb[3, 2]  # positive is orange
    assert rgb.dtype == np.uint8


def test_diverging_colours_get_darker_away_from_zero():
    brightness = pictures.diverging_rgb(np.linspace(0, 1, 9), limit=1.0).astype(int).sum(axis=1)
    assert (np.diff(brightness) <= 0).all()


def test_symmetric_limit_ignores_rare_extremes():
    values = np.concatenate([np.full(999, 0.1), [100.0]])
    assert pictures.symmetric_limit(values, quantile=0.99) == pytest.approx(0.1)
    assert pictures.symmetric_limit(np.zeros(4)) == 1.0


def test_grey_and_upscale():
    grey = pictures.grey_rgb(np.array([[0.0, 2.0]]))
    assert grey[0, 1].tolist() == [255, 255, 255] and grey[0, 0].tolist() == [0, 0, 0]
    big = pictures.upscale(np.arange(4).reshape(2, 2), 3)
    assert big.shape == (6, 6) and big[2, 2] == 0 and big[3, 3] == 3


def test_tile_grid_places_tiles_in_rows_with_gaps():
    tiles = [np.full((2, 3, 3), value, np.uint8) for value in (10, 20, 30)]
    grid = np.asarray(tile_grid := pictures.tile_grid(tiles, columns=2, scale=2, gap=1))
    assert tile_grid.size == (2 * 6 + 1, 2 * 4 + 1)  # (width, height)
    assert grid[0, 0, 0] == 10 and grid[0, 7, 0] == 20 and grid[5, 0, 0] == 30
    assert grid[0, 6].tolist() == [255, 255, 255]  # the gap


def test_tile_grid_with_labels_makes_room_for_text():
    tiles = [np.zeros((28, 28, 3), np.uint8)] * 2
    plain = pictures.tile_grid(tiles, columns=2)
    labelled = pictures.tile_grid(tiles, columns=2, labels=["a", "b"], label_size=14)
    assert labelled.size[0] == plain.size[0] and labelled.size[1] > plain.size[1]


def test_digit_png_is_a_crisp_upscaled_greyscale_picture():
    image = np.zeros((28, 28), np.uint8)
    image[0, 0] = 255
    picture = Image.open(io.BytesIO(pictures.digit_png(image, scale=4)))
    assert picture.size == (112, 112)
    pixels = np.asarray(picture)
    assert pixels[3, 3] == 255 and pixels[4, 4] == 0  # one pixel became a sharp 4x4 square
    assert np.asarray(Image.open(io.BytesIO(pictures.digit_png(image / 255.0, scale=1)))).max() == 255


def test_colour_legend_is_a_picture():
    assert pictures.colour_legend(0.5, width=200).size[0] > 200


def test_confidence_text_never_claims_certainty():
    assert pictures.confidence_text(0.9999) == ">99.9%"
    assert pictures.confidence_text(0.996) == "99.6%"
    assert pictures.confidence_text(0.5) == "50%"


def test_contact_sheet_has_one_captioned_tile_per_mistake():
    images = np.zeros((5, 28, 28), np.uint8)
    mistakes = misclassified(Y_TRUE, PROBABILITIES)
    sheet = pictures.contact_sheet(images, mistakes, columns=2, scale=2)
    one_row = pictures.contact_sheet(images, mistakes.filter(true_label=4), columns=2, scale=2)
    assert sheet.size[0] == 2 * 56 + 10 and sheet.size[1] > 2 * one_row.size[1]
    capped = pictures.contact_sheet(images, mistakes, columns=2, scale=2, max_tiles=1)
    assert capped.size == one_row.size


def test_export_pictures_have_the_expected_layout():
    cm = np.diag(np.full(10, 100))
    cm[9, 4] = 7
    picture = pictures.confusion_matrix_picture(cm, cell=40)
    assert picture.size == (40 + 10 * 40 + 8,) * 2
    report = precision_recall_f1(cm)
    table = pictures.class_table_picture(report, per_class_accuracy(cm))
    assert table.size[1] > 12 * 30  # header, ten digits and the macro row
