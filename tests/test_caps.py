"""Per-student caps: epochs, parameters, jobs at once, the queue, free disk and the quota."""
from collections import namedtuple

import pytest

from mnist_core.caps import (GB, MB, Caps, CapError, check_config, check_queue, check_space,
                             class_caps, owner_bytes, parameter_count, queue_sentence, run_bytes, set_class_caps)
from mnist_core.classroom import Classroom
from mnist_core.config import TrainConfig
from mnist_core.database import Database
from mnist_core.models import count_parameters, create_model
from mnist_core.runs import RunStore
from mnist_core.train import fit

Usage = namedtuple("Usage", "total used free")


def test_the_defaults_are_the_issue_s():
    caps = Caps()
    assert (caps.training_jobs_per_student, caps.studies_per_student, caps.max_parameters, caps.max_epochs,
            caps.max_queued_jobs, caps.min_free_bytes, caps.quota_bytes_per_student) == (
        1, 1, 5_000_000, 30, 60, 1_000_000_000, 200_000_000)


@pytest.mark.parametrize("config", [TrainConfig(), TrainConfig(arch="cnn"), TrainConfig(arch="softmax"),
                                    TrainConfig(arch="deep-mlp", hidden=(300, 200, 100))])
def test_parameter_count_agrees_with_the_built_model(config):
    assert parameter_count(config) == count_parameters(create_model(config))


def test_a_model_over_5_m_parameters_or_a_run_over_30_epochs_is_refused():
    check_config(TrainConfig(arch="cnn", epochs=30), Caps())
    with pytest.raises(CapError, match="5.8 M parameters, more than the class's limit of 5 M"):
        check_config(TrainConfig(arch="deep-mlp", hidden=(2048, 2048)), Caps())
    with pytest.raises(CapError, match="at most 30 epochs per run"):
        check_config(TrainConfig(epochs=31), Caps())
    check_config(TrainConfig(epochs=31), Caps(max_epochs=40))  # the teacher can change it


def test_the_policy_gives_each_class_its_own_active_limit(tmp_path):
    from mnist_core.caps import ClassroomPolicy
    from mnist_core.jobs import JobSpec

    room = Classroom(Database(tmp_path / "db.sqlite3"))
    other = room.create_class("B").code
    ada, bo = room.join(None, "Ada", "1111"), room.join(other, "Bo", "2222")
    set_class_caps(room, other, Caps(training_jobs_per_student=2, studies_per_student=3))
    policy = ClassroomPolicy(room, RunStore(tmp_path / "runs"))
    limits = [policy.active_limit(JobSpec(kind=kind, owner=owner)) for owner in (ada.owner, bo.owner, "abc123")
              for kind in ("train", "study")]
    assert limits == [1, 1, 2, 3, 1, 1]  # a quick-start token gets the default class's caps


def test_a_full_queue_says_how_full_and_why():
    check_queue(59, 1, Caps())
    with pytest.raises(CapError, match="queue is full: 60 runs are waiting for 1 training slot"):
        check_queue(60, 1, Caps())
    assert queue_sentence(1, 2) == "You are number 1 in the queue: nobody is ahead of you and the server trains 2 at a time."


@pytest.fixture(scope="module")
def tiny_result(synthetic):
    return fit(TrainConfig(arch="softmax", epochs=1, batch_size=100, seed=0), synthetic)


def test_the_quota_counts_the_student_s_own_runs(tmp_path, tiny_result):
    store = RunStore(tmp_path / "runs")
    lots = lambda path: Usage(100 * GB, 0, 50 * GB)
    first = store.save(tiny_result, owner="student-1")
    store.save(tiny_result, owner="student-2")
    one_run = owner_bytes(store, "student-1")
    assert one_run > 30_000 and abs(owner_bytes(store, "student-2") - one_run) < 100  # the same run, apart from its times
    check_space(store, "student-1", 1000, Caps(quota_bytes_per_student=one_run + 1000), disk_usage=lots)
    with pytest.raises(CapError, match=r"Your runs take 0 MB of your 0.0\d+ MB.*delete some runs"):
        check_space(store, "student-1", 1001, Caps(quota_bytes_per_student=one_run + 1000), disk_usage=lots)
    store.delete(first.run_id, actor="student-1")
    assert owner_bytes(store, "student-1") == 0


def test_the_disk_keeps_a_reserve(tmp_path):
    store = RunStore(tmp_path / "runs")  # not created yet: the check looks at the nearest folder that is
    check_space(store, "x", 10 * MB, Caps(), disk_usage=lambda p: Usage(0, 0, GB + 10 * MB))
    with pytest.raises(CapError, match="disk is nearly full .* at least 1 GB must stay free"):
        check_space(store, "x", 10 * MB + 1, Caps(), disk_usage=lambda p: Usage(0, 0, GB + 10 * MB))


def test_run_bytes_grows_with_the_model():
    small, big = run_bytes(TrainConfig(arch="softmax")), run_bytes(TrainConfig(hidden=(2048,)))
    assert big - small == 4 * (parameter_count(TrainConfig(hidden=(2048,))) - 7850)


def test_caps_are_kept_per_class_and_bad_ones_refused(tmp_path):
    room = Classroom(Database(tmp_path / "db.sqlite3"))
    other = room.create_class("B").code
    set_class_caps(room, None, Caps(max_epochs=10))
    assert class_caps(room, None).max_epochs == 10 and class_caps(room, other) == Caps()
    with pytest.raises(CapError, match="max epochs must be a whole number of at least 1"):
        set_class_caps(room, None, Caps(max_epochs=0))
    assert Caps.from_json('{"max_epochs": "lots"}') == Caps() and Caps.from_json("not json") == Caps()


def test_the_job_queue_asks_the_class_policy_and_the_teacher_clears_the_queue(tmp_path):
    import threading
    import time

    from mnist_core.caps import ClassroomPolicy
    from mnist_core.jobs import JobError, JobManager

    room = Classroom(Database(tmp_path / "db.sqlite3"))
    store = RunStore(tmp_path / "runs")
    ada, bo, cy = (room.join(None, name, "1234") for name in ("Ada", "Bo", "Cy"))
    set_class_caps(room, None, Caps(max_queued_jobs=1, max_epochs=2))
    release = threading.Event()
    jobs = JobManager(store, slots=1, policy=ClassroomPolicy(room, store),
                      runners={"train": lambda job, data, store: release.wait(20)})
    with pytest.raises(JobError, match="at most 2 epochs"):
        jobs.submit_training(TrainConfig(epochs=3), None, owner=ada.owner)
    running = jobs.submit_training(TrainConfig(epochs=1), None, owner=ada.owner)
    deadline = time.time() + 10
    while running.state != "running" and time.time() < deadline:
        time.sleep(0.01)
    waiting = jobs.submit_training(TrainConfig(epochs=1), None, owner=bo.owner)
    with pytest.raises(JobError, match="queue is full: 1 runs are waiting for 1 training slot"):
        jobs.submit_training(TrainConfig(epochs=1), None, owner=cy.owner)
    assert [j.owner for j in jobs.all_jobs()] == [bo.owner, ada.owner]
    assert jobs.clear_queue() == 1
    release.set()
    deadline = time.time() + 10
    while (running.active or waiting.active) and time.time() < deadline:
        time.sleep(0.01)
    assert waiting.state == "cancelled" and running.state == "finished"


def test_a_save_over_the_quota_is_refused_before_a_byte_is_written(tmp_path, tiny_result):
    from mnist_core.caps import ClassroomPolicy
    from mnist_core.runs import RunStoreError

    room = Classroom(Database(tmp_path / "db.sqlite3"))
    store = RunStore(tmp_path / "runs")
    store.space_check = ClassroomPolicy(room, store).space_check
    ada = room.join(None, "Ada", "1234")
    set_class_caps(room, None, Caps(quota_bytes_per_student=1 * MB))
    with pytest.raises(RunStoreError, match="Your runs take 0 MB of your 1 MB, and this one needs about 2 MB"):
        store.save(tiny_result, owner=ada.owner)
    assert store.list() == [] and not any(p.name.startswith(".tmp-") for p in store.root.glob("*"))
    set_class_caps(room, None, Caps())
    assert store.save(tiny_result, owner=ada.owner).owner == ada.owner


def test_a_worker_process_checks_the_quota_again_just_before_it_saves(tmp_path, synthetic):
    """The app's jobs train in worker processes: their save goes through the class caps too (job_worker.job_task)."""
    import threading

    from mnist_core.database import open_database
    from mnist_core.job_worker import job_task
    from mnist_core.jobs import TRAIN, JobSpec

    root = tmp_path / "runs"
    room = Classroom(open_database(root))
    ada = room.join(None, "Ada", "1234")
    set_class_caps(room, None, Caps(quota_bytes_per_student=1 * MB))  # a default MLP run needs about 2 MB
    spec = JobSpec(kind=TRAIN, owner=ada.owner, config=TrainConfig(epochs=1, batch_size=50))
    payload = {"spec": spec.to_dict(), "job_id": 1, "runs_root": str(root), "check_space": True}
    out = job_task(synthetic, payload, lambda kind, event: None, threading.Event())
    assert out["run_info"] is None and out["save_error"].startswith("Your runs take 0 MB of your 1 MB")
    assert RunStore(root).list() == []
    out = job_task(synthetic, {**payload, "check_space": False}, lambda kind, event: None, threading.Event())
    assert out["save_error"] is None and [r.owner for r in RunStore(root).list()] == [ada.owner]


@pytest.mark.parametrize("with_policy", [True, False])
def test_the_job_manager_asks_its_workers_for_that_check_when_it_has_class_caps(tmp_path, monkeypatch, synthetic,
                                                                                 with_policy):
    import time

    from mnist_core.caps import ClassroomPolicy
    from mnist_core.jobs import JobManager

    sent = {}

    class Pool:  # stands in for the worker processes: only the payload they would get is looked at
        def submit(self, owner, kind, payload, on_event, long=False):
            sent.update(payload)
            return 1

        def stop(self, pool_id):
            pass

    monkeypatch.setattr("mnist_core.job_worker.shared_pool", lambda data: Pool())
    room = Classroom(Database(tmp_path / "db.sqlite3"))
    store = RunStore(tmp_path / "runs")
    jobs = JobManager(store, executor="processes", policy=ClassroomPolicy(room, store) if with_policy else None)
    jobs.submit_training(TrainConfig(epochs=1, batch_size=50), synthetic, owner=room.join(None, "Ada", "1234").owner)
    deadline = time.time() + 10
    while not sent and time.time() < deadline:
        time.sleep(0.01)
    assert sent["check_space"] is with_policy
