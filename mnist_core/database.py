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
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

DATABASE_URL_ENV = "MNIST_LAB_DATABASE_URL"
DATABASE_FILE = "mnist_lab.sqlite3"
BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another writer before giving up
MEMO_SECONDS = 1.0  # how long rows that rarely change (a class's settings, its lessons) are reused between pages
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


POOL_SIZE = 8  # idle connections kept for reuse, per database and process


class ConnectionPool:
    """Connections to one database, reused by whichever thread needs one next.

    Streamlit runs every script run in a new thread, so a connection per thread meant a
    new connection (a file open and four PRAGMAs for SQLite, a TCP login for PostgreSQL)
    on every page load. The pool keeps up to `size` idle connections instead. A
    connection serves one thread at a time; `hold()` keeps one for a transaction, and
    statements the same thread runs meanwhile use it too. After a fork the pool starts
    empty: a connection never crosses into another process.
    """

    def __init__(self, open_connection: Callable[[], object], idle: Callable[[object], bool],
                 size: int = POOL_SIZE):
        self._open, self._idle_ok, self._size = open_connection, idle, size
        self._idle: list = []
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._local = threading.local()  # the connection a transaction of this thread holds

    def held(self):
        """This thread's transaction's connection, or None."""
        if getattr(self._local, "pid", None) != os.getpid():
            return None
        return getattr(self._local, "connection", None)

    @contextmanager
    def borrow(self) -> Iterator:
        """A connection for one statement: this thread's transaction's, else an idle or a new one."""
        if (connection := self.held()) is not None:
            yield connection
            return
        connection = self._take()
        try:
            yield connection
        finally:
            self._give_back(connection)

    @contextmanager
    def hold(self) -> Iterator:
        """A connection kept by this thread until the block ends (a transaction)."""
        if self.held() is not None:
            raise DatabaseError("Transactions cannot be nested.")
        connection = self._take()
        self._local.connection, self._local.pid = connection, os.getpid()
        try:
            yield connection
        finally:
            self._local.connection = None
            self._give_back(connection)

    def _take(self):
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's connections are not ours to use
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                connection = self._idle.pop()
                if self._idle_ok(connection):
                    return connection
        return self._open()

    def _give_back(self, connection) -> None:
        with self._lock:
            if self._pid == os.getpid() and len(self._idle) < self._size and self._idle_ok(connection):
                self._idle.append(connection)
                return
        try:
            connection.close()
        except Exception:  # noqa: BLE001  a broken connection is dropped either way
            pass

    def close(self) -> None:
        """Close every idle connection (one in use closes when it comes back, if the pool is full)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class Database:
    """A SQLite database file, safe to share between threads (a pool of connections, each used by
    one thread at a time) and between processes (WAL mode, a busy timeout, new connections after a fork)."""

    dialect = "sqlite"
    SERIAL_ID = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._pool = ConnectionPool(self._open_connection, idle=lambda c: not c.in_transaction)
        self._migrate_lock = threading.Lock()
        with self._pool.borrow():  # fail now, with a sentence, if the file cannot be opened
            pass

    # --- connections ---------------------------------------------------------
    def _open_connection(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit; transaction() says BEGIN IMMEDIATE itself, so a
            # read-then-write never deadlocks against another writer. check_same_thread=False: the
            # pool hands a connection to one thread at a time, not always the same thread.
            connection = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                         check_same_thread=False)
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
            connection.close()
            raise DatabaseError(f"The database {self.path} could not switch to WAL mode (got {mode}); "
                                "put the run store on a local disk.")
        return connection

    def close(self) -> None:
        """Close the idle connections (a test's cleanup; the database stays usable)."""
        self._pool.close()

    # --- statements ----------------------------------------------------------
    def execute(self, sql: str, params: Sequence = ()) -> int:
        """Run one statement in its own transaction; returns the number of rows changed."""
        with self._pool.borrow() as connection:
            return _Session(connection, str(self.path)).execute(sql, params)

    def query(self, sql: str, params: Sequence = ()) -> list[dict]:
        """Run one query; every row as a dict of column -> value."""
        with self._pool.borrow() as connection:
            return _Session(connection, str(self.path)).query(sql, params)

    def query_one(self, sql: str, params: Sequence = ()) -> dict | None:
        """The first row of a query, or None."""
        with self._pool.borrow() as connection:
            return _Session(connection, str(self.path)).query_one(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[_Session]:
        """All statements inside commit together, or none do (an exception rolls back).

        The write lock is taken at the start (BEGIN IMMEDIATE), so a read inside
        sees what no other writer can change before the commit.
        """
        with self._pool.hold() as connection:
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


class ReadMemo:
    """Reads of rarely-changed rows that many pages ask for at once, each kept for `seconds`.

    With 30 students every sidebar asks for its class's current lesson and caps
    several times per page and the lesson watcher asks again every 3 s; each
    was a query or two that waits for the GIL behind 30 script threads. A
    write made in this process calls `forget()`, so its own change shows on
    the next read; a change from another process (the CLI, a second server)
    shows within `seconds`. Values are shared, so they must be immutable
    (frozen dataclasses, tuples).
    """

    def __init__(self, seconds: float = MEMO_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.seconds, self.clock = seconds, clock
        self._values: dict = {}  # key -> (read at, value)
        self._generation = 0  # counts forget()s: a read that overlapped one is not kept
        self._lock = threading.Lock()

    def get(self, key, read: Callable[[], object]):
        """The value under `key` if read less than `seconds` ago, else `read()` (then kept)."""
        now = self.clock()
        with self._lock:
            hit, generation = self._values.get(key), self._generation
        if hit is not None and now - hit[0] < self.seconds:
            return hit[1]
        value = read()
        with self._lock:
            if generation == self._generation:
                self._values[key] = (now, value)
        return value

    def forget(self) -> None:
        """Drop every kept value (after a write, so that the next read sees it)."""
        with self._lock:
            self._values.clear()
            self._generation += 1


_MEMOS: dict[str, ReadMemo] = {}  # database location -> its memo, shared by every handle on it


def read_memo(db) -> ReadMemo:
    """The process-wide ReadMemo of the database `db` is a handle on (SQLite path or PostgreSQL URL)."""
    location = getattr(db, "url", None) or os.path.realpath(db.path)
    with _OPEN_LOCK:
        return _MEMOS.setdefault(location, ReadMemo())


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
