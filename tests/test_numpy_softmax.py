"""Tests of the NumPy softmax regression: gradients against torch autograd, the engine's
update rule, learning on synthetic digits, early stopping, and one epoch on real MNIST."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mnist_core.config import ConfigError, TrainConfig
from mnist_core.models import SoftmaxRegression
from mnist_core.numpy_softmax import (NumpySoftmaxRegression, cross_entropy_loss_and_gradient,
                                      images_to_features, softmax)
from mnist_core.train import make_optimizer


@pytest.fixture(scope="module")
def synthetic_features(synthetic):
    return (images_to_features(synthetic.train_images), synthetic.train_labels.numpy(),
            images_to_features(synthetic.test_images), synthetic.test_labels.numpy())


def test_features_are_the_engines_normalized_images(synthetic):
    features = images_to_features(synthetic.train_images)
    assert features.dtype == np.float32 and features.shape == (len(synthetic.train_labels), 784)
    np.testing.assert_array_equal(features, synthetic.train_x.reshape(-1, 784).numpy())


def test_softmax_rows_are_probabilities_and_ignore_a_shift():
    logits = np.random.default_rng(0).normal(size=(5, 10)) * 30
    probs = softmax(logits)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(softmax(logits + 1000.0), probs, rtol=1e-12)  # no overflow
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(logits), dim=1).numpy(), rtol=1e-12)


@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (1e-3, 1e-2)])
def test_loss_and_gradient_match_torch_autograd(synthetic_features, l1, l2):
    X, y = synthetic_features[0][:64].astype(np.float64), synthetic_features[1][:64]
    rng = np.random.default_rng(1)
    W, b = rng.normal(scale=0.05, size=(784, 10)), rng.normal(scale=0.05, size=10)

    loss, dW, db = cross_entropy_loss_and_gradient(W, b, X, y, l1=l1, l2=l2)

    W_t = torch.tensor(W, requires_grad=True)
    b_t = torch.tensor(b, requires_grad=True)
    logits = torch.from_numpy(X) @ W_t + b_t
    # The engine's L1 is a loss term; its weight decay l2*W is the gradient of l2/2*|W|^2.
    loss_t = F.cross_entropy(logits, torch.from_numpy(y)) + l1 * W_t.abs().sum() + 0.5 * l2 * (W_t ** 2).sum()
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(dW, W_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(db, b_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert np.abs(dW).max() > 1e-3  # a real gradient, not zeros on both sides


def test_momentum_steps_follow_the_torch_engine_with_l1_and_l2(synthetic_features):
    """Three steps of NumPy SGD+momentum equal three steps of the engine's optimizer setup."""
    X, y = synthetic_features[0], synthetic_features[1]
    config = TrainConfig(arch="softmax", optimizer="momentum", lr=0.05, momentum=0.9, l1=1e-3, l2=1e-2)
    # Not seed 0: make_synthetic(seed=0) draws its prototypes from the same random stream,
    # so a softmax layer initialised with torch.manual_seed(0) already matches them.
    torch.manual_seed(7)
    model = SoftmaxRegression()
    optimizer = make_optimizer(model, config)
    numpy_model = NumpySoftmaxRegression()
    numpy_model.W = model.linear.weight.detach().numpy().T.copy()  # torch keeps (10, 784)
    numpy_model.b = model.linear.bias.detach().numpy().copy()
    start_W = numpy_model.W.copy()

    for batch in range(3):
        rows = slice(32 * batch, 32 * (batch + 1))
        xb, yb = X[rows], y[rows]
        logits = model(torch.from_numpy(xb))
        objective = F.cross_entropy(logits, torch.from_numpy(yb)) + config.l1 * model.linear.weight.abs().sum()
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
        numpy_model.step(xb, yb, config.lr, config.momentum, config.l1, config.l2)

    np.testing.assert_allclose(numpy_model.W, model.linear.weight.detach().numpy().T, atol=1e-5)
    np.testing.assert_allclose(numpy_model.b, model.linear.bias.detach().numpy(), atol=1e-5)
    assert np.abs(numpy_model.W - start_W).max() > 1e-3  # the weights really moved


def test_learns_synthetic_digits(synthetic_features):
    X, y, X_test, y_test = synthetic_features
    seen = []
    model = NumpySoftmaxRegression().fit(X, y, lr=0.05, momentum=0.9, batch_size=32, epochs=8,
                                         seed=0, callback=seen.append)
    assert model.status == "completed"
    assert [event.epoch for event in seen] == list(range(1, 9))
    assert seen[-1].train_loss < seen[0].train_loss
    assert model.accuracy(X_test, y_test) >= 0.9
    probs = model.predict_proba(X_test)
    assert probs.shape == (len(y_test), 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_same_seed_gives_the_same_weights(synthetic_features):
    X, y = synthetic_features[:2]
    first = NumpySoftmaxRegression().fit(X, y, epochs=2, seed=3)
    second = NumpySoftmaxRegression().fit(X, y, epochs=2, seed=3)
    other = NumpySoftmaxRegression().fit(X, y, epochs=2, seed=4)
    np.testing.assert_array_equal(first.W, second.W)
    assert not np.array_equal(first.W, other.W)


def test_early_stopping_restores_the_best_weights(synthetic_features):
    X, y, X_val, y_val = synthetic_features
    wrong_val_labels = (y_val + 1) % 10  # the better it fits the training set, the worse on these
    weights_after_epoch = {}
    model = NumpySoftmaxRegression()

    def remember_weights(event):
        weights_after_epoch[event.epoch] = model.W.copy()

    model.fit(X, y, X_val, wrong_val_labels, lr=0.05, momentum=0.9, batch_size=32, epochs=30,
              patience=2, seed=0, callback=remember_weights)

    val_losses = [epoch["val_loss"] for epoch in model.history]
    assert model.status == "early-stopped"
    assert model.best_epoch == 1 + int(np.argmin(val_losses))
    assert len(model.history) == model.best_epoch + 2  # stopped after 2 epochs without improvement
    np.testing.assert_array_equal(model.W, weights_after_epoch[model.best_epoch])
    assert not np.array_equal(model.W, weights_after_epoch[len(model.history)])


def test_bad_settings_raise_a_config_error(synthetic_features):
    X, y = synthetic_features[:2]
    with pytest.raises(ConfigError, match="learning rate"):
        NumpySoftmaxRegression().fit(X, y, lr=0)
    with pytest.raises(ConfigError, match="validation"):
        NumpySoftmaxRegression().fit(X, y, patience=2)
    with pytest.raises(ValueError, match="784"):
        NumpySoftmaxRegression().fit(X[:, :100], y)


def test_a_huge_learning_rate_ends_as_diverged(synthetic_features):
    X, y = synthetic_features[:2]
    with np.errstate(all="ignore"):
        model = NumpySoftmaxRegression().fit(X, y, lr=1e38, momentum=0.9, epochs=3)
    assert model.status == "diverged"
    assert "too large" in model.reason


@pytest.mark.integration
def test_one_epoch_on_mnist_reaches_90_percent(mnist):
    X, y = images_to_features(mnist.train_images), mnist.train_labels.numpy()
    model = NumpySoftmaxRegression().fit(X, y, lr=0.01, momentum=0.9, batch_size=128, epochs=1, seed=0)
    accuracy = model.accuracy(images_to_features(mnist.test_images), mnist.test_labels.numpy())
    assert accuracy >= 0.90
    assert math.isfinite(model.history[0]["train_loss"])
