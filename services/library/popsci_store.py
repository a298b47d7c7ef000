"""Popular-science sharing against the store: providers (``popsci_providers``: the hash of
each credential), items (``popsci_items``: pending, published or rejected, each with its review
and its TV placements, a map by the id of the event each caused, which waits in the item's outbox), and the usage of digital
resources (``digital_usage``: one counter document per resource and per provider;
``digital_readers``: one row per reader of each, so a reader counts once however often they
read). Files are in the ``digital`` GridFS bucket (``digital_store``)."""
from __future__ import annotations

from datetime import datetime

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common import outbox
from services.common.storage import merge_updates
from services.library.popsci import PENDING
from services.library.store import DIGITAL_READERS, DIGITAL_USAGE, POPSCI_ITEMS, POPSCI_PROVIDERS, TITLES

# ---- providers ----------------------------------------------------------------------------


def add_provider(db: Database, provider_id: str, name: str, key_hash: str, now: datetime, replace: bool) -> bool:
    """A provider with its credential (the key's hash); False when it exists and ``replace``
    was not asked (with ``replace`` the new key replaces the old, a revoked provider comes back)."""
    if replace:
        db[POPSCI_PROVIDERS].update_one({"_id": provider_id}, {
            "$set": {"name": name, "key_hash": key_hash, "revoked_at": None, "key_at": now.isoformat()},
            "$setOnInsert": {"created_at": now.isoformat()}}, upsert=True)
        return True
    try:
        db[POPSCI_PROVIDERS].insert_one({"_id": provider_id, "name": name, "key_hash": key_hash, "revoked_at": None,
                                         "created_at": now.isoformat(), "key_at": now.isoformat()})
    except DuplicateKeyError:
        return False
    return True


def revoke_provider(db: Database, provider_id: str, now: datetime) -> bool:
    """The credential stops working and its hash is forgotten; False when there was none to revoke."""
    return db[POPSCI_PROVIDERS].update_one({"_id": provider_id, "revoked_at": None}, {
        "$set": {"revoked_at": now.isoformat(), "key_hash": None}}).modified_count == 1


def provider(db: Database, provider_id: str) -> dict | None:
    return db[POPSCI_PROVIDERS].find_one({"_id": provider_id})


def providers(db: Database, limit: int = 1000) -> list[dict]:
    return list(db[POPSCI_PROVIDERS].find({}, {"key_hash": 0}).limit(limit))


# ---- items --------------------------------------------------------------------------------

def insert_item(db: Database, item: dict) -> None:
    db[POPSCI_ITEMS].insert_one(item)


def item(db: Database, item_id: str) -> dict | None:
    return db[POPSCI_ITEMS].find_one({"_id": item_id})


def items_by_status(db: Database, status: str, limit: int) -> list[dict]:
    """Oldest first: the queue is worked in the order uploads came."""
    return list(db[POPSCI_ITEMS].find({"status": status}).sort("uploaded_at", 1).limit(limit))


def items_of(db: Database, provider_id: str, limit: int = 1000) -> list[dict]:
    return list(db[POPSCI_ITEMS].find({"provider": provider_id}, {"status": 1}).limit(limit))


def decide(db: Database, item_id: str, status: str, review: dict) -> bool:
    """The item leaves the queue (published or rejected) if it still waits; False otherwise
    (another editor decided first)."""
    return db[POPSCI_ITEMS].update_one({"_id": item_id, "status": PENDING},
                                       {"$set": {"status": status, "review": review}}).modified_count == 1


def mark_title(db: Database, title_id: str, part: dict) -> None:
    """The catalogue title of a published item says whose it is (its usage counts for the provider)."""
    db[TITLES].update_one({"_id": title_id}, {"$set": {"popsci": part}})


def add_placement(db: Database, item_id: str, placement: dict, event: dict) -> bool:
    """A broadcast of the item and the event that tells the TV guide, in one write."""
    return db[POPSCI_ITEMS].update_one({"_id": item_id}, merge_updates(
        # a map, not an array: the embedded store keeps a document pushed to an array as its JSON text
        {"$set": {f"tv.{event['id']}": placement}}, outbox.record(event))).modified_count == 1


# ---- usage --------------------------------------------------------------------------------

def count_use(db: Database, title: dict, reader: str | None, *, borrows: int = 0, plays: int = 0) -> None:
    """Count a borrow or a play of a digital resource, for it and for its provider; the reader
    counts once per resource and once per provider (the first row inserted adds one)."""
    provider_id = (title.get("popsci") or {}).get("provider")
    targets = [(title["_id"], {"kind": "resource", "provider": provider_id, "title": title.get("title", ""),
                               "media": title["digital"]["kind"]})]
    if provider_id:
        targets.append((f"provider|{provider_id}", {"kind": "provider", "provider": provider_id}))
    for usage_id, fields in targets:
        new_reader = 0
        if reader:
            try:
                db[DIGITAL_READERS].insert_one({"_id": f"{usage_id}|{reader}"})
                new_reader = 1
            except DuplicateKeyError:
                pass
        db[DIGITAL_USAGE].update_one({"_id": usage_id}, {
            "$set": fields, "$inc": {"borrows": borrows, "plays": plays, "unique_readers": new_reader}}, upsert=True)


def usage(db: Database, kind: str, provider_id: str | None = None, limit: int = 1000) -> list[dict]:
    query = {"kind": kind, **({"provider": provider_id} if provider_id else {})}
    return list(db[DIGITAL_USAGE].find(query).limit(limit))
