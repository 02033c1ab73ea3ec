"""The storage interface on both backends, SQLite and PostgreSQL: same SQL, same answers."""
import threading

import pytest

from mnist_core.database import DATABASE_URL_ENV, DatabaseError, IntegrityError, open_database

SCHEMA = ["CREATE TABLE items (id {serial_id}, name TEXT NOT NULL UNIQUE, n INTEGER NOT NULL DEFAULT 0,"
          " score DOUBLE PRECISION)",
          "ALTER TABLE items ADD COLUMN note TEXT"]


@pytest.fixture
def db(database):
    database.migrate("items", SCHEMA)
    return database


def test_migrations_run_once(database):
    assert database.migrate("items", SCHEMA[:1]) == 1
    assert database.migrate("items", SCHEMA[:1]) == 0
    assert database.migrate("items", SCHEMA) == 1
    database.execute("INSERT INTO items (name, note) VALUES (?, ?)", ("a", "the new column"))
    assert database.query_one("SELECT note FROM items")["note"] == "the new column"


def test_placeholders_bind_values_and_rows_are_dicts(db):
    db.execute("INSERT INTO items (name, n, score) VALUES (?, ?, ?)", ("a'; DROP TABLE items; --", 3, 0.5))
    assert db.query("SELECT name, n, score FROM items") == [
        {"name": "a'; DROP TABLE items; --", "n": 3, "score": 0.5}]
    assert db.query("SELECT name FROM items WHERE name LIKE 'a%'") == [{"name": "a'; DROP TABLE items; --"}]
    assert db.query_one("SELECT n FROM items WHERE name = ?", ("nobody",)) is None
    assert db.execute("UPDATE items SET n = n + 1") == 1


def test_serial_ids_and_returning(db):
    first = db.query_one("INSERT INTO items (name) VALUES (?) RETURNING id", ("a",))["id"]
    second = db.query_one("INSERT INTO items (name) VALUES (?) RETURNING id", ("b",))["id"]
    assert second == first + 1


def test_on_conflict_and_integrity_errors(db):
    db.execute("INSERT INTO items (name, n) VALUES (?, ?)", ("ada", 1))
    db.execute("INSERT INTO items (name, n) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET n = items.n + 1",
               ("ada", 1))
    assert db.query_one("SELECT n FROM items WHERE name = 'ada'")["n"] == 2
    with pytest.raises(IntegrityError, match="refused"):
        db.execute("INSERT INTO items (name) VALUES (?)", ("ada",))


def test_a_transaction_commits_all_or_nothing(db):
    with db.transaction() as tx:
        tx.execute("INSERT INTO items (name) VALUES (?)", ("one",))
        tx.execute("INSERT INTO items (name) VALUES (?)", ("two",))
    with pytest.raises(IntegrityError):
        with db.transaction() as tx:
            tx.execute("INSERT INTO items (name) VALUES (?)", ("three",))
            tx.execute("INSERT INTO items (name) VALUES (?)", ("one",))
    with pytest.raises(DatabaseError, match="nested"):
        with db.transaction():
            with db.transaction():
                pass
    assert [r["name"] for r in db.query("SELECT name FROM items ORDER BY id")] == ["one", "two"]


def test_read_then_write_from_threads_loses_no_increment(db):
    db.execute("INSERT INTO items (name, n) VALUES ('counter', 0)")

    def add(times):
        for _ in range(times):
            with db.transaction() as tx:
                n = tx.query_one("SELECT n FROM items WHERE name = 'counter'")["n"]
                tx.execute("UPDATE items SET n = ? WHERE name = 'counter'", (n + 1,))

    threads = [threading.Thread(target=add, args=(25,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.query_one("SELECT n FROM items WHERE name = 'counter'")["n"] == 100


def test_a_bad_statement_is_a_database_error(db):
    with pytest.raises(DatabaseError, match="Database error"):
        db.query("SELECT nothing FROM nowhere")


def test_the_url_chooses_postgresql_and_hides_the_password(postgres_url, monkeypatch, tmp_path):
    monkeypatch.setenv(DATABASE_URL_ENV, postgres_url)
    db = open_database(tmp_path)
    assert db.dialect == "postgresql" and db.query_one("SELECT 1 AS one") == {"one": 1}
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://teacher:s3cret@127.0.0.1:1/lab")
    with pytest.raises(DatabaseError) as caught:
        open_database(tmp_path)
    assert "cannot be reached" in str(caught.value) and "s3cret" not in str(caught.value)


def test_threads_reuse_pooled_connections_and_never_share_one_at_a_time(db):
    opened = []
    pool = db._pool
    original = pool._open
    pool._open = lambda: opened.append(1) or original()
    in_use, clashes = set(), []
    guard = threading.Lock()

    def page_load(i):  # as Streamlit does: every script run in a new thread
        with pool.borrow() as connection:
            with guard:
                clashes.extend([1] if id(connection) in in_use else [])
                in_use.add(id(connection))
            db.execute("INSERT INTO items (name) VALUES (?)", (f"n{i}",))  # nested borrow: another connection
            with guard:
                in_use.discard(id(connection))

    for round_ in range(3):
        threads = [threading.Thread(target=page_load, args=(10 * round_ + i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not clashes  # a connection served one thread at a time
    assert len(opened) <= 8  # 12 threads x 2 statements, yet at most the pool's 8 new connections
    assert db.query_one("SELECT COUNT(*) AS c FROM items")["c"] == 12


def test_statements_inside_a_transaction_use_its_connection(db):
    with db.transaction() as tx:
        tx.execute("INSERT INTO items (name) VALUES (?)", ("inside",))
        # The same thread's plain statement joins the transaction (it sees the uncommitted row)...
        assert db.query_one("SELECT COUNT(*) AS c FROM items WHERE name = 'inside'")["c"] == 1
        seen_elsewhere = []
        other = threading.Thread(target=lambda: seen_elsewhere.append(
            db.query_one("SELECT COUNT(*) AS c FROM items WHERE name = 'inside'")["c"]))
        other.start()
        other.join()
        assert seen_elsewhere == [0]  # ...another thread's does not, until the commit
    assert db.query_one("SELECT COUNT(*) AS c FROM items WHERE name = 'inside'")["c"] == 1
