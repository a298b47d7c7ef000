"""Open311 clients and the requests they submitted, against the store.

- ``open311_clients``: ``_id`` = client name, ``key_hash``, ``created_at``.
- ``open311_requests``: ``_id`` = case id, ``client``, ``service_code``, ``token``,
  ``client_at`` ("<client>|<UTC submitted_at>": what a client's request list is read by, a
  range on one indexed field).
"""
from __future__ import annotations

import logging

import pymongo
from pymongo.database import Database

from services.common.errors import Conflict
from services.community import cases_store, open311
from services.community.store import OPEN311_CLIENTS, OPEN311_REQUESTS

log = logging.getLogger(__name__)

SCAN_MAX = 1000          # request records read at most for one list (then filtered by code and status)


def add_client(db: Database, name: str, key_hash: str, created_at: str) -> None:
    try:
        db[OPEN311_CLIENTS].insert_one({"_id": name, "key_hash": key_hash, "created_at": created_at})
    except pymongo.errors.DuplicateKeyError:
        raise Conflict(f"an Open311 client named {name!r} exists already") from None


def key_hash_of(db: Database, name: str) -> str | None:
    """The stored hash of a client's api key, or None when there is no such client."""
    doc = db[OPEN311_CLIENTS].find_one({"_id": name})
    return doc.get("key_hash") if doc else None


def record(db: Database, client: str, case: dict, token: str) -> bool:
    """Index the new request under its client. The case is stored already: a failure
    here is logged, not answered (a retry would submit it twice); the request stays
    readable by its id, only the client's list misses it."""
    try:
        db[OPEN311_REQUESTS].insert_one({
            "_id": case["case_id"], "client": client, "service_code": case["matter_code"], "token": token,
            "client_at": f"{client}|{open311.utc_key(case['submitted_at'])}"})
        return True
    except pymongo.errors.PyMongoError:
        log.exception("open311: case %s stored but not indexed for client %s", case["case_id"], client)
        return False


def by_token(db: Database, token: str) -> dict | None:
    return db[OPEN311_REQUESTS].find_one({"token": token})


def cases_by_ids(db: Database, client: str, ids: list[str]) -> list[dict]:
    """The cases of ``ids`` that ``client`` submitted, in the order of ``ids``."""
    found = cases_store.by_ids(db, ids)
    return [found[i] for i in ids if i in found and open311.submitted_by(found[i]) == client]


def cases_in_window(db: Database, client: str, query: open311.Query) -> list[dict]:
    """The client's requests in the window, newest first, at most MAX_RESULTS of them."""
    window = {"$gte": f"{client}|{open311.utc_key(query.start)}", "$lte": f"{client}|{open311.utc_key(query.end)}"}
    records = db[OPEN311_REQUESTS].find({"client_at": window}, {"_id": 1, "service_code": 1}).sort(
        "client_at", -1).limit(SCAN_MAX)
    ids = [r["_id"] for r in records
           if not query.service_codes or r.get("service_code") in query.service_codes]
    out: list[dict] = []
    for start in range(0, len(ids), 100):
        chunk = ids[start:start + 100]
        out += [c for c in cases_by_ids(db, client, chunk) if open311.keeps(query, c)]
        if len(out) >= open311.MAX_RESULTS:
            break
    return out[:open311.MAX_RESULTS]
