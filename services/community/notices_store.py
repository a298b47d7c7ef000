"""Residents' notices against the store (the notice id is the id of the event it tells of)."""
from __future__ import annotations

import pymongo
from pymongo.database import Database

from services.common.arguments import page_limit
from services.community.notices import Notice
from services.community.store import NOTICES

MAX_READ = 200


def add(db: Database, event_id: str, resident_id: str, case_id: str | None, notice: Notice, at: str) -> None:
    try:  # the notice id is the event id: applying the event twice stores one notice
        db[NOTICES].insert_one({
            "_id": event_id, "resident_id": resident_id, "case_id": case_id, "kind": notice.kind,
            "title": notice.title, "body": notice.body, "created_at": at, "read": False})
    except pymongo.errors.DuplicateKeyError:
        pass


def of_resident(db: Database, resident_id: str, limit: int) -> list[dict]:
    """A resident's notices, newest first."""
    found = db[NOTICES].find({"resident_id": resident_id}).sort("created_at", -1)
    return [_view(n) for n in found.limit(page_limit(limit, MAX_READ))]


def _view(notice: dict) -> dict:
    # read as a bool whichever store wrote it (the embedded one gives a stored true back as 1)
    return {k: v for k, v in notice.items() if k != "_id"} | {"notice_id": notice["_id"],
                                                               "read": bool(notice.get("read"))}


def mark_read(db: Database, resident_id: str, notice_id: str, at: str) -> dict | None:
    """Mark one of the resident's notices read (once: the first reading's time is kept); the
    notice, or None when the resident has no such notice."""
    db[NOTICES].update_one({"_id": notice_id, "resident_id": resident_id, "read": False},
                           {"$set": {"read": True, "read_at": at}})
    found = db[NOTICES].find_one({"_id": notice_id})
    if found is None or found.get("resident_id") != resident_id:
        return None
    return _view(found)
