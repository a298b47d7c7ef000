"""Conflicts against the store: what a kiosk or self-check machine did that could not be
applied, kept for staff (open until settled), one per event (its id is the conflict's id)."""
from __future__ import annotations

from typing import Iterable

import pymongo
from pymongo.database import Database

from services.common import outbox
from services.library.store import CONFLICTS


def add(db: Database, conflict: dict) -> None:
    """Kept once: the same event again (a redelivery) finds its conflict there."""
    try:
        db[CONFLICTS].insert_one(conflict)
    except pymongo.errors.DuplicateKeyError:
        pass


def open_of_item(db: Database, barcode: str) -> Iterable[dict]:
    # the item's notes by its barcode (indexed), each settled by _id (``settle``): an
    # update_many, or a read of every open note, scans on the embedded store
    return db[CONFLICTS].find({"barcode": barcode, "status": "open"}).limit(100)


def settle(db: Database, conflict_id: str, resolution: str) -> None:
    db[CONFLICTS].update_one({"_id": conflict_id, "status": "open"}, {"$set": {
        "status": "resolved", "resolution": resolution}})


def listed(db: Database, status: str, limit: int) -> list[dict]:
    """Conflicts of a status as staff see them (without the outbox's fields)."""
    return [{k: v for k, v in c.items() if k not in outbox.FIELDS}
            for c in db[CONFLICTS].find({"status": status}).limit(limit)]
