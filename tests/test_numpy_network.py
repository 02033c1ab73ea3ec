"""Tests of the NumPy network: gradients against torch autograd, the engine's update rule,
weights that load into the torch model, learning on synthetic digits, early stopping, and
one epoch on real MNIST."""
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mnist_core.callbacks import Callback
from mnist_core.config import ConfigError, TrainConfig
from mnist_core.models import create_model
from mnist_core.numpy_network import NumpyNetwork, batch_count, images_to_features, softmax
from mnist_core.data import batch_count as engine_batch_count
from mnist_core.train import make_optimizer


@pytest.fixture(scope="module")
def synthetic_features(synthetic):
    return (images_to_features(synthetic.train_images), synthetic.train_labels.numpy(),
            images_to_features(synthetic.test_images), synthetic.test_labels.numpy())


def _torch_twin(network: NumpyNetwork, pixels="standardized"):
    """The torch model of the same shape with the NumPy network's weights."""
    arch = "softmax" if not network.hidden else ("mlp" if len(network.hidden) == 1 else "deep-mlp")
    config = TrainConfig(arch=arch, hidden=network.hidden or None, pixels=pixels)
    model = create_model(config)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in network.state_dict().items()})
    return model, config


def test_the_module_imports_no_torch():
    code = ("import sys; import mnist_core.numpy_network; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_features_are_the_engines_normalized_images(synthetic):
    features = images_to_features(synthetic.train_images)
    assert features.dtype == np.float32 and features.shape == (len(synthetic.train_labels), 784)
    np.testing.assert_allclose(features, synthetic.train_x.reshape(-1, 784).numpy(), rtol=0, atol=1e-6)


def test_batch_count_is_the_engines():
    for n, b in [(54_000, 128), (54_001, 1000), (10, 4), (3, 8), (60_000, 64), (100, 30)]:
        assert batch_count(n, b) == engine_batch_count(n, b)


def test_softmax_rows_are_probabilities_and_ignore_a_shift():
    logits = np.random.default_rng(0).normal(size=(5, 10)) * 30
    probs = softmax(logits)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(softmax(logits + 1000.0), probs, rtol=1e-12)  # no overflow
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(logits), dim=1).numpy(), rtol=1e-12)


@pytest.mark.parametrize("hidden, pixels", [((), "standardized"), ((32,), "unit"), ((24, 16), "standardized")])
@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (1e-3, 1e-2)])
def test_loss_and_gradients_match_torch_autograd(synthetic_features, hidden, pixels, l1, l2):
    X, y = synthetic_features[0][:64], synthetic_features[1][:64]
    network = NumpyNetwork(hidden, seed=3, pixels=pixels)
    loss, grads = network.loss_and_gradients(X, y, l1=l1, l2=l2)

    model, _ = _torch_twin(network, pixels)
    logits = model(torch.from_numpy(X).reshape(-1, 1, 28, 28))
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    # The engine's L1 is a loss term; its weight decay l2*W is the gradient of l2/2*|W|^2.
    loss_t = (F.cross_entropy(logits, torch.from_numpy(y)) + l1 * sum(w.abs().sum() for w in weights)
              + 0.5 * l2 * sum((w ** 2).sum() for w in weights))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-5)
    assert len(grads) == len(hidden) + 1
    for (dW, db), w, b in zip(grads, weights, biases):
        np.testing.assert_allclose(dW, w.grad.numpy().T, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(db, b.grad.numpy(), rtol=1e-4, atol=1e-6)
        assert np.abs(dW).max() > 1e-4  # a real gradient, not zeros on both sides


@pytest.mark.parametrize("hidden", [(), (32,)])
def test_momentum_steps_follow_the_torch_engine_with_l1_and_l2(synthetic_features, hidden):
    """Three steps of NumPy SGD+momentum equal three steps of the engine's optimizer setup."""
    X, y = synthetic_features[0], synthetic_features[1]
    network = NumpyNetwork(hidden, seed=7)
    model, config = _torch_twin(network)
    config = config.replace(optimizer="momentum", lr=0.05, momentum=0.9, l1=1e-3, l2=1e-2)
    optimizer = make_optimizer(model, config)
    start = network.state_dict()
    weights = [p for p in model.parameters() if p.dim() > 1]

    for batch in range(3):
        rows = slice(32 * batch, 32 * (batch + 1))
        xb, yb = X[rows], y[rows]
        logits = model(torch.from_numpy(xb).reshape(-1, 1, 28, 28))
        objective = F.cross_entropy(logits, torch.from_numpy(yb)) + config.l1 * sum(w.abs().sum() for w in weights)
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
        network.step(xb, yb, config.lr, config.momentum, config.l1, config.l2)

    after = network.state_dict()
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(after[name], value.numpy(), atol=1e-5)
    assert max(np.abs(after[k] - start[k]).max() for k in after) > 1e-3  # the weights really moved


@pytest.mark.parametrize("hidden", [(), (16,), (16, 8)])
def test_state_dict_loads_into_the_torch_model_with_equal_predictions(synthetic_features, hidden):
    X = synthetic_features[2]
    network = NumpyNetwork(hidden, seed=1, pixels="unit")
    model, _ = _torch_twin(network, "unit")  # load_state_dict is strict: same keys and shapes
    with torch.no_grad():
        torch_probs = torch.softmax(model(torch.from_numpy(X).reshape(-1, 1, 28, 28)), dim=1).numpy()
    np.testing.assert_allclose(network.predict_proba(X), torch_probs, atol=1e-5)


def test_learns_synthetic_digits(synthetic_features):
    X, y, X_test, y_test = synthetic_features

    class Recorder(Callback):
        def __init__(self):
            self.epochs, self.batches = [], []

        def on_batch_end(self, event):
            self.batches.append(event)

        def on_epoch_end(self, event):
            self.epochs.append(event)

    seen = Recorder()
    model = NumpyNetwork((32,)).fit(X, y, lr=0.05, momentum=0.9, batch_size=32, epochs=8, seed=0,
                                    callbacks=[seen], log_every=5)
    assert model.status == "completed"
    assert [event.epoch for event in seen.epochs] == list(range(1, 9))
    assert seen.epochs[-1].train_loss < seen.epochs[0].train_loss
    assert seen.batches and seen.batches[-1].step == model.steps
    assert model.accuracy(X_test, y_test) >= 0.9
    probs = model.predict_proba(X_test)
    assert probs.shape == (len(y_test), 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_same_seed_gives_the_same_weights(synthetic_features):
    X, y = synthetic_features[:2]
    first = NumpyNetwork().fit(X, y, epochs=2, seed=3)
    second = NumpyNetwork().fit(X, y, epochs=2, seed=3)
    other = NumpyNetwork().fit(X, y, epochs=2, seed=4)
    np.testing.assert_array_equal(first.weights[0], second.weights[0])
    assert not np.array_equal(first.weights[0], other.weights[0])


def test_early_stopping_restores_the_best_weights(synthetic_features):
    X, y, X_val, y_val = synthetic_features
    wrong_val_labels = (y_val + 1) % 10  # the better it fits the training set, the worse on these
    weights_after_epoch = {}
    model = NumpyNetwork()

    class Remember(Callback):
        def on_epoch_end(self, event):
            weights_after_epoch[event.epoch] = model.weights[0].copy()

    model.fit(X, y, X_val, wrong_val_labels, lr=0.05, momentum=0.9, batch_size=32, epochs=30,
              patience=2, seed=0, callbacks=[Remember()])

    val_losses = [epoch["val_loss"] for epoch in model.history]
    assert model.status == "early-stopped"
    assert model.best_epoch == 1 + int(np.argmin(val_losses))
    assert len(model.history) == model.best_epoch + 2  # stopped after 2 epochs without improvement
    np.testing.assert_array_equal(model.weights[0], weights_after_epoch[model.best_epoch])
    assert not np.array_equal(model.weights[0], weights_after_epoch[len(model.history)])


def test_bad_settings_raise_a_config_error(synthetic_features):
    X, y = synthetic_features[:2]
    with pytest.raises(ConfigError, match="learning rate"):
        NumpyNetwork().fit(X, y, lr=0)
    with pytest.raises(ConfigError, match="validation"):
        NumpyNetwork().fit(X, y, patience=2)
    with pytest.raises(ValueError, match="784"):
        NumpyNetwork().fit(X[:, :100], y)


def test_a_huge_learning_rate_ends_as_diverged(synthetic_features):
    X, y = synthetic_features[:2]
    with np.errstate(all="ignore"):
        model = NumpyNetwork((16,)).fit(X, y, lr=1e38, momentum=0.9, epochs=3)
    assert model.status == "diverged"
    assert "too large" in model.reason


@pytest.mark.integration
def test_one_epoch_on_mnist_reaches_90_percent(mnist):
    X, y = images_to_features(mnist.train_images), mnist.train_labels.numpy()
    model = NumpyNetwork().fit(X, y, lr=0.01, momentum=0.9, batch_size=128, epochs=1, seed=0)
    accuracy = model.accuracy(images_to_features(mnist.test_images), mnist.test_labels.numpy())
    assert accuracy >= 0.90
    assert math.isfinite(model.history[0]["train_loss"])
