"""Patrons' actions against the store: blocks, PINs (set at a desk or in the app, checked at
self-check machines) and patron types, each change audited by the same write."""
from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime

from eventlet import tpool
from pymongo.database import Database

from services.common import clock, passwords
from services.common.errors import BadInput, Conflict, NotFound
from services.library import patrons, patrons_store, pins
from services.library.reads import known_patron_types

log = logging.getLogger(__name__)


# ---- blocks -----------------------------------------------------------------------------

_BLOCK_ID = re.compile(r"[0-9a-z-]{1,40}")


def block_patron(db: Database, *, resident_id: str, reason: str, by: str, at: datetime | None = None) -> str:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise BadInput("a block needs a reason (at most 500 characters)")
    patron = patrons_store.with_blocks_map(db, patrons_store.by_id(db, resident_id))
    block_id = uuid.uuid4().hex[:12]
    patrons_store.add_block(db, patron["_id"], block_id, {
        "reason": reason.strip(), "by": str(by), "kind": "manual", "at": (at or clock.now()).isoformat()})
    return block_id


def unblock_patron(db: Database, *, resident_id: str, block_id: str) -> None:
    if not isinstance(block_id, str) or not _BLOCK_ID.fullmatch(block_id):
        raise BadInput("not a block id")
    patron = patrons_store.with_blocks_map(db, patrons_store.by_id(db, resident_id))
    if not patrons_store.lift_block(db, patron["_id"], block_id):   # a wrong id must not look like a lifted block
        raise NotFound(f"the patron has no block {block_id}")


# ---- PINs and patron types ------------------------------------------------------------------

def set_pin(db: Database, *, resident_id: str, pin: str, by: str, at: datetime | None = None) -> dict:
    """A new PIN (by the resident in the app, or by staff at a desk), stored hashed; it lifts
    a PIN block and forgets earlier wrong guesses. The PIN itself is never logged."""
    problem = pins.pin_problem(pin)
    if problem:
        raise BadInput(problem)
    at = at or clock.now()
    patron = patrons_store.with_audit_map(db, patrons_store.by_id(db, resident_id))
    record = tpool.execute(passwords.hash_secret, pin)  # an OS thread: green threads keep running
    patrons_store.set_pin_hash(db, patron["_id"], record, patrons.audit_entry(at, by, "pin_set"))
    log.info("patron %s: PIN set by %s", patron["_id"], str(by)[:64])
    return patrons.public_view(patrons_store.by_id(db, resident_id))


def check_pin(db: Database, patron: dict, pin: str, at: datetime | None = None) -> pins.PinCheck:
    """Check a PIN typed at a machine against the patron's hash (constant time); count wrong
    ones, and block PIN entry after too many (see ``pins``)."""
    at = at or clock.now()
    if not patron.get("pin_hash"):
        return pins.PinCheck(pins.NOT_SET)
    if pins.is_locked(patron.get("pin_block")):
        return pins.PinCheck(pins.LOCKED)
    until = pins.blocked_until(patron.get("pin_block"), at)
    if until is not None:
        return pins.PinCheck(pins.BLOCKED, until)
    if not pin:
        return pins.PinCheck(pins.EMPTY)  # nothing typed: no guess to count
    if tpool.execute(passwords.matches, str(pin), patron["pin_hash"]):
        if patron.get("pin_failures"):
            patrons_store.forget_pin_failures(db, patron["_id"])
        return pins.PinCheck(pins.OK)
    failures = patrons_store.add_pin_failure(db, patron["_id"], at)
    if not pins.should_block(failures, at):
        return pins.PinCheck(pins.WRONG)
    block = pins.new_block(at, "sip2", patron.get("pin_blocks_seen"))
    patrons_store.block_pin(db, patron["_id"], block, at)
    log.warning("patron %s: PIN entry blocked until %s (%s)", patron["_id"], block["until"] or "a new PIN is set",
                block["reason"])
    if pins.is_locked(block):
        return pins.PinCheck(pins.LOCKED)
    return pins.PinCheck(pins.WRONG, pins.blocked_until(block, at))


def set_patron_type(db: Database, *, resident_id: str, patron_type: str, by: str, at: datetime | None = None) -> dict:
    """Staff set a patron's type (child, senior...: the loan rules choose by it), audited."""
    known = known_patron_types(db)
    if patron_type not in known:
        raise BadInput(f"unknown patron type {patron_type!r}: the loan rules know {', '.join(known)}")
    if not isinstance(by, str) or not by.strip():
        raise BadInput("say who sets the patron type")
    at = at or clock.now()
    patron = patrons_store.with_audit_map(db, patrons_store.by_id(db, resident_id))
    before = patron.get("patron_type")
    if before != patron_type and not patrons_store.set_type(
            db, patron["_id"], before, patron_type,
            patrons.audit_entry(at, by, "patron_type", before=before, after=patron_type)):
        raise Conflict("the patron's type was changed meanwhile; look again")
    return patrons.public_view(patrons_store.by_id(db, resident_id))
