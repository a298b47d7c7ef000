"""The credit bank's rules, free of I/O: when a course is completed, the ledger entries a
completion and a correction make, totals, and what is left of an entry once its learner is
erased. The store (``credits``) makes "exactly once" hold with the entry's id: one completion
of one course by one learner has one id, so a second report is a duplicate key."""
from __future__ import annotations

import math
import uuid
from datetime import datetime
from numbers import Real
from typing import Iterable, Mapping

MAX_REASON = 500
MAX_CORRECTION = 1000   # ten times a course's most credits: a larger one is a typo
# what an entry keeps once its learner is erased: enough for totals and the course's figures
KEPT_WHEN_ERASED = ("kind", "amount", "course_id", "source", "at", "by")


def lessons_of(course: Mapping) -> set[str]:
    return {lesson["id"] for unit in course.get("units", []) for lesson in unit.get("lessons", [])}


def completion_reached(rule: Mapping | None, lessons: set[str], done: set[str]) -> bool:
    """Whether lessons ``done`` complete a course of ``lessons`` under its completion rule
    (``share`` of the lessons rounded up, at least one, and every ``required_lessons``)."""
    rule = rule or {}
    share = rule.get("share", 1.0)
    if not isinstance(share, Real) or isinstance(share, bool) or not 0 < share <= 1:
        share = 1.0  # a rule stored before rules were checked: all lessons, never none
    done = done & lessons
    needed = max(1, math.ceil(share * len(lessons) - 1e-9))
    return bool(lessons) and set(rule.get("required_lessons") or ()) <= done and len(done) >= needed


def completion_entry_id(resident_id: str, course_id: str) -> str:
    return f"completion|{resident_id}|{course_id}"


def completion_entry(resident_id: str, course: Mapping, at: datetime) -> dict:
    return {"_id": completion_entry_id(resident_id, course["_id"]), "resident_id": resident_id,
            "course_id": course["_id"], "source": course.get("provider", ""), "kind": "completion",
            "amount": int(course.get("credits", 0)), "at": at.isoformat()}


def correction_entry(resident_id: str, amount, reason: str, by: str, at: datetime) -> dict:
    """A correction is a new entry (positive or negative), never an edit; each its own id."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0 or abs(amount) > MAX_CORRECTION:
        raise ValueError(f"a correction is a whole, non-zero number of credits, at most {MAX_CORRECTION} either way")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise ValueError(f"a correction needs a reason (at most {MAX_REASON} characters)")
    return {"_id": f"correction|{resident_id}|{uuid.uuid4().hex}", "resident_id": resident_id,
            "kind": "correction", "amount": amount, "reason": reason, "by": by, "course_id": None,
            "source": "correction", "at": at.isoformat()}


def total(entries: Iterable[Mapping]) -> int:
    return sum(int(e["amount"]) for e in entries)


def erased_entry(entry: Mapping, pseudonym: str, new_id: str) -> dict:
    """The entry as the ledger keeps it after its learner's erasure: the amount and what it
    was for, under a new id, with the pseudonym for the learner and nothing else of theirs
    (no resident id in the id, no reason text, no pending events naming them)."""
    return {"_id": new_id, "resident_id": pseudonym, **{k: entry.get(k) for k in KEPT_WHEN_ERASED}}
