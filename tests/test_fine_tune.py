"""Tests for mnist_core.fine_tune: tuning on a shifted set helps there and keeps the original set."""
import pytest
import torch

from mnist_core.config import TrainConfig
from mnist_core.data import make_synthetic, normalize
from mnist_core.fine_tune import FineTuneError, FineTuneSettings, as_train_result, fine_tune, holdout_split
from mnist_core.runs import RunStore
from mnist_core.train import fit


def shifted_class_drawings(n_per_class=12):
    """'Another population of writers': the same kind of digits, drawn 4 px further right and fainter."""
    other = make_synthetic(n_train_per_class=n_per_class, n_test_per_class=1, seed=7)
    images = torch.roll(other.train_images, shifts=4, dims=2)
    images = (images.float() * 0.7).to(torch.uint8)
    return normalize(images), other.train_labels


def test_fine_tuning_improves_on_the_shifted_set_and_remembers_the_original(synthetic, tmp_path):
    config = TrainConfig(arch="mlp", hidden=(64,), epochs=4, val_fraction=0.0)
    trained = fit(config, synthetic)
    drawings, labels = shifted_class_drawings()
    steps = []
    result = fine_tune(trained.model, drawings, labels, synthetic, FineTuneSettings(epochs=8, lr=1e-3),
                       progress=lambda step, total: steps.append((step, total)))
    assert result.held_out == 24 and result.trained_on == 96  # a fifth held out
    assert result.after["drawings"] > result.before["drawings"] + 0.2
    assert result.after["mnist"] >= result.before["mnist"] - 0.05  # nothing forgotten
    assert steps[-1][0] == steps[-1][1]
    assert not torch.equal(result.model.layers[0].weight, trained.model.layers[0].weight)  # a copy was tuned
    info = RunStore(tmp_path).save(as_train_result(result, config, "parent-run"), name="tuned",
                                   test_labels=synthetic.test_labels)
    assert "fine-tuned run parent-run" in info.reason and info.test_accuracy == pytest.approx(result.after["mnist"])


def test_holdout_is_a_fifth_of_each_digit():
    labels = torch.arange(10).repeat_interleave(10).numpy()
    train, held = holdout_split(labels)
    assert len(held) == 20 and len(train) == 80 and set(train).isdisjoint(held)
    assert sorted(labels[held].tolist()) == sorted(list(range(10)) * 2)


def test_too_few_drawings_is_a_sentence(synthetic):
    model = fit(TrainConfig(arch="softmax", epochs=1, val_fraction=0.0), synthetic).model
    with pytest.raises(FineTuneError, match="at least 10"):
        fine_tune(model, synthetic.test_x[:4], synthetic.test_labels[:4], synthetic)
