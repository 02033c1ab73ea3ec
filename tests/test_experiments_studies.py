"""Tests of mnist_core/experiments/studies.py: the ready-made studies as data (and their budgets)."""

import pytest

from mnist_core import experiments as ex
from experiment_fixtures import CLASSIC_NAMES, CLI_NAMES, QUICK_NAMES


def test_every_cli_name_has_a_study():
    assert set(ex.STUDIES) == CLI_NAMES


@pytest.mark.parametrize("name", sorted(QUICK_NAMES))
def test_study_definition_is_complete_and_valid(name):
    study = ex.STUDIES[name]
    assert study.title and len(study.explanation) > 100
    assert len(study.variants) >= 2
    labels = [(v.group, v.label) for v in study.variants]
    assert len(set(labels)) == len(labels), "every variant needs its own label"
    for variant in study.variants:
        variant.config.validate()
        assert variant.config.seed == study.base.seed, "runs of one study share the seed"
        assert variant.config.subset > 0, "defaults train on a subset, so that a lesson stays short"
        # No epoch may end on a tiny left-over batch: one image with a big step undoes a short run.
        assert (10 * variant.config.subset) % variant.config.batch_size == 0
    assert "per digit" in study.settings_note() and "epoch" in study.settings_note()
    assert ex.estimate_study_seconds(study) < 300


@pytest.mark.parametrize("name", sorted(CLASSIC_NAMES))
def test_classic_study_uses_the_full_training_set_and_carries_reported_figures(name):
    study = ex.STUDIES[name]
    assert study.title.startswith("Classic") and len(study.explanation) > 100 and study.reported
    labels = [(v.group, v.label) for v in study.variants]
    assert len(set(labels)) == len(labels), "every variant needs its own label"
    for variant in study.variants:
        assert variant.config.subset == 0 and variant.config.seed == study.base.seed
        assert variant.reported is None or 0 < variant.reported < 1
    assert sum(v.reported is not None for v in study.variants) >= 1
    assert "all 54,000" in study.settings_note() or "all 60,000" in study.settings_note()
    assert ex.estimate_study_seconds(study) < 600


def test_lr_sweep_covers_the_classic_rates_with_plain_sgd_for_both_models():
    study = ex.STUDIES["lr-sweep"]
    for group in ("Softmax regression", "MLP 128"):
        configs = [v.config for v in study.variants if v.group == group]
        assert {c.lr for c in configs} >= {1.0, 0.1, 0.05, 0.01, 10.0}
        assert {(c.optimizer, c.schedule) for c in configs} == {("sgd", "constant")}


def test_l2_sweep_uses_softmax_and_the_reported_values():
    study = ex.STUDIES["l2-sweep"]
    assert {v.config.arch for v in study.variants} == {"softmax"}
    assert [v.value for v in study.variants] == [1.0, 0.1, 0.01, 1e-3, 1e-4]
    assert "templates" in study.views


def test_model_family_includes_the_scikit_learn_baselines():
    study = ex.STUDIES["model-family"]
    assert {v.baseline for v in study.variants} == {None, "logistic-regression", "random-forest"}
    assert {v.config.arch for v in study.variants if v.baseline is None} == {"softmax", "mlp", "cnn"}


def test_capacity_compares_one_and_two_hidden_layers():
    hidden = [v.config.hidden_sizes for v in ex.STUDIES["capacity"].variants]
    assert {(32,), (128,), (512,), (2048,)} <= set(hidden)
    assert any(len(h) == 2 for h in hidden)
