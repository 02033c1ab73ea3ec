"""Tests of mnist_core.train on small seeded synthetic data: learning, stopping, divergence,
seeding, early stopping, regularisation and the evaluation helpers."""
import math
import threading

import numpy as np
import pytest
import torch
from torch import nn

from mnist_core.callbacks import Callback, RecordingCallback
from mnist_core.config import ConfigError, TrainConfig
from mnist_core.data import make_split, make_synthetic
from mnist_core.models import MODEL_REGISTRY
from mnist_core.predict import predict_probabilities
from mnist_core.train import EXPLODED_LOSS, divergence_reason, evaluate, fit

# 500 synthetic training images, 10% held out: 450 to train on.
QUICK = dict(epochs=2, batch_size=50, schedule="constant")


def flat_weights(model):
    return torch.cat([p.detach().flatten() for p in model.state_dict().values()])


class StopAtStep(Callback):
    """Sets the stop flag from inside the loop at a given step, as a page's Stop button would."""

    def __init__(self, stop, at_step):
        self.stop, self.at_step = stop, at_step
        self.steps_seen = []

    def on_train_start(self, info):
        self.initial = flat_weights(self.model).clone()

    def on_batch_end(self, event):
        self.steps_seen.append(event.step)
        if event.step == self.at_step:
            self.stop.set()


# --- learning ----------------------------------------------------------------

@pytest.mark.parametrize("arch", ["softmax", "mlp", "deep-mlp", "cnn"])
def test_every_architecture_learns_the_synthetic_digits(arch, synthetic):
    recorder = RecordingCallback()
    result = fit(TrainConfig(arch=arch, epochs=3, batch_size=50, lr=3e-3, hidden=(64,) if arch == "mlp" else
                             (64, 32) if arch == "deep-mlp" else None),
                 synthetic, callbacks=[recorder], log_every=1)
    losses = [event.loss for event in recorder.batches]
    assert result.status == "completed"
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 / 2, "the loss should at least halve"
    assert result.history["epochs"][-1]["train_loss"] < result.history["epochs"][0]["train_loss"]
    assert result.test_accuracy >= 0.9


def test_the_result_describes_the_run(synthetic):
    recorder = RecordingCallback()
    result = fit(TrainConfig(arch="mlp", hidden=(32,), **QUICK), synthetic, callbacks=[recorder], log_every=3)
    assert result.status == "completed" and result.reason == "completed 2 epochs (18 steps)."
    assert result.steps == 18 and result.epochs_run == 2 and result.train_size == 450
    assert result.parameters == 784 * 32 + 32 + 32 * 10 + 10
    assert [b["step"] for b in result.history["batches"]] == [3, 6, 9, 12, 15, 18]
    assert len(result.history["epochs"]) == 2 and len(recorder.epochs) == 2
    assert recorder.start_info["total_steps"] == 18 and recorder.start_info["val_size"] == 50
    assert recorder.model is result.model and "model" not in recorder.start_info  # events stay plain data
    assert recorder.result is result
    assert result.test_probabilities.shape == (100, 10) and result.test_probabilities.dtype == np.float32
    assert np.allclose(result.test_probabilities.sum(1), 1, atol=1e-5)
    assert result.data_source == "synthetic"
    assert not result.model.training
    summary = result.summary()
    assert summary["test_accuracy"] == result.test_accuracy and summary["status"] == "completed"
    assert {"val_accuracy", "train_accuracy", "epochs_run", "train_seconds", "steps", "best_epoch"} <= set(summary)
    epoch = result.history["epochs"][0]
    assert len(epoch["per_class_val_accuracy"]) == 10 and 0 <= epoch["val_accuracy"] <= 1


def test_a_batch_larger_than_the_training_set_is_a_config_error(synthetic):
    with pytest.raises(ConfigError) as caught:
        fit(TrainConfig(batch_size=451), synthetic)
    assert str(caught.value) == ("The batch size 451 is larger than the training set (450 images): "
                                 "choose at most 450.")
    assert fit(TrainConfig(arch="softmax", batch_size=450, epochs=1), synthetic).steps == 1


def test_fit_validates_the_config(synthetic):
    with pytest.raises(ConfigError, match="learning rate"):
        fit(TrainConfig(lr=-1), synthetic)


def test_subset_trains_on_that_many_images_per_class(synthetic):
    result = fit(TrainConfig(arch="softmax", subset=7, batch_size=10, epochs=1), synthetic)
    assert result.train_size == 70 and result.steps == 7


def test_max_steps_ends_the_run_early_even_with_onecycle(synthetic):
    result = fit(TrainConfig(arch="softmax", schedule="onecycle", batch_size=10, epochs=5, max_steps=12), synthetic)
    assert result.status == "completed" and result.steps == 12 and result.epochs_run == 1


def test_no_validation_set_gives_no_validation_numbers(synthetic):
    result = fit(TrainConfig(arch="softmax", val_fraction=0.0, **QUICK), synthetic)
    assert result.train_size == 500
    assert result.val_accuracy is None and result.history["epochs"][0]["val_loss"] is None


def test_evaluate_test_false_skips_the_test_set(synthetic):
    result = fit(TrainConfig(arch="softmax", **QUICK), synthetic, evaluate_test=False)
    assert result.test_accuracy is None and result.test_probabilities is None


# --- stopping ------------------------------------------------------------------

@pytest.mark.parametrize("at_step", [1, 4, 12])
def test_the_stop_flag_ends_the_run_within_one_batch_and_keeps_the_model(at_step, synthetic):
    stop = threading.Event()
    stopper = StopAtStep(stop, at_step)
    result = fit(TrainConfig(arch="mlp", hidden=(32,), epochs=5, batch_size=50), synthetic,
                 callbacks=[stopper], stop=stop, log_every=1)
    assert result.status == "stopped"
    assert at_step <= result.steps <= at_step + 1
    assert max(stopper.steps_seen) <= at_step + 1
    assert result.reason.startswith(f"stopped by the user at step {result.steps} ")
    # What was learned so far is kept and tested.
    assert not torch.equal(flat_weights(result.model), stopper.initial)
    assert result.test_accuracy is not None and 0 <= result.test_accuracy <= 1
    assert result.test_probabilities.shape == (100, 10)
    assert result.epochs_run == math.ceil(result.steps / 9)
    assert len(result.history["epochs"]) == result.epochs_run


def test_a_stop_between_epochs_does_not_count_an_empty_epoch(synthetic):
    stop = threading.Event()
    result = fit(TrainConfig(arch="softmax", epochs=3, batch_size=50), synthetic,
                 callbacks=[StopAtStep(stop, 9)], stop=stop, log_every=1)  # step 9 ends epoch 1
    assert result.status == "stopped" and result.steps == 9
    assert result.epochs_run == 1 and len(result.history["epochs"]) == 1


def test_a_flag_set_before_the_start_stops_before_any_batch(synthetic):
    stop = threading.Event()
    stop.set()
    result = fit(TrainConfig(arch="softmax", **QUICK), synthetic, stop=stop)
    assert result.status == "stopped" and result.steps == 0 and result.epochs_run == 0
    assert result.test_accuracy is not None


# --- divergence ------------------------------------------------------------------

def test_a_huge_learning_rate_ends_as_diverged_naming_the_step_and_the_rate(synthetic):
    recorder = RecordingCallback()
    result = fit(TrainConfig(arch="mlp", optimizer="sgd", lr=100, schedule="constant", batch_size=32, epochs=3),
                 synthetic, callbacks=[recorder], log_every=1)
    assert result.status == "diverged"
    assert f"at step {result.steps}:" in result.reason
    assert "the learning rate 100 is too large for SGD — try 0.1." in result.reason
    assert result.test_accuracy is None
    assert recorder.result is result and recorder.result.status == "diverged"
    assert all(math.isfinite(b["loss"]) and b["loss"] <= EXPLODED_LOSS for b in result.history["batches"])


class BlowsUpAtCall(nn.Module):
    """A softmax regression whose logits turn bad on its n-th forward pass."""

    def __init__(self, at_call, bad):
        super().__init__()
        self.linear = nn.Linear(784, 10)
        self.calls, self.at_call, self.bad = 0, at_call, bad

    def forward(self, x):
        self.calls += 1
        logits = self.linear(x.flatten(1))
        if self.calls >= self.at_call:
            if self.bad == "nan":
                return logits * float("inf")  # inf - inf inside the softmax: NaN loss
            # Every digit but 0 impossible: an infinite loss for any image that is not a 0.
            return torch.cat([logits[:, :1], torch.full_like(logits[:, 1:], -float("inf"))], 1)
        return logits


@pytest.mark.parametrize("bad, word", [("nan", "NaN"), ("inf", "infinite")])
def test_a_loss_that_stops_being_a_number_ends_as_diverged(bad, word, synthetic, monkeypatch):
    monkeypatch.setitem(MODEL_REGISTRY, "softmax", lambda config: BlowsUpAtCall(at_call=3, bad=bad))
    config = TrainConfig(arch="softmax", optimizer="sgd", lr=0.5, schedule="constant", batch_size=50, epochs=2)
    result = fit(config, synthetic, log_every=1)
    assert result.status == "diverged" and result.steps == 3
    assert result.reason == f"loss became {word} at step 3: the learning rate 0.5 is too large for SGD — try 0.1."
    assert [b["step"] for b in result.history["batches"]] == [1, 2]
    assert result.history["epochs"] == [] and result.test_probabilities is None


class NaNWhenEvaluated(nn.Module):
    """Trains normally but answers NaN in eval mode: like weights blown up by the epoch's last step."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(784, 10)

    def forward(self, x):
        logits = self.linear(x.flatten(1))
        return logits if self.training else logits * float("nan")


@pytest.mark.parametrize("changes", [{}, {"early_stopping": 1}, {"val_fraction": 0.0}])
def test_weights_that_only_validation_or_test_sees_blown_up_end_as_diverged(changes, synthetic, monkeypatch):
    monkeypatch.setitem(MODEL_REGISTRY, "softmax", lambda config: NaNWhenEvaluated())
    config = TrainConfig(arch="softmax", optimizer="sgd", lr=0.5, schedule="constant", batch_size=50, epochs=3,
                         **changes)
    result = fit(config, synthetic)
    # Caught by the first validation (end of epoch 1, step 9), or without one by the test at the end.
    expected_step = 30 if config.val_fraction == 0 else 9
    assert result.status == "diverged" and result.steps == expected_step
    assert result.reason == f"loss became NaN at step {expected_step}: the learning rate 0.5 is too large for SGD — try 0.1."
    assert result.test_accuracy is None and result.test_probabilities is None
    assert all(math.isfinite(e["val_loss"]) for e in result.history["epochs"] if e["val_loss"] is not None)


def test_divergence_reason_suggests_a_smaller_rate():
    adam = TrainConfig(optimizer="adam", lr=0.5)
    assert divergence_reason(adam, 7, float("nan")) == \
        "loss became NaN at step 7: the learning rate 0.5 is too large for Adam — try 0.001."
    small = TrainConfig(optimizer="adam", lr=1e-4)
    assert divergence_reason(small, 2, 3e5).endswith("the learning rate 0.0001 is too large for Adam — try 1e-05.")
    assert divergence_reason(small, 2, 3e5).startswith("loss exploded to 3e+05 at step 2")


# --- seeds -----------------------------------------------------------------------------

def learning_curve(result):
    """The numbers of a history that do not depend on timing."""
    batches = [(b["step"], b["loss"], b["running_accuracy"]) for b in result.history["batches"]]
    epochs = [(e["train_loss"], e["val_loss"], e["val_accuracy"]) for e in result.history["epochs"]]
    return batches, epochs


def test_the_same_seed_reproduces_the_run_and_another_seed_does_not(synthetic):
    config = TrainConfig(arch="mlp", hidden=(32,), dropout=0.2, seed=11, **QUICK)
    first, again = fit(config, synthetic, log_every=1), fit(config, synthetic, log_every=1)
    other = fit(config.replace(seed=12), synthetic, log_every=1)
    assert learning_curve(first) == learning_curve(again)
    assert torch.equal(flat_weights(first.model), flat_weights(again.model))
    assert np.array_equal(first.test_probabilities, again.test_probabilities)
    assert learning_curve(first)[0] != learning_curve(other)[0]
    assert not torch.equal(flat_weights(first.model), flat_weights(other.model))


# --- early stopping ----------------------------------------------------------------------

class KeepEveryEpochsWeights(Callback):
    def on_train_start(self, info):
        self.states = {}

    def on_epoch_end(self, event):
        self.states[event.epoch] = flat_weights(self.model).clone()


def test_early_stopping_restores_the_weights_of_the_best_epoch():
    # Very noisy digits and a high learning rate: the validation loss goes up and down.
    data = make_synthetic(n_train_per_class=20, n_test_per_class=10, seed=0, noise=1.0)
    config = TrainConfig(arch="mlp", hidden=(512,), lr=3e-2, schedule="constant", batch_size=16,
                         val_fraction=0.3, epochs=30, early_stopping=2)
    keeper = KeepEveryEpochsWeights()
    result = fit(config, data, callbacks=[keeper])
    val_losses = [e["val_loss"] for e in result.history["epochs"]]
    best = int(np.argmin(val_losses)) + 1
    assert result.status == "early-stopped"
    assert result.best_epoch == best < len(val_losses) == result.epochs_run == best + 2
    assert (f"early-stopped at epoch {result.epochs_run}: the validation loss has not improved for 2 epochs, "
            f"so the weights of epoch {best} (the best) were restored.") == result.reason
    # The model now holds the best epoch's weights, not the last epoch's ...
    assert torch.equal(flat_weights(result.model), keeper.states[best])
    assert not torch.equal(flat_weights(result.model), keeper.states[result.epochs_run])
    # ... so on the validation set it scores the best epoch's loss again.
    split = make_split(data, config.val_fraction, config.subset, config.seed)
    val = evaluate(result.model, data.train_x[split.val_index], data.train_labels[split.val_index])
    assert val["loss"] == pytest.approx(val_losses[best - 1], rel=1e-5)
    assert val["loss"] < val_losses[-1]
    assert result.val_accuracy == pytest.approx(result.history["epochs"][best - 1]["val_accuracy"])


# --- regularisation ------------------------------------------------------------------------

def one_sgd_step(synthetic, **regularisation):
    """Weights and bias of a softmax regression after one plain SGD step on the same first batch."""
    config = TrainConfig(arch="softmax", optimizer="sgd", lr=0.5, schedule="constant", batch_size=50,
                         epochs=1, max_steps=1, **regularisation)
    model = fit(config, synthetic, evaluate_test=False).model
    return model.linear.weight.detach(), model.linear.bias.detach()


def test_l2_and_l1_add_exactly_their_gradient_to_the_weights_and_none_to_the_biases(synthetic):
    from mnist_core.models import create_model

    start = create_model(TrainConfig(arch="softmax")).linear.weight.detach()  # same seed as the runs
    plain_w, plain_b = one_sgd_step(synthetic)
    l2_w, l2_b = one_sgd_step(synthetic, l2=0.1)
    l1_w, l1_b = one_sgd_step(synthetic, l1=0.01)
    # gradient += l2 * w  and  gradient += l1 * sign(w), each times the learning rate 0.5.
    assert torch.allclose(l2_w - plain_w, -0.5 * 0.1 * start, atol=1e-6)
    assert torch.allclose(l1_w - plain_w, -0.5 * 0.01 * torch.sign(start), atol=1e-6)
    assert torch.allclose(l2_b, plain_b, atol=1e-7) and torch.allclose(l1_b, plain_b, atol=1e-7)


def test_the_fused_adam_step_moves_the_weights_as_the_unfused_one_does(synthetic):
    # make_optimizer uses torch's fused CPU Adam (one kernel for all parameters, ~2x faster step);
    # it must train the same model as the textbook per-parameter Adam, within float rounding.
    import torch.nn.functional as F

    from mnist_core.models import create_model
    from mnist_core.train import make_optimizer

    config = TrainConfig(arch="cnn", lr=3e-3, l2=1e-4)
    fused_model, plain_model = create_model(config), create_model(config)
    fused = make_optimizer(fused_model, config)
    assert fused.defaults["fused"] is True
    groups = [{"params": [p for p in plain_model.parameters() if p.dim() > 1], "weight_decay": config.l2},
              {"params": [p for p in plain_model.parameters() if p.dim() <= 1], "weight_decay": 0.0}]
    plain = torch.optim.Adam(groups, lr=config.lr, foreach=False)
    x, y = synthetic.train_x[:32].contiguous(memory_format=torch.channels_last), synthetic.train_labels[:32]
    for _ in range(5):
        for model, optimizer in ((fused_model, fused), (plain_model, plain)):
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    moved = (flat_weights(plain_model) - flat_weights(create_model(config))).abs().max()
    assert moved > 1e-3, "five steps at lr 3e-3 move the weights"
    assert torch.allclose(flat_weights(fused_model), flat_weights(plain_model), atol=1e-5)


# --- evaluation helpers ----------------------------------------------------------------------

class FixedLogits(nn.Module):
    """Predicts from the first pixel: a known answer for every input."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits[: len(x)]


def test_evaluate_counts_by_hand():
    logits = torch.full((4, 10), -5.0)
    logits[0, 3] = logits[1, 3] = logits[2, 7] = logits[3, 1] = 5.0  # predictions 3, 3, 7, 1
    model = FixedLogits(logits)
    y = torch.tensor([3, 7, 7, 2])
    out = evaluate(model, torch.zeros(4, 1, 28, 28), y)
    assert out["accuracy"] == 0.5
    assert out["predictions"].tolist() == [3, 3, 7, 1]
    per_class = out["per_class_accuracy"]
    assert per_class[3] == 1.0 and per_class[7] == 0.5 and per_class[2] == 0.0 and per_class[0] == 0.0
    expected_loss = torch.nn.functional.cross_entropy(logits, y).item()
    assert out["loss"] == pytest.approx(expected_loss, rel=1e-5)


def test_evaluate_on_nothing_gives_no_numbers():
    out = evaluate(FixedLogits(torch.zeros(0, 10)), torch.zeros(0, 1, 28, 28), torch.zeros(0, dtype=torch.long))
    assert out["loss"] is None and out["accuracy"] is None and out["probabilities"].shape == (0, 10)


def test_predict_probabilities_batches_and_restores_the_mode(synthetic):
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Dropout(0.5))
    model.train()
    probs = predict_probabilities(model, synthetic.test_x, batch_size=7)
    assert probs.shape == (100, 10) and torch.allclose(probs.sum(1), torch.ones(100))
    assert model.training, "the caller's mode is given back"
    again = predict_probabilities(model, synthetic.test_x, batch_size=1000)
    assert torch.allclose(probs, again, atol=1e-6), "eval mode: dropout off, batch size does not matter"
