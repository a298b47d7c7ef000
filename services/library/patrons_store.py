"""Patrons (library card holders) against the store: the serials of new cards, reads by
resident id or card, and the writes of registrations, moves, blocks, PINs and patron types."""
from __future__ import annotations

from datetime import datetime

from eventlet.semaphore import Semaphore
from pymongo import ReturnDocument
from pymongo.database import Database

from services.common.errors import NotFound
from services.common.inbox import Applied, apply_once
from services.library import patrons, pins
from services.library.store import COUNTERS, PATRONS

CARD_SERIAL_BLOCK = 100


class CardSerials:
    """Serials for new library cards, handed out from blocks this process reserves with one
    atomic ``$inc`` on the shared counter: one store round trip per hundred new patrons, not
    one each (a residents import waits on the library making patrons). Each process has
    blocks of its own, so serials stay unique; those left in a block when the process stops
    are never used: card numbers are unique, not contiguous."""

    def __init__(self, block: int = CARD_SERIAL_BLOCK):
        self.block = block
        self._lock = Semaphore()
        # (client, database name) -> [next, last, client]: the client is kept so that its id is
        # never another's (a process has one client per store; tests have several)
        self._blocks: dict[tuple, list] = {}

    def next(self, db: Database) -> int:
        key = (id(db.client), db.name)
        with self._lock:
            span = self._blocks.get(key)
            if span is None or span[0] > span[1]:
                last = db[COUNTERS].find_one_and_update({"_id": "card"}, {"$inc": {"seq": self.block}}, upsert=True,
                                                        return_document=ReturnDocument.AFTER)["seq"]
                span = self._blocks[key] = [last - self.block + 1, last, db.client]
            span[0] += 1
            return span[0] - 1


card_serials = CardSerials()


# ---- reads ------------------------------------------------------------------------------

def find(db: Database, resident_id: str) -> dict | None:
    return db[PATRONS].find_one({"_id": str(resident_id)})


def by_id(db: Database, resident_id: str) -> dict:
    doc = find(db, resident_id)
    if doc is None:
        raise NotFound(f"no library card for resident {resident_id}")
    return doc


def find_by_card(db: Database, card_number: str) -> dict | None:
    return db[PATRONS].find_one({"card_number": str(card_number)})


def by_card(db: Database, card_number: str) -> dict:
    doc = find_by_card(db, card_number)
    if doc is None:
        raise NotFound("no patron with this library card")
    return doc


def by_ids(db: Database, resident_ids: list[str]) -> dict[str, dict]:
    """The patrons of these residents that exist, by resident id (one query by ``_id``)."""
    return {d["_id"]: d for d in db[PATRONS].find({"_id": {"$in": resident_ids}})}


# ---- registrations and moves ----------------------------------------------------------------

def add_once(db: Database, resident_id: str, fields: dict, event_id: str) -> Applied:
    """One write: a patron already there (a redelivery, or registered before) keeps its
    card, and the serial taken for it is simply never used."""
    return apply_once(db[PATRONS], {"_id": resident_id}, {"$setOnInsert": fields}, event_id, upsert=True)


def home_since(db: Database, resident_id: str) -> dict | None:
    """The patron with only ``home_since`` (None: no patron yet)."""
    return db[PATRONS].find_one({"_id": resident_id}, {"home_since": 1})


def move_home(db: Database, resident_id: str, known_since: str | None, update: dict, event_id: str) -> Applied:
    """A move applied once, unless ``home_since`` changed since it was read (MISSING then)."""
    return apply_once(db[PATRONS], {"_id": resident_id, "home_since": known_since}, update, event_id)


# ---- blocks -----------------------------------------------------------------------------

def add_block(db: Database, patron_id: str, block_id: str, block: dict) -> None:
    db[PATRONS].update_one({"_id": patron_id}, {"$set": {f"blocks.{block_id}": block}})


def lift_block(db: Database, patron_id: str, block_id: str) -> bool:
    """Whether the patron had this block (and it is lifted now)."""
    lifted = db[PATRONS].update_one({"_id": patron_id, f"blocks.{block_id}": {"$exists": True}},
                                    {"$unset": {f"blocks.{block_id}": ""}})
    return lifted.matched_count > 0


def with_blocks_map(db: Database, patron: dict) -> dict:
    """Patrons stored before blocks were a map have a list (or null) there: `$set blocks.<id>`
    on it fails on MongoDB and is silently ignored by the embedded store. Turn it into the map
    once; the filter on its old shape keeps a concurrent block from being overwritten."""
    if "blocks" not in patron or isinstance(patron["blocks"], dict):
        return patron
    shape = {"$type": "array"} if isinstance(patron["blocks"], list) else None
    as_map = patrons.blocks_map(patron["blocks"])
    db[PATRONS].update_one({"_id": patron["_id"], "blocks": shape}, {"$set": {"blocks": as_map}})
    return {**patron, "blocks": as_map}


# ---- PINs, patron types, audits ---------------------------------------------------------------

def with_audit_map(db: Database, patron: dict) -> dict:
    """``$set audit.<id>`` needs a map there: patrons made before audits get an empty one."""
    if isinstance(patron.get("audit"), dict):
        return patron
    db[PATRONS].update_one({"_id": patron["_id"], "audit": {"$exists": False}}, {"$set": {"audit": {}}})
    return {**patron, "audit": {}}


def set_pin_hash(db: Database, patron_id: str, record: str, audit: dict) -> None:
    """A new PIN lifts a PIN block and forgets earlier wrong guesses, audited by the same write."""
    db[PATRONS].update_one({"_id": patron_id}, {
        "$set": {"pin_hash": record, **audit},
        "$unset": {"pin_failures": "", "pin_block": "", "pin_blocks_seen": ""}})


def forget_pin_failures(db: Database, patron_id: str) -> None:
    db[PATRONS].update_one({"_id": patron_id}, {"$unset": {"pin_failures": ""}})


def add_pin_failure(db: Database, patron_id: str, at: datetime) -> list | None:
    """Count a wrong PIN; the wrong PINs recorded now (the latest ``pins.ATTEMPTS``)."""
    db[PATRONS].update_one({"_id": patron_id}, {
        "$push": {"pin_failures": {"$each": [at.isoformat()], "$slice": -pins.ATTEMPTS}}})
    return (db[PATRONS].find_one({"_id": patron_id}, {"pin_failures": 1}) or {}).get("pin_failures")


def block_pin(db: Database, patron_id: str, block: dict, at: datetime) -> None:
    db[PATRONS].update_one({"_id": patron_id}, {
        "$set": {"pin_block": block}, "$unset": {"pin_failures": ""},
        "$push": {"pin_blocks_seen": {"$each": [at.isoformat()], "$slice": -pins.LOCK_AFTER_BLOCKS}}})


def set_type(db: Database, patron_id: str, before: str | None, after: str, audit: dict) -> bool:
    """Whether the type was still ``before`` (and is ``after`` now, audited by the same write)."""
    result = db[PATRONS].update_one({"_id": patron_id, "patron_type": before},
                                    {"$set": {"patron_type": after, **audit}})
    return result.matched_count > 0
