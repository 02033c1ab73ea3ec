"""Unit tests of mnist_core.experiments on tiny synthetic data: definitions, parsing, runner, CLI."""
import csv
import dataclasses
import io
import json
import threading

import pytest
import torch

from mnist_core import experiments as ex
from mnist_core.callbacks import Callback
from mnist_core.config import ConfigError, TrainConfig

CLI_NAMES = {"lr-sweep", "l2-sweep", "activation", "dropout", "capacity", "model-family", "overfitting"}
# A tiny base for runs on the synthetic set (50 images per class, 45 after validation).
TINY = TrainConfig(arch="mlp", hidden=(16,), optimizer="sgd", schedule="constant", lr=0.1,
                   batch_size=20, epochs=1, subset=10)


class InitialWeights(Callback):
    """Keeps a copy of the model's weights as training starts."""

    def __init__(self):
        self.states = []

    def on_train_start(self, info):
        self.states.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})


# --- the ready-made studies ------------------------------------------------------

def test_every_cli_name_has_a_study():
    assert set(ex.STUDIES) == CLI_NAMES


@pytest.mark.parametrize("name", sorted(CLI_NAMES))
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


# --- custom studies -----------------------------------------------------------

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


# --- the runner ----------------------------------------------------------------

def test_rows_have_one_record_per_run_with_every_csv_column(synthetic):
    study = ex.custom_study("lr", [0.1, 0.01], TINY)
    seen = []
    rows = ex.run_experiment(study, synthetic, seeds=(0, 1), on_run_end=lambda row, result: seen.append(result))
    assert len(rows) == len(seen) == 4
    assert [(r.value, r.seed) for r in rows] == [(0.1, 0), (0.1, 1), (0.01, 0), (0.01, 1)]
    for row in rows:
        record = row.record()
        assert tuple(record) == ex.RunRow.CSV_FIELDS
        assert row.status == "completed" and 0 <= record["test_accuracy"] <= 1
        assert row.train_seconds > 0 and row.parameters == 784 * 16 + 16 + 16 * 10 + 10
        assert row.history["epochs"] and row.first_epoch_val_loss is not None
    table = list(csv.DictReader(io.StringIO(ex.rows_to_csv(rows))))
    assert len(table) == 4 and table[2]["value"] == "0.01"
    summaries = ex.summarize(rows)
    assert [s["seeds"] for s in summaries] == [2, 2]
    assert summaries[0]["test_accuracy_std"] is not None
    assert ex.takeaway(study, rows).startswith("Best: lr")


def test_runs_of_one_seed_share_initial_weights_and_batch_order(synthetic, monkeypatch):
    import mnist_core.train as train_module

    batches = []
    real_iterate = train_module.iterate_batches

    def recording_iterate(n, batch_size, generator):
        for index in real_iterate(n, batch_size, generator):
            batches.append(index.clone())
            yield index

    monkeypatch.setattr(train_module, "iterate_batches", recording_iterate)
    study = ex.custom_study("activation", ["relu", "tanh", "sigmoid"], TINY.replace(dropout=0.2))
    recorder = InitialWeights()
    ex.run_experiment(study, synthetic, callbacks=(recorder,))
    first, *others = recorder.states
    for state in others:
        assert state.keys() == first.keys()
        assert all(torch.equal(state[k], first[k]) for k in first)
    per_run = len(batches) // 3
    assert per_run > 1
    for run in range(1, 3):
        assert all(torch.equal(batches[i], batches[run * per_run + i]) for i in range(per_run))


def test_another_seed_gives_other_initial_weights(synthetic):
    recorder = InitialWeights()
    ex.run_experiment(ex.custom_study("lr", [0.1], TINY), synthetic, seeds=(0, 1), callbacks=(recorder,))
    a, b = recorder.states
    assert not torch.equal(a["layers.0.weight"], b["layers.0.weight"])


def test_stop_before_the_start_runs_nothing(synthetic):
    stop = threading.Event()
    stop.set()
    progress = ex.StudyProgress()
    rows = ex.run_experiment(ex.custom_study("lr", [0.1, 0.01], TINY), synthetic, stop=stop, progress=progress)
    assert rows == []
    assert progress.snapshot()["cancelled"] and progress.snapshot()["finished"]


def test_stop_during_a_run_ends_it_and_starts_no_other(synthetic):
    stop = threading.Event()

    class StopAfterFirstBatch(ex.StudyProgress):
        def on_batch_end(self, event):
            super().on_batch_end(event)
            stop.set()

    progress = StopAfterFirstBatch()
    study = ex.custom_study("lr", [0.1, 0.05, 0.01], TINY.replace(epochs=3))
    rows = ex.run_experiment(study, synthetic, stop=stop, progress=progress)
    assert [r.status for r in rows] == ["stopped"]
    assert rows[0].epochs_run == 1
    snapshot = progress.snapshot()
    assert snapshot["cancelled"] and snapshot["done"] == 1 and snapshot["total"] == 3


def test_progress_fraction_grows_and_eta_falls_to_zero(synthetic):
    fractions = []

    class Watch(ex.StudyProgress):
        def on_batch_end(self, event):
            super().on_batch_end(event)
            fractions.append(self.snapshot()["fraction"])

    progress = Watch()
    ex.run_experiment(ex.custom_study("lr", [0.1, 0.01], TINY.replace(epochs=2)), synthetic, progress=progress)
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1
    end = progress.snapshot()
    assert end["fraction"] == 1.0 and end["eta_seconds"] == 0.0 and end["done"] == 2 and not end["cancelled"]


def test_seed_count_is_checked(synthetic):
    with pytest.raises(ConfigError, match="seeds"):
        ex.run_experiment(ex.custom_study("lr", [0.1], TINY), synthetic, seeds=())


def test_softmax_rows_keep_their_templates(synthetic):
    rows = ex.run_experiment(ex.custom_study("l2", [1.0, 1e-4], TINY.replace(arch="softmax", epochs=3)), synthetic)
    assert all(r.templates.shape == (10, 28, 28) for r in rows)
    strong, weak = rows
    assert strong.weight_norm < weak.weight_norm  # weight decay shrinks the templates


def test_tracked_test_loss_has_one_value_per_epoch(synthetic):
    study = ex.custom_study("l2", [0.0], TINY.replace(epochs=3))
    study = dataclasses.replace(study, track_test_loss=True)
    row, = ex.run_experiment(study, synthetic)
    assert len(row.test_loss_curve) == 3 and all(v > 0 for v in row.test_loss_curve)


def test_logistic_regression_baseline_learns_the_synthetic_digits(synthetic):
    numbers = ex.run_baseline("logistic-regression", synthetic, TINY)
    assert numbers["test_accuracy"] > 0.8
    assert numbers["train_size"] == 100 and numbers["parameters"] == 7850
    assert 0 <= numbers["macro_f1"] <= 1 and numbers["train_seconds"] > 0
    with pytest.raises(ConfigError):
        ex.run_baseline("svm", synthetic, TINY)


# --- takeaways ---------------------------------------------------------------------

def _summary(label, value, accuracy, **more):
    return {"group": more.pop("group", ""), "label": label, "value": value, "status": more.pop("status", "completed"),
            "test_accuracy": accuracy, "seeds": 1, **more}


def test_lr_takeaway_calls_a_loss_above_guessing_unstable():
    text = ex.lr_takeaway([_summary("lr 10", 10.0, None, status="diverged"),
                           _summary("lr 1", 1.0, 0.88, final_train_loss=6.5),
                           _summary("lr 0.1", 0.1, 0.85, final_train_loss=0.8),
                           _summary("lr 0.01", 0.01, 0.70, final_train_loss=1.9)])
    assert "best at lr 0.1" in text and "lr 0.01 too slow" in text and "lr 1 and 10 unstable" in text


def test_activation_takeaway_names_the_lowest_first_epoch_loss():
    text = ex.activation_takeaway([_summary("ReLU", "relu", 0.9, first_epoch_val_loss=0.30),
                                   _summary("Tanh", "tanh", 0.91, first_epoch_val_loss=0.25)])
    assert "so Tanh learned fastest" in text


def test_every_takeaway_survives_a_partial_experiment():
    rows = [ex.RunRow("x", 0, "a", "", "lr", 0.1, 0, "torch", "m", "stopped")]
    for study in ex.STUDIES.values():
        assert ex.takeaway(study, rows) == "No run finished, so there is nothing to compare yet."
        assert ex.takeaway(study, []) == "No run finished, so there is nothing to compare yet."


def test_seed_noise_note_only_with_repeats():
    assert ex.seed_noise_note([{"seeds": 1, "test_accuracy_std": None}]) == ""
    assert "typically ±1.0 points" in ex.seed_noise_note([{"label": "a", "seeds": 3, "test_accuracy_std": 0.01}])


# --- command line -------------------------------------------------------------------

def test_cli_rejects_an_unknown_experiment_with_one_line(capsys):
    from mnist_core.cli import main

    assert main(["experiment", "lr-sweeep"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lr-sweeep" in err and "model-family" in err  # names the choices


def test_cli_prints_one_json_line_per_run(synthetic, monkeypatch, tmp_path, capsys):
    import mnist_core.data
    from mnist_core.cli import main

    monkeypatch.setattr(mnist_core.data, "load_mnist", lambda data_dir=None, **kw: synthetic)
    code = main(["experiment", "activation", "--subset", "10", "--epochs", "1", "--out", str(tmp_path),
                 "--threads", "1"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["value"] for line in lines] == ["relu", "tanh", "sigmoid"]
    for line in lines:
        assert 0 <= line["test_accuracy"] <= 1 and line["train_seconds"] > 0
        assert line["run_dir"].startswith(str(tmp_path))
    from mnist_core.runs import RunStore
    saved = RunStore(tmp_path).list()
    assert len(saved) == 3 and {r.extra["experiment"] for r in saved} == {"activation"}
