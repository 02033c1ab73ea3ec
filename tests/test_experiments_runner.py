"""Tests of mnist_core/experiments/runner.py on tiny synthetic data: rows, seeds, stopping, progress, baselines."""
import csv
import dataclasses
import io
import threading

import pytest
import torch

from mnist_core import experiments as ex
from mnist_core.config import ConfigError
from experiment_fixtures import TINY, InitialWeights


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
