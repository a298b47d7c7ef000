"""One kiosk event applied to the store (``apply``): the kiosk is seen, then a loan, a
return, a fault report or an inventory is applied. The rules are in ``kiosks`` (stale
events, faults) and ``circulation``; loans and returns are the same ``actions`` as at a desk.

- Each copy's events are applied one at a time in this process (``kiosks.item_lock``), once
  each (the copy's inbox, written with it).
- What cannot be applied is kept for staff as a conflict, never dropped: an unknown barcode
  or card, a refusal, a checkout older than the copy's last change (stale), a loan of a copy
  still on loan to another patron (whose return is implied).
- A return older than the copy's last change is remembered for late checkouts and settles
  the conflicts it explains.
- A new fault opens one maintenance case: its event's id is ``fault-<report id>``.
"""
from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

from contracts.events.kiosk import (KioskCheckinV1, KioskCheckoutV1, KioskFaultReportV1, KioskHeartbeatV1,
                                   KioskInventoryV1)
from contracts.events.library import KioskFaultV1
from services.common import outbox
from services.common.inbox import Applied
from services.library import actions, circulation, copies_store, kiosks, kiosks_store, locations_store, patrons_store


def apply(db: Database, event: dict) -> None:
    kiosk_id = event["source"].rsplit("/", 1)[-1]
    at = datetime.fromisoformat(event["time"])
    kiosk = seen(db, kiosk_id, at, event)
    applied = _BY_TYPE.get(event["type"])
    if applied is not None:
        applied(db, kiosk, event, at)


def seen(db: Database, kiosk_id: str, at: datetime, event: dict) -> dict:
    """Heartbeats (and any event) keep the kiosk's status; the newest time wins. Loans
    and returns of a busy kiosk skip it when this process wrote it lately."""
    if event["type"] not in (KioskHeartbeatV1.TYPE, KioskFaultReportV1.TYPE) \
            and not kiosks.recently_seen.due(kiosk_id):
        return {"_id": kiosk_id}
    interval = event["data"].get("interval_seconds") if event["type"] == KioskHeartbeatV1.TYPE else None
    kiosk = kiosks_store.seen(db, kiosk_id, at, interval)
    kiosks.recently_seen.wrote(kiosk_id, kiosk.get("interval_seconds"))
    return kiosk


def checkout(db: Database, kiosk: dict, event: dict, at: datetime) -> None:
    data = event["data"]
    with kiosks.item_lock(data["barcode"]):
        copy = copies_store.find(db, data["barcode"])
        if copy is None:
            _conflict(db, kiosk["_id"], data["barcode"], "unknown barcode checked out", event, at)
            return
        if event["id"] in (copy.get("inbox") or []):
            return  # applied already
        if kiosks.is_stale(at, copy.get("state_at")):
            # older than the item's last change: applying it would undo newer facts. Kept for
            # staff; settled at once if a later check-in already ended that loan
            ended = kiosks.checked_in_since(at, copy.get("checked_in_at"))
            _conflict(db, kiosk["_id"], copy["_id"], "checked out at the kiosk before the item's last "
                      "recorded change: not applied", event, at, kind="stale_checkout",
                      settled="a later check-in ended this loan" if ended else None)
            return
        patron = patrons_store.find_by_card(db, data["card_number"])
        if patron is None:
            _conflict(db, kiosk["_id"], copy["_id"], f"unknown card {data['card_number']}", event, at)
            return
        if copy["status"] == circulation.ON_LOAN and copy["loan"]["patron"] != patron["_id"]:
            # The kiosk lent it after the current loan began: that loan's return has not
            # reached us yet (or was never scanned). Close it as of then and lend it; staff
            # see the implied return until the real one arrives.
            actions.lend_after_implied_return(db, copy=copy, patron=patron, location_code=kiosk["_id"],
                                              at=at, source=f"kiosk:{kiosk['_id']}", applied_event=event["id"])
            _conflict(db, kiosk["_id"], copy["_id"], "lent at the kiosk while on loan to another patron: "
                      "that loan was closed as returned; waiting for its return event", event, at,
                      kind="implied_return")
            return
        try:
            actions.checkout(db, barcode=copy["_id"], patron=patron, location_code=kiosk["_id"], at=at,
                             source=f"kiosk:{kiosk['_id']}", copy=copy, honour_policy=False,
                             applied_event=event["id"])
        except circulation.Refused as exc:
            if exc.code != "already_yours":
                _conflict(db, kiosk["_id"], copy["_id"], str(exc), event, at)


def checkin(db: Database, kiosk: dict, event: dict, at: datetime) -> None:
    barcode = event["data"]["barcode"]
    with kiosks.item_lock(barcode):
        copy = copies_store.find(db, barcode)
        if copy is None:
            _conflict(db, kiosk["_id"], barcode, "unknown barcode returned", event, at)
            return
        if event["id"] in (copy.get("inbox") or []):
            return
        if kiosks.is_stale(at, copy.get("state_at")):
            # a return that a later checkout already implied, or that ends a late checkout:
            # the staff notes are settled, and the check-in is remembered for late checkouts
            actions.note_late_checkin(db, barcode, at, f"return event {event['id']}")
            return
        actions.checkin(db, barcode=barcode, location_code=kiosk["_id"], at=at,
                        source=f"kiosk:{kiosk['_id']}", copy=copy, applied_event=event["id"])


def fault(db: Database, kiosk: dict, event: dict, at: datetime) -> None:
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
        case["id"] = f"fault-{event['id']}"  # once per reported fault, whatever the redeliveries
        outcome = kiosks_store.open_fault(db, kiosk["_id"], code, kiosks.open_fault(data, at, case), event["id"])
        if outcome is not Applied.MISSING:
            return
    # open already (or opened meanwhile by another report): count it
    outcome = kiosks_store.count_fault(db, kiosk["_id"], kiosks.repeated_fault(code, at), event["id"])
    if outcome is Applied.MISSING:
        raise LookupError(f"kiosk {kiosk['_id']} vanished while its fault was recorded")


def inventory(db: Database, kiosk: dict, event: dict, at: datetime) -> None:
    copies_store.shelve_at(db, event["data"]["barcodes"], kiosk["_id"])


_BY_TYPE = {KioskCheckoutV1.TYPE: checkout, KioskCheckinV1.TYPE: checkin, KioskFaultReportV1.TYPE: fault,
            KioskInventoryV1.TYPE: inventory}   # a heartbeat is only seen


def _conflict(db: Database, kiosk_id: str, barcode: str, reason: str, event: dict, at: datetime,
              kind: str = "unresolved", settled: str | None = None) -> None:
    """Kept for staff, never dropped; once per event (its id is the conflict's id)."""
    actions.record_conflict(db, where=kiosk_id, barcode=barcode, reason=reason, event=event, at=at,
                            kind=kind, settled=settled)


def mark_silent(db: Database, now: datetime) -> int:
    """Online kiosks not heard from for ``kiosks.OFFLINE_AFTER_BEATS`` heartbeats are offline;
    how many were marked."""
    marked = 0
    for k in kiosks_store.online(db):
        if kiosks.is_offline(k.get("last_seen"), int(k.get("interval_seconds") or kiosks.DEFAULT_INTERVAL), now):
            kiosks_store.mark_offline(db, k["_id"], k.get("last_seen"))
            marked += 1
    return marked
