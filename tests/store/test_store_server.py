"""The schema reads ``infra/store_server.py`` keeps for nx-27017: kept while the schema stays,
read again once anything (this connection or another) creates, drops or renames, and never
kept inside a transaction, whose rollback would bring a schema version back."""
import sqlite3

import pytest

from infra.store_server import kept_per_schema


class Tables:
    """A schema read of the kind nx-27017 repeats, counting how often SQLite is asked."""

    def __init__(self, db):
        self.db = db
        self.asked = 0

    def names(self):
        self.asked += 1
        return sorted(row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'"))


Tables.names = kept_per_schema(Tables.names, lambda tables: tables.db)


@pytest.fixture
def connect(tmp_path):
    opened = []

    def connect():
        db = sqlite3.connect(tmp_path / "store.db", isolation_level=None)   # autocommit, as neosqlite
        db.execute("PRAGMA journal_mode=WAL")
        opened.append(db)
        return db
    yield connect
    for db in opened:
        db.close()


def test_a_schema_read_is_kept_until_the_schema_changes(connect):
    db = connect()
    tables = Tables(db)
    assert tables.names() == [] and tables.names() == [] and tables.asked == 1
    db.execute("CREATE TABLE a (x)")
    assert tables.names() == ["a"] and tables.asked == 2
    db.execute("CREATE INDEX a_x ON a (x)")           # any schema change asks again
    tables.names()
    assert tables.asked == 3
    db.execute("ALTER TABLE a RENAME TO b")
    assert tables.names() == ["b"]
    db.execute("DROP TABLE b")
    assert tables.names() == []


def test_another_connections_change_is_seen(connect):
    db, other = connect(), connect()
    tables = Tables(db)
    assert tables.names() == []
    other.execute("CREATE TABLE made_elsewhere (x)")
    assert tables.names() == ["made_elsewhere"]


def test_inside_a_transaction_it_reads_afresh_and_a_rollback_leaves_nothing_stale(connect):
    db = connect()
    tables = Tables(db)
    db.execute("CREATE TABLE a (x)")
    assert tables.names() == ["a"]
    db.execute("BEGIN")
    db.execute("CREATE TABLE rolled_back (x)")
    assert tables.names() == ["a", "rolled_back"]
    db.execute("ROLLBACK")
    db.execute("CREATE TABLE c (x)")       # the schema version the rolled-back one had, again
    assert tables.names() == ["a", "c"]


def test_a_caller_changing_the_answer_does_not_change_what_is_kept(connect):
    tables = Tables(connect())
    tables.names().append("junk")
    assert tables.names() == []


def test_the_store_log_keeps_no_line_per_command():
    import logging

    from infra.store_server import is_not_per_command

    def record(message):
        return logging.LogRecord("nx_27017", logging.INFO, __file__, 1, message, None, None)
    for per_command in ("Command response: response_keys=['ok']",
                        "Calling db.command with: {'count': 'residents', 'query': {'id_number': '310101...'}}",
                        "NeoSQLite returned: ['ok']"):
        assert not is_not_per_command(record(per_command))
    for kept in ("Listening on 127.0.0.1:27017 (threaded mode)", "Accepted connection from ('127.0.0.1', 5)"):
        assert is_not_per_command(record(kept))
