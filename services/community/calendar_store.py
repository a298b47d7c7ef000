"""The working-day calendar as the operator loaded it, cached briefly in each process."""
from __future__ import annotations

import time

from pymongo.database import Database

from services.community import calendar_source, store, workdays

CACHE_SECONDS = 30.0
_cache: dict[str, tuple[float, workdays.WorkingCalendar]] = {}


def load(db: Database) -> workdays.WorkingCalendar:
    key = f"{db.client.address}/{db.name}"
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    calendar = workdays.WorkingCalendar(calendar_source.from_document(d) for d in db[store.CALENDAR].find())
    _cache[key] = (time.monotonic(), calendar)
    return calendar


def save(db: Database, schedule: workdays.YearSchedule) -> None:
    doc = calendar_source.to_document(schedule)
    db[store.CALENDAR].replace_one({"_id": doc["_id"]}, doc, upsert=True)
    _cache.clear()
