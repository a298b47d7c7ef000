"""Cases against the store: reads, the new case with its event, the steps (version-checked,
with their event in the same update), case numbers, the staff queue and the deadline watch."""
from __future__ import annotations

import pymongo
from pymongo.database import Database

from services.common import outbox
from services.common.errors import Conflict
from services.common.storage import diff_update, due_by, merge_updates, once, rekey_due
from services.community import places_store, reports
from services.community.store import CASES, COUNTERS, REFUSED_FORWARDS

# Reads for views leave out what no view shows and what grows: pending events, the applied
# event ids (up to 200).
CASE_FIELDS = {**outbox.HIDDEN, "inbox": 0}


def get(db: Database, case_id: str, fields: dict | None = None) -> dict | None:
    return db[CASES].find_one({"_id": case_id}, fields)


def by_ids(db: Database, ids: list[str]) -> dict[str, dict]:
    """{id: case} of the ids found (``$in`` on ``_id``)."""
    return {c["_id"]: c for c in db[CASES].find({"_id": {"$in": list(ids)}})}


def add(db: Database, case: dict, event: dict | None) -> bool:
    """Store a new case with its event (if any); False when a case of that id is stored already."""
    _figured(db, case)
    try:
        db[CASES].insert_one({**case, **(outbox.pending_fields([event]) if event else {})})
    except pymongo.errors.DuplicateKeyError:
        return False
    return True


def of_resident(db: Database, resident_id: str) -> list[dict]:
    """A resident's latest cases, newest first."""
    # one indexed equality each: `$in` on a non-_id field scans on the embedded store
    return list(db[CASES].find({"resident_id": resident_id}, CASE_FIELDS).sort("submitted_at", -1).limit(100))


def awaiting_calendar(db: Database) -> list[dict]:
    """Cases whose deadline fell in a year with no schedule (a sparse index)."""
    return list(db[CASES].find({"awaiting_calendar": "yes"}).limit(10_000))


def watched_cases(db: Database, by: str, limit: int = 1000) -> list[dict]:
    """What the deadline timer looks at: cases whose deadline is on or before ``by`` and not
    yet raised as overdue (``watch``, a due key: one indexed range)."""
    return due_by(db[CASES], "watch", by, limit, inclusive=True)


def rekey_watch(db: Database) -> None:
    """Once per database (a build of the ``Store``): ``watch`` values an earlier version kept
    as plain dates become due keys."""
    once(db, "due_keys", lambda: rekey_due(db[CASES], "watch"))


def next_number(db: Database, scope: str) -> int:
    """An atomic per-scope sequence (case numbers per desk and day)."""
    doc = db[COUNTERS].find_one_and_update({"_id": scope}, {"$inc": {"seq": 1}}, upsert=True,
                                           return_document=pymongo.ReturnDocument.AFTER)
    return doc["seq"]


def queue_page(db: Database, committee: str, *, status: str | None, matter_code: str | None,
               after: str | None, limit: int) -> tuple[list[dict], str | None]:
    """One page of a committee's queue: a range of the ``queue_key`` index, from the cursor
    (a ``deadline_key``) to the end of the committee (see bench/bench_staff_queue.py)."""
    query: dict = {"queue_key": {"$gt": f"{committee}|{after or ''}", "$lt": f"{committee}|\uffff"}}
    if status:
        query["status"] = status
    if matter_code:
        query["matter_code"] = matter_code
    page = list(db[CASES].find(query).sort("queue_key", 1).limit(limit + 1))
    more = len(page) > limit
    page = page[:limit]
    return page, (page[-1]["deadline_key"] if more else None)


def save_case_fix(db: Database, old: dict, new: dict) -> None:
    """Write a change that is no step of the case's life (no event), if nobody changed it meanwhile."""
    _figured(db, new)
    result = db[CASES].update_one({"_id": old["_id"], "version": old["version"]}, diff_update(old, new))
    if result.matched_count == 0:
        raise Conflict("the case was changed by someone else meanwhile; reload it and try again")


def add_refusal(db: Database, copy_id: str, forward: dict, reply: dict) -> None:
    """Keep a forward refused at once with its reply to the sender (once: its id is the copy's)."""
    try:
        db[REFUSED_FORWARDS].insert_one({"_id": copy_id, "forward": forward, **outbox.pending_fields([reply])})
    except pymongo.errors.DuplicateKeyError:
        pass   # refused already: the reply went (or goes) out once


def save_case_step(db: Database, old: dict, new: dict, event: dict, *more: dict) -> None:
    """Write a case step and its events in one update, if nobody changed the case meanwhile."""
    _figured(db, new)
    result = db[CASES].update_one({"_id": old["_id"], "version": old["version"]},
                                  merge_updates(diff_update(old, new), outbox.record(event, *more)))
    if result.matched_count == 0:
        raise Conflict("the case was changed by someone else meanwhile; reload it and try again")


def _figured(db: Database, case: dict) -> None:
    """Every write of a case sets its report fields (``reports.with_figures``), with the
    sub-districts of its committees (kept in this process a while: places hardly change)."""
    reports.with_figures(case, lambda code: places_store.subdistrict_of(db, code))
