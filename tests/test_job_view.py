"""Tests of ui/job_view.py's wait for a new run's first chart point (the Train press's script run)."""
import threading

from mnist_core.config import TrainConfig
from mnist_core.history import History
from mnist_core.jobs import FINISHED, QUEUED, RUNNING, TRAIN, Job, JobSpec
from ui.job_view import alone_on_the_server, wait_for_first_point


def a_job(state: str) -> Job:
    return Job(job_id=1, spec=JobSpec(kind=TRAIN, owner="u", config=TrainConfig()), progress=History(), state=state)


class _Batch:
    def to_dict(self):
        return {"step": 1, "train_loss": 2.3}


def test_it_returns_once_the_running_job_has_logged_its_first_batch():
    job = a_job(RUNNING)
    timer = threading.Timer(0.1, job.progress.on_batch_end, args=(_Batch(),))
    timer.start()
    assert wait_for_first_point(job, timeout=30) is True  # long before the timeout: the batch came
    assert job.progress.snapshot()["batches"] == [{"step": 1, "train_loss": 2.3}]


def test_a_job_waiting_for_a_slot_or_one_that_ended_is_not_waited_for():
    assert wait_for_first_point(a_job(QUEUED), timeout=30) is False  # gives up after the queue grace
    assert wait_for_first_point(a_job(FINISHED), timeout=30) is False
    assert wait_for_first_point(a_job(RUNNING), timeout=0.05) is False  # no batch within the timeout


class _Queue:
    def __init__(self, position):
        self.position = position

    def queue_position(self, job):
        return self.position


def test_only_a_job_with_others_ahead_of_it_is_redrawn_at_the_slow_waiting_rate(monkeypatch):
    import ui.job_view as view

    monkeypatch.setattr(view, "get_jobs", lambda: _Queue(3))
    assert view.behind_others(a_job(QUEUED)) is True  # two jobs ahead: its view redraws every WAITING s
    assert view.behind_others(a_job(RUNNING)) is False  # a running job keeps its own rate
    monkeypatch.setattr(view, "get_jobs", lambda: _Queue(1))
    assert view.behind_others(a_job(QUEUED)) is False  # next in line: it may start at any moment
    assert view.WAITING > view.FAST and view.WAITING >= view.SLOW


def test_the_train_press_waits_for_the_first_point_only_when_its_job_is_alone_on_the_server():
    assert alone_on_the_server({"running": 1, "waiting": 0, "slots": 2}) is True  # one student: the page waits
    assert alone_on_the_server({"running": 0, "waiting": 1, "slots": 2}) is True  # just submitted, not started
    assert alone_on_the_server({"running": 2, "waiting": 0, "slots": 2}) is False  # another job trains
    assert alone_on_the_server({"running": 2, "waiting": 28, "slots": 2}) is False  # a class: answer at once


def _sidebar_status_app(state: str) -> None:
    from unittest import mock

    from mnist_core.config import TrainConfig
    from mnist_core.history import History
    from mnist_core.jobs import Job, JobSpec
    from ui import live_training

    job = Job(job_id=1, spec=JobSpec(kind="train", owner="u", config=TrainConfig()), progress=History(), state=state)
    with mock.patch.object(live_training, "latest_train_job", lambda: job):
        live_training.sidebar_status(live=False)


def test_the_sidebar_words_for_a_queued_job_stay_true_when_it_starts_before_the_next_redraw():
    from streamlit.testing.v1 import AppTest

    captions = {}
    for state in (QUEUED, RUNNING):
        at = AppTest.from_function(_sidebar_status_app, args=(state,), default_timeout=60).run()
        assert not at.exception, at.exception
        captions[state] = [c.value for c in at.caption]
    # Drawn once (the live view is on the page): a queued job's sentence must not say "queued"
    # only, since the page may show it training a moment later while the sidebar is not redrawn.
    assert captions[QUEUED] == ["Waiting for a free slot, then training: watch it on this page."]
    assert captions[RUNNING] == ["Training: watch it on this page."]
