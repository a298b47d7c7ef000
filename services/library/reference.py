"""Reference data that circulation reads for every kiosk event (locations, loan rules, title
names), kept in this process for a few seconds.

A kiosk event used to read all three from the store each time: three of its eleven store
round trips (bench/RESULTS.md). They change rarely and only by an operator; a change made
through this process's own RPCs takes effect at once here (``forget``), and in other library
processes within ``REFERENCE_TTL`` seconds. Only what was found is kept: a missing location
is looked up again next time.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Hashable, TypeVar

from pymongo.database import Database

T = TypeVar("T")

TTL = float(os.environ.get("REFERENCE_TTL", "5"))
MAX_ENTRIES = 10_000   # titles are the many; a district catalogue's hot set fits
_kept: dict[tuple, tuple[float, object]] = {}


def cached(db: Database, kind: str, key: Hashable, load: Callable[[], T]) -> T:
    """``load()``, or what it gave for (database, kind, key) less than TTL seconds ago. A
    ``None`` result is not kept."""
    slot = (db.name, kind, key)
    now = time.monotonic()
    hit = _kept.get(slot)
    if hit is not None and hit[0] > now:
        return hit[1]  # type: ignore[return-value]
    value = load()
    if value is not None and TTL > 0:
        if len(_kept) >= MAX_ENTRIES:
            _kept.clear()  # simplest bound: everything reloads once
        _kept[slot] = (now + TTL, value)
    return value


def warm(db: Database, kind: str, keys, load_many: Callable[[list], dict]) -> None:
    """Keep what ``load_many(keys not kept)`` finds ({key: value}), in one call: a batch's
    reference data read at once rather than one miss at a time."""
    now = time.monotonic()
    wanted = [k for k in dict.fromkeys(keys) if (hit := _kept.get((db.name, kind, k))) is None or hit[0] <= now]
    if not wanted or TTL <= 0:
        return
    found = load_many(wanted)
    if len(_kept) + len(found) >= MAX_ENTRIES:
        _kept.clear()
    for key, value in found.items():
        _kept[(db.name, kind, key)] = (now + TTL, value)


def forget(db: Database, kind: str) -> None:
    """Drop what is kept of ``kind`` for this database (after this process changed it)."""
    for slot in [s for s in _kept if s[0] == db.name and s[1] == kind]:
        del _kept[slot]
