"""Staff accounts of the committees and their console sessions (community service RPCs).

Mixed into ``CommunityService`` (which gives ``self.db`` and ``self._committee_exists``).

Collections:

- ``staff``: ``_id`` = login, ``name``, ``committee``, ``password_hash`` (scrypt with a salt of
  its own, see ``hash_password``), ``active``, ``created_at``.
- ``staff_sessions``: ``_id`` = sha256 of the session id (the id itself is stored nowhere, so
  a copy of the database opens no session), ``login``, ``committee``, ``created_at``,
  ``expires_at`` (UTC ISO strings). Signing out deletes the document: a replayed cookie then finds nothing.

Passwords are hashed by the caller that makes them (``suite staff add``), so a new password
crosses no broker and is stored nowhere; signing in sends the typed password to
``staff_verify``, which compares in constant time (an unknown login costs the same scrypt).
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta, timezone

import pymongo
from nameko.timer import timer
from pymongo import ASCENDING, IndexModel

from services.common.errors import BadInput, Conflict, Forbidden, NotFound
from services.common.passwords import check_secret as check_password
from services.common.passwords import dummy_record as _dummy_record
from services.common.passwords import hash_secret, parse_hash
from services.common.rpc import rpc
from services.common.storage import before

log = logging.getLogger(__name__)

STAFF = "staff"
SESSIONS = "staff_sessions"
INDEXES = {
    STAFF: [IndexModel([("committee", ASCENDING)], name="committee")],
    SESSIONS: [IndexModel([("login", ASCENDING)], name="login"),
               IndexModel([("expires_at", ASCENDING)], name="expires_at")],
}

SESSION_HOURS = 8
SESSION_ID_BYTES = 32
LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
PASSWORD_MAX = 256
PURGE_BATCH = 500


# ---- passwords (pure: the suite's one helper, services/common/passwords.py) -------------

def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64url) with a fresh random salt."""
    if not isinstance(password, str) or not 8 <= len(password) <= PASSWORD_MAX:
        raise BadInput(f"a password has 8 to {PASSWORD_MAX} characters")
    return hash_secret(password)


def session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def check_login(login) -> str:
    if not isinstance(login, str) or not LOGIN.match(login):
        raise BadInput("a login is 2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
    return login


def profile(doc: dict) -> dict:
    """A staff member as the gateway sees them (never the hash)."""
    return {"login": doc["_id"], "name": doc["name"], "committee": doc["committee"], "role": "staff",
            "active": bool(doc.get("active", True))}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp(moment: datetime) -> str:
    """UTC, one fixed format: compared and ranged as strings on every store."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- entrypoints -----------------------------------------------------------------------

class StaffEntrypoints:
    """Staff accounts and console sessions; ``store.INDEXES`` includes ``INDEXES``."""

    @rpc
    def staff_add(self, login: str, name: str, committee: str, password_hash: str) -> dict:
        """Add a clerk of ``committee`` with a password hashed by the caller (``hash_password``)."""
        login = check_login(login)
        name = str(name or "").strip()
        if not 1 <= len(name) <= 50:
            raise BadInput("a name has 1 to 50 characters")
        parse_hash(password_hash)
        if not self._committee_exists(str(committee)):
            raise BadInput(f"unknown committee code {committee!r}")
        doc = {"_id": login, "name": name, "committee": str(committee), "password_hash": str(password_hash),
               "active": True, "created_at": _stamp(_now())}
        try:
            self.db[STAFF].insert_one(doc)
        except pymongo.errors.DuplicateKeyError:
            raise Conflict(f"a staff account {login!r} exists already") from None
        return profile(doc)

    @rpc
    def staff_verify(self, login: str, password: str) -> dict:
        """The profile when ``password`` is right for an active account; else Forbidden (the
        same answer, after the same work, whatever was wrong)."""
        refused = Forbidden("wrong login or password")
        if not isinstance(password, str) or len(password) > PASSWORD_MAX:
            raise refused
        doc = None
        if isinstance(login, str) and LOGIN.match(login):
            doc = self.db[STAFF].find_one({"_id": login})
        record = doc["password_hash"] if doc else _dummy_record()
        try:
            matches = check_password(password, record)
        except BadInput:
            log.error("staff account %s has an unusable password hash", login)
            matches = False
        if not (matches and doc is not None and doc.get("active", True)):
            raise refused
        return profile(doc)

    @rpc
    def staff_session_open(self, login: str) -> str:
        """A new session of an active account (call after ``staff_verify``): its id, 32
        random bytes urlsafe, valid for SESSION_HOURS."""
        doc = self.db[STAFF].find_one({"_id": check_login(login)})
        if doc is None or not doc.get("active", True):
            raise Forbidden("no active staff account")
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        now = _now()
        self.db[SESSIONS].insert_one({"_id": session_key(session_id), "login": doc["_id"],
                                      "committee": doc["committee"], "created_at": _stamp(now),
                                      "expires_at": _stamp(now + timedelta(hours=SESSION_HOURS))})
        return session_id

    @rpc
    def staff_session_get(self, session_id: str) -> dict:
        """The profile behind a live session, with ``expires_at``; NotFound when it is
        unknown, closed, expired, or its account is no longer active."""
        gone = NotFound("no such session (signed out or expired)")
        if not isinstance(session_id, str) or not 20 <= len(session_id) <= 100:
            raise gone
        key = session_key(session_id)
        session = self.db[SESSIONS].find_one({"_id": key})
        if session is None:
            raise gone
        if str(session["expires_at"]) <= _stamp(_now()):
            self.db[SESSIONS].delete_one({"_id": key})
            raise gone
        doc = self.db[STAFF].find_one({"_id": session["login"]})
        if doc is None or not doc.get("active", True):
            raise gone
        return {**profile(doc), "expires_at": session["expires_at"]}

    @rpc
    def staff_session_close(self, session_id: str) -> bool:
        """Sign out: the session is deleted (True when there was one)."""
        if not isinstance(session_id, str) or len(session_id) > 100:
            return False
        return self.db[SESSIONS].delete_one({"_id": session_key(session_id)}).deleted_count == 1

    @rpc
    def staff_list(self, committee: str) -> list[dict]:
        """The active clerks of a committee (for assigning a case to a colleague)."""
        if not isinstance(committee, str) or not self._committee_exists(committee):
            # an unknown code would list nobody, as if the committee had no clerks
            raise NotFound(f"no committee {committee!r}")
        found = self.db[STAFF].find({"committee": committee}, {"password_hash": 0}).limit(500)
        return sorted((profile(d) for d in found if d.get("active", True)), key=lambda p: p["login"])

    @rpc
    def staff_set_active(self, login: str, active: bool) -> dict:
        """Enable or disable an account; disabling also ends its sessions."""
        login = check_login(login)
        if not isinstance(active, bool):   # "false" would read as true and keep the account on
            raise BadInput("active is true or false")
        if self.db[STAFF].update_one({"_id": login}, {"$set": {"active": active}}).matched_count == 0:
            raise NotFound(f"no staff account {login!r}")
        if not active:
            for s in self.db[SESSIONS].find({"login": login}, {"_id": 1}).limit(1000):
                self.db[SESSIONS].delete_one({"_id": s["_id"]})
        return profile(self.db[STAFF].find_one({"_id": login}))

    @timer(interval=3600)
    def purge_staff_sessions(self):
        """Expired sessions are refused when presented; this removes the ones never presented again."""
        for s in before(self.db[SESSIONS], "expires_at", _stamp(_now()), PURGE_BATCH):
            self.db[SESSIONS].delete_one({"_id": s["_id"]})
