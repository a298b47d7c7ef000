"""Staff accounts and their console sessions against the store.

- ``staff``: ``_id`` = login, ``name``, ``role``, ``committee``, ``subdistrict``, ``password_hash`` (scrypt with a salt of
  its own, see ``staff.hash_password``), ``active``, ``created_at``.
- ``staff_sessions``: ``_id`` = sha256 of the session id (``staff.session_key``), ``login``,
  ``committee``, ``created_at``, ``expires_at`` (UTC ISO strings). Signing out deletes the
  document: a replayed cookie then finds nothing.
"""
from __future__ import annotations

import pymongo
from pymongo.database import Database

from services.common.errors import Conflict
from services.common.storage import before
from services.community.store import STAFF, STAFF_SESSIONS

PURGE_BATCH = 500


def add(db: Database, account: dict) -> None:
    try:
        db[STAFF].insert_one(account)
    except pymongo.errors.DuplicateKeyError:
        raise Conflict(f"a staff account {account['_id']!r} exists already") from None


def get(db: Database, login: str, fields: dict | None = None) -> dict | None:
    return db[STAFF].find_one({"_id": login}, fields)


def of_committee(db: Database, committee: str) -> list[dict]:
    """A committee's accounts (without their hashes)."""
    return list(db[STAFF].find({"committee": committee}, {"password_hash": 0}).limit(500))


def of_role(db: Database, role: str) -> list[dict]:
    """The accounts of a role bound to no committee (librarians, supervisors; without their
    hashes): a few, read rarely (no index)."""
    return list(db[STAFF].find({"role": role}, {"password_hash": 0}).limit(500))


def set_active(db: Database, login: str, active: bool) -> dict | None:
    """Enable or disable an account (disabling also ends its sessions); the account after
    it, or None when there is none."""
    if db[STAFF].update_one({"_id": login}, {"$set": {"active": active}}).matched_count == 0:
        return None
    if not active:
        for s in db[STAFF_SESSIONS].find({"login": login}, {"_id": 1}).limit(1000):
            db[STAFF_SESSIONS].delete_one({"_id": s["_id"]})
    return db[STAFF].find_one({"_id": login})


def open_session(db: Database, session: dict) -> None:
    db[STAFF_SESSIONS].insert_one(session)


def session(db: Database, key: str) -> dict | None:
    return db[STAFF_SESSIONS].find_one({"_id": key})


def close_session(db: Database, key: str) -> bool:
    """True when there was such a session."""
    return db[STAFF_SESSIONS].delete_one({"_id": key}).deleted_count == 1


def purge_sessions(db: Database, now: str) -> None:
    """Remove sessions expired by ``now`` (a ``staff.stamp``), a batch at a time."""
    for s in before(db[STAFF_SESSIONS], "expires_at", now, PURGE_BATCH):
        db[STAFF_SESSIONS].delete_one({"_id": s["_id"]})


def link_identity(db: Database, login: str, identity: str) -> dict | None:
    """Link an account to an identity of the district's identity provider; the account, or
    None when there is none. Conflict when another account holds the identity."""
    try:   # update_one: the embedded store reports a unique index's refusal there, not in findAndModify
        if db[STAFF].update_one({"_id": login}, {"$set": {"identity": identity}}).matched_count == 0:
            return None
    except pymongo.errors.DuplicateKeyError:
        raise Conflict("another staff account is linked to this identity") from None
    return db[STAFF].find_one({"_id": login})


def by_identity(db: Database, identity: str) -> dict | None:
    return db[STAFF].find_one({"identity": identity})
