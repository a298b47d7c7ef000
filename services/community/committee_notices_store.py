"""Committees' notices (the console's inbox) against the store: one per event and committee
(its id is ``<event id>:<committee>``, so applying the event twice stores one), read state."""
from __future__ import annotations

import pymongo
from pymongo.database import Database

from services.community.committee_notices import CommitteeNotice
from services.community.store import COMMITTEE_NOTICES

MAX_READ = 100


def add(db: Database, event_id: str, notice: CommitteeNotice, at: str, *, resident_id: str | None = None,
        case_id: str | None = None) -> None:
    try:
        db[COMMITTEE_NOTICES].insert_one({
            "_id": f"{event_id}:{notice.committee}", "committee": notice.committee, "kind": notice.kind,
            "title": notice.title, "body": notice.body, "resident_id": resident_id, "case_id": case_id,
            "created_at": at, "read": False})
    except pymongo.errors.DuplicateKeyError:
        pass


def of_committee(db: Database, committee: str, limit: int) -> list[dict]:
    """A committee's notices, newest first."""
    found = db[COMMITTEE_NOTICES].find({"committee": committee}).sort("created_at", -1).limit(min(limit, MAX_READ))
    return [_view(n) for n in found]


def mark_read(db: Database, committee: str, notice_id: str, by: str, at: str) -> dict | None:
    """Mark one of the committee's notices read (the first reading is kept); the notice, or
    None when the committee has no such notice."""
    db[COMMITTEE_NOTICES].update_one({"_id": notice_id, "committee": committee, "read": False},
                                     {"$set": {"read": True, "read_at": at, "read_by": by}})
    found = db[COMMITTEE_NOTICES].find_one({"_id": notice_id})
    if found is None or found.get("committee") != committee:
        return None
    return _view(found)


def _view(n: dict) -> dict:
    # read as a bool whichever store wrote it (the embedded one gives a stored true back as 1)
    return {k: v for k, v in n.items() if k != "_id"} | {"notice_id": n["_id"], "read": bool(n.get("read"))}
