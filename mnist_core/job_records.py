"""The job queue's memory across restarts: every job as a row of plain data in the database.

A job is written here when it is submitted (its spec as JSON), and its state is
updated as it starts and ends. When the server starts again, `recover()`:
  - marks the jobs that were running when it died as "interrupted", with the
    sentence INTERRUPTED_MESSAGE, so their owners see what happened and can re-run them;
  - returns the jobs that were still queued, oldest first, to be queued again.
Finished runs live in the run store; a row keeps the id of the run it produced.

Each server recovers only its own rows ($MNIST_LAB_SERVER_ID, default the host
name), so with several replicas on one PostgreSQL database a restart of one
never touches the jobs of another. Nothing here imports torch or streamlit.
"""
from __future__ import annotations

import json
import os
import socket
import time

from .database import Database

SERVER_ID_ENV = "MNIST_LAB_SERVER_ID"
INTERRUPTED_MESSAGE = "interrupted by a server restart"
QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "running", "finished", "failed", "cancelled", "interrupted")
RERUN = "re-run"  # an interrupted job whose owner queued it again (kept for the record)
SCHEMA = [
    "CREATE TABLE jobs ("
    " id {serial_id},"
    " owner TEXT NOT NULL,"
    " kind TEXT NOT NULL,"  # train, study, ...
    " label TEXT NOT NULL,"  # what the owner sees, e.g. the run's name
    " spec TEXT NOT NULL,"  # the job's plain-data spec, as JSON
    " state TEXT NOT NULL,"
    " server TEXT NOT NULL,"  # which server ran (or will run) it
    " created DOUBLE PRECISION NOT NULL,"
    " started DOUBLE PRECISION,"
    " finished DOUBLE PRECISION,"
    " run_id TEXT,"  # the run it saved, if any
    " message TEXT)",  # why it failed or was interrupted
    "CREATE INDEX jobs_by_server_state ON jobs (server, state)",
    "CREATE INDEX jobs_by_owner ON jobs (owner, id)",
]


def server_id() -> str:
    """This server's name in the jobs table: $MNIST_LAB_SERVER_ID, else the host name."""
    return os.environ.get(SERVER_ID_ENV, "").strip() or socket.gethostname()


def _row(row: dict | None) -> dict | None:
    if row is not None:
        row = dict(row)
        row["spec"] = json.loads(row["spec"])
    return row


class JobRecords:
    """The `jobs` table of one database, seen from one server."""

    def __init__(self, db: Database, server: str | None = None):
        self.db = db
        self.server = server or server_id()
        db.migrate("jobs", SCHEMA)

    def add(self, owner: str, kind: str, label: str, spec: dict) -> int:
        """Record a newly queued job; returns its id (unique across servers)."""
        row = self.db.query_one(
            "INSERT INTO jobs (owner, kind, label, spec, state, server, created) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id", (owner, kind, label, json.dumps(spec), QUEUED, self.server, time.time()))
        return int(row["id"])

    def started(self, job_id: int) -> None:
        self.db.execute("UPDATE jobs SET state = ?, started = ? WHERE id = ?", (RUNNING, time.time(), job_id))

    def ended(self, job_id: int, state: str, run_id: str | None = None, message: str | None = None) -> None:
        """Record how a job ended: finished, failed or cancelled (with its run and message)."""
        self.db.execute("UPDATE jobs SET state = ?, finished = ?, run_id = ?, message = ? WHERE id = ?",
                        (state, time.time(), run_id, message, job_id))

    def recover(self) -> list[dict]:
        """After a restart: mark this server's running jobs interrupted; return its queued ones, oldest first."""
        with self.db.transaction() as tx:
            tx.execute("UPDATE jobs SET state = ?, finished = ?, message = ? WHERE server = ? AND state = ?",
                       (INTERRUPTED, time.time(), INTERRUPTED_MESSAGE, self.server, RUNNING))
            queued = tx.query("SELECT * FROM jobs WHERE server = ? AND state = ? ORDER BY id",
                              (self.server, QUEUED))
        return [_row(row) for row in queued]

    def pending(self) -> bool:
        """Whether this server left jobs queued or running (then `recover()` has work to do)."""
        return self.db.query_one("SELECT id FROM jobs WHERE server = ? AND state IN (?, ?) LIMIT 1",
                                 (self.server, QUEUED, RUNNING)) is not None

    def get(self, owner: str, job_id: int) -> dict | None:
        """The job, if it belongs to `owner` (never anyone else's)."""
        return _row(self.db.query_one("SELECT * FROM jobs WHERE id = ? AND owner = ?", (job_id, owner)))

    def interrupted_of(self, owner: str) -> list[dict]:
        """The owner's jobs that a restart interrupted and that were not re-run yet, newest first."""
        return [_row(row) for row in self.db.query(
            "SELECT * FROM jobs WHERE owner = ? AND state = ? ORDER BY id DESC", (owner, INTERRUPTED))]

    def of_owner(self, owner: str, limit: int = 50) -> list[dict]:
        """The owner's jobs, newest first."""
        return [_row(row) for row in self.db.query(
            "SELECT * FROM jobs WHERE owner = ? ORDER BY id DESC LIMIT ?", (owner, limit))]

    def mark_rerun(self, owner: str, job_id: int) -> bool:
        """An interrupted job of `owner` was queued again; False if it is not theirs or not interrupted."""
        return self.db.execute("UPDATE jobs SET state = ? WHERE id = ? AND owner = ? AND state = ?",
                               (RERUN, job_id, owner, INTERRUPTED)) == 1
