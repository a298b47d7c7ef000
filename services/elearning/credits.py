"""The credit bank (学分银行): an append-only ledger per resident. Entries are never edited;
a correction is a new entry. Awarding for a completion is exactly once: the entry's id is
derived from the completion, so a second report is a duplicate key."""
from __future__ import annotations

from datetime import datetime, timezone

import pymongo
from pymongo.database import Database

from contracts.events.elearning import CourseCompletedV1, CreditsAwardedV1
from services.common import outbox
from services.common.errors import BadInput
from services.common.outbox import OUTBOX_INDEX
from services.elearning import courses

LEDGER = "credit_ledger"
INDEXES = {LEDGER: [pymongo.IndexModel([("resident_id", 1)], name="resident"), OUTBOX_INDEX]}
OUTBOX_COLLECTIONS = [LEDGER]


def lessons_of(course: dict) -> set[str]:
    return {l["id"] for u in course.get("units", []) for l in u.get("lessons", [])}


def completed(db: Database, resident_id: str, course: dict) -> bool:
    """The course's completion rule: every lesson completed (or the rule's share of them)."""
    eid = courses.enrolment_id(resident_id, course["_id"])
    done = {p["lesson_id"] for p in db[courses.PROGRESS].find({"enrolment": eid}) if p.get("completed")}
    needed = lessons_of(course)
    share = (course.get("completion") or {}).get("share", 1.0)
    return bool(needed) and len(done & needed) >= share * len(needed)


def award_completion(db: Database, resident_id: str, course: dict) -> bool:
    """Record the completion and its credits once; True if this call did it."""
    eid = courses.enrolment_id(resident_id, course["_id"])
    now = datetime.now(timezone.utc)
    amount = int(course.get("credits", 0))
    completed_event = outbox.event(CourseCompletedV1.TYPE, {
        "resident_id": resident_id, "course_id": course["_id"], "course_title": course["title"],
        "completed_at": now}, subject=resident_id)
    events = [completed_event]
    if amount:
        events.append(outbox.event(CreditsAwardedV1.TYPE, {
            "resident_id": resident_id, "course_id": course["_id"], "course_title": course["title"], "amount": amount,
            "source": course.get("provider", ""), "entry_id": f"completion|{eid}"}, subject=resident_id))
    entry = {"_id": f"completion|{eid}", "resident_id": resident_id, "course_id": course["_id"],
             "source": course.get("provider", ""), "kind": "completion", "amount": amount,
             "at": now.isoformat(), **outbox.pending_fields(events)}
    try:
        db[LEDGER].insert_one(entry)
    except pymongo.errors.DuplicateKeyError:
        return False
    db[courses.ENROLMENTS].update_one({"_id": eid}, {"$set": {"completed": True, "completed_at": now.isoformat()}})
    return True


def correct(db: Database, resident_id: str, amount: int, reason: str, by: str) -> dict:
    """A correction is a new entry (positive or negative), never an edit."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise BadInput("a correction is a whole, non-zero number of credits")
    if not reason or len(reason) > 500:
        raise BadInput("a correction needs a reason (at most 500 characters)")
    entry = {"_id": f"correction|{resident_id}|{datetime.now(timezone.utc).timestamp()}", "resident_id": resident_id,
             "kind": "correction", "amount": amount, "reason": reason, "by": by, "course_id": None,
             "source": "correction", "at": datetime.now(timezone.utc).isoformat()}
    db[LEDGER].insert_one(entry)
    return entry


def statement(db: Database, resident_id: str) -> dict:
    entries = sorted(db[LEDGER].find({"resident_id": resident_id}, {"outbox": 0, "outbox_pending": 0}),
                     key=lambda e: e["at"])
    return {"resident_id": resident_id, "total": sum(e["amount"] for e in entries),
            "entries": [{k: v for k, v in e.items() if k != "_id"} | {"entry_id": e["_id"]} for e in entries]}
