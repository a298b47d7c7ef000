"""Holds against the store. A hold waits in its title's queue (``queue`` = the title while it
waits, ordered by ``queue_key``); once a copy is set aside for it the copy is the truth and
the hold's document follows it (``follow_copy``). Holds that ended stay, closed."""
from __future__ import annotations

import pymongo
from pymongo.database import Database

from services.library.circulation import CURRENT_HOLDS, ON_HOLD_SHELF
from services.library.store import HOLDS


def get(db: Database, hold_id: str) -> dict | None:
    return db[HOLDS].find_one({"_id": hold_id})


def of_patron(db: Database, patron_id: str, hold_id: str) -> dict | None:
    """The hold, if it is this patron's."""
    return db[HOLDS].find_one({"_id": str(hold_id), "patron": patron_id})


def current_on(db: Database, patron_id: str, title_id: str, digital: bool = False) -> dict | None:
    """The patron's current hold on the title (its ``_id`` only), chosen by the store: a
    patron's past holds (they stay) must not hide a current one. A title's print and digital
    editions have queues of their own (``digital``)."""
    return db[HOLDS].find_one({"patron": patron_id, "title_id": str(title_id), "status": {"$in": list(CURRENT_HOLDS)},
                               "digital": True if digital else {"$ne": True}}, {"_id": 1})


def current_of(db: Database, patron_id: str, limit: int) -> list[dict]:
    """A patron's current holds, chosen by the store: their past holds must not crowd them out."""
    return list(db[HOLDS].find({"patron": patron_id, "status": {"$in": list(CURRENT_HOLDS)}}).limit(limit))


def first_waiting(db: Database, title_id: str) -> dict | None:
    return db[HOLDS].find_one({"queue": title_id}, sort=[("queue_key", pymongo.ASCENDING)])


def others_waiting(db: Database, title_id: str, except_patron: str | None = None) -> bool:
    """Whether someone besides ``except_patron`` waits for the title."""
    for hold in db[HOLDS].find({"queue": title_id}).limit(50):
        if hold["patron"] != except_patron:
            return True
    return False


def queue_length(db: Database, title_id: str) -> int:
    return len(list(db[HOLDS].find({"queue": title_id}, {"_id": 1}).limit(1000)))


def position(db: Database, hold: dict) -> int | None:
    """Where a waiting hold stands in its title's queue (1: next); None once it has left it."""
    if hold.get("queue") is None:
        return None
    # counted by the store (an indexed equality and range), not read key by key
    ahead = db[HOLDS].aggregate([{"$match": {"queue": hold["queue"], "queue_key": {"$lt": hold["queue_key"]}}},
                                 {"$count": "n"}])
    return next(ahead, {"n": 0})["n"] + 1


def add(db: Database, hold: dict) -> None:
    db[HOLDS].insert_one(hold)


def follow_copy(db: Database, hold_id: str, copy_after: dict) -> None:
    """The copy (written first) is the truth; the hold's document follows it."""
    ready = copy_after["status"] == ON_HOLD_SHELF
    db[HOLDS].update_one({"_id": hold_id}, {"$set": {
        "status": "ready" if ready else "in_transit", "queue": None, "barcode": copy_after["_id"],
        "expires": copy_after["hold"].get("expires")}})


def close(db: Database, hold_id: str, status: str) -> None:
    """The hold ended (fulfilled, cancelled, expired): it leaves its title's queue."""
    db[HOLDS].update_one({"_id": hold_id}, {"$set": {"status": status, "queue": None}})
