"""Tests of mnist_core.callbacks: the events fit() sends, the printing sink and the thread-safe log."""
import threading

import pytest

from mnist_core.callbacks import BatchEvent, Callback, EpochEvent, PrintProgress, RecordingCallback
from mnist_core.history import History
from mnist_core.config import TrainConfig
from mnist_core.train import fit


def batch_event(step=1):
    return BatchEvent(step=step, epoch=1, total_steps=10, loss=0.5, running_accuracy=0.8, examples_per_second=1e4)


def epoch_event(epoch=1, val=True):
    return EpochEvent(epoch=epoch, step=9, train_loss=0.31234, train_accuracy=0.9, val_loss=0.25 if val else None,
                      val_accuracy=0.93 if val else None, per_class_val_accuracy=[0.9] * 10, seconds=1.26)


def test_the_base_class_hooks_do_nothing():
    callback = Callback()
    assert callback.on_train_start({}) is None
    assert callback.on_batch_end(batch_event()) is None
    assert callback.on_epoch_end(epoch_event()) is None
    assert callback.on_train_end(None) is None


def test_events_are_plain_dicts_of_numbers():
    assert batch_event(3).to_dict() == {"step": 3, "epoch": 1, "total_steps": 10, "loss": 0.5,
                                        "running_accuracy": 0.8, "examples_per_second": 1e4}
    row = epoch_event().to_dict()
    assert row["per_class_val_accuracy"] == [0.9] * 10 and row["val_loss"] == 0.25


def test_fit_sends_every_hook_in_order_with_plain_numbers(synthetic):
    calls = []

    class Order(Callback):
        def on_train_start(self, info):
            calls.append("start")

        def on_batch_end(self, event):
            calls.append("batch")

        def on_epoch_end(self, event):
            calls.append("epoch")

        def on_train_end(self, result):
            calls.append("end")

    recorder = RecordingCallback()
    result = fit(TrainConfig(arch="softmax", epochs=2, batch_size=50, schedule="constant"), synthetic,
                 callbacks=[Order(), recorder], log_every=4)
    # 9 steps per epoch, an event every 4 steps and at the very last one.
    assert [e.step for e in recorder.batches] == [4, 8, 12, 16, 18]
    assert calls == ["start", "batch", "batch", "epoch", "batch", "batch", "batch", "epoch", "end"]
    for event in recorder.batches:
        assert event.total_steps == 18 and event.loss >= 0 and 0 <= event.running_accuracy <= 1
        assert event.examples_per_second > 0 and event.epoch == (1 if event.step <= 9 else 2)
    assert [e.epoch for e in recorder.epochs] == [1, 2] and [e.step for e in recorder.epochs] == [9, 18]
    assert all(len(e.per_class_val_accuracy) == 10 for e in recorder.epochs)
    assert recorder.result is result
    assert result.history["batches"] == [e.to_dict() for e in recorder.batches]
    assert result.history["epochs"] == [e.to_dict() for e in recorder.epochs]


def test_print_progress_writes_one_line_per_epoch_to_its_sink():
    lines = []
    progress = PrintProgress(sink=lines.append)
    assert progress.live is False, "an injected sink never gets carriage-return bars"
    progress.on_batch_end(batch_event())
    progress.on_epoch_end(epoch_event())
    progress.on_epoch_end(epoch_event(2, val=False))
    assert lines == ["epoch 1: train loss 0.3123 acc 0.9000 | val loss 0.2500 acc 0.9300 | 1.3 s",
                     "epoch 2: train loss 0.3123 acc 0.9000 | 1.3 s"]


def test_print_progress_defaults_to_stderr_without_bars_when_not_a_terminal(capsys):
    progress = PrintProgress()
    progress.on_batch_end(batch_event())
    progress.on_epoch_end(epoch_event())
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "epoch 1: train loss 0.3123 acc 0.9000 | val loss 0.2500 acc 0.9300 | 1.3 s\n"


def test_progress_log_snapshots_are_copies():
    log = History()
    log.on_train_start({"total_steps": 10})
    log.on_batch_end(batch_event(1))
    snapshot = log.snapshot()
    snapshot["batches"].append("mine")
    snapshot["info"]["total_steps"] = -1
    assert log.snapshot()["batches"] == [batch_event(1).to_dict()]
    assert log.snapshot()["info"] == {"total_steps": 10}
    assert snapshot["latest_batch"]["step"] == 1 and snapshot["finished"] is False
    log.on_epoch_end(epoch_event())
    log.on_train_end(None)
    final = log.snapshot()
    assert final["finished"] is True and len(final["epochs"]) == 1


def test_progress_log_takes_writes_and_reads_from_different_threads():
    log = History()
    errors, steps = [], 2000

    def write():
        for step in range(1, steps + 1):
            log.on_batch_end(batch_event(step))
        log.on_train_end(None)

    def read():
        try:
            while not log.snapshot()["finished"]:
                snapshot = log.snapshot()
                seen = [row["step"] for row in snapshot["batches"]]
                assert seen == list(range(1, len(seen) + 1)), "rows arrive whole and in order"
        except Exception as error:  # noqa: BLE001  any failure in a reader fails the test, not only an assert
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    write()
    for thread in readers:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in readers), "a reader never saw the end of training"
    assert errors == []
    assert len(log.snapshot()["batches"]) == steps and log.snapshot()["latest_batch"]["step"] == steps


@pytest.mark.parametrize("callback_class", [RecordingCallback, History])
def test_recorders_work_inside_a_real_run(callback_class, synthetic):
    callback = callback_class()
    fit(TrainConfig(arch="softmax", epochs=1, batch_size=50), synthetic, callbacks=[callback], log_every=1)
    batches = callback.batches if callback_class is RecordingCallback else callback.snapshot()["batches"]
    assert len(batches) == 9
