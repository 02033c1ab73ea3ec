"""Tests for mnist_core.augment: the batched augmentation recipe behind TrainConfig.augment.

The geometry is checked against torch's own affine_grid and max_pool2d (the same thing
computed two ways); the recipe's draws are checked for what they promise: labels stay
readable (an integration test on real MNIST lives in test_augment_integration.py),
blank stays blank, the same seed gives the same batch.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from mnist_core import augment
from mnist_core.augment import AugmentRecipe, augment_batch, augment_ink, random_affine, thicken, thin
from mnist_core.config import TrainConfig
from mnist_core.data import normalize
from mnist_core.train import fit


def test_thicken_and_thin_are_max_pooling_and_its_negative():
    ink = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert torch.equal(thicken(ink), F.max_pool2d(ink, 3, stride=1, padding=1))
    assert torch.equal(thin(ink), -F.max_pool2d(-ink, 3, stride=1, padding=1))


def test_a_thicker_pen_has_more_ink_and_a_thinner_one_less():
    ink = torch.zeros(1, 1, 28, 28)
    ink[0, 0, 4:24, 12:16] = 1.0  # a 4 px wide bar
    assert thicken(ink).sum() == (20 + 2) * (4 + 2)
    assert thin(ink).sum() == (20 - 2) * (4 - 2)


def test_the_hand_written_grid_equals_affine_grid():
    theta = random_affine(16, generator=torch.Generator().manual_seed(3))
    x, y = augment._identity_grid(28)
    mine = torch.stack([theta[:, i, 0:1] * x + theta[:, i, 1:2] * y + theta[:, i, 2:3] for i in (0, 1)], dim=2)
    assert torch.allclose(mine.view(16, 28, 28, 2), F.affine_grid(theta, [16, 1, 28, 28], align_corners=False),
                          atol=1e-6)


def test_a_pure_rotation_inverts_to_the_opposite_rotation():
    recipe = AugmentRecipe(rotation_degrees=30, scale=(1, 1), aspect=0, shear=0, shift_pixels=0)
    theta = random_affine(32, recipe, torch.Generator().manual_seed(0))
    # theta = R(angle)^-1 = R(-angle): orthonormal, det 1, no offset.
    assert torch.allclose(theta[:, :, :2] @ theta[:, :, :2].transpose(1, 2), torch.eye(2).expand(32, 2, 2), atol=1e-6)
    assert torch.allclose(torch.linalg.det(theta[:, :, :2]), torch.ones(32), atol=1e-6)
    angles = torch.atan2(-theta[:, 0, 1], theta[:, 0, 0]).abs()  # within the recipe's range
    assert angles.max() <= math.radians(30) + 1e-6 and angles.max() > math.radians(15)
    assert torch.allclose(theta[:, :, 2], torch.zeros(32, 2))


def test_a_shift_moves_the_ink_by_that_many_pixels():
    recipe = AugmentRecipe(rotation_degrees=0, scale=(1, 1), aspect=0, shear=0, shift_pixels=3,
                           elastic_pixels=0, thickness=0)
    ink = torch.zeros(64, 1, 28, 28)
    ink[:, 0, 10:18, 10:18] = 1.0
    moved = augment_ink(ink, recipe, torch.Generator().manual_seed(0))
    cols = torch.arange(28.0)
    centre = (moved.sum(dim=2)[:, 0] * cols).sum(1) / moved.sum(dim=(1, 2, 3))
    shift = centre - 13.5
    assert shift.abs().max() <= 3 + 1e-4 and shift.abs().max() > 1.5  # within +-3 px, and really moving


def test_blank_stays_blank_and_the_same_seed_gives_the_same_batch():
    blank = normalize(torch.zeros(4, 28, 28, dtype=torch.uint8))
    assert torch.allclose(augment_batch(blank, generator=torch.Generator().manual_seed(0)), blank, atol=1e-6)
    digits = normalize((torch.rand(8, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.8).to(torch.uint8) * 255)
    first = augment_batch(digits, generator=torch.Generator().manual_seed(5))
    again = augment_batch(digits, generator=torch.Generator().manual_seed(5))
    other = augment_batch(digits, generator=torch.Generator().manual_seed(6))
    assert torch.equal(first, again) and not torch.equal(first, other)
    ink = first * 0.3081 + 0.1307
    assert ink.min() >= -1e-5 and ink.max() <= 1 + 1e-5
    assert torch.allclose(ink.amax(dim=(1, 2, 3)), torch.ones(8), atol=1e-5)  # peak back to full ink


def test_half_of_each_batch_is_distorted_and_the_rest_kept_as_it_was():
    digits = normalize((torch.rand(400, 28, 28, generator=torch.Generator().manual_seed(2)) > 0.8).to(torch.uint8) * 255)
    out = augment_batch(digits, generator=torch.Generator().manual_seed(3))  # the recipe's share: 0.5
    kept = (out - digits).flatten(1).abs().amax(1) < 1e-6
    assert 0.4 < kept.float().mean() < 0.6  # about half untouched, the others really changed
    assert ((out - digits).flatten(1).abs().amax(1)[~kept] > 0.1).all()
    everything = augment_batch(digits, AugmentRecipe(share=1.0), generator=torch.Generator().manual_seed(3))
    assert ((everything - digits).flatten(1).abs().amax(1) > 0.1).all()


def test_augmented_training_runs_and_learns_on_synthetic_data(synthetic):
    # The synthetic digits are random pixel blobs, not strokes: shifted and warped they are
    # much harder (real digits are checked in test_augment_integration.py), but still learnable.
    plain = fit(TrainConfig(arch="cnn", epochs=3, lr=3e-3, val_fraction=0.0, seed=0), synthetic)
    augmented = fit(TrainConfig(arch="cnn", epochs=3, lr=3e-3, val_fraction=0.0, seed=0, augment=True), synthetic)
    assert augmented.status == "completed" and augmented.test_accuracy >= 0.4  # chance is 0.1
    assert augmented.history["batches"] != plain.history["batches"]  # it really saw other images


def test_augment_defaults_to_off_so_old_runs_load_unchanged():
    assert TrainConfig().augment is False
    assert TrainConfig.from_dict({k: v for k, v in TrainConfig().to_dict().items() if k != "augment"}).augment is False
    with pytest.raises(Exception, match="true or false"):
        TrainConfig(augment="yes").validate()
