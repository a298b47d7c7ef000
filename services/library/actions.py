"""Circulation actions against the store: the one implementation that the RPC entrypoints,
kiosk events and the SIP2 endpoint all call, so that a checkout is the same action (and
publishes the same events) whichever way it arrives."""
from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from datetime import date, datetime, timezone

import pymongo
from eventlet import tpool
from pymongo.database import Database

from contracts.events.library import (ConflictRecordedV1, HoldExpiredV1, HoldReadyV1, LoanCheckedInV1, LoanCheckedOutV1,
                                      LoanOverdueV1, LoanRecalledV1, LoanRenewedV1)
from services.common import outbox, passwords
from services.common.errors import BadInput, Conflict, NotFound
from services.common.storage import due_by
from services.library import circulation, kiosks, patrons, pins, policy, reference, store
from services.library.policy import DEFAULT_RULES, LoanRule, open_on, patron_types, rule_for

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(timezone.utc)


# ---- reads ------------------------------------------------------------------------------

def copy_by_barcode(db: Database, barcode: str) -> dict:
    doc = db[store.COPIES].find_one({"_id": str(barcode)})
    if doc is None:
        raise NotFound(f"no item with barcode {barcode}")
    return doc


def patron_by_card(db: Database, card_number: str) -> dict:
    doc = db[store.PATRONS].find_one({"card_number": str(card_number)})
    if doc is None:
        raise NotFound("no patron with this library card")
    return doc


def patron_by_id(db: Database, resident_id: str) -> dict:
    doc = db[store.PATRONS].find_one({"_id": str(resident_id)})
    if doc is None:
        raise NotFound(f"no library card for resident {resident_id}")
    return doc


def location(db: Database, code: str) -> dict:
    doc = reference.cached(db, store.LOCATIONS, str(code), lambda: db[store.LOCATIONS].find_one({"_id": str(code)}))
    if doc is None:
        raise BadInput(f"unknown library location {code!r}")
    return doc


def loans_of(db: Database, patron_id: str) -> list[dict]:
    return list(db[store.COPIES].find({"loan.patron": str(patron_id)}).limit(500))


def standing(db: Database, patron: dict, today: date) -> circulation.PatronStanding:
    loans = [c for c in loans_of(db, patron["_id"]) if c["status"] == circulation.ON_LOAN]
    overdue = [(today - date.fromisoformat(c["loan"]["due"])).days for c in loans if circulation.is_overdue(c, today)]
    return circulation.PatronStanding(blocks=patrons.block_reasons(patron.get("blocks")), active_loans=len(loans),
                                      overdue_items=len(overdue), longest_overdue_days=max(overdue, default=0))


LOAN_RULES = "loan_rules"   # an operator's rules, one document each (_id = the rule's name), after the defaults


def rules(db: Database) -> tuple[LoanRule, ...]:
    return reference.cached(db, LOAN_RULES, "all", lambda: DEFAULT_RULES + tuple(
        LoanRule(**{k: v for k, v in r.items() if k != "_id"}) for r in db[LOAN_RULES].find().sort("_id")))


def put_loan_rules(db: Database, named: dict) -> list[str]:
    """Add or replace operator rules ({name: fields}); all are checked before any is stored."""
    if not isinstance(named, dict) or not 0 < len(named) <= 200:
        raise BadInput("give 1 to 200 rules as {name: fields}")
    checked = {}
    for name, fields in named.items():
        if not isinstance(name, str) or not policy.RULE_NAME.match(name):
            raise BadInput(f"a rule name is a short lower-case name: {str(name)[:40]!r}")
        try:
            checked[name] = dataclasses.asdict(policy.rule_from(fields))
        except ValueError as exc:
            raise BadInput(f"rule {name}: {exc}") from None
    for name, fields in checked.items():
        # every field is set (asdict): the whole rule; replace_one would not do (the embedded store
        # gives an upserted replacement a new ObjectId instead of the _id asked for)
        db[LOAN_RULES].update_one({"_id": name}, {"$set": fields}, upsert=True)
    reference.forget(db, LOAN_RULES)
    return sorted(checked)


def rule(db: Database, patron: dict | None, copy: dict, loc: dict) -> LoanRule:
    return rule_for(rules(db), (patron or {}).get("patron_type", "adult"), copy.get("material_type", "book"),
                    loc.get("kind", "library"))


def first_waiting_hold(db: Database, title_id: str) -> dict | None:
    return db[store.HOLDS].find_one({"queue": title_id}, sort=[("queue_key", pymongo.ASCENDING)])


def holds_waiting(db: Database, title_id: str, except_patron: str | None = None) -> bool:
    for hold in db[store.HOLDS].find({"queue": title_id}).limit(50):
        if hold["patron"] != except_patron:
            return True
    return False


def _title_name(db: Database, title_id: str) -> str:
    doc = reference.cached(db, store.TITLES, title_id, lambda: db[store.TITLES].find_one({"_id": title_id}, {"title": 1}))
    return (doc or {}).get("title", "")


def _loan_event(kind, db, copy_after: dict, loan: dict, at: datetime, source: str, **extra) -> dict:
    return outbox.event(kind.TYPE, {
        "loan_id": loan["loan_id"], "barcode": copy_after["_id"], "title_id": copy_after["title_id"],
        "title": _title_name(db, copy_after["title_id"]), "patron": loan["patron"],
        "location": copy_after["location"], "at": at, "due": loan.get("due"), "source": source, **extra},
        subject=copy_after["_id"])


def _hold_event(kind, db, copy_after: dict, at: datetime) -> dict:
    hold = copy_after["hold"]
    return outbox.event(kind.TYPE, {
        "hold_id": hold["hold_id"], "title_id": copy_after["title_id"], "title": _title_name(db, copy_after["title_id"]),
        "patron": hold["patron"], "pickup": hold["pickup"], "at": at, "barcode": copy_after["_id"],
        "expires": hold.get("expires")}, subject=hold["hold_id"])


def _ready_events(db, old: dict, new: dict, at: datetime) -> list[dict]:
    """Hold-ready when the copy has just reached the pickup shelf (with its expiry), not before."""
    return [_hold_event(HoldReadyV1, db, new, at)] if circulation.hold_became_ready(old, new) else []


def _hold_follows(db: Database, hold_id: str, copy_after: dict) -> None:
    """The copy (written first) is the truth; the hold's document follows it."""
    ready = copy_after["status"] == circulation.ON_HOLD_SHELF
    db[store.HOLDS].update_one({"_id": hold_id}, {"$set": {
        "status": "ready" if ready else "in_transit", "queue": None, "barcode": copy_after["_id"],
        "expires": copy_after["hold"].get("expires")}})


# ---- actions ----------------------------------------------------------------------------

def checkout(db: Database, *, barcode: str, patron: dict, location_code: str, at: datetime | None = None,
             source: str = "desk", copy: dict | None = None, honour_policy: bool = True,
             applied_event: str | None = None) -> dict:
    """``honour_policy=False`` for what a kiosk or self-check machine already did offline:
    the item has left, so the loan is recorded whatever the patron's standing."""
    at = at or now()
    loc = location(db, location_code)
    copy = copy or copy_by_barcode(db, barcode)
    r = rule(db, patron, copy, loc)
    patron_standing = standing(db, patron, at.date()) if honour_policy else circulation.PatronStanding((), 0, 0, 0)
    new = circulation.checkout(
        copy, patron["_id"], patron_standing, r, location=location_code, now=at,
        loan_id=uuid.uuid4().hex, is_open=open_on(loc.get("closed_weekdays", ()), loc.get("closed_dates", ())),
        holds_waiting=holds_waiting(db, copy["title_id"], except_patron=patron["_id"]))
    event = _loan_event(LoanCheckedOutV1, db, new, new["loan"], at, source, hold_id=new["loan"]["fulfilled_hold"])
    store.save_copy(db, copy, new, event, at=at, applied_event=applied_event)
    if new["loan"]["fulfilled_hold"]:
        db[store.HOLDS].update_one({"_id": new["loan"]["fulfilled_hold"]},
                                   {"$set": {"status": "fulfilled", "queue": None}})
    return new


def checkin(db: Database, *, barcode: str, location_code: str, at: datetime | None = None,
            source: str = "desk", copy: dict | None = None, applied_event: str | None = None
            ) -> tuple[dict, dict | None]:
    at = at or now()
    loc = location(db, location_code)
    copy = copy or copy_by_barcode(db, barcode)
    hold = None if circulation.is_trapped(copy) else first_waiting_hold(db, copy["title_id"])
    patron = db[store.PATRONS].find_one({"_id": copy["loan"]["patron"]}) if copy.get("loan") else None
    r = rule(db, patron, copy, loc)
    new, ended = circulation.checkin(copy, location=location_code, now=at, rule=r, first_hold=hold)
    events = []
    if ended:
        overdue_days = max(0, (at.date() - date.fromisoformat(ended["due"])).days)
        events.append(_loan_event(LoanCheckedInV1, db, new, ended, at, source, overdue_days=overdue_days,
                                  fine_cents=ended["fine_cents"]))
    events += _ready_events(db, copy, new, at)  # trapped at the pickup location, or arrived there
    store.save_copy(db, copy, new, *events, at=at, applied_event=applied_event)
    if new.get("hold") and (hold or circulation.hold_became_ready(copy, new)):
        _hold_follows(db, new["hold"]["hold_id"], new)
    if ended:
        try:
            db[store.LOAN_HISTORY].insert_one({"_id": ended["loan_id"], "barcode": new["_id"],
                                               "title_id": new["title_id"], **ended})
        except pymongo.errors.DuplicateKeyError:
            pass
    return new, ended


def lend_after_implied_return(db: Database, *, copy: dict, patron: dict, location_code: str, at: datetime,
                              source: str, applied_event: str | None) -> dict:
    """A machine lent a copy that we still think is on loan to someone else, later than that
    loan began: the earlier holder's return has not reached us yet. Close their loan and
    open the new one in one write (one version, both events)."""
    loc = location(db, location_code)
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
    overdue_days = max(0, (at.date() - date.fromisoformat(ended["due"])).days)
    events = [_loan_event(LoanCheckedInV1, db, returned, ended, at, f"{source} (implied)", overdue_days=overdue_days,
                          fine_cents=ended["fine_cents"]),
              _loan_event(LoanCheckedOutV1, db, lent, lent["loan"], at, source)]
    store.save_copy(db, copy, lent, *events, at=at, applied_event=applied_event)
    try:
        db[store.LOAN_HISTORY].insert_one({"_id": ended["loan_id"], "barcode": copy["_id"], "title_id": copy["title_id"],
                                           "implied_return": True, **ended})
    except pymongo.errors.DuplicateKeyError:
        pass
    return lent


def renew(db: Database, *, barcode: str, patron: dict, at: datetime | None = None, source: str = "desk") -> dict:
    at = at or now()
    copy = copy_by_barcode(db, barcode)
    if copy["status"] != circulation.ON_LOAN:
        raise circulation.Refused("not_yours", "this item is not on loan to you")
    loc = db[store.LOCATIONS].find_one({"_id": copy["loan"]["location"]}) or {"kind": "library"}
    r = rule(db, patron, copy, loc)
    new = circulation.renew(copy, patron["_id"], r, now=at,
                            holds_waiting=holds_waiting(db, copy["title_id"], except_patron=patron["_id"]),
                            is_open=open_on(loc.get("closed_weekdays", ()), loc.get("closed_dates", ())),
                            blocks=patrons.block_reasons(patron.get("blocks")))
    event = _loan_event(LoanRenewedV1, db, new, new["loan"], at, source, renewals=new["loan"]["renewals"])
    store.save_copy(db, copy, new, event, at=at)
    return new


def place_hold(db: Database, *, patron: dict, title_id: str, pickup: str, at: datetime | None = None) -> dict:
    at = at or now()
    if db[store.TITLES].find_one({"_id": str(title_id)}, {"_id": 1}) is None:
        raise NotFound(f"no title {title_id}")
    blocked = circulation.block_refusal(patrons.block_reasons(patron.get("blocks")), "placing holds")
    if blocked:
        raise blocked
    if location(db, pickup).get("kind") == "kiosk" and not location(db, pickup).get("hold_shelf"):
        raise BadInput("holds are collected at a library or branch, not at this kiosk")
    # chosen by the store: a patron's past holds (they stay) must not hide a current one
    if db[store.HOLDS].find_one({"patron": patron["_id"], "title_id": str(title_id),
                                 "status": {"$in": list(circulation.CURRENT_HOLDS)}}, {"_id": 1}):
        raise circulation.Refused("duplicate_hold", "you already hold this title")
    hold_id = uuid.uuid4().hex
    doc = {"_id": hold_id, "title_id": str(title_id), "patron": patron["_id"], "pickup": pickup,
           "placed_at": at.isoformat(), "status": "waiting", "queue": str(title_id),
           "queue_key": f"{at.isoformat()}|{hold_id}"}
    db[store.HOLDS].insert_one(doc)
    if not _trap_an_available_copy(db, doc, at):
        _recall_a_loan(db, doc, at)
    return db[store.HOLDS].find_one({"_id": hold_id})


def _trap_an_available_copy(db: Database, hold: dict, at: datetime) -> bool:
    """An available copy (preferably already at the pickup location) is set aside at once."""
    available = [c for c in db[store.COPIES].find({"title_id": hold["title_id"]}).limit(200)
                 if c["status"] == circulation.AVAILABLE]
    available.sort(key=lambda c: c["location"] != hold["pickup"])
    for copy in available:
        loc = db[store.LOCATIONS].find_one({"_id": copy["location"]}) or {"kind": "library"}
        new = circulation.trap_available(copy, hold, now=at, rule=rule(db, None, copy, loc))
        try:
            store.save_copy(db, copy, new, *_ready_events(db, copy, new, at))
        except Conflict:
            continue  # someone took it meanwhile: try the next copy
        _hold_follows(db, hold["_id"], new)
        return True
    return False


def _recall_a_loan(db: Database, hold: dict, at: datetime) -> dict | None:
    """No copy could be set aside for the new hold: recall the loan with the most time left
    (another patron's, under a rule that recalls), once per loan, and publish the recall."""
    in_force = rules(db)   # once: most titles' loans fall under rules that do not recall
    if not any(r.recall_days > 0 for r in in_force):
        return None
    copies = list(db[store.COPIES].find({"title_id": hold["title_id"]}).limit(200))
    for copy in circulation.recall_order(copies):
        if copy["loan"]["patron"] == hold["patron"]:
            continue  # their own loan: nobody to hurry
        loc = db[store.LOCATIONS].find_one({"_id": copy["loan"]["location"]}) or {"kind": "library"}
        borrower = db[store.PATRONS].find_one({"_id": copy["loan"]["patron"]}) or {}
        loan_rule = rule_for(in_force, borrower.get("patron_type", "adult"), copy.get("material_type", "book"),
                             loc.get("kind", "library"))
        try:
            new = circulation.recall(copy, loan_rule, now=at, hold_id=hold["_id"],
                                     is_open=open_on(loc.get("closed_weekdays", ()), loc.get("closed_dates", ())))
        except circulation.Refused:
            continue  # its rule makes no recalls
        event = _loan_event(LoanRecalledV1, db, new, new["loan"], at, "hold", previous_due=copy["loan"]["due"],
                            hold_id=hold["_id"])
        try:
            store.save_copy(db, copy, new, event)  # no ``at``: a recall is no physical change of the item
        except Conflict:
            continue  # returned or renewed meanwhile: try the next loan
        return new
    return None


def cancel_hold(db: Database, *, patron: dict, hold_id: str, at: datetime | None = None) -> dict:
    """A cancelled hold frees the copy set aside for it: it passes to the next in line or is
    available again (see ``circulation.pass_on``)."""
    hold = db[store.HOLDS].find_one({"_id": str(hold_id), "patron": patron["_id"]})
    if hold is None:
        raise NotFound("no such hold of yours")
    if hold["status"] not in ("waiting", "ready", "in_transit"):
        raise circulation.Refused("hold_closed", f"this hold is {hold['status']} already")
    if hold.get("barcode"):
        _release_copy(db, hold, at or now())  # first: if the copy changed meanwhile, nothing is cancelled
    db[store.HOLDS].update_one({"_id": hold["_id"]}, {"$set": {"status": "cancelled", "queue": None}})
    return {**hold, "status": "cancelled", "queue": None}


def _release_copy(db: Database, hold: dict, at: datetime) -> None:
    copy = db[store.COPIES].find_one({"_id": hold["barcode"]})
    if copy is None or (copy.get("hold") or {}).get("hold_id") != hold["_id"]:
        return  # the copy has moved on already (lent, expired, passed on)
    _pass_on(db, copy, first_waiting_hold(db, copy["title_id"]), at, expired=False)


def _pass_on(db: Database, copy: dict, nxt: dict | None, at: datetime, *, expired: bool) -> dict:
    """Write the copy of a hold that ended, passed to ``nxt`` or freed; Conflict if it changed."""
    loc = db[store.LOCATIONS].find_one({"_id": copy["location"]}) or {"kind": "library"}
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
    store.save_copy(db, copy, new, *events)
    if nxt:
        _hold_follows(db, nxt["_id"], new)
    return new


def hold_position(db: Database, hold: dict) -> int | None:
    if hold.get("queue") is None:
        return None
    # counted by the store (an indexed equality and range), not read key by key
    ahead = db[store.HOLDS].aggregate([{"$match": {"queue": hold["queue"], "queue_key": {"$lt": hold["queue_key"]}}},
                                       {"$count": "n"}])
    return next(ahead, {"n": 0})["n"] + 1


def raise_overdue(db: Database, today: date) -> int:
    """Each loan that has become overdue is published once."""
    raised = 0
    for copy in due_by(db[store.COPIES], "watch_due", today.isoformat(), 1000):
        if not circulation.is_overdue(copy, today):
            continue
        new = {**copy, "overdue_raised": True, "version": copy["version"] + 1}
        try:
            store.save_copy(db, copy, new, _loan_event(LoanOverdueV1, db, new, copy["loan"], now(), "timer"))
            raised += 1
        except Conflict:
            continue  # changed meanwhile: the next round looks again
    return raised


def expire_holds(db: Database, today: date) -> int:
    """Ready holds not collected in time pass to the next in line."""
    expired = 0
    at = datetime.combine(today, now().timetz())
    for copy in due_by(db[store.COPIES], "hold_expires", today.isoformat(), 1000):
        try:
            # the next in line gets it: ready here, or in transit to a pickup elsewhere
            _pass_on(db, copy, first_waiting_hold(db, copy["title_id"]), at, expired=True)
        except Conflict:
            continue  # not expired after all, or someone acted on the copy meanwhile: the next round looks again
        db[store.HOLDS].update_one({"_id": copy["hold"]["hold_id"]}, {"$set": {"status": "expired", "queue": None}})
        expired += 1
    return expired


# ---- conflicts ----------------------------------------------------------------------------

def record_conflict(db: Database, *, where: str, barcode: str, reason: str, event: dict, at: datetime,
                    kind: str = "unresolved", settled: str | None = None) -> None:
    """What a kiosk or self-check machine did that could not be applied, kept for staff and
    published, never dropped; once per event (its id is the conflict's id). One already
    ``settled`` is kept as resolved, and not published. ``where``: the kiosk, or sip2:<login>."""
    record = outbox.event(ConflictRecordedV1.TYPE, {"conflict_id": event["id"], "barcode": barcode,
                                                    "kiosk_id": where, "reason": reason, "at": at},
                          subject=barcode)
    state = {"status": "resolved", "resolution": settled} if settled else {
        "status": "open", **outbox.pending_fields([record])}
    try:
        db[store.CONFLICTS].insert_one({
            "_id": event["id"], "barcode": barcode, "kiosk_id": where, "reason": reason, "kind": kind,
            "event": {k: event[k] for k in ("id", "type", "time", "data")}, **state})
    except pymongo.errors.DuplicateKeyError:
        pass


def note_late_checkin(db: Database, barcode: str, at: datetime, what: str) -> None:
    """A return older than the item's last change (a kiosk's or machine's, forwarded late):
    not applied, but remembered for late checkouts, and the staff notes it explains are settled."""
    db[store.COPIES].update_one({"_id": barcode}, {"$max": {"checked_in_at": at.astimezone(timezone.utc).isoformat()}})
    # the item's notes by its barcode (indexed), each settled by _id: an update_many, or a
    # read of every open note, scans on the embedded store
    for note in db[store.CONFLICTS].find({"barcode": barcode, "status": "open"}).limit(100):
        if note["kind"] == "implied_return":
            resolution = f"{what} arrived late"
        elif note["kind"] == "stale_checkout" and kiosks.checked_in_since(
                datetime.fromisoformat(note["event"]["time"]), at.isoformat()):
            resolution = f"{what} ended this loan"
        else:
            continue
        db[store.CONFLICTS].update_one({"_id": note["_id"], "status": "open"}, {"$set": {
            "status": "resolved", "resolution": resolution}})


# ---- blocks -----------------------------------------------------------------------------

_BLOCK_ID = re.compile(r"[0-9a-z-]{1,40}")


def block_patron(db: Database, *, resident_id: str, reason: str, by: str, at: datetime | None = None) -> str:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise BadInput("a block needs a reason (at most 500 characters)")
    patron = _with_blocks_map(db, patron_by_id(db, resident_id))
    block_id = uuid.uuid4().hex[:12]
    db[store.PATRONS].update_one({"_id": patron["_id"]}, {"$set": {f"blocks.{block_id}": {
        "reason": reason.strip(), "by": str(by), "kind": "manual", "at": (at or now()).isoformat()}}})
    return block_id


def unblock_patron(db: Database, *, resident_id: str, block_id: str) -> None:
    if not isinstance(block_id, str) or not _BLOCK_ID.fullmatch(block_id):
        raise BadInput("not a block id")
    patron = _with_blocks_map(db, patron_by_id(db, resident_id))
    lifted = db[store.PATRONS].update_one({"_id": patron["_id"], f"blocks.{block_id}": {"$exists": True}},
                                          {"$unset": {f"blocks.{block_id}": ""}})
    if lifted.matched_count == 0:   # a wrong id must not look like a lifted block
        raise NotFound(f"the patron has no block {block_id}")


def _with_blocks_map(db: Database, patron: dict) -> dict:
    """Patrons stored before blocks were a map have a list (or null) there: `$set blocks.<id>`
    on it fails on MongoDB and is silently ignored by the embedded store. Turn it into the map
    once; the filter on its old shape keeps a concurrent block from being overwritten."""
    if "blocks" not in patron or isinstance(patron["blocks"], dict):
        return patron
    shape = {"$type": "array"} if isinstance(patron["blocks"], list) else None
    as_map = patrons.blocks_map(patron["blocks"])
    db[store.PATRONS].update_one({"_id": patron["_id"], "blocks": shape}, {"$set": {"blocks": as_map}})
    return {**patron, "blocks": as_map}


# ---- PINs and patron types ------------------------------------------------------------------

def _audit(at: datetime, by: str, what: str, **detail) -> dict:
    """An audit entry of a patron, set by the same write as the change (``$set audit.<id>``:
    a map, as sub-documents pushed to an array are mangled by the embedded store)."""
    entry_id = f"{at.astimezone(timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}"
    return {f"audit.{entry_id}": {"at": at.isoformat(), "by": str(by)[:64], "what": what, **detail}}


def set_pin(db: Database, *, resident_id: str, pin: str, by: str, at: datetime | None = None) -> dict:
    """A new PIN (by the resident in the app, or by staff at a desk), stored hashed; it lifts
    a PIN block and forgets earlier wrong guesses. The PIN itself is never logged."""
    problem = pins.pin_problem(pin)
    if problem:
        raise BadInput(problem)
    at = at or now()
    patron = _with_audit_map(db, patron_by_id(db, resident_id))
    record = tpool.execute(passwords.hash_secret, pin)  # an OS thread: green threads keep running
    db[store.PATRONS].update_one({"_id": patron["_id"]}, {
        "$set": {"pin_hash": record, **_audit(at, by, "pin_set")},
        "$unset": {"pin_failures": "", "pin_block": "", "pin_blocks_seen": ""}})
    log.info("patron %s: PIN set by %s", patron["_id"], str(by)[:64])
    return patrons.public_view(patron_by_id(db, resident_id))


def check_pin(db: Database, patron: dict, pin: str, at: datetime | None = None) -> pins.PinCheck:
    """Check a PIN typed at a machine against the patron's hash (constant time); count wrong
    ones, and block PIN entry after too many (see ``pins``)."""
    at = at or now()
    if not patron.get("pin_hash"):
        return pins.PinCheck(pins.NOT_SET)
    if pins.is_locked(patron.get("pin_block")):
        return pins.PinCheck(pins.LOCKED)
    until = pins.blocked_until(patron.get("pin_block"), at)
    if until is not None:
        return pins.PinCheck(pins.BLOCKED, until)
    if not pin:
        return pins.PinCheck(pins.EMPTY)  # nothing typed: no guess to count
    if tpool.execute(passwords.matches, str(pin), patron["pin_hash"]):
        if patron.get("pin_failures"):
            db[store.PATRONS].update_one({"_id": patron["_id"]}, {"$unset": {"pin_failures": ""}})
        return pins.PinCheck(pins.OK)
    db[store.PATRONS].update_one({"_id": patron["_id"]}, {
        "$push": {"pin_failures": {"$each": [at.isoformat()], "$slice": -pins.ATTEMPTS}}})
    failures = (db[store.PATRONS].find_one({"_id": patron["_id"]}, {"pin_failures": 1}) or {}).get("pin_failures")
    if not pins.should_block(failures, at):
        return pins.PinCheck(pins.WRONG)
    block = pins.new_block(at, "sip2", patron.get("pin_blocks_seen"))
    db[store.PATRONS].update_one({"_id": patron["_id"]}, {
        "$set": {"pin_block": block}, "$unset": {"pin_failures": ""},
        "$push": {"pin_blocks_seen": {"$each": [at.isoformat()], "$slice": -pins.LOCK_AFTER_BLOCKS}}})
    log.warning("patron %s: PIN entry blocked until %s (%s)", patron["_id"], block["until"] or "a new PIN is set",
                block["reason"])
    if pins.is_locked(block):
        return pins.PinCheck(pins.LOCKED)
    return pins.PinCheck(pins.WRONG, pins.blocked_until(block, at))


def known_patron_types(db: Database) -> tuple[str, ...]:
    return patron_types(rules(db), patrons.DEFAULT_PATRON_TYPE)


def set_patron_type(db: Database, *, resident_id: str, patron_type: str, by: str, at: datetime | None = None) -> dict:
    """Staff set a patron's type (child, senior...: the loan rules choose by it), audited."""
    known = known_patron_types(db)
    if patron_type not in known:
        raise BadInput(f"unknown patron type {patron_type!r}: the loan rules know {', '.join(known)}")
    if not isinstance(by, str) or not by.strip():
        raise BadInput("say who sets the patron type")
    at = at or now()
    patron = _with_audit_map(db, patron_by_id(db, resident_id))
    if patron.get("patron_type") != patron_type:
        result = db[store.PATRONS].update_one(
            {"_id": patron["_id"], "patron_type": patron.get("patron_type")},
            {"$set": {"patron_type": patron_type,
                      **_audit(at, by, "patron_type", before=patron.get("patron_type"), after=patron_type)}})
        if result.matched_count == 0:
            raise Conflict("the patron's type was changed meanwhile; look again")
    return patrons.public_view(patron_by_id(db, resident_id))


def _with_audit_map(db: Database, patron: dict) -> dict:
    """``$set audit.<id>`` needs a map there: patrons made before audits get an empty one."""
    if isinstance(patron.get("audit"), dict):
        return patron
    db[store.PATRONS].update_one({"_id": patron["_id"], "audit": {"$exists": False}}, {"$set": {"audit": {}}})
    return {**patron, "audit": {}}
