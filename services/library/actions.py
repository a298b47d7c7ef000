"""Circulation actions against the store: the one implementation that the RPC entrypoints,
kiosk events and the SIP2 endpoint all call, so that a checkout is the same action (and
publishes the same events) whichever way it arrives. (Patrons' blocks, PINs and types:
``patron_actions``; what the actions read to decide: ``reads``.)"""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timezone

from pymongo.database import Database

from contracts.events.library import (ConflictRecordedV1, HoldExpiredV1, HoldReadyV1, LoanCheckedInV1, LoanCheckedOutV1,
                                      LoanOverdueV1, LoanRecalledV1, LoanRenewedV1)
from services.common import clock, outbox
from services.common.errors import BadInput, Conflict, NotFound
from services.library import (catalogue, circulation, conflicts_store, copies_store, holds_store, kiosks,
                              loan_rules_store, locations_store, patrons, patrons_store)
from services.library.policy import open_on, rule_for
from services.library.reads import rule, standing

log = logging.getLogger(__name__)
LATE_LOANS = uuid.UUID("0c7e9d64-2b7f-4b1e-9d52-6a8f3c1e5b27")   # late loans' history ids, from their conflict's


# ---- events -------------------------------------------------------------------------------

def loan_event(kind, db, copy_after: dict, loan: dict, at: datetime, source: str, **extra) -> dict:
    """A loan's event (checked out, in, renewed, recalled, overdue) as circulation publishes it."""
    return outbox.event(kind.TYPE, {
        "loan_id": loan["loan_id"], "barcode": copy_after["_id"], "title_id": copy_after["title_id"],
        "title": catalogue.title_name(db, copy_after["title_id"]), "patron": loan["patron"],
        "location": copy_after["location"], "at": at, "due": loan.get("due"), "source": source, **extra},
        subject=copy_after["_id"])


def _hold_event(kind, db, copy_after: dict, at: datetime) -> dict:
    hold = copy_after["hold"]
    return outbox.event(kind.TYPE, {
        "hold_id": hold["hold_id"], "title_id": copy_after["title_id"],
        "title": catalogue.title_name(db, copy_after["title_id"]),
        "patron": hold["patron"], "pickup": hold["pickup"], "at": at, "barcode": copy_after["_id"],
        "expires": hold.get("expires")}, subject=hold["hold_id"])


def _ready_events(db, old: dict, new: dict, at: datetime) -> list[dict]:
    """Hold-ready when the copy has just reached the pickup shelf (with its expiry), not before."""
    return [_hold_event(HoldReadyV1, db, new, at)] if circulation.hold_became_ready(old, new) else []


# ---- loans --------------------------------------------------------------------------------

def checkout(db: Database, *, barcode: str, patron: dict, location_code: str, at: datetime | None = None,
             source: str = "desk", copy: dict | None = None, honour_policy: bool = True,
             applied_event: str | None = None) -> dict:
    """``honour_policy=False`` for what a kiosk or self-check machine already did offline:
    the item has left, so the loan is recorded whatever the patron's standing."""
    at = at or clock.now()
    loc = locations_store.by_code(db, location_code)
    copy = copy or copies_store.by_barcode(db, barcode)
    r = rule(db, patron, copy, loc)
    patron_standing = standing(db, patron, circulation.day_of(at)) if honour_policy else circulation.PatronStanding((), 0, 0, 0)
    new = circulation.checkout(
        copy, patron["_id"], patron_standing, r, location=location_code, now=at,
        loan_id=uuid.uuid4().hex, is_open=open_on(loc.get("closed_weekdays", ()), loc.get("closed_dates", ())),
        holds_waiting=holds_store.others_waiting(db, copy["title_id"], except_patron=patron["_id"]))
    event = loan_event(LoanCheckedOutV1, db, new, new["loan"], at, source, hold_id=new["loan"]["fulfilled_hold"])
    copies_store.save(db, copy, new, event, at=at, applied_event=applied_event)
    if new["loan"]["fulfilled_hold"]:
        holds_store.close(db, new["loan"]["fulfilled_hold"], "fulfilled")
    return new


def checkin(db: Database, *, barcode: str, location_code: str, at: datetime | None = None,
            source: str = "desk", copy: dict | None = None, applied_event: str | None = None
            ) -> tuple[dict, dict | None]:
    at = at or clock.now()
    loc = locations_store.by_code(db, location_code)
    copy = copy or copies_store.by_barcode(db, barcode)
    hold = None if circulation.is_trapped(copy) else holds_store.first_waiting(db, copy["title_id"])
    patron = patrons_store.find(db, copy["loan"]["patron"]) if copy.get("loan") else None
    r = rule(db, patron, copy, loc)
    new, ended = circulation.checkin(copy, location=location_code, now=at, rule=r, first_hold=hold)
    events = []
    if ended:
        overdue_days = max(0, (circulation.day_of(at) - date.fromisoformat(ended["due"])).days)
        events.append(loan_event(LoanCheckedInV1, db, new, ended, at, source, overdue_days=overdue_days,
                                  fine_cents=ended["fine_cents"]))
    events += _ready_events(db, copy, new, at)  # trapped at the pickup location, or arrived there
    copies_store.save(db, copy, new, *events, at=at, applied_event=applied_event, ended=ended)
    if new.get("hold") and (hold or circulation.hold_became_ready(copy, new)):
        holds_store.follow_copy(db, new["hold"]["hold_id"], new)
    return new, ended


def lend_after_implied_return(db: Database, *, copy: dict, patron: dict, location_code: str, at: datetime,
                              source: str, applied_event: str | None) -> dict:
    """A machine lent a copy that we still think is on loan to someone else, later than that
    loan began: the earlier holder's return has not reached us yet. Close their loan and
    open the new one in one write (one version, both events)."""
    loc = locations_store.by_code(db, location_code)
    r = rule(db, patron, copy, loc)
    returned, ended = circulation.checkin(copy, location=location_code, now=at, rule=r, first_hold=None)
    lent = circulation.checkout(
        returned, patron["_id"], circulation.PatronStanding((), 0, 0, 0), r, location=location_code, now=at,
        loan_id=uuid.uuid4().hex, is_open=open_on(loc.get("closed_weekdays", ()), loc.get("closed_dates", ())),
        holds_waiting=False)
    lent["version"] = copy["version"] + 1
    lent.pop("checked_in_at", None)  # nobody checked it in: a late checkout is not explained by this
    if copy.get("checked_in_at"):
        lent["checked_in_at"] = copy["checked_in_at"]
    overdue_days = max(0, (circulation.day_of(at) - date.fromisoformat(ended["due"])).days)
    events = [loan_event(LoanCheckedInV1, db, returned, ended, at, f"{source} (implied)", overdue_days=overdue_days,
                          fine_cents=ended["fine_cents"]),
              loan_event(LoanCheckedOutV1, db, lent, lent["loan"], at, source)]
    copies_store.save(db, copy, lent, *events, at=at, applied_event=applied_event,
                      ended={**ended, "implied_return": True})
    return lent


def renew(db: Database, *, barcode: str, patron: dict, at: datetime | None = None, source: str = "desk") -> dict:
    at = at or clock.now()
    copy = copies_store.by_barcode(db, barcode)
    if copy["status"] != circulation.ON_LOAN:
        raise circulation.Refused("not_yours", "this item is not on loan to you")
    loc = locations_store.find(db, copy["loan"]["location"]) or {"kind": "library"}
    r = rule(db, patron, copy, loc)
    new = circulation.renew(copy, patron["_id"], r, now=at,
                            holds_waiting=holds_store.others_waiting(db, copy["title_id"], except_patron=patron["_id"]),
                            is_open=open_on(loc.get("closed_weekdays", ()), loc.get("closed_dates", ())),
                            blocks=patrons.block_reasons(patron.get("blocks")))
    event = loan_event(LoanRenewedV1, db, new, new["loan"], at, source, renewals=new["loan"]["renewals"])
    copies_store.save(db, copy, new, event, at=at)
    return new


def declare_lost(db: Database, *, barcode: str, patron_id: str | None) -> dict:
    copy = copies_store.by_barcode(db, barcode)
    new = circulation.declare_lost(copy, patron_id)
    copies_store.save(db, copy, new)
    return new


def claim_returned(db: Database, *, barcode: str, patron_id: str) -> dict:
    copy = copies_store.by_barcode(db, barcode)
    new = circulation.claim_returned(copy, patron_id)
    copies_store.save(db, copy, new)
    return new


# ---- holds --------------------------------------------------------------------------------

def place_hold(db: Database, *, patron: dict, title_id: str, pickup: str, at: datetime | None = None) -> dict:
    at = at or clock.now()
    if not catalogue.has_title(db, title_id):
        raise NotFound(f"no title {title_id}")
    blocked = circulation.block_refusal(patrons.block_reasons(patron.get("blocks")), "placing holds")
    if blocked:
        raise blocked
    pickup_at = locations_store.by_code(db, pickup)
    if not circulation.collects_holds(pickup_at):
        raise BadInput("holds are collected at a library or branch, not at this kiosk")
    if holds_store.current_on(db, patron["_id"], title_id):
        raise circulation.Refused("duplicate_hold", "you already hold this title")
    hold_id = uuid.uuid4().hex
    doc = {"_id": hold_id, "title_id": str(title_id), "patron": patron["_id"], "pickup": pickup,
           "placed_at": at.isoformat(), "status": "waiting", "queue": str(title_id),
           "queue_key": f"{at.isoformat()}|{hold_id}"}
    holds_store.add(db, doc)
    if not _trap_an_available_copy(db, doc, at):
        _recall_a_loan(db, doc, at)
    return holds_store.get(db, hold_id)


def _trap_an_available_copy(db: Database, hold: dict, at: datetime) -> bool:
    """An available copy (preferably already at the pickup location) is set aside at once."""
    available = [c for c in copies_store.of_title(db, hold["title_id"]) if c["status"] == circulation.AVAILABLE]
    available.sort(key=lambda c: c["location"] != hold["pickup"])
    for copy in available:
        loc = locations_store.find(db, copy["location"]) or {"kind": "library"}
        new = circulation.trap_available(copy, hold, now=at, rule=rule(db, None, copy, loc))
        try:
            copies_store.save(db, copy, new, *_ready_events(db, copy, new, at))
        except Conflict:
            continue  # someone took it meanwhile: try the next copy
        holds_store.follow_copy(db, hold["_id"], new)
        return True
    return False


def _recall_a_loan(db: Database, hold: dict, at: datetime) -> dict | None:
    """No copy could be set aside for the new hold: recall the loan with the most time left
    (another patron's, under a rule that recalls), once per loan, and publish the recall."""
    in_force = loan_rules_store.rules(db)   # once: most titles' loans fall under rules that do not recall
    if not any(r.recall_days > 0 for r in in_force):
        return None
    copies = copies_store.of_title(db, hold["title_id"])
    for copy in circulation.recall_order(copies):
        if copy["loan"]["patron"] == hold["patron"]:
            continue  # their own loan: nobody to hurry
        loc = locations_store.find(db, copy["loan"]["location"]) or {"kind": "library"}
        borrower = patrons_store.find(db, copy["loan"]["patron"]) or {}
        loan_rule = rule_for(in_force, borrower.get("patron_type", "adult"), copy.get("material_type", "book"),
                             loc.get("kind", "library"))
        try:
            new = circulation.recall(copy, loan_rule, now=at, hold_id=hold["_id"],
                                     is_open=open_on(loc.get("closed_weekdays", ()), loc.get("closed_dates", ())))
        except circulation.Refused:
            continue  # its rule makes no recalls
        event = loan_event(LoanRecalledV1, db, new, new["loan"], at, "hold", previous_due=copy["loan"]["due"],
                            hold_id=hold["_id"])
        try:
            copies_store.save(db, copy, new, event)  # no ``at``: a recall is no physical change of the item
        except Conflict:
            continue  # returned or renewed meanwhile: try the next loan
        return new
    return None


def cancel_hold(db: Database, *, patron: dict, hold_id: str, at: datetime | None = None) -> dict:
    """A cancelled hold frees the copy set aside for it: it passes to the next in line or is
    available again (see ``circulation.pass_on``)."""
    hold = holds_store.of_patron(db, patron["_id"], hold_id)
    if hold is None:
        raise NotFound("no such hold of yours")
    if hold["status"] not in ("waiting", "ready", "in_transit"):
        raise circulation.Refused("hold_closed", f"this hold is {hold['status']} already")
    if hold.get("barcode"):
        _release_copy(db, hold, at or clock.now())  # first: if the copy changed meanwhile, nothing is cancelled
    holds_store.close(db, hold["_id"], "cancelled")
    return {**hold, "status": "cancelled", "queue": None}


def _release_copy(db: Database, hold: dict, at: datetime) -> None:
    copy = copies_store.find(db, hold["barcode"])
    if copy is None or (copy.get("hold") or {}).get("hold_id") != hold["_id"]:
        return  # the copy has moved on already (lent, expired, passed on)
    _pass_on(db, copy, holds_store.first_waiting(db, copy["title_id"]), at, expired=False)


def _pass_on(db: Database, copy: dict, nxt: dict | None, at: datetime, *, expired: bool) -> dict:
    """Write the copy of a hold that ended, passed to ``nxt`` or freed; Conflict if it changed."""
    loc = locations_store.find(db, copy["location"]) or {"kind": "library"}
    r = rule(db, None, copy, loc)
    if expired:
        new = circulation.expire_hold(copy, now=at, next_hold=nxt, rule=r)
    else:
        new = circulation.pass_on(copy, now=at, next_hold=nxt, rule=r)
    events = _ready_events(db, copy, new, at)
    if expired:
        old_hold = copy["hold"]
        events.insert(0, outbox.event(HoldExpiredV1.TYPE, {
            "hold_id": old_hold["hold_id"], "title_id": copy["title_id"], "patron": old_hold["patron"],
            "pickup": old_hold["pickup"], "at": at, "barcode": copy["_id"]}, subject=old_hold["hold_id"]))
    copies_store.save(db, copy, new, *events)
    if nxt:
        holds_store.follow_copy(db, nxt["_id"], new)
    return new


# ---- timers -------------------------------------------------------------------------------

def raise_overdue(db: Database, today: date) -> int:
    """Each loan that has become overdue is published once."""
    raised = 0
    for copy in copies_store.may_be_overdue(db, today):
        if not circulation.is_overdue(copy, today):
            continue
        new = {**copy, "overdue_raised": True, "version": copy["version"] + 1}
        try:
            copies_store.save(db, copy, new, loan_event(LoanOverdueV1, db, new, copy["loan"], clock.now(), "timer"))
            raised += 1
        except Conflict:
            continue  # changed meanwhile: the next round looks again
    return raised


def expire_holds(db: Database, today: date) -> int:
    """Ready holds not collected in time pass to the next in line."""
    expired = 0
    at = datetime.combine(today, clock.now().timetz())
    for copy in copies_store.holds_expiring(db, today):
        try:
            # the next in line gets it: ready here, or in transit to a pickup elsewhere
            _pass_on(db, copy, holds_store.first_waiting(db, copy["title_id"]), at, expired=True)
        except Conflict:
            continue  # not expired after all, or someone acted on the copy meanwhile: the next round looks again
        holds_store.close(db, copy["hold"]["hold_id"], "expired")
        expired += 1
    return expired


# ---- conflicts ----------------------------------------------------------------------------

def record_conflict(db: Database, *, where: str, barcode: str, reason: str, event: dict, at: datetime,
                    kind: str = "unresolved", settled: str | None = None, conflict_id: str | None = None) -> None:
    """What a kiosk or self-check machine did that could not be applied, kept for staff and
    published, never dropped; once per event (``conflict_id``, else the event's id, is the
    conflict's id: a kiosk's names the kiosk, as two kiosks may use one event id). One already
    ``settled`` is kept as resolved, and not published. ``where``: the kiosk, or sip2:<login>."""
    conflict_id = conflict_id or event["id"]
    record = outbox.event(ConflictRecordedV1.TYPE, {"conflict_id": conflict_id, "barcode": barcode,
                                                    "kiosk_id": where, "reason": reason, "at": at},
                          subject=barcode)
    state = {"status": "resolved", "resolution": settled} if settled else {
        "status": "open", **outbox.pending_fields([record])}
    conflicts_store.add(db, {
        "_id": conflict_id, "barcode": barcode, "kiosk_id": where, "reason": reason, "kind": kind,
        "at": at.astimezone(timezone.utc).isoformat(),
        "event": {k: event[k] for k in ("id", "type", "time", "data")}, **state})


def keep_late_loan(db: Database, copy: dict, patron_id: str, lent_at: datetime, returned_at: str, where: str,
                   conflict_id: str) -> None:
    """A loan a kiosk or machine made whose return reached us first: it happened, and ended at
    the first check-in after it; it joins the patron's loan history (once: its id comes from
    its conflict's)."""
    copies_store.keep_ended_loan(db, {
        "loan_id": uuid.uuid5(LATE_LOANS, conflict_id).hex, "patron": patron_id, "loaned_at": lent_at.astimezone(timezone.utc).isoformat(),
        "location": where, "returned_at": returned_at, "returned_to": None, "late_event": True},
        copy["_id"], copy["title_id"])


def note_late_checkin(db: Database, barcode: str, at: datetime, what: str, applied_event: str | None = None) -> None:
    """A return older than the item's last change (a kiosk's or machine's, forwarded late):
    not applied, but remembered for late checkouts, and the staff notes it explains are settled
    (a late checkout it ended joins the loan history)."""
    copies_store.note_checked_in(db, barcode, at, applied_event)
    settle_explained(db, barcode, at, what)


def settle_explained(db: Database, barcode: str, at: datetime, what: str) -> None:
    """Settle the open notes a return at ``at`` explains; again harmlessly when the same return
    comes back (its process may have died before this ran)."""
    for note in conflicts_store.open_of_item(db, barcode):
        if note["kind"] == "implied_return":
            resolution = f"{what} arrived late"
        elif note["kind"] == "stale_checkout" and kiosks.checked_in_since(
                lent_at := datetime.fromisoformat(note.get("at") or note["event"]["time"]), at.isoformat()):
            resolution = f"{what} ended this loan"
            patron = patrons_store.find_by_card(db, note["event"]["data"].get("card_number", ""))
            copy = copies_store.find(db, barcode)
            if patron is not None and copy is not None:
                keep_late_loan(db, copy, patron["_id"], lent_at, at.astimezone(timezone.utc).isoformat(),
                               note["kiosk_id"], note["_id"])
        else:
            continue
        conflicts_store.settle(db, note["_id"], resolution)
