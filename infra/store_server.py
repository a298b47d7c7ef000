"""Run the embedded store (nx-27017) with strings compared as strings, as MongoDB does.

nx-27017 0.8.1, through neosqlite, takes a string that begins like a date (``2024-01-01``,
``01/15/2024`` ...) for a date: a find, update or delete compares it with SQLite's
``datetime()``. A longer string, say a course ``2026-09-01-math`` or a key ``2026-01-05|x``,
then matches nothing, since ``datetime()`` of it is NULL; equal dates written two ways match.
Started through this script, the store treats only real dates (BSON datetimes, ``$date``) as
dates. ``tests/store/test_store_behaviour.py`` checks whichever store ``MONGO_URI`` names.

The script also remembers what the store asks SQLite about its own schema: which collections
exist, a collection's indexes and its ``_id`` column. nx-27017 asks again on every find and
insert: a profile of the dashboard put over half of its command handling there, and kept,
its CPU per dashboard falls by about a fifth (``bench/RESULTS.md``). An answer is kept until
SQLite's schema version changes (any create, drop or rename, by any connection), and only
outside a transaction, where that version is the committed one and never goes back.

Run as a script by ``infra/embedded_store.py``: it needs nothing of the suite's own.
"""
from __future__ import annotations

import datetime
import functools
import logging
import sys
from typing import Any, Callable

from neosqlite import connection as neo_connection
from neosqlite.collection import Collection, datetime_utils, index_manager


def is_datetime_value(value: Any) -> bool:
    """A real date, or a document holding one; never a string."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return True
    if isinstance(value, dict):
        return "$date" in value or any(is_datetime_value(v) for v in value.values())
    return False


def kept_per_schema(read: Callable, sqlite_of: Callable) -> Callable:
    """``read`` (a method that only reads the schema), its answers kept on the object until
    the schema version changes. Inside a transaction it reads afresh: there the version
    counts uncommitted changes, and a rolled-back one would bring a number back."""
    @functools.wraps(read)
    def kept(self, *args: Any, **kwargs: Any) -> Any:
        sqlite = sqlite_of(self)
        if sqlite.in_transaction:
            return read(self, *args, **kwargs)
        version = sqlite.execute("PRAGMA schema_version").fetchone()[0]
        memo = self.__dict__.get("_kept_per_schema")
        if memo is None or memo[0] != version:
            memo = (version, {})
            self.__dict__["_kept_per_schema"] = memo
        key = (read.__name__, args, tuple(sorted(kwargs.items())))
        if key not in memo[1]:
            memo[1][key] = read(self, *args, **kwargs)
        answer = memo[1][key]
        return list(answer) if isinstance(answer, list) else answer   # callers may change a list
    return kept


def keep_schema_reads() -> None:
    """The schema reads nx-27017 repeats on every command, kept per schema version."""
    neo_connection.Connection.list_collection_names = kept_per_schema(
        neo_connection.Connection.list_collection_names, lambda conn: conn.db)
    index_manager.IndexManager.list_indexes = kept_per_schema(
        index_manager.IndexManager.list_indexes, lambda manager: manager.collection.db)
    Collection._id_column = property(kept_per_schema(Collection._id_column.fget, lambda coll: coll.db))


# nx-27017 logs these at INFO for every command it answers (the threaded server), or for
# every command it has no handler of its own for (ping, count, ...: with the command whole)
PER_COMMAND = ("Command response", "Calling db.command with", "NeoSQLite returned")


def is_not_per_command(record: logging.LogRecord) -> bool:
    """Not a line logged per command: with a health probe every few seconds, those make a log
    without end for a store that runs for months, and a whole command may carry personal data."""
    return not record.getMessage().startswith(PER_COMMAND)


def main() -> None:
    # neosqlite's callers import the check from this module each time they use it.
    datetime_utils.is_datetime_value = is_datetime_value
    keep_schema_reads()
    logging.getLogger("nx_27017").addFilter(is_not_per_command)
    from nx_27017.nx_27017 import main as serve
    sys.argv[0] = "nx-27017"
    serve()


if __name__ == "__main__":
    main()
