"""Run the embedded store (nx-27017) with strings compared as strings, as MongoDB does.

nx-27017 0.8.1, through neosqlite, takes a string that begins like a date (``2024-01-01``,
``01/15/2024`` ...) for a date: a find, update or delete compares it with SQLite's
``datetime()``. A longer string, say a course ``2026-09-01-math`` or a key ``2026-01-05|x``,
then matches nothing, since ``datetime()`` of it is NULL; equal dates written two ways match.
Started through this script, the store treats only real dates (BSON datetimes, ``$date``) as
dates. ``tests/store/test_store_behaviour.py`` checks whichever store ``MONGO_URI`` names.

Run as a script by ``infra/embedded_store.py``: it needs nothing of the suite's own.
"""
from __future__ import annotations

import datetime
import sys
from typing import Any

from neosqlite.collection import datetime_utils


def is_datetime_value(value: Any) -> bool:
    """A real date, or a document holding one; never a string."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return True
    if isinstance(value, dict):
        return "$date" in value or any(is_datetime_value(v) for v in value.values())
    return False


def main() -> None:
    # neosqlite's callers import the check from this module each time they use it.
    datetime_utils.is_datetime_value = is_datetime_value
    from nx_27017.nx_27017 import main as serve
    sys.argv[0] = "nx-27017"
    serve()


if __name__ == "__main__":
    main()
