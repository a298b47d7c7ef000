"""Copies against the store. A copy holds its circulation state (its loan, the hold it is set
aside for) and its events, and is written whole with a version check (``save``), so two
actions on one copy at the same moment cannot both win; ended loans are kept in the loan
history."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Iterable

import pymongo
from pymongo.database import Database

from services.common import outbox
from services.common.errors import Conflict, NotFound
from services.common.inbox import INBOX_KEEP
from services.common.storage import diff_update, due_by, due_key, merge_updates
from services.library.circulation import AVAILABLE, CHECKINS_KEPT
from services.library import reports
from services.library.store import COPIES, LOAN_HISTORY

TIMER_ROUND = 1000   # copies one timer round looks at
LATE = "late:"       # an event in a copy's inbox that was seen but changed nothing (it came late)
PENDING_HISTORY, PENDING_HISTORY_COUNT = "history_pending", "history_pending_n"   # loans ended, not yet in history


def with_watch_fields(copy: dict) -> dict:
    """Fields the timers scan by one indexed range: loans that may still become overdue,
    ready holds that may still expire."""
    out = dict(copy)
    if copy["status"] == "on_loan" and not copy.get("overdue_raised"):
        out["watch_due"] = due_key(copy["loan"]["due"])
    else:
        out.pop("watch_due", None)
    if copy["status"] == "on_hold_shelf" and copy.get("hold") and copy["hold"].get("expires"):
        out["hold_expires"] = due_key(copy["hold"]["expires"])
    else:
        out.pop("hold_expires", None)
    return out


def save(db: Database, old: dict, new: dict, *events: dict, at: datetime | None = None,
         applied_event: str | None = None, ended: dict | None = None) -> None:
    """Write a copy's new state and its events in one update, if nobody changed it meanwhile.
    ``at`` is when the change happened (kiosk events older than it are stale);
    ``applied_event`` is recorded in the copy's inbox by the same write; ``ended``, a loan this
    change ended, waits in the copy (``history_pending``) until it is in the loan history
    (``flush_history``): a process killed between the two writes loses no loan."""
    new = with_watch_fields(new)
    if at is not None:
        new["state_at"] = at.astimezone(timezone.utc).isoformat()
    update = diff_update(old, new)
    if events:
        update = merge_updates(update, outbox.record(*events))
    if applied_event:
        update = merge_updates(update, {"$push": {"inbox": {"$each": [applied_event], "$slice": -INBOX_KEEP}}})
    if ended:
        update = merge_updates(update, {"$set": {f"{PENDING_HISTORY}.{ended['loan_id']}": ended},
                                        "$inc": {PENDING_HISTORY_COUNT: 1}})
    result = db[COPIES].update_one({"_id": old["_id"], "version": old["version"]}, update)
    if result.matched_count == 0:
        raise Conflict("the item was changed meanwhile (another desk or kiosk acted on it); try again")
    if ended:
        flush_history(db, old["_id"])


def flush_history(db: Database, barcode: str) -> int:
    """Move the ended loans waiting in a copy into the loan history (each once), then off the
    copy; how many. Run after every save that ended a loan, again when its event comes back
    (a duplicate: the process may have died between), and by the circulation timer."""
    copy = db[COPIES].find_one({"_id": barcode}, {PENDING_HISTORY: 1, "title_id": 1})
    moved = 0
    for loan_id, ended in ((copy or {}).get(PENDING_HISTORY) or {}).items():
        keep_ended_loan(db, ended, barcode, copy["title_id"])
        moved += db[COPIES].update_one({"_id": barcode, f"{PENDING_HISTORY}.{loan_id}": {"$exists": True}},
                                       {"$unset": {f"{PENDING_HISTORY}.{loan_id}": ""},
                                        "$inc": {PENDING_HISTORY_COUNT: -1}}).modified_count
    return moved


def with_pending_history(db: Database, limit: int = TIMER_ROUND) -> list[str]:
    """Copies whose ended loans still wait to join the history (one indexed range)."""
    return [c["_id"] for c in db[COPIES].find({PENDING_HISTORY_COUNT: {"$gt": 0}}, {"_id": 1}).limit(limit)]


# ---- reads ------------------------------------------------------------------------------

def find(db: Database, barcode: str) -> dict | None:
    return db[COPIES].find_one({"_id": barcode})


def by_barcode(db: Database, barcode: str) -> dict:
    doc = find(db, str(barcode))
    if doc is None:
        raise NotFound(f"no item with barcode {barcode}")
    return doc


def loans_of(db: Database, patron_id: str) -> list[dict]:
    return list(db[COPIES].find({"loan.patron": str(patron_id)}).limit(500))


def of_title(db: Database, title_id: str) -> list[dict]:
    return list(db[COPIES].find({"title_id": title_id}).limit(200))


def may_be_overdue(db: Database, today: date) -> list[dict]:
    """Loans due by ``today`` whose overdue is not published yet (one indexed range)."""
    return due_by(db[COPIES], "watch_due", today.isoformat(), TIMER_ROUND)


def holds_expiring(db: Database, today: date) -> list[dict]:
    """Copies on a hold shelf whose hold expires by ``today`` (one indexed range)."""
    return due_by(db[COPIES], "hold_expires", today.isoformat(), TIMER_ROUND)


# ---- writes besides ``save`` ----------------------------------------------------------------

def shelve_at(db: Database, barcodes: Iterable[str], location: str, at: datetime) -> int:
    """Copies found at ``location`` by a kiosk's inventory taken at ``at`` stand there, if
    available and not changed since (an older snapshot must not undo newer facts); how many."""
    stamp = at.astimezone(timezone.utc).isoformat()
    moved = 0
    for barcode in barcodes:   # each by _id: one indexed write (an $in with a range scans)
        copy = db[COPIES].find_one({"_id": barcode}, {"status": 1, "state_at": 1})
        if copy is None or copy["status"] != AVAILABLE or (copy.get("state_at") or "") > stamp:
            continue
        moved += db[COPIES].update_one({"_id": barcode, "status": AVAILABLE, "state_at": copy.get("state_at")},
                                       {"$set": {"location": location}}).modified_count
    return moved


def note_checked_in(db: Database, barcode: str, at: datetime, applied_event: str | None = None) -> None:
    """Remember a check-in that was not applied (it came late): whatever loan began before it has
    ended. ``applied_event`` joins the copy's inbox by the same write, marked ``late:`` (seen,
    so not again; it changed nothing, so no version)."""
    stamp = at.astimezone(timezone.utc).isoformat()
    push = {"checkins": {"$each": [stamp], "$slice": -CHECKINS_KEPT}}
    if applied_event:
        push["inbox"] = {"$each": [LATE + applied_event], "$slice": -INBOX_KEEP}
    db[COPIES].update_one({"_id": barcode}, {"$max": {"checked_in_at": stamp}, "$push": push})


def keep_ended_loan(db: Database, ended: dict, barcode: str, title_id: str, **extra) -> None:
    """An ended loan in the loan history, once (its loan id is the entry's id)."""
    try:
        db[LOAN_HISTORY].insert_one({"_id": ended["loan_id"], "barcode": barcode, "title_id": title_id,
                                     **extra, **ended,
                                     "report_key": reports.loan_key(ended.get("loaned_at"), ended.get("location"))})
    except pymongo.errors.DuplicateKeyError:
        pass


def loan_history(db: Database, patron_id: str, limit: int) -> list[dict]:
    """A patron's ended loans, the latest returned first (one indexed equality, sorted after)."""
    found = db[LOAN_HISTORY].find({"patron": patron_id}).limit(2000)
    return sorted(found, key=lambda h: h.get("returned_at") or "", reverse=True)[:limit]
