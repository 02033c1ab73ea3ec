"""The run store's database: users, classes, lessons (and the job queue) in one place.

One server keeps it in a single SQLite file beside the runs,
`<runs folder>/mnist_lab.sqlite3`, in WAL mode so that readers never wait for
a writer. Set `MNIST_LAB_DATABASE_URL` to choose another database:
`sqlite:////abs/path.sqlite3` for another SQLite file, or `postgresql://...`
for several servers (database_postgres.py), since WAL does not work across
hosts sharing a volume.

The interface is deliberately thin, so that a second backend fits behind it:

    db = open_database(runs_root)                  # one per database, process-wide
    db.migrate("classroom", [SQL_1, SQL_2, ...])   # each step applied once, in order
    db.execute("INSERT INTO t (a, b) VALUES (?, ?)", (1, "x"))
    rows = db.query("SELECT a, b FROM t WHERE a = ?", (1,))   # a list of dicts
    with db.transaction() as tx:                  # all or nothing
        tx.execute(...); tx.query(...)

SQL written for it keeps to what SQLite and PostgreSQL share: `?`
placeholders, INTEGER / BIGINT / TEXT / REAL / DOUBLE PRECISION columns,
`INSERT ... ON CONFLICT ... DO ...` and `RETURNING`. A migration may write
`{serial_id}` for an auto-numbered primary key column; each backend fills in
its own spelling. Errors come out as `DatabaseError` (or `IntegrityError` for
a broken UNIQUE / CHECK / foreign-key rule) with a plain sentence.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

DATABASE_URL_ENV = "MNIST_LAB_DATABASE_URL"
DATABASE_FILE = "mnist_lab.sqlite3"
BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another writer before giving up
_MIGRATIONS_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "component TEXT NOT NULL, step INTEGER NOT NULL, PRIMARY KEY (component, step))")


class DatabaseError(RuntimeError):
    """The database cannot be opened, read or written; the message says why in plain words."""


class IntegrityError(DatabaseError):
    """A write broke a UNIQUE, CHECK or foreign-key rule (for example a name already taken)."""


class _Session:
    """execute/query on one connection; the Database and a transaction both offer these."""

    def __init__(self, connection: sqlite3.Connection, path: str):
        self._connection = connection
        self._path = path

    def execute(self, sql: str, params: Sequence = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        return self._run(sql, params).rowcount

    def query(self, sql: str, params: Sequence = ()) -> list[dict]:
        """Run one SELECT (or ... RETURNING) statement; every row as a dict of column -> value."""
        cursor = self._run(sql, params)
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def query_one(self, sql: str, params: Sequence = ()) -> dict | None:
        """The first row of a query, or None if it has none."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def _run(self, sql: str, params: Sequence) -> sqlite3.Cursor:
        try:
            return self._connection.execute(sql, tuple(params))
        except sqlite3.IntegrityError as error:
            raise IntegrityError(f"The database refused the change: {error}.") from None
        except sqlite3.Error as error:
            raise _plain_error(error, self._path) from None


def _plain_error(error: sqlite3.Error, path: str) -> DatabaseError:
    text = str(error)
    if "locked" in text or "busy" in text:
        return DatabaseError(f"The database {path} is busy (another writer held it for over "
                             f"{BUSY_TIMEOUT_MS // 1000} s); try again.")
    if "unable to open" in text or "readonly" in text or "disk" in text:
        return DatabaseError(f"The database {path} cannot be written: {text}. Check that its folder is "
                             "writable and the disk is not full.")
    return DatabaseError(f"Database error in {path}: {text}.")


class Database:
    """A SQLite database file, safe to share between threads (one connection per thread)
    and between processes (WAL mode, a busy timeout, and a fresh connection after a fork)."""

    dialect = "sqlite"
    SERIAL_ID = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._local = threading.local()
        self._migrate_lock = threading.Lock()
        self._connect()  # fail now, with a sentence, if the file cannot be opened

    # --- connections ---------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is not None and getattr(self._local, "pid", None) == os.getpid():
            return connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit; transaction() says BEGIN IMMEDIATE itself, so a
            # read-then-write never deadlocks against another writer.
            connection = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            connection.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses no commit's integrity
            connection.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.Error, OSError) as error:
            if isinstance(error, OSError):
                raise DatabaseError(f"The database folder {self.path.parent} cannot be created: "
                                    f"{error.strerror or error}.") from None
            raise _plain_error(error, str(self.path)) from None
        if str(mode).lower() != "wal":
            raise DatabaseError(f"The database {self.path} could not switch to WAL mode (got {mode}); "
                                "put the run store on a local disk.")
        self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # --- statements ----------------------------------------------------------
    def execute(self, sql: str, params: Sequence = ()) -> int:
        """Run one statement in its own transaction; returns the number of rows changed."""
        return _Session(self._connect(), str(self.path)).execute(sql, params)

    def query(self, sql: str, params: Sequence = ()) -> list[dict]:
        """Run one query; every row as a dict of column -> value."""
        return _Session(self._connect(), str(self.path)).query(sql, params)

    def query_one(self, sql: str, params: Sequence = ()) -> dict | None:
        """The first row of a query, or None."""
        return _Session(self._connect(), str(self.path)).query_one(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[_Session]:
        """All statements inside commit together, or none do (an exception rolls back).

        The write lock is taken at the start (BEGIN IMMEDIATE), so a read inside
        sees what no other writer can change before the commit.
        """
        connection = self._connect()
        if connection.in_transaction:
            raise DatabaseError("Transactions cannot be nested.")
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise _plain_error(error, str(self.path)) from None
        try:
            yield _Session(connection, str(self.path))
        except BaseException:
            connection.rollback()
            raise
        try:
            connection.commit()
        except sqlite3.Error as error:
            connection.rollback()
            raise _plain_error(error, str(self.path)) from None

    # --- schema --------------------------------------------------------------
    def migrate(self, component: str, steps: Iterable[str]) -> int:
        """Apply `component`'s schema steps that this database has not had yet, in order.

        Step k (counted from 1) is recorded once applied, so steps are only ever
        appended, never edited: a new column is a new step. Returns how many ran.
        `{serial_id}` in a step becomes this backend's auto-numbered primary key.
        """
        steps = list(steps)
        with self._migrate_lock:
            self.execute(_MIGRATIONS_TABLE)
            applied = 0
            with self.transaction() as tx:
                done = {row["step"] for row in tx.query(
                    "SELECT step FROM schema_migrations WHERE component = ?", (component,))}
                for number, sql in enumerate(steps, start=1):
                    if number in done:
                        continue
                    tx.execute(sql.replace("{serial_id}", self.SERIAL_ID))
                    tx.execute("INSERT INTO schema_migrations (component, step) VALUES (?, ?)",
                               (component, number))
                    applied += 1
            return applied

    def describe(self) -> str:
        """Where the data lives, for a status line (never holds a password)."""
        return f"SQLite file {self.path}"


_OPEN: dict[str, Database] = {}
_OPEN_LOCK = threading.Lock()


def database_location(runs_root: str | os.PathLike | None = None) -> str:
    """The database to use: $MNIST_LAB_DATABASE_URL if set, else the SQLite file in the runs folder."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        return url
    from .runs import resolve_runs_dir
    return str((resolve_runs_dir(runs_root) / DATABASE_FILE).resolve())


def open_database(runs_root: str | os.PathLike | None = None) -> Database:
    """The process-wide Database for this run store (opened once, then shared)."""
    location = database_location(runs_root)
    with _OPEN_LOCK:
        if location not in _OPEN:
            _OPEN[location] = _open(location)
        return _OPEN[location]


def _open(location: str) -> Database:
    if location.startswith(("postgresql://", "postgres://")):
        from .database_postgres import PostgresDatabase
        return PostgresDatabase(location)
    if location.startswith("sqlite://"):
        path = location[len("sqlite://"):]
        if not path.startswith("/"):
            raise DatabaseError(f"{DATABASE_URL_ENV}={location} is not understood: write "
                                "sqlite:////absolute/path.sqlite3 (an absolute path after sqlite://).")
        return Database(path)
    if "://" in location:
        raise DatabaseError(f"{DATABASE_URL_ENV} must start with sqlite:// or postgresql:// "
                            f"(got {location.split('://')[0]}://).")
    return Database(location)
