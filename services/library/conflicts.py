"""Conflicts as staff read and settle them, free of I/O: the keys their pages range over, the
range a page's filters stand for, the view with the patron's card masked, the loans of the
copy on the other side of a conflict, and the audit entry of a resolution.

A page lists one status, oldest first, optionally of one kind, at one location, in a range of
the district's days. Each combination of kind and location has a key of its own in the
conflict (``KEY_FIELDS``, each indexed): status, then the filters' values, then the instant
and the id. A page is then one range of one indexed field, the fast path of every store
(docs/ARCHITECTURE.md, The store), however many conflicts there are, and the cursor is the
last row's key.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from contracts.rpc.library import ConflictFiltersV1
from services.common import clock
from services.common.errors import BadInput

# the field a page ranges over, by which filters it has (kind, location)
KEY_FIELDS = {(False, False): "page_key", (True, False): "kind_key", (False, True): "place_key",
              (True, True): "kind_place_key"}
SEP, END = "|", "\uffff"
NEIGHBOURS = 2   # loans of the copy shown before and after the conflicting event, besides those it overlaps
TRAIL = uuid.UUID("6f7c1f0e-3a5d-4c8e-b2a4-7d1e9c0b5a31")


def place(conflict: dict) -> str:
    """Where it happened, as a location code: the kiosk, or the location of the self-check
    machine (``sip2:<login>`` says which machine, not where it stands)."""
    where = str(conflict.get("kiosk_id") or "")
    if where.startswith("sip2:"):
        return str(((conflict.get("event") or {}).get("data") or {}).get("location") or where)
    return where


def instant(conflict: dict) -> str:
    return str(conflict.get("at") or (conflict.get("event") or {}).get("time", ""))


def keys(conflict: dict) -> dict:
    """The paging keys of a conflict in its status (set again whenever the status changes)."""
    status, kind, at, cid = conflict["status"], conflict.get("kind", "unresolved"), instant(conflict), conflict["_id"]
    where = place(conflict)
    return {"place": where,
            "page_key": SEP.join((status, at, cid)),
            "kind_key": SEP.join((status, kind, at, cid)),
            "place_key": SEP.join((status, where, at, cid)),
            "kind_place_key": SEP.join((status, kind, where, at, cid))}


@dataclass(frozen=True)
class PageRange:
    """What a page's filters stand for: one indexed field, and the range of it they cover."""
    field: str
    low: str    # included
    high: str   # excluded

    def query(self, after: str | None) -> dict:
        if after is None:
            return {self.field: {"$gte": self.low, "$lt": self.high}}
        if not self.low <= after < self.high:
            # a cursor of other filters would list another set of conflicts as if it were this one
            raise BadInput("this cursor belongs to a page with other filters: start again from the first page")
        return {self.field: {"$gt": after, "$lt": self.high}}


def page_range(status: str, filters: ConflictFiltersV1) -> PageRange:
    """The range of a page of ``status`` conflicts with ``filters`` (checked: a range that
    ends before it begins is refused, as it would list nothing and look like no conflicts)."""
    since = date.fromisoformat(filters.since) if filters.since else None
    until = date.fromisoformat(filters.until) if filters.until else None
    if since and until and until < since:
        raise BadInput(f"the range ends ({until}) before it begins ({since})")
    prefix = SEP.join((status, *([filters.kind] if filters.kind else []),
                       *([filters.location] if filters.location else []))) + SEP
    low = prefix + (day_start(since) if since else "")
    high = prefix + (day_start(until + timedelta(days=1)) if until else END)
    return PageRange(KEY_FIELDS[(bool(filters.kind), bool(filters.location))], low, high)


def day_start(day: date) -> str:
    """The instant a district day begins, in UTC, as stored instants begin (they compare as
    strings): 2026-12-07 begins at 2026-12-06T16:00:00 UTC."""
    start = datetime.combine(day, time(0), clock.DISTRICT_TIME).astimezone(timezone.utc)
    return start.strftime("%Y-%m-%dT%H:%M:%S")


# ---- what staff see ------------------------------------------------------------------------

def mask_card(card: str | None) -> str | None:
    """A card number with its middle hidden: enough to tell two cards apart at the desk, not
    enough to use one (LC000000012345 → LC********2345)."""
    if not card:
        return card
    card = str(card)
    if len(card) <= 6:
        return "*" * len(card)
    return card[:2] + "*" * (len(card) - 6) + card[-4:]


def view(conflict: dict) -> dict:
    """A conflict as staff see it: the card number masked wherever it appears (the event's
    data, the reason), without the outbox's fields nor the paging keys; its audit trail
    oldest first."""
    event = dict(conflict.get("event") or {})
    data = dict(event.get("data") or {})
    card = data.get("card_number")
    reason = str(conflict.get("reason") or "")
    if card:
        data["card_number"] = mask_card(card)
        reason = reason.replace(str(card), mask_card(card))
    event["data"] = data
    return {"conflict_id": conflict["_id"], "status": conflict["status"], "kind": conflict.get("kind", "unresolved"),
            "barcode": conflict.get("barcode"), "where": conflict.get("kiosk_id"), "place": place(conflict),
            "at": instant(conflict), "reason": reason, "event": event,
            "resolution": conflict.get("resolution"), "resolved": conflict.get("resolved"),
            "trail": trail_view(conflict)}


def trail_view(conflict: dict) -> list[dict]:
    """Who did what to a conflict, oldest first. Entries of an earlier version were lines of
    text (``<at> <by>: <what>``), read here as entries."""
    entries = [{"at": line.split(" ", 1)[0], "by": line.split(" ", 1)[1].split(":", 1)[0] if ": " in line else "",
                "action": None, "note": line.split(": ", 1)[1] if ": " in line else line}
               for line in conflict.get("audit") or () if isinstance(line, str)]
    trail = conflict.get("trail") or {}
    entries += [trail[k] for k in sorted(trail)]
    return sorted(entries, key=lambda e: str(e.get("at") or ""))


def trail_entry(at: datetime, by: str, action: str | None, note: str) -> dict:
    """An audit entry set by the same write as the resolution (``$set trail.<id>``: a map, as
    sub-documents pushed to an array are mangled by the embedded store)."""
    stamp = at.astimezone(timezone.utc)
    entry_id = f"{stamp:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}"
    return {f"trail.{entry_id}": {"at": stamp.isoformat(), "by": str(by)[:64], "action": action,
                                  "note": str(note)[:500]}}


# ---- the other side: the copy's loans around the conflicting event -------------------------

def loan_side(loan: dict, patron_cards: dict, event_card: str | None, current: bool = False) -> dict:
    """A loan as staff see it beside a conflict: when, where, the patron's card masked, and
    whether it is the card the conflicting event names."""
    card = patron_cards.get(loan.get("patron"))
    return {"loan_id": loan.get("loan_id") or loan.get("_id"), "loaned_at": loan.get("loaned_at"),
            "location": loan.get("location"), "due": loan.get("due"), "returned_at": loan.get("returned_at"),
            "returned_to": loan.get("returned_to"), "card_masked": mask_card(card),
            "same_card": bool(card and event_card and card == event_card), "current": current,
            "implied_return": bool(loan.get("implied_return")), "late_event": bool(loan.get("late_event"))}


def around(at: str, loans: list[dict]) -> list[dict]:
    """The loans (``loan_side``) that tell the other side of an event at ``at``: those it falls
    within (``relation`` "during"), and the nearest ``NEIGHBOURS`` before and after it; in
    time order."""
    ordered = sorted(loans, key=lambda loan: str(loan.get("loaned_at") or ""))
    before, during, after = [], [], []
    for loan in ordered:
        began, ended = str(loan.get("loaned_at") or ""), loan.get("returned_at")
        if began > at:
            after.append({**loan, "relation": "after"})
        elif ended is None or str(ended) > at:
            during.append({**loan, "relation": "during"})
        else:
            before.append({**loan, "relation": "before"})
    return before[-NEIGHBOURS:] + during + after[:NEIGHBOURS]


def detail(conflict: dict, copy: dict | None, history: list[dict], cards_by_id: dict, title: str | None) -> dict:
    """A conflict with both sides: the event that could not be applied (``event``, its card
    masked) and the copy's loans around it (``loans``, from its loan history and its current
    loan), each saying whether it is the card the event names."""
    shown = view(conflict)
    event_card = ((conflict.get("event") or {}).get("data") or {}).get("card_number")
    loans = [loan_side(h, cards_by_id, event_card) for h in history]
    if copy and copy.get("loan"):
        loans.append(loan_side(copy["loan"], cards_by_id, event_card, current=True))
    return {**shown, "title": title,
            "copy": {"status": copy.get("status"), "location": copy.get("location"),
                     "last_change": copy.get("state_at")} if copy else None,
            "loans": around(shown["at"], loans)}
