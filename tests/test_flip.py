"""Tests for mnist_core.flip: the greedy search really flips the reading, and counts honestly."""
import numpy as np
import pytest
import torch

from mnist_core.config import TrainConfig
from mnist_core.flip import CHANGE_LEVEL, changed_pixels, flip_search, pixels_to_flip_comparison, runner_up
from mnist_core.predict import predict_probabilities
from mnist_core.train import fit


@pytest.fixture(scope="module")
def trained(synthetic):
    return {arch: fit(TrainConfig(arch=arch, epochs=3, val_fraction=0.0, seed=0), synthetic).model.eval()
            for arch in ("softmax", "mlp")}


def as_image(x):
    return (x[0] * 0.3081 + 0.1307).clamp(0, 1).numpy()


@pytest.mark.parametrize("arch", ["softmax", "mlp"])
def test_the_search_flips_the_reading_to_the_target(trained, synthetic, arch):
    model = trained[arch]
    image = as_image(synthetic.test_x[0])
    before = int(predict_probabilities(model, synthetic.test_x[:1]).argmax())
    target = (before + 3) % 10
    result = flip_search(model, image, target)
    assert result.flipped and result.reading == target
    # check with the ordinary prediction path, not the search's own numbers
    x = torch.from_numpy((result.image - 0.1307) / 0.3081).view(1, 1, 28, 28).float()
    assert int(predict_probabilities(model, x).argmax()) == target
    assert result.changed == changed_pixels(image, result.image) > 0
    assert result.changed == int((np.abs(result.image - image) > CHANGE_LEVEL).sum())
    assert np.array_equal(result.original, image)


def test_an_image_already_read_as_the_target_needs_no_change(trained, synthetic):
    model = trained["mlp"]
    image = as_image(synthetic.test_x[1])
    reading = int(predict_probabilities(model, synthetic.test_x[1:2]).argmax())
    result = flip_search(model, image, reading)
    assert result.flipped and result.changed == 0 and np.array_equal(result.image, image)


def test_the_comparison_reports_a_median_per_model(trained, synthetic):
    images = np.stack([as_image(synthetic.test_x[i]) for i in range(6)])
    seen = []
    report = pixels_to_flip_comparison(trained, images, progress=lambda done, total: seen.append((done, total)))
    assert set(report) == {"softmax", "mlp"} and seen[-1] == (12, 12)
    for row in report.values():
        assert row["images"] == 6 and row["flipped"] == 6
        assert row["median_pixels"] == float(np.median(row["counts"])) > 0
    assert runner_up(trained["mlp"], images[0]) != int(predict_probabilities(trained["mlp"], synthetic.test_x[:1]).argmax())


def test_a_bad_target_is_refused(trained, synthetic):
    with pytest.raises(ValueError, match="digit from 0 to 9"):
        flip_search(trained["mlp"], as_image(synthetic.test_x[0]), 10)
