"""AppTests of Step mode on the Train page: a job, pressed from the page, saved as a run."""
from __future__ import annotations

import time

import pytest

from mnist_core.runs import RunStore
from test_app import job_of, open_app, tiny, wait_for_end
from test_bad_input import shown
from test_step_job import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("router_mode")]


def start_stepping(at):
    tiny(at)
    at.select_slider(key="cfg_subset").set_value("1k").run()  # 1,000 training images, 1 epoch
    at.select_slider(key="cfg_batch_size").set_value(32).run()  # 31 batches (the last one 40 images)
    at.segmented_control(key="train_mode").set_value("step").run()
    assert at.button(key="page_train").label == "Start stepping"
    at.button(key="page_train").click().run()
    job = job_of(at)
    assert job is not None and job.step_mode and job.active
    deadline = time.time() + 60
    while job.progress.snapshot()["status"] == "starting" and time.time() < deadline:  # being prepared
        time.sleep(0.05)
    assert job.progress.snapshot()["status"] == "running", job.progress.snapshot()
    at.run()
    assert not at.exception, at.exception
    return job


def press(at, key: str, job) -> None:
    """Press a step button and wait until the worker has answered (the page waits only a few seconds)."""
    at.button(key=key).click().run()
    wait_until(lambda: not job.progress.snapshot()["busy"], seconds=120)  # a slow machine: the page polls
    at.run()


def batches_in_the_table(at) -> list[int]:
    (table,) = at.dataframe
    return list(table.value["Batch"])


def test_step_three_times_shows_three_batches_save_then_finish_saves_the_run(runs_dir):
    at = open_app("pages/train.py")
    job = start_stepping(at)
    assert at.button(key="sidebar_train").disabled, "the session is the student's one active training job"
    for count in (1, 2, 3):
        press(at, "step_one", job)
        assert not at.exception, at.exception
        assert batches_in_the_table(at) == list(range(count, 0, -1)), "newest first"
    assert [shown(c.value) for c in at.caption if "in the history so far" in c.value] == [
        "3 batch(es) in the history so far, newest first:"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Batches trained"] == f"3 of {job.progress.snapshot()['total_steps']}"
    before, after = (float(v) for v in metrics["Loss on the last batch"].split(" → "))
    record = job.progress.snapshot()["records"][-1]
    assert (before, after) == (round(record["loss_before"], 3), round(record["loss_after"], 3))
    assert len(at.image) == 2, "the picture of the change and its colour legend"
    press(at, "step_save", job)
    assert "Saved as a run after 3 batches (see Run history). Keep stepping, or finish." in [
        shown(c.value) for c in at.caption]
    assert [r.metrics["steps"] for r in RunStore(runs_dir).list()] == [3] and job.active
    press(at, "step_ten", job)
    assert batches_in_the_table(at)[0] == 13 == len(job.progress.snapshot()["records"])
    press(at, "step_epoch", job)  # run_every never fires in AppTest: press() reruns once the worker answered
    steps = job.progress.snapshot()["steps_per_epoch"]
    assert batches_in_the_table(at)[0] == steps == 31
    assert at.button(key="step_one").disabled and any("Every batch of the run is trained" in s.value
                                                      for s in at.success)
    at.button(key="step_finish").click().run()
    wait_for_end(job)
    at.run()
    assert not at.exception, at.exception
    info, saved = RunStore(runs_dir).list()
    assert job.run_info.run_id == info.run_id and info.metrics["steps"] == 31 and info.status == "completed"
    assert saved.metrics["steps"] == 3 and saved.status == "stopped"
    assert not at.button(key="sidebar_train").disabled, "the student can train again"
    assert [b.label for b in at.get("download_button")][:3] == ["Download run (.zip)", "Script (.py)",
                                                                "Notebook (.ipynb)"]


def test_stop_in_the_sidebar_ends_and_saves_the_session(runs_dir):
    at = open_app("pages/train.py")
    job = start_stepping(at)
    press(at, "step_one", job)
    at.button(key="sidebar_stop").click().run()
    wait_for_end(job)
    at.run()
    assert not at.exception and job.result.steps == 1 and job.result.status == "stopped"
    assert [r.metrics["steps"] for r in RunStore(runs_dir).list()] == [1]


def test_other_pages_say_a_step_session_is_open(runs_dir):
    at = open_app("pages/train.py")
    job = start_stepping(at)
    press(at, "step_ten", job)
    assert "Step mode: press the buttons on this page." in [c.value for c in at.sidebar.caption]
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    assert "Step mode: 10 batches trained by hand so far." in [c.value for c in at.sidebar.caption]
    job.progress.request("finish").wait(30)
    wait_for_end(job)
