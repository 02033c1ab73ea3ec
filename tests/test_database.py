"""The storage module: WAL mode, migrations once, transactions all-or-nothing, threads and processes."""
import multiprocessing
import sqlite3
import threading

import pytest

from mnist_core.database import (DATABASE_FILE, DATABASE_URL_ENV, Database, DatabaseError, IntegrityError,
                                 ReadMemo, database_location, open_database, read_memo)

SCHEMA = ["CREATE TABLE items (id {serial_id}, name TEXT NOT NULL UNIQUE, n INTEGER NOT NULL DEFAULT 0)",
          "ALTER TABLE items ADD COLUMN note TEXT"]


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "test.sqlite3")
    database.migrate("items", SCHEMA)
    return database


def test_the_file_is_in_wal_mode(tmp_path):
    database = Database(tmp_path / "x.sqlite3")
    assert database.query_one("PRAGMA journal_mode")["journal_mode"] == "wal"
    # A plain sqlite3 connection opened later sees WAL too: the mode is stored in the file.
    assert sqlite3.connect(tmp_path / "x.sqlite3").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_run_once_and_new_steps_are_appended(tmp_path):
    path = tmp_path / "m.sqlite3"
    assert Database(path).migrate("items", SCHEMA[:1]) == 1
    again = Database(path)  # as after a server restart
    assert again.migrate("items", SCHEMA[:1]) == 0
    assert again.migrate("items", SCHEMA) == 1  # only the new ALTER TABLE step
    columns = [row["name"] for row in again.query("PRAGMA table_info(items)")]
    assert columns == ["id", "name", "n", "note"]
    assert again.migrate("other", ["CREATE TABLE other (x TEXT)"]) == 1  # components are independent


def test_query_returns_dicts_and_placeholders_bind_values(db):
    db.execute("INSERT INTO items (name, n) VALUES (?, ?)", ("a'; DROP TABLE items; --", 3))
    assert db.query("SELECT name, n FROM items") == [{"name": "a'; DROP TABLE items; --", "n": 3}]
    assert db.query_one("SELECT n FROM items WHERE name = ?", ("nobody",)) is None
    assert db.execute("UPDATE items SET n = n + 1") == 1


def test_serial_ids_count_up_and_returning_gives_them(db):
    first = db.query_one("INSERT INTO items (name) VALUES (?) RETURNING id", ("a",))["id"]
    second = db.query_one("INSERT INTO items (name) VALUES (?) RETURNING id", ("b",))["id"]
    assert second == first + 1


def test_a_unique_rule_is_an_integrity_error_with_a_sentence(db):
    db.execute("INSERT INTO items (name) VALUES (?)", ("ada",))
    with pytest.raises(IntegrityError, match="refused"):
        db.execute("INSERT INTO items (name) VALUES (?)", ("ada",))
    assert isinstance(IntegrityError("x"), DatabaseError)


def test_a_transaction_commits_all_or_nothing(db):
    with db.transaction() as tx:
        tx.execute("INSERT INTO items (name) VALUES (?)", ("one",))
        tx.execute("INSERT INTO items (name) VALUES (?)", ("two",))
    with pytest.raises(ZeroDivisionError):
        with db.transaction() as tx:
            tx.execute("INSERT INTO items (name) VALUES (?)", ("three",))
            1 / 0
    with pytest.raises(IntegrityError):
        with db.transaction() as tx:
            tx.execute("INSERT INTO items (name) VALUES (?)", ("four",))
            tx.execute("INSERT INTO items (name) VALUES (?)", ("one",))
    assert [r["name"] for r in db.query("SELECT name FROM items ORDER BY id")] == ["one", "two"]


def test_transactions_do_not_nest(db):
    with db.transaction():
        with pytest.raises(DatabaseError, match="nested"):
            with db.transaction():
                pass


def test_a_bad_statement_is_a_database_error_not_a_sqlite_one(db):
    with pytest.raises(DatabaseError, match="Database error"):
        db.query("SELECT nothing FROM nowhere")


def test_threads_each_get_a_connection_and_no_increment_is_lost(db):
    db.execute("INSERT INTO items (name, n) VALUES ('counter', 0)")

    def add(times):
        for _ in range(times):
            with db.transaction() as tx:  # read-modify-write, made safe by BEGIN IMMEDIATE
                n = tx.query_one("SELECT n FROM items WHERE name = 'counter'")["n"]
                tx.execute("UPDATE items SET n = ? WHERE name = 'counter'", (n + 1,))

    threads = [threading.Thread(target=add, args=(50,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.query_one("SELECT n FROM items WHERE name = 'counter'")["n"] == 200


def _add_in_another_process(path, name):
    Database(path).execute("INSERT INTO items (name) VALUES (?)", (name,))


def test_another_process_sees_and_writes_the_same_file(db):
    db.execute("INSERT INTO items (name) VALUES ('parent')")
    child = multiprocessing.get_context("spawn").Process(target=_add_in_another_process,
                                                         args=(str(db.path), "child"))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert {r["name"] for r in db.query("SELECT name FROM items")} == {"parent", "child"}


def test_the_default_location_is_a_file_in_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    assert database_location(tmp_path) == str((tmp_path / DATABASE_FILE).resolve())
    first, second = open_database(tmp_path), open_database(tmp_path)
    assert first is second  # one Database per file, shared by the whole process
    assert (tmp_path / DATABASE_FILE).is_file()


def test_the_url_can_name_another_sqlite_file(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere" / "lab.sqlite3"
    monkeypatch.setenv(DATABASE_URL_ENV, f"sqlite://{target}")
    assert open_database(tmp_path / "runs").path == target
    assert target.is_file()


@pytest.mark.parametrize("url, message", [
    ("postgresql://teacher@127.0.0.1:1/lab", "cannot be reached"),
    ("sqlite://relative.db", "absolute path"),
    ("mysql://x/y", "must start with"),
])
def test_a_url_that_cannot_be_served_says_why(tmp_path, monkeypatch, url, message):
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    with pytest.raises(DatabaseError, match=message):
        open_database(tmp_path)


def test_an_unwritable_folder_is_a_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseError, match="cannot be created"):
        Database(blocker / "sub" / "db.sqlite3")


def test_a_read_memo_reuses_a_value_for_its_seconds_and_forgets_it_after_a_write():
    now = [100.0]
    memo = ReadMemo(seconds=1.0, clock=lambda: now[0])
    reads = []
    read = lambda: reads.append(1) or len(reads)  # noqa: E731  each real read returns a new number
    assert memo.get("k", read) == 1 and memo.get("k", read) == 1 and len(reads) == 1
    now[0] += 1.5  # older than its seconds: read again
    assert memo.get("k", read) == 2
    memo.forget()  # a write in this process: the next read is fresh at once
    assert memo.get("k", read) == 3 and memo.get("other", read) == 4


def test_a_read_that_overlapped_a_forget_is_not_kept():
    memo = ReadMemo(seconds=60.0)
    def slow_read():
        memo.forget()  # a write lands while this read is under way: its value may be the old one
        return "old"
    assert memo.get("k", slow_read) == "old"
    assert memo.get("k", lambda: "new") == "new"


def test_every_handle_on_one_database_shares_one_memo(tmp_path):
    assert read_memo(Database(tmp_path / "a.sqlite3")) is read_memo(Database(tmp_path / "a.sqlite3"))
    assert read_memo(Database(tmp_path / "a.sqlite3")) is not read_memo(Database(tmp_path / "b.sqlite3"))
