"""Teachers' and pupils' sign-in codes, their wrong-try counts, their sessions, teachers'
identity links and guardians' consent, against the store.

- ``school_codes``: ``_id`` = the code's SHA-256, ``user_id``, ``role``, ``issued_by``,
  ``issued_at``, ``expires_at``.
- ``school_code_counts``: ``_id`` = "from:<address>|<hour>", ``n``, ``expires_at``.
- ``school_sessions``: ``_id`` = SHA-256 of the session id, ``user_id``, ``role``, ``via``
  (code, oidc, guardian), ``guardian`` (the resident who opened a child's view), times.
- ``school_identities``: ``_id`` = "<issuer>|<subject>", ``teacher_id``.
- consent: ``consent`` {``by``: resident id, ``at``} on the pupil's roster record.
"""
from __future__ import annotations

import pymongo
from pymongo import ReturnDocument
from pymongo.database import Database

from services.common.storage import before
from services.elearning.schoolbag import USERS

CODES = "school_codes"
COUNTS = "school_code_counts"
SESSIONS = "school_sessions"
IDENTITIES = "school_identities"

_EXPIRY = pymongo.IndexModel([("expires_at", 1)], name="expiry")   # the hourly purge's range
INDEXES = {
    CODES: [pymongo.IndexModel([("user_id", 1)], name="user"), _EXPIRY],
    COUNTS: [_EXPIRY],
    SESSIONS: [pymongo.IndexModel([("user_id", 1)], name="user"), _EXPIRY],
}
PURGE_BATCH = 500


def save_code(db: Database, record: dict) -> None:
    """The person's new code replaces their earlier ones."""
    for old in db[CODES].find({"user_id": record["user_id"]}, {"_id": 1}).limit(20):
        db[CODES].delete_one({"_id": old["_id"]})
    db[CODES].insert_one(record)


def code(db: Database, digest: str) -> dict | None:
    return db[CODES].find_one({"_id": digest})


def spend_code(db: Database, digest: str) -> bool:
    """True for the one caller that used the code up (two tries at once sign in once)."""
    return db[CODES].delete_one({"_id": digest}).deleted_count == 1


def count_wrong(db: Database, key: str, expires_at: str) -> int:
    doc = db[COUNTS].find_one_and_update({"_id": key}, {"$inc": {"n": 1}, "$set": {"expires_at": expires_at}},
                                         upsert=True, return_document=ReturnDocument.AFTER)
    return int(doc["n"])


def wrong_so_far(db: Database, key: str) -> int:
    doc = db[COUNTS].find_one({"_id": key})
    return int(doc["n"]) if doc else 0


def open_session(db: Database, session: dict) -> None:
    db[SESSIONS].insert_one(session)


def session(db: Database, key: str) -> dict | None:
    return db[SESSIONS].find_one({"_id": key})


def touch_session(db: Database, key: str, fields: dict) -> None:
    db[SESSIONS].update_one({"_id": key}, {"$set": fields})


def close_session(db: Database, key: str) -> bool:
    return db[SESSIONS].delete_one({"_id": key}).deleted_count == 1


def close_sessions_of(db: Database, user_id: str) -> int:
    keys = [s["_id"] for s in db[SESSIONS].find({"user_id": user_id}, {"_id": 1}).limit(1000)]
    return sum(db[SESSIONS].delete_one({"_id": k}).deleted_count for k in keys)


def link_identity(db: Database, issuer: str, subject: str, teacher_id: str) -> None:
    db[IDENTITIES].replace_one({"_id": f"{issuer}|{subject}"}, {"_id": f"{issuer}|{subject}",
                                                                "teacher_id": teacher_id}, upsert=True)


def linked_teacher(db: Database, issuer: str, subject: str) -> str | None:
    doc = db[IDENTITIES].find_one({"_id": f"{issuer}|{subject}"})
    return doc["teacher_id"] if doc else None


def set_consent(db: Database, student_id: str, consent: dict | None) -> None:
    change = {"$set": {"consent": consent}} if consent else {"$unset": {"consent": ""}}
    db[USERS].update_one({"_id": student_id}, change)


def user(db: Database, user_id: str) -> dict | None:
    return db[USERS].find_one({"_id": user_id})


def purge(db: Database, now: str) -> None:
    """Codes, counts and sessions past their expiry, a batch of each."""
    for name in (CODES, COUNTS, SESSIONS):
        for doc in before(db[name], "expires_at", now, PURGE_BATCH):
            db[name].delete_one({"_id": doc["_id"]})
