"""The credit bank (学分银行): an append-only ledger per resident, against the store. Entries
are never edited; a correction is a new entry. Awarding for a completion is exactly once:
the entry's id is derived from the completion (``credit_rules``), so a second report is a
duplicate key."""
from __future__ import annotations

import secrets

import pymongo
from pymongo.database import Database

from contracts.events.elearning import CourseCompletedV1, CreditsAwardedV1
from services.common import clock, outbox
from services.common.errors import BadInput
from services.common.outbox import OUTBOX_INDEX
from services.elearning import courses, credit_rules

LEDGER = "credit_ledger"
INDEXES = {LEDGER: [pymongo.IndexModel([("resident_id", 1)], name="resident"), OUTBOX_INDEX]}
OUTBOX_COLLECTIONS = [LEDGER]


def completed(db: Database, resident_id: str, course: dict) -> bool:
    """Whether the learner's completed lessons meet the course's completion rule."""
    eid = courses.enrolment_id(resident_id, course["_id"])
    done = {p["lesson_id"] for p in db[courses.PROGRESS].find({"enrolment": eid}) if p.get("completed")}
    return credit_rules.completion_reached(course.get("completion"), credit_rules.lessons_of(course), done)


def award_if_completed(db: Database, resident_id: str, course_id: str) -> bool:
    """The one completion rule of every channel (RPC and xAPI): against the version of the
    course the learner enrolled in; True if this call recorded the completion."""
    course = courses.enrolled_course(db, resident_id, course_id)
    return completed(db, resident_id, course) and award_completion(db, resident_id, course)


def award_completion(db: Database, resident_id: str, course: dict) -> bool:
    """Record the completion and its credits once; True if this call did it."""
    now = clock.now()
    entry = credit_rules.completion_entry(resident_id, course, now)
    events = [outbox.event(CourseCompletedV1.TYPE, {
        "resident_id": resident_id, "course_id": course["_id"], "course_title": course["title"],
        "completed_at": now}, subject=resident_id)]
    if entry["amount"]:
        events.append(outbox.event(CreditsAwardedV1.TYPE, {
            "resident_id": resident_id, "course_id": course["_id"], "course_title": course["title"],
            "amount": entry["amount"], "source": entry["source"], "entry_id": entry["_id"]}, subject=resident_id))
    try:
        db[LEDGER].insert_one({**entry, **outbox.pending_fields(events)})
    except pymongo.errors.DuplicateKeyError:
        return False
    db[courses.ENROLMENTS].update_one({"_id": courses.enrolment_id(resident_id, course["_id"])},
                                      {"$set": {"completed": True, "completed_at": now.isoformat()}})
    return True


def find_completion_entry(db: Database, resident_id: str, course_id: str) -> dict | None:
    return db[LEDGER].find_one({"_id": credit_rules.completion_entry_id(resident_id, course_id)})


def correct(db: Database, resident_id: str, amount: int, reason: str, by: str) -> dict:
    try:
        entry = credit_rules.correction_entry(resident_id, amount, reason, by, clock.now())
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    db[LEDGER].insert_one(entry)
    return entry


def total_of(db: Database, resident_id: str) -> int:
    """The resident's credit total, reading only the amounts (the dashboard's figure)."""
    return credit_rules.total(db[LEDGER].find({"resident_id": resident_id}, {"amount": 1}))


def statement(db: Database, resident_id: str) -> dict:
    entries = sorted(db[LEDGER].find({"resident_id": resident_id}, outbox.HIDDEN),
                     key=lambda e: e["at"])
    return {"resident_id": resident_id, "total": credit_rules.total(entries),
            "entries": [{k: v for k, v in e.items() if k != "_id"} | {"entry_id": e["_id"]} for e in entries]}


def pseudonymise(db: Database, resident_id: str, pseudonym: str) -> tuple[str, int]:
    """Re-key a learner's entries under ``pseudonym`` (ids included: an id can no more be
    edited than an entry, so each is copied under a new id and the original deleted). Safe
    to run again after a crash: each original first records its copy's id, and a rerun
    finishes those with the pseudonym they carry. Returns the pseudonym used and the count."""
    entries = list(db[LEDGER].find({"resident_id": resident_id}))
    pseudonym = next((e["erasing_as"] for e in entries if e.get("erasing_as")), pseudonym)
    for entry in entries:
        new_id = entry.get("erasing_id") or f"erased|{pseudonym}|{secrets.token_hex(8)}"
        if not entry.get("erasing_id"):
            db[LEDGER].update_one({"_id": entry["_id"]}, {"$set": {"erasing_as": pseudonym, "erasing_id": new_id}})
        try:
            db[LEDGER].insert_one(credit_rules.erased_entry(entry, pseudonym, new_id))
        except pymongo.errors.DuplicateKeyError:
            pass  # copied before a crash
        db[LEDGER].delete_one({"_id": entry["_id"]})
    return pseudonym, len(entries)
