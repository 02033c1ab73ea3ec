"""Tests of the learning-rate range test: its schedule, and that it finds the right decade
on synthetic data, checked against short fixed-lr trainings at every decade."""
import math

import pytest
import torch

from mnist_core.config import ConfigError, TrainConfig
from mnist_core.data import MnistData, make_synthetic
from mnist_core.lr_range_test import END_LR, START_LR, STEPS, lr_range_test, lr_schedule
from mnist_core.train import fit


@pytest.fixture(scope="module")
def noisy_digits():
    """Synthetic digits with half the training labels replaced at random.

    Clean synthetic digits are fitted perfectly by any lr above 0.01 before the test reaches
    large rates, so nothing would overshoot; random labels keep the loss (and the gradients) up.
    """
    base = make_synthetic(n_train_per_class=300, n_test_per_class=10, noise=0.3)
    generator = torch.Generator().manual_seed(5)
    labels = base.train_labels.clone()
    flip = torch.rand(len(labels), generator=generator) < 0.5
    labels[flip] = torch.randint(0, 10, (int(flip.sum()),), generator=generator)
    return MnistData(base.train_images, labels, base.test_images, base.test_labels, source="synthetic")


def test_the_lr_grows_exponentially_from_1e5_to_10():
    lrs = lr_schedule()
    assert len(lrs) == STEPS == 300
    assert lrs[0] == pytest.approx(START_LR) and lrs[-1] == pytest.approx(END_LR)
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert max(ratios) == pytest.approx(min(ratios))  # the same factor at every batch


@pytest.mark.parametrize("config", [
    TrainConfig(arch="softmax", optimizer="sgd", schedule="constant", batch_size=50),
    TrainConfig(arch="mlp", hidden=(32,), optimizer="sgd", schedule="constant", batch_size=50),
], ids=["softmax", "mlp"])
def test_finds_the_decade_that_trains_best(noisy_digits, config):
    result = lr_range_test(config, noisy_digits)
    # The reference: the same 300 batches at a fixed lr, one run per decade.
    final_loss = {}
    for exponent in range(-4, 2):
        run = fit(config.replace(lr=10.0 ** exponent, epochs=5, val_fraction=0.0), noisy_digits, evaluate_test=False)
        final_loss[10.0 ** exponent] = run.history["epochs"][-1]["train_loss"] if run.status != "diverged" else math.inf
    best = min(final_loss, key=final_loss.get)
    assert abs(math.log10(result.min_loss_lr / best)) <= 1, (result.min_loss_lr, final_loss)
    assert result.suggested_lr == pytest.approx(result.min_loss_lr / 10)
    assert min(result.smoothed) < result.smoothed[0] - 0.2  # the loss really fell on the way
    assert len(result.lrs) == len(result.losses) == len(result.rows())


def test_stops_when_the_loss_blows_up(noisy_digits):
    result = lr_range_test(TrainConfig(arch="softmax", optimizer="sgd", schedule="constant", batch_size=50),
                           noisy_digits)
    assert result.stopped_early and result.lrs[-1] < END_LR
    assert result.smoothed[-1] > 3 * min(result.smoothed)


def test_bad_range_is_a_sentence(noisy_digits):
    with pytest.raises(ConfigError, match="start lr < end lr"):
        lr_range_test(TrainConfig(arch="softmax"), noisy_digits, start=1.0, end=0.1)
