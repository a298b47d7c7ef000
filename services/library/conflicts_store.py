"""Conflicts against the store: what a kiosk or self-check machine did that could not be
applied, kept for staff (open until settled), one per event (its id is the conflict's id).
Each carries the paging keys of its status (``conflicts.keys``), set again by the write that
changes its status; a resolution and its audit entry are one write."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

import pymongo
from pymongo.database import Database

from services.common.errors import Conflict, NotFound
from services.common.storage import once
from services.library import conflicts
from services.library.store import CONFLICTS, COPIES, LOAN_HISTORY, PATRONS

MOST_LOANS = 500   # loans of one copy read to find those around a conflict


def add(db: Database, conflict: dict) -> None:
    """Kept once: the same event again (a redelivery) finds its conflict there."""
    try:
        db[CONFLICTS].insert_one({**conflict, **conflicts.keys(conflict)})
    except pymongo.errors.DuplicateKeyError:
        pass


def open_of_item(db: Database, barcode: str) -> Iterable[dict]:
    # the item's notes by its barcode (indexed), each settled by _id (``settle``): an
    # update_many, or a read of every open note, scans on the embedded store
    return db[CONFLICTS].find({"barcode": barcode, "status": "open"}).limit(100)


def settle(db: Database, conflict_id: str, resolution: str, by: str = "system", action: str | None = None,
           at: datetime | None = None) -> bool:
    """Resolved, saying how and who, with its audit entry, in one write; False when it was not open."""
    found = db[CONFLICTS].find_one({"_id": conflict_id, "status": "open"})
    if found is None:
        return False
    at = at or datetime.now(timezone.utc)
    resolved = {**found, "status": "resolved"}
    return db[CONFLICTS].update_one({"_id": conflict_id, "status": "open"}, {
        "$set": {"status": "resolved", "resolution": resolution, **conflicts.keys(resolved),
                 "resolved": {"by": by, "at": at.astimezone(timezone.utc).isoformat(), "action": action},
                 **conflicts.trail_entry(at, by, action, resolution)}}).modified_count == 1


def resolve(db: Database, conflict_id: str, action: str, note: str, by: str, at: datetime) -> dict:
    """Staff settle an open conflict (what they did, what they found, who they are): audited.
    NotFound for an unknown id, Conflict when it is resolved already (nothing changes)."""
    if not settle(db, conflict_id, note, by, action, at):
        if db[CONFLICTS].find_one({"_id": conflict_id}, {"_id": 1}) is None:
            raise NotFound(f"no conflict {conflict_id}")
        raise Conflict("this conflict is resolved already")
    return get(db, conflict_id)


def get(db: Database, conflict_id: str) -> dict:
    found = db[CONFLICTS].find_one({"_id": conflict_id})
    if found is None:
        raise NotFound(f"no conflict {conflict_id}")
    return found


def page(db: Database, where: conflicts.PageRange, after: str | None, limit: int) -> tuple[list[dict], str | None]:
    """A page of conflicts from the cursor, oldest first: one range of one indexed field
    (``conflicts.page_range``); the cursor of the next page, None at the end."""
    found = list(db[CONFLICTS].find(where.query(after)).sort(where.field, 1).limit(limit + 1))
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1][where.field] if more else None)


def open_by_kiosk(db: Database) -> dict[str, int]:
    """How many conflicts are open, by the kiosk (or machine) they came from: an indexed
    match, then a group."""
    return {row["_id"]: row["n"] for row in db[CONFLICTS].aggregate([
        {"$match": {"status": "open"}}, {"$group": {"_id": "$kiosk_id", "n": {"$sum": 1}}}])}


def loans_of_copy(db: Database, barcode: str) -> tuple[dict | None, list[dict]]:
    """The copy (its current loan) and its ended loans in the loan history (by barcode, indexed)."""
    copy = db[COPIES].find_one({"_id": barcode}, {"loan": 1, "status": 1, "location": 1, "title_id": 1,
                                                 "state_at": 1})
    return copy, list(db[LOAN_HISTORY].find({"barcode": barcode}).limit(MOST_LOANS))


def cards_of(db: Database, patron_ids: list[str]) -> dict[str, str]:
    """{patron id: card number} for these patrons (by _id: fast on every store)."""
    return {p["_id"]: p["card_number"] for p in db[PATRONS].find({"_id": {"$in": patron_ids}}, {"card_number": 1})}


def key_pages(db: Database) -> int | None:
    """Once per database (a build of the ``Store``): the paging keys of conflicts kept before
    them, or before the filters' keys."""
    def build() -> int:
        done = 0
        for c in db[CONFLICTS].find({"kind_place_key": {"$exists": False}}).limit(1_000_000):
            db[CONFLICTS].update_one({"_id": c["_id"]}, {"$set": conflicts.keys(c)})
            done += 1
        return done
    return once(db, "conflict_filter_keys", build)
