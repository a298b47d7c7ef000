"""Open311 clients, the requests they submitted, and the public list of requests, against
the store.

- ``open311_clients``: ``_id`` = client name, ``key_hash``, ``created_at``.
- ``open311_requests``: ``_id`` = case id, ``client``, ``service_code``, ``token``: which
  client submitted a request, and the token it was given.
- the public list reads ``cases`` by ``submitted_at`` (a range on one indexed field, newest
  first), keeping the requests of public matters.
"""
from __future__ import annotations

import logging

import pymongo
from pymongo.database import Database

from services.common.errors import Conflict
from services.community import cases_store, open311
from services.community.store import CASES, OPEN311_CLIENTS, OPEN311_REQUESTS

log = logging.getLogger(__name__)

# what a request view reads of a case: nothing of the resident
VIEW_FIELDS = {"number": 1, "matter_code": 1, "matter_name": 1, "handling_committee": 1, "accepting_desk": 1,
               "status": 1, "submitted_at": 1, "deadline": 1, "trail": 1}


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
    """Keep which client submitted the new request, and its token. The case is stored
    already: a failure here is logged, not answered (a retry would submit it twice); the
    request stays readable by its id, only its token leads nowhere."""
    try:
        db[OPEN311_REQUESTS].insert_one({"_id": case["case_id"], "client": client,
                                         "service_code": case["matter_code"], "token": token})
        return True
    except pymongo.errors.PyMongoError:
        log.exception("open311: case %s stored but its token not kept for client %s", case["case_id"], client)
        return False


def by_token(db: Database, token: str) -> dict | None:
    return db[OPEN311_REQUESTS].find_one({"token": token})


def public_cases_by_ids(db: Database, ids: list[str], public_codes: set[str]) -> list[dict]:
    """The cases of ``ids`` whose matter is public, in the order of ``ids``."""
    found = cases_store.by_ids(db, ids)
    return [found[i] for i in ids if i in found and found[i]["matter_code"] in public_codes]


def public_cases_in_window(db: Database, query: open311.Query, public_codes: set[str]) -> list[dict]:
    """The query's page of requests of public matters submitted in its window, newest first."""
    codes = public_codes & set(query.service_codes) if query.service_codes else public_codes
    if not codes:
        return []
    skip, out = (query.page - 1) * query.page_size, []
    window = {"$gte": open311.stamp_text(query.start), "$lte": open311.stamp_text(query.end)}
    for case in db[CASES].find({"submitted_at": window}, VIEW_FIELDS).sort("submitted_at", -1).batch_size(500):
        if case["matter_code"] not in codes or not open311.keeps(query, case):
            continue
        if skip:
            skip -= 1
            continue
        out.append(case)
        if len(out) == query.page_size:
            break
    return out
