"""Conflicts against the store: what a kiosk or self-check machine did that could not be
applied, kept for staff (open until settled), one per event (its id is the conflict's id)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

import pymongo
from pymongo.database import Database

from services.common import outbox
from services.common.errors import Conflict, NotFound
from services.common.storage import once
from services.library.store import CONFLICTS

STATUSES = ("open", "resolved")


def page_key(conflict: dict) -> str:
    """What the staff's pages range over (one indexed field): its status, then when it
    happened, then its id."""
    return f"{conflict['status']}|{conflict.get('at') or conflict['event'].get('time', '')}|{conflict['_id']}"


def add(db: Database, conflict: dict) -> None:
    """Kept once: the same event again (a redelivery) finds its conflict there."""
    try:
        db[CONFLICTS].insert_one({**conflict, "page_key": page_key(conflict)})
    except pymongo.errors.DuplicateKeyError:
        pass


def open_of_item(db: Database, barcode: str) -> Iterable[dict]:
    # the item's notes by its barcode (indexed), each settled by _id (``settle``): an
    # update_many, or a read of every open note, scans on the embedded store
    return db[CONFLICTS].find({"barcode": barcode, "status": "open"}).limit(100)


def settle(db: Database, conflict_id: str, resolution: str, by: str = "system") -> bool:
    """Resolved, saying how and who (audited); False when it was not open."""
    found = db[CONFLICTS].find_one({"_id": conflict_id, "status": "open"})
    if found is None:
        return False
    at = datetime.now(timezone.utc).isoformat()
    resolved = {**found, "status": "resolved"}
    return db[CONFLICTS].update_one({"_id": conflict_id, "status": "open"}, {
        "$set": {"status": "resolved", "resolution": resolution, "page_key": page_key(resolved),
                 "resolved": {"by": by, "at": at}},
        "$push": {"audit": {"$each": [f"{at} {by}: {resolution}"[:600]], "$slice": -50}}}).modified_count == 1


def resolve(db: Database, conflict_id: str, resolution: str, by: str) -> dict:
    """Staff settle an open conflict (what they found, who they are): audited."""
    if not settle(db, conflict_id, resolution, by):
        if db[CONFLICTS].find_one({"_id": conflict_id}, {"_id": 1}) is None:
            raise NotFound(f"no conflict {conflict_id}")
        raise Conflict("this conflict is resolved already")
    return view(db[CONFLICTS].find_one({"_id": conflict_id}))


def view(conflict: dict) -> dict:
    """A conflict as staff see it (without the outbox's fields nor the paging key)."""
    return {k: v for k, v in conflict.items() if k not in outbox.FIELDS and k != "page_key"}


def page(db: Database, status: str, after: str | None, limit: int) -> tuple[list[dict], str | None]:
    """A page of one status's conflicts, oldest first, from the cursor: one range of one
    indexed field (``page_key``), as the staff queue pages."""
    found = list(db[CONFLICTS].find({"page_key": {"$gt": after or f"{status}|", "$lt": f"{status}|\uffff"}})
                 .sort("page_key", 1).limit(limit + 1))
    more = len(found) > limit
    found = found[:limit]
    return [view(c) for c in found], (found[-1]["page_key"] if more else None)


def key_pages(db: Database) -> int | None:
    """Once per database (a build of the ``Store``): paging keys for conflicts kept before them."""
    def build() -> int:
        done = 0
        for c in db[CONFLICTS].find({"page_key": {"$exists": False}}).limit(1_000_000):
            db[CONFLICTS].update_one({"_id": c["_id"]}, {"$set": {"page_key": page_key(c)}})
            done += 1
        return done
    return once(db, "conflict_page_keys", build)
