"""Tests of mnist_core/experiments/custom.py: a student's own one-knob study and value parsing."""

import pytest

from mnist_core import experiments as ex
from mnist_core.config import ConfigError
from experiment_fixtures import TINY


def test_parse_values_reads_numbers_choices_and_hidden_lists():
    assert ex.parse_values("lr", " 1, 0.1,1e-2 ") == [1.0, 0.1, 0.01]
    assert ex.parse_values("batch_size", "32, 64") == [32, 64]
    assert ex.parse_values("activation", "ReLU, tanh") == ["relu", "tanh"]
    assert ex.parse_values("optimizer", "Adam, sgd") == ["adam", "sgd"]
    assert ex.parse_values("hidden", "128; 512, 256") == [(128,), (512, 256)]


@pytest.mark.parametrize("knob, text, words", [
    ("learning_speed", "1", "Unknown knob"),
    ("lr", " , ", "at least one value"),
    ("lr", "0.1, fast", "not a number"),
    ("batch_size", "32, 6.5", "whole number"),
    ("activation", "relu, swish", "not one of"),
    ("hidden", "128; abc", "whole numbers"),
])
def test_parse_values_errors_are_plain_sentences(knob, text, words):
    with pytest.raises(ConfigError, match=words):
        ex.parse_values(knob, text)


@pytest.mark.parametrize("knob, values, words", [
    ("lr", [0.1, 0.0], "greater than 0"),  # TrainConfig's own validation, named by the value
    ("dropout", [0.2, 1.0], "below 1"),
    ("lr", [0.1, 0.1], "twice"),
    ("lr", [], "at least one"),
    ("lr", [0.1 * i for i in range(1, 11)], "At most"),
])
def test_custom_study_rejects_bad_values(knob, values, words):
    with pytest.raises(ConfigError, match=words):
        ex.custom_study(knob, values, TINY)


def test_custom_study_needs_an_mlp_for_hidden_sizes_and_activation():
    with pytest.raises(ConfigError, match="only apply to an MLP"):
        ex.custom_study("hidden", [(16,), (32,)], TINY.replace(arch="softmax"))
    with pytest.raises(ConfigError, match="only applies to an MLP"):
        ex.custom_study("activation", ["relu", "tanh"], TINY.replace(arch="cnn"))


def test_custom_study_changes_only_the_knob():
    study = ex.custom_study("hidden", [(16,), (16, 8)], TINY)
    one, two = (v.config for v in study.variants)
    assert (one.arch, two.arch) == ("mlp", "deep-mlp")
    assert one.replace(hidden=None, arch="mlp") == two.replace(hidden=None, arch="mlp")
    assert study.variants[1].label == "MLP 16-8"


def test_with_budget_overrides_subset_and_epochs():
    study = ex.with_budget(ex.STUDIES["activation"], subset=10, epochs=1)
    assert {(v.config.subset, v.config.epochs) for v in study.variants} == {(10, 1)}
    with pytest.raises(ConfigError):
        ex.with_budget(ex.STUDIES["activation"], epochs=0)
