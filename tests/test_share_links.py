"""Shareable links: a config round-trips through query parameters; bad values are notes, never errors."""
import pytest

from mnist_core.config import TrainConfig
from mnist_core.share_links import config_from_query, config_to_query


@pytest.mark.parametrize("config", [TrainConfig(), TrainConfig(arch="cnn", lr=0.01, batch_size=64, dropout=0.25),
                                    TrainConfig(arch="deep-mlp", hidden=(300, 100), activation="tanh", l2=1e-4,
                                                optimizer="momentum", momentum=0.8, schedule="constant",
                                                subset=100, seed=7, early_stopping=2, epochs=5)])
def test_a_config_survives_the_round_trip(config):
    settings, notes = config_from_query(config_to_query(config))
    assert notes == [] and TrainConfig(**settings) == config


def test_parameters_are_named_exactly_as_the_fields():
    params = config_to_query(TrainConfig(batch_size=64, val_fraction=0.2, early_stopping=2, epochs=4))
    assert params == {"batch_size": "64", "epochs": "4", "early_stopping": "2", "val_fraction": "0.2"}


@pytest.mark.parametrize("params, note", [
    ({"lr": "abc"}, "Ignored lr=abc from the link: it is not a number."),
    ({"lr": "1e999"}, "Ignored lr=1e999 from the link: it is not a finite number."),
    ({"lr": "-1"}, "Ignored lr=-1 from the link: the learning rate must be greater than 0"),
    ({"epochs": "2.5"}, "Ignored epochs=2.5 from the link: it is not a whole number."),
    ({"batch_size": "<script>alert(1)</script>"}, "Ignored batch_size=<script>alert(1)</sc… from the link"),
    ({"arch": "../../etc/passwd"}, "Ignored arch=../../etc/passwd from the link: unknown architecture"),
    ({"seed": "18446744073709551614"}, "Ignored seed=18446744073709551614 from the link: the seed must be"),
    ({"hidden": "512,x"}, "Ignored hidden=512,x from the link: hidden sizes must be whole numbers"),
    ({"dropout": "1"}, "Ignored dropout=1 from the link: dropout must be at least 0 and below 1"),
    ({"optimizer": "x" * 500}, "Ignored optimizer from the link: its value is too long."),
    ({"activation": "relu\n\x00"}, "Ignored activation=relu?? from the link"),
])
def test_a_bad_value_is_ignored_with_one_line(params, note):
    settings, notes = config_from_query({**params, "arch": params.get("arch", "mlp"), "epochs": params.get("epochs", "4")})
    assert len(notes) == 1 and notes[0].startswith(note) and "\n" not in notes[0]
    for name in params:
        if name not in ("epochs", "arch"):
            assert name not in settings


def test_the_other_values_of_a_link_still_apply():
    settings, notes = config_from_query({"arch": "cnn", "lr": "oops", "batch_size": "64", "projector": "1",
                                         "user": "abc123", "max_steps": "1"})
    assert settings == {"arch": "cnn", "batch_size": 64} and len(notes) == 1


def test_values_fine_alone_but_not_together_are_all_ignored():
    settings, notes = config_from_query({"early_stopping": "2", "val_fraction": "0"})
    assert settings == {} and len(notes) == 1
    assert notes[0].startswith("Ignored the link's settings: Early stopping watches the validation loss")


def test_a_list_value_takes_the_last_one():
    assert config_from_query({"lr": ["0.1", "0.01"]})[0] == {"lr": 0.01}
