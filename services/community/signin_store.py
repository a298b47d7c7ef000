"""Residents' sign-in codes, their rate counts and portal sessions against the store.

- ``signin_codes``: ``_id`` = the mobile number, ``salt``, ``digest`` (never the code),
  ``tries``, ``sent_at``, ``expires_at``.
- ``signin_counts``: ``_id`` = "to:<number>|<hour>" or "from:<address>|<hour>", ``n``,
  ``expires_at``: codes sent in that hour.
- ``resident_sessions``: ``_id`` = sha256 of the session id, ``resident_id``, ``via``,
  ``created_at``, ``seen_at``, ``idle_until``, ``expires_at``.
"""
from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.database import Database

from services.common.storage import before
from services.community.store import RESIDENT_SESSIONS, SIGNIN_CODES, SIGNIN_COUNTS

PURGE_BATCH = 500


def last_sent(db: Database, phone: str) -> str | None:
    doc = db[SIGNIN_CODES].find_one({"_id": phone}, {"sent_at": 1})
    return doc.get("sent_at") if doc else None


def count(db: Database, key: str, expires_at: str) -> int:
    """Add one to a rate count; the count now (atomic under concurrent sends)."""
    doc = db[SIGNIN_COUNTS].find_one_and_update({"_id": key}, {"$inc": {"n": 1}, "$set": {"expires_at": expires_at}},
                                                upsert=True, return_document=ReturnDocument.AFTER)
    return int(doc["n"])


def save_challenge(db: Database, challenge: dict) -> None:
    """The number's new code replaces any earlier one."""
    db[SIGNIN_CODES].replace_one({"_id": challenge["_id"]}, challenge, upsert=True)


def drop_challenge(db: Database, phone: str) -> None:
    db[SIGNIN_CODES].delete_one({"_id": phone})


def try_code(db: Database, phone: str) -> dict | None:
    """Count one more try of the number's code; the stored code with this try counted."""
    return db[SIGNIN_CODES].find_one_and_update({"_id": phone}, {"$inc": {"tries": 1}},
                                                return_document=ReturnDocument.AFTER)


def spend(db: Database, phone: str, digest: str) -> bool:
    """Use the code up; True for the one caller that did (two tries of a good code at once
    sign in once)."""
    return db[SIGNIN_CODES].delete_one({"_id": phone, "digest": digest}).deleted_count == 1


def open_session(db: Database, session: dict) -> None:
    db[RESIDENT_SESSIONS].insert_one(session)


def session(db: Database, key: str) -> dict | None:
    return db[RESIDENT_SESSIONS].find_one({"_id": key})


def touch_session(db: Database, key: str, fields: dict) -> None:
    db[RESIDENT_SESSIONS].update_one({"_id": key}, {"$set": fields})


def close_session(db: Database, key: str) -> bool:
    return db[RESIDENT_SESSIONS].delete_one({"_id": key}).deleted_count == 1


def close_sessions_of(db: Database, resident_id: str) -> int:
    """Every session of a resident (sign out everywhere), one by one by ``_id``."""
    keys = [s["_id"] for s in db[RESIDENT_SESSIONS].find({"resident_id": resident_id}, {"_id": 1}).limit(1000)]
    return sum(db[RESIDENT_SESSIONS].delete_one({"_id": k}).deleted_count for k in keys)


def purge(db: Database, now: str) -> None:
    """Codes, counts and sessions past their expiry, a batch of each."""
    for name in (SIGNIN_CODES, SIGNIN_COUNTS, RESIDENT_SESSIONS):
        for doc in before(db[name], "expires_at", now, PURGE_BATCH):
            db[name].delete_one({"_id": doc["_id"]})
