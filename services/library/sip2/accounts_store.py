"""SIP2 accounts against the store: one document per login (``_id``)."""
from __future__ import annotations

import pymongo
from pymongo.database import Database

from services.library.store import SIP2_ACCOUNTS


def find(db: Database, login: str) -> dict | None:
    return db[SIP2_ACCOUNTS].find_one({"_id": login})


def put(db: Database, login: str, fields: dict) -> None:
    """Add the account, or replace its fields."""
    db[SIP2_ACCOUNTS].update_one({"_id": login}, {"$set": fields}, upsert=True)


def add(db: Database, login: str, fields: dict) -> bool:
    """Add the account; False when one of that login exists already (it is left as it is)."""
    try:
        db[SIP2_ACCOUNTS].insert_one({"_id": login, **fields})
    except pymongo.errors.DuplicateKeyError:
        return False
    return True
