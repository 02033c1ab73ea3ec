"""Tests of mnist_core.history: the one record of a run, its engine-chosen log interval and its CSV.

(Its >>> examples run too: pytest.ini has --doctest-modules.)
"""
import csv
import io
import threading

from mnist_core.config import TrainConfig
from mnist_core.history import CSV_COLUMNS, History, history_csv_rows, history_to_csv, log_interval
from mnist_core.train import fit
from test_chart_rows import _history


def test_csv_has_one_row_per_event_in_step_order_and_parses_back():
    h = _history()
    text = history_to_csv(h)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == CSV_COLUMNS
    assert len(parsed) == len(h["batches"]) + len(h["epochs"])
    steps = [int(r["step"]) for r in parsed]
    assert steps == sorted(steps)
    epoch_rows = [r for r in parsed if r["event"] == "epoch"]
    assert [float(r["val_accuracy"]) for r in epoch_rows] == [0.8, 0.9]
    assert float(epoch_rows[0]["val_accuracy_digit_9"]) == h["epochs"][0]["per_class_val_accuracy"][9]
    # The epoch row comes right after the batch row of the same step.
    at_25 = [r["event"] for r in parsed if r["step"] == "25"]
    assert at_25 == ["batch", "epoch"]
    assert history_csv_rows({"batches": [], "epochs": []}) == []


def test_fit_writes_into_the_history_it_is_given_and_the_result_keeps_a_copy(synthetic):
    history = History()
    result = fit(TrainConfig(arch="softmax", epochs=2, batch_size=50), synthetic, history=history)
    snapshot = history.snapshot()
    assert snapshot["finished"] and snapshot["info"]["steps_per_epoch"] == 9
    assert result.history == history.to_dict()
    assert result.history["steps_per_epoch"] == 9 and len(result.history["epochs"]) == 2
    assert [b["step"] for b in snapshot["batches"]] == [b["step"] for b in result.history["batches"]]


def test_the_engine_chooses_the_log_interval(synthetic):
    config = TrainConfig(arch="softmax", epochs=3, batch_size=10)  # 45 steps an epoch, 135 in all
    result = fit(config, synthetic)
    interval = log_interval(config, 135)
    assert interval == 1 and len(result.history["batches"]) == 135
    assert log_interval(TrainConfig(arch="cnn"), 10_000) == 2 and log_interval(TrainConfig(), 10_000) == 10


def test_a_reader_thread_sees_consistent_copies_while_fit_writes(synthetic):
    history, problems, done = History(), [], threading.Event()

    def read():
        try:
            while not done.is_set():
                snapshot = history.snapshot()
                steps = [b["step"] for b in snapshot["batches"]]
                assert steps == sorted(steps)
        except Exception as error:  # noqa: BLE001  any exception is a failure, not only AssertionError
            problems.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    fit(TrainConfig(arch="softmax", epochs=2, batch_size=10), synthetic, history=history, log_every=1)
    done.set()
    reader.join()
    assert problems == [] and len(history.snapshot()["batches"]) == 90
