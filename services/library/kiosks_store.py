"""Kiosks against the store: their status (online while heard from), open faults, repairs."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from pymongo import ReturnDocument
from pymongo.database import Database

from services.common import clock
from services.common.inbox import Applied, apply_once
from services.library.store import KIOSK_HOURS, KIOSKS

MOST = 1000   # kiosks listed or looked at in one call


def seen(db: Database, kiosk_id: str, at: datetime, interval_seconds: int | None, *,
         skew_seconds: float | None = None, counts: dict | None = None) -> dict:
    """The kiosk was heard from at ``at``: online, and the newest time wins; with how far its
    clock ran ahead, when it did, and what became of its events since the last write (counts
    by outcome). Returns its open faults and heartbeat interval."""
    update = {"$max": {"last_seen": at.astimezone(timezone.utc).isoformat()},
              "$set": {"status": "online"}}
    if interval_seconds:
        update["$set"]["interval_seconds"] = interval_seconds
    if skew_seconds is not None:
        update["$set"]["clock_skew"] = {"seconds": round(skew_seconds), "at": at.astimezone(timezone.utc).isoformat()}
    if counts:
        update["$inc"] = {f"events.{outcome}": n for outcome, n in counts.items()}
    heard(db, kiosk_id)
    return db[KIOSKS].find_one_and_update(
        {"_id": kiosk_id}, update, {"open_faults": 1, "interval_seconds": 1}, upsert=True,
        return_document=ReturnDocument.AFTER)


def open_fault(db: Database, kiosk_id: str, code: str, update: dict, event_id: str) -> Applied:
    """Open the fault (``kiosks.open_fault``) once per event, unless it is open already (MISSING then)."""
    return apply_once(db[KIOSKS], {"_id": kiosk_id, f"open_faults.{code}": {"$exists": False}}, update, event_id)


def count_fault(db: Database, kiosk_id: str, update: dict, event_id: str) -> Applied:
    """Count one more report of an open fault (``kiosks.repeated_fault``), once per event."""
    return apply_once(db[KIOSKS], {"_id": kiosk_id}, update, event_id)


def clear_fault(db: Database, kiosk_id: str, code: str, by: str, at: datetime) -> bool:
    """Whether the kiosk had this fault open (and it is marked repaired now)."""
    result = db[KIOSKS].update_one({"_id": kiosk_id, f"open_faults.{code}": {"$exists": True}},
                                   {"$unset": {f"open_faults.{code}": ""},
                                    "$set": {"last_repair": {"code": code, "by": by, "at": at.isoformat()}}})
    return result.matched_count > 0


def find(db: Database, kiosk_id: str) -> dict | None:
    return db[KIOSKS].find_one({"_id": kiosk_id}, {"_id": 1, "status": 1})


def listed(db: Database) -> Iterable[dict]:
    return db[KIOSKS].find().sort("_id").limit(MOST)


def online(db: Database) -> Iterable[dict]:
    return db[KIOSKS].find({"status": "online"}).limit(MOST)


def mark_offline(db: Database, kiosk_id: str, last_seen: str | None) -> None:
    """Offline, unless it was heard from since ``last_seen`` was read."""
    db[KIOSKS].update_one({"_id": kiosk_id, "last_seen": last_seen}, {"$set": {"status": "offline"}})


_heard: dict[tuple[str, str], str] = {}   # (database, kiosk): the hour this process last wrote


def heard(db: Database, kiosk_id: str) -> None:
    """The kiosk was heard from in this hour of the library's clock (not the event's: a buffer
    replayed after an outage says nothing of the hours it was away): its uptime counts hours
    heard. Written with the first status write of each hour in this process."""
    hour = clock.now().isoformat()[:13]
    if _heard.get((db.name, kiosk_id)) == hour:
        return
    _heard[(db.name, kiosk_id)] = hour
    db[KIOSK_HOURS].update_one({"_id": f"{kiosk_id}|{hour}"}, {"$set": {"kiosk": kiosk_id, "hour": hour}},
                               upsert=True)
