"""Step mode as a job (mnist_core/step_job.py): presses from another thread, a slot only while training."""
from __future__ import annotations

import contextlib
import threading
from types import SimpleNamespace

import pytest

from mnist_core.config import TrainConfig
from mnist_core.step_job import StepProgress, run_step_session


def start(synthetic, config=None, slot=contextlib.nullcontext, idle_minutes=30):
    job = SimpleNamespace(spec=SimpleNamespace(config=config or TrainConfig(arch="softmax", batch_size=50)),
                          progress=StepProgress(), stop_event=threading.Event(), result=None)
    worker = threading.Thread(target=lambda: setattr(job, "result", run_step_session(
        job, synthetic, slot=slot, idle_minutes=idle_minutes)))
    worker.start()
    return job, worker


def press(job, kind, count=1):
    assert job.progress.request(kind, count).wait(30), "the worker answers a press"
    return job.progress.snapshot()


def test_presses_train_batches_and_finish_returns_the_run(synthetic):
    job, worker = start(synthetic)
    for expected in (1, 2, 3):
        snapshot = press(job, "step")
        assert len(snapshot["records"]) == snapshot["step"] == expected and not snapshot["busy"]
    assert snapshot["picture"].startswith(b"\x89PNG") and snapshot["limit"] > 0
    snapshot = press(job, "step", 10)
    assert snapshot["step"] == 13 and snapshot["presses"] == 4
    snapshot = press(job, "epoch")
    assert snapshot["step"] == 18 == snapshot["steps_per_epoch"] * 2 and snapshot["epoch"] == 2
    assert len(snapshot["epochs"]) == 2, "two whole epochs, each validated"
    press(job, "finish")
    worker.join(30)
    assert job.result.steps == 18 and job.result.status == "stopped" and job.result.test_accuracy is not None


def test_the_slot_is_held_only_while_a_press_trains(synthetic):
    held = []

    @contextlib.contextmanager
    def slot():
        held.append(True)
        yield
        held.append(False)
    job, worker = start(synthetic, slot=slot)
    press(job, "step")
    assert held[-1] is False, "released between presses"
    count = len(held)
    press(job, "step", 2)
    assert len(held) == count + 2, "one slot per press"
    job.stop_event.set()  # the sidebar's Stop: the session ends and is returned as a run
    worker.join(30)
    assert job.result.steps == 3 and held[-1] is False


def test_an_idle_session_closes_itself(synthetic):
    job, worker = start(synthetic, idle_minutes=0.5 / 60)
    press(job, "step")
    worker.join(30)
    assert not worker.is_alive() and job.result.steps == 1


def test_a_press_past_the_end_does_nothing(synthetic):
    job, worker = start(synthetic, config=TrainConfig(arch="softmax", batch_size=50, epochs=1))
    snapshot = press(job, "step", 100)
    assert snapshot["done"] and snapshot["step"] == 9
    assert press(job, "step")["step"] == 9
    press(job, "finish")
    worker.join(30)
    assert job.result.status == "completed"


def test_an_unknown_command_is_refused():
    with pytest.raises(ValueError):
        StepProgress().request("jump")


# --- through the job queue -----------------------------------------------------------------

def wait_until(condition, seconds=60):
    import time
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.02)
    assert condition()


def test_a_step_session_is_the_owners_one_training_job_and_is_saved_as_a_run(synthetic, tmp_path):
    from mnist_core.jobs import FINISHED, JobError, JobManager
    from mnist_core.runs import RunStore

    jobs = JobManager(RunStore(tmp_path), slots=1)
    config = TrainConfig(arch="softmax", batch_size=50)
    job = jobs.submit_stepping(config, synthetic, owner="student0002", name="by hand")
    assert job.step_mode and job.kind == "train" and jobs.active_job("student0002", kind="train") is job
    with pytest.raises(JobError, match="is still"):
        jobs.submit_training(config, synthetic, owner="student0002")
    for _ in range(3):
        assert job.progress.request("step").wait(30)
    assert job.progress.request("save").wait(30)  # Save: a run of 3 batches, and the session goes on
    assert job.active and job.progress.snapshot()["saved"][0][1] == 3
    assert job.progress.request("step").wait(30)
    snapshot = job.progress.snapshot()
    assert len(snapshot["records"]) == 4 and len(snapshot["batches"]) == 4, "every batch in the History too"
    assert snapshot["latest_batch"]["step"] == 4 and snapshot["info"]["total_steps"] == 27
    assert job.progress.request("finish").wait(30)
    wait_until(lambda: job.state == FINISHED)
    final, saved = RunStore(tmp_path).list(owner="student0002")  # newest first
    assert job.run_info.run_id == final.run_id and final.name == saved.name == "by hand"
    assert (final.metrics["steps"], saved.metrics["steps"]) == (4, 3)
    assert RunStore(tmp_path).load(final.run_id).history["batches"][2]["loss_before"] == snapshot["records"][2][
        "loss_before"]


def test_save_then_finish_without_a_step_keeps_one_run(synthetic, tmp_path):
    from mnist_core.jobs import FINISHED, JobManager
    from mnist_core.runs import RunStore

    jobs = JobManager(RunStore(tmp_path), slots=1)
    job = jobs.submit_stepping(TrainConfig(arch="softmax", batch_size=50), synthetic, owner="student0002")
    assert job.progress.request("step", 2).wait(30) and job.progress.request("save").wait(30)
    assert job.progress.request("finish").wait(30)
    wait_until(lambda: job.state == FINISHED)
    (info,) = RunStore(tmp_path).list()
    assert job.run_info.run_id == info.run_id and info.metrics["steps"] == 2


def test_an_idle_step_session_does_not_hold_up_the_queue(synthetic, tmp_path):
    from mnist_core.jobs import FINISHED, JobManager
    from mnist_core.runs import RunStore

    jobs = JobManager(RunStore(tmp_path), slots=1)
    session = jobs.submit_stepping(TrainConfig(arch="softmax", batch_size=50), synthetic, owner="student0002")
    assert session.progress.request("step").wait(30)
    other = jobs.submit_training(TrainConfig(arch="softmax", batch_size=50, epochs=1), synthetic, owner="student0003")
    wait_until(lambda: other.state == FINISHED)  # the one slot was free while nobody pressed
    assert session.active and session.progress.request("step").wait(30)
    session.stop()  # the sidebar's Stop: the session ends and is saved
    wait_until(lambda: session.state == FINISHED)
    assert session.result.steps == 2 and session.run_info is not None
