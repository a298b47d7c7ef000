"""The community service's collections, their indexes, and the writes that need care."""
from __future__ import annotations

import pymongo
from pymongo import ASCENDING, IndexModel
from pymongo.database import Database

from services.common import outbox
from services.common.errors import Conflict
from services.common.outbox import OUTBOX_INDEX
from services.common.storage import diff_update, due_by, merge_updates, once, rekey_due
from services.community.access_log import INDEXES as ACCESS_LOG_INDEXES
from services.community.staff_rpc import INDEXES as STAFF_INDEXES

RESIDENTS = "residents"
PLACES = "places"
MATTERS = "matters"
CASES = "cases"
COUNTERS = "counters"
CALENDAR = "calendar"
NOTICES = "notices"

INDEXES = {
    RESIDENTS: [
        IndexModel([("id_number", ASCENDING)], name="id_number", unique=True),
        IndexModel([("residence.committee", ASCENDING)], name="residence_committee"),
        OUTBOX_INDEX,
    ],
    PLACES: [IndexModel([("kind", ASCENDING)], name="kind"), IndexModel([("parent", ASCENDING)], name="parent")],
    MATTERS: [IndexModel([("public", ASCENDING)], name="public")],
    CASES: [
        # the staff queue: one committee's open cases in deadline order, paged by key
        IndexModel([("queue_key", ASCENDING)], name="queue_key", sparse=True),
        IndexModel([("resident_id", ASCENDING)], name="resident"),
        IndexModel([("watch", ASCENDING)], name="deadline_watch", sparse=True),
        IndexModel([("awaiting_calendar", ASCENDING)], name="awaiting_calendar", sparse=True),
        IndexModel([("open_flag", ASCENDING)], name="open_flag", sparse=True),
        OUTBOX_INDEX,
    ],
    NOTICES: [IndexModel([("resident_id", ASCENDING)], name="resident")],
    **STAFF_INDEXES,  # staff accounts and console sessions (staff_rpc.py)
    **ACCESS_LOG_INDEXES,  # staff reads of residents' records (access_log.py)
}

OUTBOX_COLLECTIONS = [RESIDENTS, CASES]

# Reads for views leave out what no view shows and what grows: pending events, the applied
# event ids (up to 200), a resident's past residences.
CASE_FIELDS = {**outbox.HIDDEN, "inbox": 0}
RESIDENT_VIEW_FIELDS = {"id_number": 1, "name": 1, "registered_committee": 1, "registered_outside_district": 1,
                        "residence": 1}


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
    result = db[CASES].update_one({"_id": old["_id"], "version": old["version"]}, diff_update(old, new))
    if result.matched_count == 0:
        raise Conflict("the case was changed by someone else meanwhile; reload it and try again")


def save_case_step(db: Database, old: dict, new: dict, event: dict) -> None:
    """Write a case step and its event in one update, if nobody changed the case meanwhile."""
    result = db[CASES].update_one({"_id": old["_id"], "version": old["version"]},
                                  merge_updates(diff_update(old, new), outbox.record(event)))
    if result.matched_count == 0:
        raise Conflict("the case was changed by someone else meanwhile; reload it and try again")
