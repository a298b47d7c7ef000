"""Circulation rules on one copy, free of I/O: checkout, checkin (return anywhere, trap for
the first hold in line, arrival of a copy sent to a pickup location), holds passing on,
renewal, lost and claimed-returned.

Each function takes the copy as stored and returns the copy as it should become (version
+ 1); the store writes it with a version check, so two checkouts of one copy at the same
moment cannot both win.
"""
from __future__ import annotations

import copy as copying
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from services.common import clock
from services.common.errors import Conflict
from services.library import reports
from services.library.policy import LoanRule, due_date, fine_cents, recall_due

AVAILABLE, ON_LOAN, ON_HOLD_SHELF, IN_TRANSIT = "available", "on_loan", "on_hold_shelf", "in_transit"
CURRENT_HOLDS = ("waiting", "in_transit", "ready")   # a hold's states until it is fulfilled, cancelled or expired
LOST, CLAIMED_RETURNED = "lost", "claimed_returned"
CHECKINS_KEPT = 20   # recent check-ins a copy remembers


def day_of(moment: datetime) -> date:
    """The district's date of an instant, however its time zone is written (``+08:00`` or
    ``Z``): due dates, fines and hold expiry count local days."""
    return clock.local(moment).date()


class Refused(Conflict):
    """A circulation action that must not happen; ``code`` is stable for machines (SIP2)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PatronStanding:
    """What the store knows about a patron that decides whether they may borrow."""
    blocks: tuple[str, ...]
    active_loans: int
    overdue_items: int
    longest_overdue_days: int


def block_refusal(blocks: tuple[str, ...], what: str) -> Refused | None:
    """A blocked patron may not borrow, renew or place holds; the refusal names the reasons."""
    if blocks:
        return Refused("blocked", f"{what} is blocked: {'; '.join(blocks)}")
    return None


def standing_refusal(standing: PatronStanding, rule: LoanRule) -> Refused | None:
    blocked = block_refusal(standing.blocks, "borrowing")
    if blocked:
        return blocked
    if standing.overdue_items >= rule.block_overdue_items:
        return Refused("overdue", f"{standing.overdue_items} overdue items: return them before borrowing more")
    if standing.longest_overdue_days > rule.block_overdue_days:
        return Refused("overdue", f"an item is {standing.longest_overdue_days} days overdue: return it first")
    if standing.active_loans >= rule.item_limit:
        return Refused("limit", f"the limit of {rule.item_limit} items on loan is reached")
    return None


def _next(copy: dict) -> dict:
    new = copying.deepcopy(copy)
    new["version"] = copy.get("version", 0) + 1
    return new


def checkout(copy: dict, patron_id: str, standing: PatronStanding, rule: LoanRule, *, location: str,
             now: datetime, loan_id: str, is_open: Callable[[date], bool], holds_waiting: bool) -> dict:
    status = copy["status"]
    if status == ON_LOAN:
        if copy["loan"]["patron"] == patron_id:
            raise Refused("already_yours", "this item is already on loan to you")
        raise Refused("on_loan", "this item is on loan to someone else")
    if status == ON_HOLD_SHELF and copy["hold"]["patron"] != patron_id:
        raise Refused("held", "this item is waiting for another patron's hold")
    if status in (IN_TRANSIT, LOST, CLAIMED_RETURNED):
        raise Refused("unavailable", f"this item cannot be lent now ({status})")
    refusal = standing_refusal(standing, rule)
    if refusal:
        raise refusal
    days = min(rule.loan_days, rule.recall_days) if holds_waiting and rule.recall_days else rule.loan_days
    new = _next(copy)
    fulfilled = copy["hold"]["hold_id"] if status == ON_HOLD_SHELF else None
    new.update(status=ON_LOAN, location=location, hold=None, overdue_raised=False, loan={
        "loan_id": loan_id, "patron": patron_id, "loaned_at": _utc(now), "location": location,
        "report_key": reports.loan_key(_utc(now), location),   # the loans report groups on it
        "due": due_date(rule, day_of(now), is_open, days).isoformat(), "renewals": 0, "fulfilled_hold": fulfilled})
    return new


def on_loan_to_another(copy: dict, patron_id: str) -> bool:
    return copy["status"] == ON_LOAN and copy["loan"]["patron"] != patron_id


def is_trapped(copy: dict) -> bool:
    """Set aside for a hold: on the hold shelf, or travelling to the pickup location."""
    return copy["status"] in (ON_HOLD_SHELF, IN_TRANSIT) and bool(copy.get("hold"))


def hold_became_ready(old: dict, new: dict) -> bool:
    """Whether this change put the copy on the pickup shelf for a hold (hold-ready is
    published then, never while the copy travels)."""
    if new["status"] != ON_HOLD_SHELF or not new.get("hold"):
        return False
    return old["status"] != ON_HOLD_SHELF or (old.get("hold") or {}).get("hold_id") != new["hold"]["hold_id"]


def checkin(copy: dict, *, location: str, now: datetime, rule: LoanRule, first_hold: dict | None
            ) -> tuple[dict, dict | None]:
    """The copy after its check-in at ``location`` and the loan that ended (None if none).

    A copy returned anywhere stays there (通借通还), unless the first hold in line traps
    it: then it waits on the hold shelf (returned at the pickup location) or travels there.
    A copy travelling to a pickup location is received there by a check-in (see ``arrive``).
    """
    if copy["status"] == IN_TRANSIT and copy.get("hold"):
        return arrive(copy, location=location, now=now, rule=rule), None
    new = _checked_in(copy, location, now)
    ended = copy["loan"] if copy["status"] in (ON_LOAN, CLAIMED_RETURNED, LOST) else None
    if ended:
        ended = {**ended, "returned_at": _utc(now), "returned_to": location,
                 "fine_cents": fine_cents(rule, date.fromisoformat(ended["due"]), day_of(now))}
    if copy["status"] == ON_HOLD_SHELF:
        return new, ended  # waiting for its patron: a scan at another desk just moves it
    if first_hold:
        _trap(new, first_hold, location, now, rule)
    else:
        new.update(status=AVAILABLE, hold=None)
    return new, ended


def _checked_in(copy: dict, location: str, now: datetime) -> dict:
    new = _next(copy)
    new.update(loan=None, location=location, overdue_raised=False)
    # the latest check-in: whatever loan began before it has ended (late kiosk checkouts), and
    # the recent ones: the first after a late checkout is when that loan ended (its history)
    new["checked_in_at"] = max(filter(None, (copy.get("checked_in_at"), _utc(now))))
    new["checkins"] = (list(copy.get("checkins") or []) + [_utc(now)])[-CHECKINS_KEPT:]
    return new


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def _hold_of(hold: dict) -> dict:
    """The hold as the copy carries it, not ready yet."""
    return {"hold_id": hold["_id"], "patron": hold["patron"], "pickup": hold["pickup"],
            "ready_since": None, "expires": None}


def _trap(new: dict, hold: dict, location: str, now: datetime, rule: LoanRule) -> None:
    new["hold"] = _hold_of(hold)
    if hold["pickup"] == location:
        _ready(new, now, rule)
    else:
        new["status"] = IN_TRANSIT


def _ready(new: dict, now: datetime, rule: LoanRule) -> None:
    """On the pickup location's hold shelf: the shelf expiry starts now."""
    new["status"] = ON_HOLD_SHELF
    new["hold"] = {**new["hold"], "ready_since": _utc(now),
                   "expires": (day_of(now) + timedelta(days=rule.hold_shelf_days)).isoformat()}


def trap_available(copy: dict, hold: dict, *, now: datetime, rule: LoanRule) -> dict:
    """A new hold takes an available copy at once: on the shelf where it stands, or sent on."""
    if copy["status"] != AVAILABLE:
        raise Refused("unavailable", "this item is not available")
    new = _next(copy)
    _trap(new, hold, copy["location"], now, rule)
    return new


def arrive(copy: dict, *, location: str, now: datetime, rule: LoanRule) -> dict:
    """A copy travelling for a hold is checked in at ``location`` (by staff, SIP2 or a
    kiosk): at its pickup location the hold becomes ready; elsewhere it travels on."""
    if not (copy["status"] == IN_TRANSIT and copy.get("hold")):
        raise Refused("not_in_transit", "this item is not on its way to a hold")
    new = _checked_in(copy, location, now)
    if copy["hold"]["pickup"] == location:
        _ready(new, now, rule)
    return new


def expire_hold(copy: dict, *, now: datetime, next_hold: dict | None, rule: LoanRule) -> dict:
    """A ready hold not collected in time passes to the next in line, or frees the copy."""
    if copy["status"] != ON_HOLD_SHELF or copy["hold"]["expires"] >= day_of(now).isoformat():
        raise Refused("not_expired", "this hold has not expired")
    return pass_on(copy, now=now, next_hold=next_hold, rule=rule)


def pass_on(copy: dict, *, now: datetime, next_hold: dict | None, rule: LoanRule) -> dict:
    """The copy of a hold that ended (expired, cancelled) goes to the next in line, or is freed.

    On the hold shelf: ready at once when the next pickup is this location, else sent on;
    with nobody waiting it is available where it stands (copies float: 通借通还). Travelling:
    it is readdressed to the next pickup; with nobody waiting it stays in transit with no
    hold, and the desk that receives it checks it in as a return (shelved there or trapped).
    """
    if not is_trapped(copy):
        raise Refused("not_held", "this item is not set aside for a hold")
    new = _next(copy)
    if copy["status"] == IN_TRANSIT:  # still on the road: ready only once checked in at the pickup
        new["hold"] = _hold_of(next_hold) if next_hold else None
        return new
    if next_hold:
        _trap(new, next_hold, copy["location"], now, rule)
    else:
        new.update(status=AVAILABLE, hold=None)
    return new


def renew(copy: dict, patron_id: str, rule: LoanRule, *, now: datetime, holds_waiting: bool,
          is_open: Callable[[date], bool], blocks: tuple[str, ...] = ()) -> dict:
    if copy["status"] != ON_LOAN or copy["loan"]["patron"] != patron_id:
        raise Refused("not_yours", "this item is not on loan to you")
    blocked = block_refusal(blocks, "renewing")
    if blocked:
        raise blocked
    if holds_waiting:
        raise Refused("held", "another patron is waiting for this title: it cannot be renewed")
    if copy["loan"]["renewals"] >= rule.renewals:
        raise Refused("renewal_limit", f"renewed {copy['loan']['renewals']} times already: the limit is {rule.renewals}")
    due = due_date(rule, day_of(now), is_open)
    if due.isoformat() <= copy["loan"]["due"]:
        # renewing the day it was lent would spend a renewal and move nothing
        raise Refused("too_soon", f"renewing now would not move the due date ({copy['loan']['due']}): "
                                  "renew nearer the due date")
    new = _next(copy)
    new["loan"] = {**copy["loan"], "renewals": copy["loan"]["renewals"] + 1, "due": due.isoformat()}
    new["overdue_raised"] = False
    return new


def recall_order(copies: list[dict]) -> list[dict]:
    """Loans a new hold may recall, the one with the most time left first (each loan is
    recalled once at most)."""
    loans = [c for c in copies if c["status"] == ON_LOAN and not c["loan"].get("recalled_at")]
    return sorted(loans, key=lambda c: (c["loan"]["due"], c["loan"]["loaned_at"]), reverse=True)


def recall(copy: dict, rule: LoanRule, *, now: datetime, is_open: Callable[[date], bool], hold_id: str) -> dict:
    """A waiting hold recalls this loan: due ``recall_days`` from now (not before the rule's
    minimum loan period, never later than it was); once per loan."""
    if copy["status"] != ON_LOAN:
        raise Refused("not_on_loan", "only an item on loan can be recalled")
    if copy["loan"].get("recalled_at"):
        raise Refused("recalled", "this loan has been recalled already")
    loan = copy["loan"]
    due = recall_due(rule, day_of(datetime.fromisoformat(loan["loaned_at"])), date.fromisoformat(loan["due"]),
                     day_of(now), is_open)
    if due is None:
        raise Refused("no_recall", "loans under this rule are not recalled")
    new = _next(copy)
    new["loan"] = {**loan, "due": due.isoformat(), "recalled_at": _utc(now), "recalled_for": hold_id,
                   "due_before_recall": loan["due"]}
    return new


def declare_lost(copy: dict, patron_id: str | None) -> dict:
    if copy["status"] != ON_LOAN or (patron_id and copy["loan"]["patron"] != patron_id):
        raise Refused("not_on_loan", "only an item on loan can be declared lost")
    new = _next(copy)
    new["status"] = LOST
    return new


def claim_returned(copy: dict, patron_id: str) -> dict:
    if copy["status"] != ON_LOAN or copy["loan"]["patron"] != patron_id:
        raise Refused("not_yours", "this item is not on loan to you")
    new = _next(copy)
    new["status"] = CLAIMED_RETURNED  # no longer counts as overdue while staff look for it
    return new


def is_overdue(copy: dict, today: date) -> bool:
    return copy["status"] == ON_LOAN and copy["loan"]["due"] < today.isoformat()


# ---- views: a copy's loan and a hold as callers see them ----------------------------------------

def collects_holds(location: dict) -> bool:
    """Holds are collected at a library or a branch, and at a kiosk only with a hold shelf."""
    return location.get("kind") != "kiosk" or bool(location.get("hold_shelf"))


def location_view(location: dict) -> dict:
    return {"code": location["_id"], "name": location["name"], "kind": location["kind"],
            "committee": location.get("committee"), "pickup": collects_holds(location)}


def loan_view(copy: dict) -> dict:
    loan = copy.get("loan") or {}
    return {"barcode": copy["_id"], "title_id": copy["title_id"], "status": copy["status"],
            "location": copy["location"], "loan_id": loan.get("loan_id"), "patron": loan.get("patron"),
            "due": loan.get("due"), "renewals": loan.get("renewals"), "loaned_at": loan.get("loaned_at")}


def checkin_view(copy: dict, ended: dict | None) -> dict:
    """A check-in's answer: where the copy is, the loan it ended, the hold it waits for."""
    return {"barcode": copy["_id"], "status": copy["status"], "location": copy["location"],
            "ended_loan": ended["loan_id"] if ended else None,
            "hold_for": (copy.get("hold") or {}).get("pickup")}


def hold_view(hold: dict, position: int | None) -> dict:
    return {"hold_id": hold["_id"], "title_id": hold["title_id"], "pickup": hold["pickup"], "status": hold["status"],
            "placed_at": hold["placed_at"], "position": position, "barcode": hold.get("barcode"),
            "expires": hold.get("expires")}
