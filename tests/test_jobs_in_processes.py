"""The job API on worker processes, with the jobs table: what the app runs.

Training and study jobs run in the shared worker pool and look exactly as in a
thread (progress, result, saved runs); Stop reaches the worker; and after a
restart the queued jobs run again while the interrupted one is offered for re-run.
"""
import os
import signal
import time

import pytest

from mnist_core.config import TrainConfig
from mnist_core.database import Database
from mnist_core.job_records import FINISHED as RECORD_FINISHED
from mnist_core.job_records import INTERRUPTED_MESSAGE, RERUN, JobRecords
from mnist_core.job_worker import shared_pool
from mnist_core.jobs import CANCELLED, FAILED, FINISHED, RUNNING, STUDY, TRAIN, JobError, JobManager, JobSpec
from mnist_core.runs import RunStore

TIMEOUT = 180  # the machine is shared: the workers' first torch import may wait for the CPU


def wait_until(predicate, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the job never reached the expected state"
        time.sleep(0.05)


def wait_done(job):
    wait_until(lambda: not job.active and job.finished is not None)


@pytest.fixture(scope="module")
def data():
    from mnist_core.data import make_synthetic
    data = make_synthetic(n_train_per_class=50, n_test_per_class=10, seed=0)
    assert shared_pool(data).wait_ready(TIMEOUT)
    return data


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


@pytest.fixture
def manager(store, tmp_path):
    return JobManager(store, executor="processes", records=JobRecords(Database(tmp_path / "jobs.sqlite3")))


def small(**changes):
    return TrainConfig(arch="mlp", hidden=(32,), batch_size=10, **changes)


def test_a_training_job_runs_in_a_worker_and_looks_as_in_a_thread(manager, store, data):
    job = manager.submit_training(small(epochs=2), data, owner="alice", name="in a process")
    wait_done(job)
    assert job.state == FINISHED, job.error
    assert job.result.status == "completed" and job.result.test_accuracy > 0.5
    assert job.run_info.name == "in a process" and store.get(job.run_info.run_id).owner == "alice"
    snapshot = job.progress.snapshot()  # replayed from the worker's events
    assert snapshot["finished"] and len(snapshot["epochs"]) == 2 and snapshot["batches"]
    assert snapshot["info"]["total_steps"] == job.result.steps
    row = manager.records.get("alice", job.job_id)
    assert row["state"] == RECORD_FINISHED and row["run_id"] == job.run_info.run_id
    assert JobSpec.from_dict(row["spec"]) == job.spec  # the spec is kept as plain data


def test_stop_reaches_the_worker(manager, data):
    job = manager.submit_training(small(epochs=200, schedule="constant"), data, owner="alice")
    wait_until(lambda: len(job.progress.snapshot()["batches"]) >= 2)
    job.stop()  # what the page's Stop button calls
    wait_done(job)
    assert job.state == FINISHED and job.result.status == "stopped" and job.result.steps < 200 * 45


def test_a_study_job_runs_in_a_worker(manager, store, data):
    base = TrainConfig(arch="mlp", hidden=(16,), optimizer="sgd", schedule="constant", lr=0.1, batch_size=20,
                       epochs=1, subset=10)
    job = manager.submit_study("custom", data, owner="bob",
                               options={"knob": "lr", "values": [0.1, 0.01], "base": base.to_dict()})
    wait_done(job)
    assert job.state == FINISHED and job.kind == STUDY and [r.label for r in job.result] == ["lr 0.1", "lr 0.01"]
    snapshot = job.progress.snapshot()
    assert snapshot["finished"] and snapshot["done"] == 2 and len(snapshot["rows"]) == 2
    assert len(store.list(owner="bob")) == 2 and all(row.run_id for row in job.result)


def test_the_pool_is_told_which_jobs_are_studies(manager, data, monkeypatch):
    pool, told = shared_pool(data), []
    submit = pool.submit
    monkeypatch.setattr(pool, "submit", lambda *a, **k: told.append(k.get("long")) or submit(*a, **k))
    base = TrainConfig(arch="mlp", hidden=(16,), epochs=1, subset=10, batch_size=20)
    study = manager.submit_study("custom", data, owner="dora", options={"knob": "lr", "values": [0.1],
                                                                         "base": base.to_dict()})
    single = manager.submit_training(small(epochs=1), data, owner="erin")
    for job in (study, single):
        wait_done(job)
    assert told == [True, False]  # a study holds its slot for all its runs: the pool's queue must know


def test_a_killed_worker_fails_the_job_not_the_server(manager, data):
    job = manager.submit_training(small(epochs=200), data, owner="carol")
    wait_until(lambda: job.state == RUNNING and job.progress.snapshot()["batches"])
    pool = shared_pool(data)
    pid = pool.running_pid(manager._pool_ids[job.job_id])
    os.kill(pid, signal.SIGKILL)
    wait_done(job)
    assert job.state == FAILED and "killed" in job.error
    assert manager.records.get("carol", job.job_id)["state"] == "failed"
    again = manager.submit_training(small(max_steps=3), data, owner="carol")
    wait_done(again)
    assert again.state == FINISHED


def test_after_a_restart_queued_jobs_run_and_the_interrupted_one_can_be_re_run(store, tmp_path, data):
    db = Database(tmp_path / "jobs.sqlite3")
    before = JobRecords(db, server="lab")
    # What the database held when the server died: one job training, two waiting.
    specs = [JobSpec(kind=TRAIN, owner=owner, config=small(max_steps=5), name=f"{owner}'s run")
             for owner in ("alice", "bob", "carol")]
    ids = [before.add(spec.owner, spec.kind, spec.label, spec.to_dict()) for spec in specs]
    before.started(ids[0])

    manager = JobManager(store, executor="processes", records=JobRecords(db, server="lab"))
    again = manager.recover(data)
    assert [job.job_id for job in again] == ids[1:]
    for job in again:
        wait_done(job)
        assert job.state == FINISHED and job.run_info.owner == job.owner
    assert [row["message"] for row in manager.interrupted("alice")] == [INTERRUPTED_MESSAGE]
    assert manager.interrupted("bob") == []
    with pytest.raises(JobError):
        manager.rerun("bob", ids[0], data)  # not bob's
    rerun = manager.rerun("alice", ids[0], data)
    wait_done(rerun)
    assert rerun.state == FINISHED and rerun.spec == specs[0]
    assert manager.records.get("alice", ids[0])["state"] == RERUN and manager.interrupted("alice") == []


def test_stopping_a_queued_job_cancels_it(manager, data):
    pool = shared_pool(data)
    blockers = [manager.submit_training(small(epochs=200), data, owner=f"blocker{i}") for i in range(pool.size)]
    wait_until(lambda: all(job.state == RUNNING for job in blockers))
    queued = manager.submit_training(small(max_steps=3), data, owner="dave")
    assert manager.queue_position(queued) == 1
    queued.stop()
    wait_done(queued)
    assert queued.state == CANCELLED
    for job in blockers:
        job.stop()
        wait_done(job)
