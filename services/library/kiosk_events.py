"""One kiosk event applied to the store (``apply``; a batch's plain loans and returns are
applied together by ``kiosk_batch``, the rest one at a time here): the kiosk is seen, then a
loan, a return, a fault report or an inventory is applied, and what became of the event is said
(applied, duplicate, late, conflict) for the metrics and the kiosk's counts. The rules are in
``kiosks`` (senders, stale events, clock skew, faults) and ``circulation``; loans and returns
are the same ``actions`` as at a desk.

- An event's identity is its kiosk and its id (``kiosks.event_key``): two kiosks may use one id.
- Each copy's events are applied one at a time, in order of their time (its partition is
  taken by one process at a time, and a batch orders each copy's events), once each (the
  copy's inbox, written with it).
- An event stamped ahead of its arrival by more than ``kiosks.SKEW_BOUND`` is placed at its
  arrival, and its kiosk's skew is kept (``kiosk_status``).
- What cannot be applied is kept for staff as a conflict, never dropped: an unknown barcode
  or card, a refusal, a checkout older than the copy's last change (stale), a loan of a copy
  still on loan to another patron (whose return is implied). A stale checkout whose return
  came first is still a loan: it joins the loan history.
- A return older than the copy's last change is remembered for late checkouts and settles
  the conflicts it explains.
- A new fault opens one maintenance case: its event's id is ``fault-<kiosk>-<report id>``.
"""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime

from pymongo.database import Database

from contracts.events.kiosk import (KioskCheckinV1, KioskCheckoutV1, KioskFaultReportV1, KioskHeartbeatV1,
                                    KioskInventoryV1)
from contracts.events.library import KioskFaultV1
from services.common import clock, outbox
from services.common.inbox import Applied, note_outcome
from services.library import actions, circulation, copies_store, kiosks, kiosks_store, locations_store, patrons_store

RECEIVED = "received"   # set by the kiosk inbox on the event as it arrives: when the library took it
_counts: dict[str, Counter] = {}   # per kiosk: outcomes since its status was last written
_counts_lock = threading.Lock()


def copy_of(event: dict) -> str | None:
    """The copy an event is about (checkouts and returns), whose events take turns."""
    return event["data"].get("barcode") if event["type"] in (KioskCheckoutV1.TYPE, KioskCheckinV1.TYPE) else None


def turn_order(event: dict, received: datetime) -> tuple:
    """Where an event stands among its copy's: its time as placed, then its kiosk's sequence."""
    at, _ = kiosks.placed_at(datetime.fromisoformat(event["time"]), received)
    return at.isoformat(), event.get("sequence") or 0


def apply(db: Database, event: dict) -> str:
    """Apply one validated kiosk event; returns (and notes for the inbox) what became of it."""
    barcode = copy_of(event)
    if barcode is None:
        outcome = _apply(db, event)
    else:
        with kiosks.copy_turns.turn(barcode, event["id"]):
            outcome = _apply(db, event)
    note_outcome(event["id"], outcome)
    return outcome


def _apply(db: Database, event: dict) -> str:
    kiosk_id = event["source"].rsplit("/", 1)[-1]
    received = datetime.fromisoformat(event.get(RECEIVED) or clock.now().isoformat())
    at, skew = kiosks.placed_at(datetime.fromisoformat(event["time"]), received)
    kiosk = seen(db, kiosk_id, at, event, skew)
    handler = _BY_TYPE.get(event["type"])
    outcome = handler(db, kiosk, event, at, kiosks.event_key(kiosk_id, event["id"])) if handler else "applied"
    count(kiosk_id, outcome)
    return outcome


def count(kiosk_id: str, outcome: str) -> None:
    """One more event of the kiosk that became ``outcome`` (written with its status, ``seen``)."""
    with _counts_lock:
        _counts.setdefault(kiosk_id, Counter())[outcome] += 1


def seen(db: Database, kiosk_id: str, at: datetime, event: dict, skew: float | None = None) -> dict:
    """Heartbeats (and any event) keep the kiosk's status; the newest time wins. Loans
    and returns of a busy kiosk skip it when this process wrote it lately, unless its clock
    was found running ahead."""
    if event["type"] not in (KioskHeartbeatV1.TYPE, KioskFaultReportV1.TYPE) and skew is None \
            and not kiosks.recently_seen.due(kiosk_id):
        return {"_id": kiosk_id}
    interval = event["data"].get("interval_seconds") if event["type"] == KioskHeartbeatV1.TYPE else None
    with _counts_lock:
        counts = dict(_counts.pop(kiosk_id, {}))
    kiosk = kiosks_store.seen(db, kiosk_id, at, interval, skew_seconds=skew, counts=counts)
    kiosks.recently_seen.wrote(kiosk_id, kiosk.get("interval_seconds"))
    return kiosk


def checkout(db: Database, kiosk: dict, event: dict, at: datetime, key: str) -> str:
    data = event["data"]
    copy = copies_store.find(db, data["barcode"])
    if copy is None:
        return _conflict(db, kiosk["_id"], data["barcode"], "unknown barcode checked out", event, at, key)
    if applied_to(copy, event, key):
        _finish(db, copy, event, at, key)   # what its first handling may not have done
        return "duplicate"
    if kiosks.is_stale(at, copy.get("state_at")):
        # older than the item's last change: applying it would undo newer facts. Kept for staff,
        # settled at once if a later check-in already ended that loan, which joins the history
        returned = kiosks.first_checkin_after(at, copy.get("checkins")) or (
            copy.get("checked_in_at") if kiosks.checked_in_since(at, copy.get("checked_in_at")) else None)
        patron = patrons_store.find_by_card(db, data["card_number"])
        if returned and patron is not None:
            actions.keep_late_loan(db, copy, patron["_id"], at, returned, kiosk["_id"], key)
        _conflict(db, kiosk["_id"], copy["_id"], "checked out at the kiosk before the item's last recorded "
                  "change: not applied", event, at, key, kind="stale_checkout",
                  settled="a later check-in ended this loan" if returned else None)
        return "late"
    patron = patrons_store.find_by_card(db, data["card_number"])
    if patron is None:
        return _conflict(db, kiosk["_id"], copy["_id"], f"unknown card {data['card_number']}", event, at, key)
    if circulation.on_loan_to_another(copy, patron["_id"]):
        # The kiosk lent it after the current loan began: that loan's return has not
        # reached us yet (or was never scanned). Close it as of then and lend it; staff
        # see the implied return until the real one arrives.
        actions.lend_after_implied_return(db, copy=copy, patron=patron, location_code=kiosk["_id"],
                                          at=at, source=f"kiosk:{kiosk['_id']}", applied_event=key)
        _conflict(db, kiosk["_id"], copy["_id"], "lent at the kiosk while on loan to another patron: "
                  "that loan was closed as returned; waiting for its return event", event, at, key,
                  kind="implied_return")
        return "applied"
    try:
        actions.checkout(db, barcode=copy["_id"], patron=patron, location_code=kiosk["_id"], at=at,
                         source=f"kiosk:{kiosk['_id']}", copy=copy, honour_policy=False, applied_event=key)
    except circulation.Refused as exc:
        if exc.code == "already_yours":
            return "duplicate"   # the same loan, told again (another event id for it)
        return _conflict(db, kiosk["_id"], copy["_id"], str(exc), event, at, key)
    return "applied"


def checkin(db: Database, kiosk: dict, event: dict, at: datetime, key: str) -> str:
    barcode = event["data"]["barcode"]
    copy = copies_store.find(db, barcode)
    if copy is None:
        return _conflict(db, kiosk["_id"], barcode, "unknown barcode returned", event, at, key)
    if applied_to(copy, event, key):
        _finish(db, copy, event, at, key)   # what its first handling may not have done
        return "duplicate"
    if kiosks.is_stale(at, copy.get("state_at")):
        # a return that a later checkout already implied, or that ends a late checkout:
        # the staff notes are settled, and the check-in is remembered for late checkouts
        actions.note_late_checkin(db, barcode, at, f"return event {event['id']}", applied_event=key)
        return "late"
    actions.checkin(db, barcode=barcode, location_code=kiosk["_id"], at=at,
                    source=f"kiosk:{kiosk['_id']}", copy=copy, applied_event=key)
    return "applied"


def fault(db: Database, kiosk: dict, event: dict, at: datetime, key: str) -> str:
    """A new fault opens one maintenance case (the fault event); the same fault reported
    again while it is open (a jammed printer reports every minute) only counts the report."""
    data = event["data"]
    code = data["fault_code"]
    if code not in (kiosk.get("open_faults") or {}):
        loc = locations_store.find(db, kiosk["_id"]) or {}
        case = outbox.event(KioskFaultV1.TYPE, {
            "kiosk_id": kiosk["_id"], "kiosk_name": loc.get("name", ""),
            "committee": loc.get("committee") or "unknown", "fault_code": code,
            "description": data.get("description", ""), "reported_at": at}, subject=kiosk["_id"])
        case["id"] = f"fault-{kiosk['_id']}-{event['id']}"  # once per reported fault, whatever the redeliveries
        outcome = kiosks_store.open_fault(db, kiosk["_id"], code, kiosks.open_fault(data, at, case), key)
        if outcome is not Applied.MISSING:
            return "duplicate" if outcome is Applied.DUPLICATE else "applied"
    # open already (or opened meanwhile by another report): count it
    outcome = kiosks_store.count_fault(db, kiosk["_id"], kiosks.repeated_fault(code, at), key)
    if outcome is Applied.MISSING:
        raise LookupError(f"kiosk {kiosk['_id']} vanished while its fault was recorded")
    return "duplicate" if outcome is Applied.DUPLICATE else "applied"


def inventory(db: Database, kiosk: dict, event: dict, at: datetime, key: str) -> str:
    copies_store.shelve_at(db, event["data"]["barcodes"], kiosk["_id"], at)
    return "applied"


_BY_TYPE = {KioskCheckoutV1.TYPE: checkout, KioskCheckinV1.TYPE: checkin, KioskFaultReportV1.TYPE: fault,
            KioskInventoryV1.TYPE: inventory}   # a heartbeat is only seen


def _finish(db: Database, copy: dict, event: dict, at: datetime, key: str) -> None:
    """The writes that follow an event's own, done again for its duplicate (each is once by
    itself): the process that took it first may have died between them."""
    if copy.get(copies_store.PENDING_HISTORY):
        copies_store.flush_history(db, copy["_id"])
    if copies_store.LATE + key in (copy.get("inbox") or []):
        actions.settle_explained(db, copy["_id"], at, f"return event {event['id']}")


def applied_to(copy: dict, event: dict, key: str) -> bool:
    """Applied to this copy already (an event recorded by its bare id was an earlier version's)."""
    inbox = copy.get("inbox") or []
    return key in inbox or copies_store.LATE + key in inbox or event["id"] in inbox


def _conflict(db: Database, kiosk_id: str, barcode: str, reason: str, event: dict, at: datetime, key: str,
              kind: str = "unresolved", settled: str | None = None) -> str:
    """Kept for staff, never dropped; once per event (its key is the conflict's id)."""
    actions.record_conflict(db, where=kiosk_id, barcode=barcode, reason=reason, event=event, at=at,
                            kind=kind, settled=settled, conflict_id=key)
    return "conflict"


def mark_silent(db: Database, now: datetime) -> int:
    """Online kiosks not heard from for ``kiosks.OFFLINE_AFTER_BEATS`` heartbeats are offline;
    how many were marked."""
    marked = 0
    for k in kiosks_store.online(db):
        if kiosks.is_offline(k.get("last_seen"), int(k.get("interval_seconds") or kiosks.DEFAULT_INTERVAL), now):
            kiosks_store.mark_offline(db, k["_id"], k.get("last_seen"))
            marked += 1
    return marked
