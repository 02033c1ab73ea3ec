"""Step mode (mnist_core/stepping.py): one batch at a time, checked against fit()."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mnist_core.config import ConfigError, TrainConfig
from mnist_core.stepping import UNITS_SHOWN, StepSession
from mnist_core.train import fit

CONFIGS = [
    TrainConfig(arch="softmax", optimizer="sgd", lr=0.5, batch_size=64, epochs=2),
    TrainConfig(arch="mlp", hidden=(32,), dropout=0.3, l1=1e-4, l2=1e-3, batch_size=50, epochs=2, seed=4),
    TrainConfig(arch="cnn", optimizer="momentum", lr=0.05, schedule="constant", batch_size=100, epochs=1, subset=30),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.arch)
def test_stepping_through_a_whole_run_takes_the_same_steps_as_fit(config, synthetic):
    reference = fit(config, synthetic)
    session = StepSession(config, synthetic)
    while not session.done:
        session.step(7)
    result = session.result()
    assert session.step_count == reference.steps == len(session.records)
    for (name, ours), theirs in zip(result.model.state_dict().items(), reference.model.state_dict().values()):
        assert torch.allclose(ours, theirs, atol=1e-6), name
    assert result.test_accuracy == reference.test_accuracy and result.status == "completed"
    assert [e["train_loss"] for e in result.history["epochs"]] == pytest.approx(
        [e["train_loss"] for e in reference.history["epochs"]])


def test_each_step_reports_the_loss_before_and_after_on_its_batch(synthetic):
    session = StepSession(TrainConfig(arch="softmax", optimizer="sgd", lr=0.5, schedule="constant",
                                      batch_size=50), synthetic)
    (first,) = session.step()
    assert (first.step, first.epoch, first.batch_size) == (1, 1, 50)
    assert first.loss_before == pytest.approx(first.loss, rel=1e-5), "no dropout: the same forward pass"
    assert first.loss_after < first.loss_before, "a step downhill lowers the loss on its own batch"
    three = session.step(3)
    assert [r.step for r in three] == [2, 3, 4] and len(session.records) == 4
    correct_so_far = [r.running_accuracy * sum(x.batch_size for x in session.records[:i + 1])
                      for i, r in enumerate(session.records)]
    assert all(abs(c - round(c)) < 1e-9 for c in correct_so_far), "running accuracy counts whole images"


def test_run_to_the_end_of_the_epoch_then_a_whole_epoch(synthetic):
    session = StepSession(TrainConfig(arch="softmax", batch_size=50, epochs=3), synthetic)
    per_epoch = session.steps_per_epoch  # 450 training images, batches of 50
    assert per_epoch == 9
    session.step(2)
    assert session.batches_left_in_epoch == 7
    assert len(session.step_to_epoch_end()) == 7 and session.epoch == 1 and len(session.epoch_events) == 1
    assert len(session.step_to_epoch_end()) == per_epoch and session.epoch == 2
    session.step(100)
    assert session.done and session.step_count == 3 * per_epoch and session.step(1) == []


def test_the_picture_shows_what_the_press_changed(synthetic):
    session = StepSession(TrainConfig(arch="softmax", optimizer="sgd", lr=0.5, batch_size=50), synthetic)
    assert not session.first_layer_change().any(), "nothing pressed yet"
    before = session.model.linear.weight.detach().clone()
    session.step(10)
    change = session.first_layer_change()
    assert change.shape == (10, 28, 28)
    assert np.allclose(change, (session.model.linear.weight.detach() - before).numpy().reshape(10, 28, 28))
    picture, limit, legend = session.change_picture()
    assert limit > 0 and picture.size[0] > 10 * 28 and legend.size[0] > 0
    session.step(1)
    assert not np.allclose(session.first_layer_change(), change), "the next press has its own change"


@pytest.mark.parametrize("config, tiles", [(TrainConfig(arch="mlp", hidden=(40,), batch_size=50), UNITS_SHOWN),
                                           (TrainConfig(arch="cnn", batch_size=50, subset=10), 16)])
def test_the_picture_of_an_mlp_or_a_cnn(config, tiles, synthetic):
    session = StepSession(config, synthetic)
    session.step()
    assert session.first_layer_change().shape[0] in (40, 16)
    picture, limit, _ = session.change_picture()
    assert limit > 0 and picture.size[0] > 0


def test_a_stopped_session_is_saved_as_a_stopped_run_and_can_go_on(synthetic, tmp_path):
    from mnist_core.runs import RunStore

    session = StepSession(TrainConfig(arch="softmax", batch_size=50, epochs=2), synthetic)
    session.step(3)
    result = session.result()
    assert result.status == "stopped" and "3 batches in 1 epoch" in result.reason
    assert len(result.history["batches"]) == 3 and len(result.history["epochs"]) == 1
    info = RunStore(tmp_path).save(result, owner="student0002", test_labels=synthetic.test_labels)
    loaded = RunStore(tmp_path).load(info.run_id)
    assert [e["loss_before"] for e in loaded.history["batches"]] == [r.loss_before for r in session.records]
    session.step(1)
    assert session.step_count == 4 and session.epoch_events == [], "saving did not end the epoch"


def test_a_batch_larger_than_the_training_set_is_refused(synthetic):
    with pytest.raises(ConfigError, match="larger than the training set"):
        StepSession(TrainConfig(batch_size=600), synthetic)


def test_a_diverging_session_stops_stepping(synthetic):
    session = StepSession(TrainConfig(arch="deep-mlp", optimizer="sgd", schedule="constant", lr=100, batch_size=16),
                          synthetic)
    session.step(200)
    assert session.done and session.status == "diverged" and session.step_count < 200
    assert session.result().status == "diverged"
