"""Tests of mnist_core.models: output shapes, parameter counts worked out by hand, seeding, layers."""
import pytest
import torch
from torch import nn

from mnist_core.config import ACTIVATIONS, ARCHITECTURES, TrainConfig
from mnist_core.models import MLP, MODEL_REGISTRY, SmallCNN, SoftmaxRegression, count_parameters, create_model


def linear_parameters(n_in, n_out):
    """Weights plus biases of one fully connected layer."""
    return n_in * n_out + n_out


def test_every_architecture_has_a_builder():
    assert set(MODEL_REGISTRY) == set(ARCHITECTURES)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_model_maps_a_batch_of_images_to_ten_logits(arch, activation, synthetic):
    model = create_model(TrainConfig(arch=arch, activation=activation, hidden=(32,) if arch == "mlp" else
                                     (32, 16) if arch == "deep-mlp" else None))
    x = synthetic.train_x[:5]
    logits = model(x)
    assert logits.shape == (5, 10)
    assert torch.isfinite(logits).all()
    # Logits, not probabilities: the loss (softmax + cross-entropy) stays in the training loop.
    assert not torch.allclose(logits.exp().sum(1), torch.ones(5))


def test_softmax_regression_has_7850_parameters():
    # One 784 -> 10 layer: a 28x28 template per digit plus ten biases.
    assert count_parameters(SoftmaxRegression()) == 28 * 28 * 10 + 10 == 7850
    assert count_parameters(create_model(TrainConfig(arch="softmax"))) == 7850


def test_mlp_parameter_counts_match_a_count_by_hand():
    # 784 -> 512 -> 10
    assert count_parameters(MLP(hidden=(512,))) == linear_parameters(784, 512) + linear_parameters(512, 10) == 407_050
    # 784 -> 512 -> 256 -> 10, the deep MLP's default
    deep = create_model(TrainConfig(arch="deep-mlp"))
    assert count_parameters(deep) == (linear_parameters(784, 512) + linear_parameters(512, 256)
                                      + linear_parameters(256, 10)) == 535_818
    # Activation and dropout add no parameters.
    assert count_parameters(MLP(hidden=(100,), activation="sigmoid", dropout=0.5)) == 784 * 100 + 100 + 100 * 10 + 10


def test_cnn_parameter_count_matches_a_count_by_hand():
    conv1 = 1 * 16 * 3 * 3 + 16
    conv2 = 16 * 32 * 3 * 3 + 32
    dense = linear_parameters(32 * 7 * 7, 128)
    out = linear_parameters(128, 10)
    assert count_parameters(SmallCNN()) == conv1 + conv2 + dense + out == 206_922


def test_count_parameters_skips_frozen_parameters():
    model = SoftmaxRegression()
    model.linear.bias.requires_grad_(False)
    assert count_parameters(model) == 7840


@pytest.mark.parametrize("activation, layer", [("relu", nn.ReLU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid)])
def test_mlp_uses_the_chosen_activation_after_every_hidden_layer(activation, layer):
    model = create_model(TrainConfig(arch="deep-mlp", hidden=(16, 8, 4), activation=activation))
    kinds = [type(m) for m in model.layers]
    assert kinds == [nn.Linear, layer, nn.Linear, layer, nn.Linear, layer, nn.Linear]
    assert [m.out_features for m in model.layers if isinstance(m, nn.Linear)] == [16, 8, 4, 10]


def test_dropout_layers_exist_only_when_asked_and_are_off_in_eval_mode(synthetic):
    assert not any(isinstance(m, nn.Dropout) for m in MLP(hidden=(32,)).modules())
    model = create_model(TrainConfig(arch="mlp", hidden=(64,), dropout=0.5))
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.5]
    x = synthetic.train_x[:8]
    model.train()
    assert not torch.equal(model(x), model(x)), "dropout draws a new mask each pass while training"
    model.eval()
    assert torch.equal(model(x), model(x))
    cnn = create_model(TrainConfig(arch="cnn", dropout=0.3))
    assert [m.p for m in cnn.modules() if isinstance(m, nn.Dropout)] == [0.3]


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_create_model_is_seeded(arch):
    def weights(seed):
        return torch.cat([p.detach().flatten() for p in create_model(TrainConfig(arch=arch, seed=seed)).parameters()])
    assert torch.equal(weights(1), weights(1))
    assert not torch.equal(weights(1), weights(2))


def test_cnn_halves_the_image_twice(synthetic):
    model = create_model(TrainConfig(arch="cnn"))
    features = model.features(synthetic.train_x[:3])
    assert features.shape == (3, 32, 7, 7)
    # The CNN is built in channels_last layout (faster here) but accepts ordinary tensors too.
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert model(synthetic.train_x[:3].contiguous()).shape == (3, 10)
