"""The jobs table that lets the queue survive a restart, on SQLite and PostgreSQL."""
from mnist_core.job_records import (FINISHED, INTERRUPTED, INTERRUPTED_MESSAGE, QUEUED, RERUN, RUNNING,
                                    JobRecords)

SPEC = {"kind": "train", "config": {"arch": "mlp", "epochs": 3}, "owner": "alice", "name": "first"}


def test_a_job_is_recorded_as_its_spec_and_its_states(database):
    records = JobRecords(database, server="lab-1")
    job_id = records.add("alice", "train", "first", SPEC)
    row = records.get("alice", job_id)
    assert row["spec"] == SPEC and row["state"] == QUEUED and row["server"] == "lab-1"
    records.started(job_id)
    assert records.get("alice", job_id)["state"] == RUNNING
    records.ended(job_id, FINISHED, run_id="20261201-120000-mlp-abcdef")
    row = records.get("alice", job_id)
    assert (row["state"], row["run_id"]) == (FINISHED, "20261201-120000-mlp-abcdef")
    assert row["finished"] >= row["started"] >= row["created"]


def test_one_owner_never_sees_another_owners_jobs(database):
    records = JobRecords(database, server="lab-1")
    job_id = records.add("alice", "train", "first", SPEC)
    assert records.get("bob", job_id) is None
    assert records.of_owner("bob") == [] and [r["id"] for r in records.of_owner("alice")] == [job_id]


def test_after_a_restart_running_jobs_are_interrupted_and_queued_ones_come_back(database):
    before = JobRecords(database, server="lab-1")
    done, running, queued_1, queued_2 = (before.add("alice", "train", name, {**SPEC, "name": name})
                                         for name in ("done", "running", "q1", "q2"))
    before.started(done)
    before.ended(done, FINISHED, run_id="20261201-120000-mlp-abcdef")
    before.started(running)
    other_server = JobRecords(database, server="lab-2")
    elsewhere = other_server.add("carol", "train", "theirs", SPEC)
    other_server.started(elsewhere)

    after = JobRecords(database, server="lab-1")  # the same server, started again
    again = after.recover()
    assert [row["id"] for row in again] == [queued_1, queued_2]  # oldest first, specs intact
    assert [row["spec"]["name"] for row in again] == ["q1", "q2"]
    interrupted = after.get("alice", running)
    assert interrupted["state"] == INTERRUPTED and interrupted["message"] == INTERRUPTED_MESSAGE
    assert after.get("alice", done)["state"] == FINISHED  # a finished run is never touched
    assert other_server.get("carol", elsewhere)["state"] == RUNNING  # another replica's job is not ours
    assert [row["id"] for row in after.interrupted_of("alice")] == [running]


def test_re_run_is_for_the_owner_of_an_interrupted_job_only(database):
    records = JobRecords(database, server="lab-1")
    job_id = records.add("alice", "train", "first", SPEC)
    records.started(job_id)
    records.recover()
    assert not records.mark_rerun("bob", job_id)
    assert records.mark_rerun("alice", job_id)
    assert records.get("alice", job_id)["state"] == RERUN and records.interrupted_of("alice") == []
    assert not records.mark_rerun("alice", job_id)  # only once
