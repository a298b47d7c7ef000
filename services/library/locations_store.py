"""Library locations (libraries, branches, kiosks) against the store: what circulation reads
for every action, kept a few seconds in this process (``reference``)."""
from __future__ import annotations

from pymongo.database import Database

from contracts.rpc.library import LocationV1
from services.common.errors import BadInput
from services.library import reference
from services.library.store import LOCATIONS


def find(db: Database, code: str) -> dict | None:
    """The location as stored now (not the kept one)."""
    return db[LOCATIONS].find_one({"_id": code})


def by_code(db: Database, code: str) -> dict:
    """A location circulation acts at (kept for a few seconds); BadInput for an unknown one."""
    doc = reference.cached(db, LOCATIONS, str(code), lambda: find(db, str(code)))
    if doc is None:
        raise BadInput(f"unknown library location {code!r}")
    return doc


def every(db: Database, most: int = 1000) -> list[dict]:
    """Every location, by code (a district has tens of them; 300 kiosks at the most)."""
    return list(db[LOCATIONS].find().sort("_id").limit(most))


def put(db: Database, locations: list[LocationV1]) -> None:
    """Add or replace locations by code; this process reads them anew at once."""
    for loc in locations:
        db[LOCATIONS].update_one({"_id": loc.code}, {"$set": loc.model_dump(exclude={"code"})}, upsert=True)
    reference.forget(db, LOCATIONS)
