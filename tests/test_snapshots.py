"""Tests of time travel: which epochs are kept, and that a saved snapshot at epoch t
gives exactly the predictions the model made at epoch t (torch and NumPy engines)."""
import pytest
import torch

from mnist_core.callbacks import Callback
from mnist_core.config import TrainConfig
from mnist_core.runs import RunStore, RunStoreError
from mnist_core.snapshots import MAX_SNAPSHOTS, snapshot_epochs
from mnist_core.predict import predict_probabilities
from mnist_core.train import fit


@pytest.mark.parametrize("epochs", [1, 2, 29, 30, 31, 45, 89, 200])
def test_at_most_30_evenly_spaced_epochs_always_with_the_last(epochs):
    kept = snapshot_epochs(epochs)
    assert len(kept) == min(epochs, MAX_SNAPSHOTS)
    assert kept[-1] == epochs and kept == sorted(set(kept)) and kept[0] >= 1
    gaps = [b - a for a, b in zip([0, *kept], kept)]
    assert max(gaps) - min(gaps) <= 1  # evenly spaced


class PredictionsEachEpoch(Callback):
    """What the live model (for NumPy: its torch twin) predicts on fixed images at every epoch end."""

    def __init__(self, x):
        self.x, self.by_epoch = x, {}

    def on_epoch_end(self, event):
        self.by_epoch[event.epoch] = predict_probabilities(self.model, self.x)


@pytest.mark.parametrize("config", [
    TrainConfig(arch="mlp", hidden=(32,), optimizer="adam", lr=3e-3, batch_size=50, epochs=4),
    TrainConfig(arch="cnn", batch_size=100, epochs=2, max_steps=8),
    TrainConfig(arch="mlp", hidden=(16,), engine="numpy", optimizer="momentum", schedule="constant",
                lr=0.05, batch_size=50, epochs=3, pixels="unit"),
], ids=["mlp", "cnn", "numpy-mlp"])
def test_a_snapshot_at_epoch_t_reproduces_the_predictions_at_epoch_t_exactly(synthetic, tmp_path, config):
    recorder = PredictionsEachEpoch(synthetic.test_x)
    result = fit(config, synthetic, callbacks=[recorder])
    store = RunStore(tmp_path)
    run_id = store.save(result, test_labels=synthetic.test_labels).run_id

    epochs = store.snapshot_epochs(run_id)
    assert epochs == sorted(recorder.by_epoch) and epochs
    for epoch in epochs:
        then = predict_probabilities(store.load_snapshot(run_id, epoch), synthetic.test_x)
        assert torch.equal(then, recorder.by_epoch[epoch])
    if len(epochs) > 1:  # the model really changed between snapshots
        assert not torch.equal(recorder.by_epoch[epochs[0]], recorder.by_epoch[epochs[-1]])
    assert (store.get(run_id).path / "snapshots.pt").stat().st_size > 0


def test_early_stopping_keeps_the_last_epoch_run(synthetic, tmp_path):
    config = TrainConfig(arch="softmax", optimizer="sgd", schedule="constant", lr=30.0, batch_size=25,
                         epochs=40, early_stopping=1)
    result = fit(config, synthetic)
    assert result.status == "early-stopped"
    assert max(result.snapshots) == result.epochs_run and len(result.snapshots) <= MAX_SNAPSHOTS


def test_a_missing_epoch_or_an_old_run_is_a_sentence(synthetic, tmp_path):
    store = RunStore(tmp_path)
    run_id = store.save(fit(TrainConfig(arch="softmax", epochs=2), synthetic)).run_id
    with pytest.raises(RunStoreError, match="no weights after epoch 7"):
        store.load_snapshot(run_id, 7)
    (store.get(run_id).path / "snapshots.pt").unlink()  # a run saved before time travel existed
    assert store.snapshot_epochs(run_id) == []
    (store.get(run_id).path / "snapshots.pt").write_bytes(b"not a torch file")
    with pytest.raises(RunStoreError, match="damaged"):
        store.snapshot_epochs(run_id)
