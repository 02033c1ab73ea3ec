"""Tests of mnist_core.config: defaults, validation sentences, round trips and parse_hidden."""
import dataclasses

import pytest

from mnist_core.config import (ACTIVATIONS, ARCHITECTURES, DEFAULT_HIDDEN, OPTIMIZERS, ConfigError,
                               TrainConfig, parse_hidden)


def test_the_default_config_is_valid():
    config = TrainConfig()
    assert config.validate() is config
    assert config.hidden_sizes == DEFAULT_HIDDEN["mlp"]


@pytest.mark.parametrize("changes, fragment", [
    ({"lr": 0}, "The learning rate must be greater than 0 (got 0)"),
    ({"lr": -0.1}, "with a step of zero or less the network never moves downhill"),
    ({"lr": 1e9}, "is above the maximum of 100"),
    ({"lr": float("nan")}, "The learning rate must be a number"),
    ({"batch_size": 0}, "The batch size must be at least 1 (got 0)"),
    ({"batch_size": 2.5}, "The batch size must be a whole number"),
    ({"dropout": 1}, "Dropout must be at least 0 and below 1 (got 1)"),
    ({"dropout": 1.0}, "dropout 1 would switch off every hidden unit"),
    ({"dropout": -0.1}, "Dropout must be at least 0 and below 1"),
    ({"epochs": 0}, "Train for at least 1 epoch (got 0)"),
    ({"epochs": 0}, "with 0 epochs the network never sees an image"),
    ({"epochs": 10_000}, "is more than the maximum of 200"),
    ({"arch": "resnet"}, "Unknown architecture 'resnet': choose one of softmax, mlp, deep-mlp, cnn, deep-cnn."),
    ({"activation": "gelu"}, "Unknown activation 'gelu': choose relu, tanh or sigmoid."),
    ({"optimizer": "rmsprop"}, "Unknown optimizer 'rmsprop': choose sgd, momentum or adam."),
    ({"schedule": "cosine"}, "Unknown schedule 'cosine'"),
    ({"hidden": (0,)}, "A hidden layer needs between 1 and 8192 units (got 0)."),
    ({"hidden": (100_000,)}, "A hidden layer needs between 1 and 8192 units (got 100000)."),
    ({"arch": "deep-mlp", "hidden": ()}, "A deep MLP needs at least two hidden layers (got 0)"),
    ({"arch": "deep-mlp", "hidden": (64,)}, "A deep MLP needs at least two hidden layers (got 1)"),
    ({"arch": "mlp", "hidden": (64, 32)}, "A shallow MLP has exactly one hidden layer (got 2): "
                                          "choose the deep MLP for more."),
    ({"arch": "deep-mlp", "hidden": (8,) * 7}, "At most 6 hidden layers (got 7)."),
    ({"momentum": 1.0}, "Momentum must be at least 0 and below 1"),
    ({"l2": -1e-4}, "L2 must be 0 or more"),
    ({"l1": -1e-4}, "L1 must be 0 or more"),
    ({"early_stopping": -1}, "Early-stopping patience must be 0 (off)"),
    ({"early_stopping": 2, "val_fraction": 0.0}, "it needs a validation fraction above 0"),
    ({"val_fraction": 1.0}, "The validation fraction must be at least 0 and below 1"),
    ({"subset": -5}, "The subset size must be 0 (all images)"),
    ({"max_steps": -1}, "max_steps must be 0 (no limit) or positive."),
    ({"seed": "7"}, "The seed must be a whole number, not '7'."),
])
def test_validation_explains_each_bad_value_in_a_sentence(changes, fragment):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**changes).validate()
    assert fragment in str(caught.value)


def test_replace_validates_the_copy_and_leaves_the_original():
    base = TrainConfig()
    assert base.replace(lr=0.01).lr == 0.01
    assert base.lr == TrainConfig().lr
    with pytest.raises(ConfigError, match="learning rate"):
        base.replace(lr=0)


def test_a_bool_is_not_accepted_as_a_number():
    with pytest.raises(ConfigError, match="whole number"):
        TrainConfig(epochs=True).validate()


def test_hidden_sizes_ignore_hidden_for_models_without_hidden_layers():
    assert TrainConfig(arch="softmax", hidden=(0,)).validate().hidden_sizes == ()
    assert TrainConfig(arch="cnn").hidden_sizes == ()
    assert TrainConfig(arch="deep-mlp").hidden_sizes == DEFAULT_HIDDEN["deep-mlp"]


def test_hidden_given_as_a_list_becomes_a_hashable_tuple():
    config = TrainConfig(arch="deep-mlp", hidden=[64, 32])
    assert config.hidden == (64, 32)
    hash(config)


@pytest.mark.parametrize("config", [
    TrainConfig(),
    TrainConfig(arch="deep-mlp", hidden=(64, 32, 16), activation="tanh", dropout=0.25),
    TrainConfig(arch="softmax", optimizer="sgd", lr=0.1, schedule="constant"),
    TrainConfig(arch="cnn", l2=1e-4, l1=1e-5, early_stopping=2, subset=10, seed=3, max_steps=5),
])
def test_to_dict_and_from_dict_round_trip(config):
    again = TrainConfig.from_dict(config.to_dict())
    assert again.to_dict() == config.to_dict()
    assert again.hidden_sizes == config.hidden_sizes
    for field in dataclasses.fields(TrainConfig):
        if field.name != "hidden":
            assert getattr(again, field.name) == getattr(config, field.name)


def test_from_dict_names_unknown_settings():
    with pytest.raises(ConfigError, match=r"Unknown setting\(s\): colour, size\."):
        TrainConfig.from_dict({"size": 1, "colour": "red"})


def test_short_description_mentions_architecture_optimizer_and_regularisation():
    text = TrainConfig(arch="mlp", hidden=(256,), optimizer="sgd", lr=0.1, l2=1e-4, dropout=0.2).short_description()
    assert text.startswith("Shallow MLP 256 relu")
    assert "sgd lr 0.1" in text and "L2 0.0001" in text and "dropout 0.2" in text


def test_choice_dicts_cover_the_documented_names():
    assert list(ARCHITECTURES) == ["softmax", "mlp", "deep-mlp", "cnn", "deep-cnn"]
    assert set(ACTIVATIONS) == {"relu", "tanh", "sigmoid"}
    assert set(OPTIMIZERS) == {"sgd", "momentum", "adam"}
    for label, lr in OPTIMIZERS.values():
        TrainConfig(lr=lr).validate()  # every suggested learning rate is allowed


@pytest.mark.parametrize("text, expected", [
    ("512, 256", (512, 256)), ("512 256", (512, 256)), (" 64 ,32,, 16 ", (64, 32, 16)), ("", ()),
])
def test_parse_hidden_reads_commas_and_spaces(text, expected):
    assert parse_hidden(text) == expected


@pytest.mark.parametrize("text", ["512, abc", "1.5", "64;32"])
def test_parse_hidden_rejects_anything_else_in_a_sentence(text):
    with pytest.raises(ConfigError, match="Hidden sizes must be whole numbers separated by commas"):
        parse_hidden(text)
