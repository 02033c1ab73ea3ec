"""Integration test on real MNIST: augmentation keeps labels readable, and the draw preset keeps MNIST.

The Draw page's default model (`--preset draw`: a CNN, 6 epochs, `TrainConfig.augment`)
reads MNIST's test images, every one augmented with the same recipe (a fixed seed; in training
only half of each batch is), at 97% or better: the recipe changes how a digit is written, not which digit it is. And it still
reads at least 99.0% of the plain MNIST test. (About a minute on a quiet core.)
"""
import dataclasses

import pytest
import torch

from mnist_core.augment import DRAW_RECIPE, augment_batch
from mnist_core.presets import preset_config
from mnist_core.predict import predict_probabilities
from mnist_core.train import fit

pytestmark = pytest.mark.integration


def test_a_trained_model_reads_augmented_test_images(mnist):
    config = preset_config("draw")
    assert config.arch == "cnn" and config.augment
    result = fit(config, mnist)
    generator = torch.Generator().manual_seed(123)
    every_image = dataclasses.replace(DRAW_RECIPE, share=1.0)
    test_x = torch.cat([augment_batch(mnist.test_x[i:i + 1000], every_image, generator=generator)
                        for i in range(0, len(mnist.test_x), 1000)])
    changed = (test_x - mnist.test_x).abs().flatten(1).amax(1) > 0.1
    assert changed.float().mean() > 0.99  # really augmented, every image
    accuracy = (predict_probabilities(result.model, test_x).argmax(1) == mnist.test_labels).float().mean().item()
    print(f"\nclean test {result.test_accuracy:.4f}, augmented test {accuracy:.4f}")
    assert accuracy >= 0.97
    assert result.test_accuracy >= 0.990
