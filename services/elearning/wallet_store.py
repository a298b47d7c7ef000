"""The wallet against the store: wallets, their ledger, terminals and guardians.

Exactly once, without transactions
----------------------------------
The wallet document (``_id`` = student id) is the one place where a movement is decided.
Every movement or refusal is one compare-and-set on it (filter ``{_id, version}``) that,
in the same write:

- changes ``balance`` and ``version`` (and the day's spend counter, the refunded total of
  the charge being refunded, the low-balance flag);
- records the idempotency key in ``applied.<k>`` (a bounded map of recent keys, with the
  outcome the caller gets back, again, on a retry);
- parks the ledger entry (or the refusal record) in ``pending.<k>`` with
  ``pending_n`` + 1 — the entry's own ``_id`` is the idempotency key;
- stores the events in the document's outbox.

Then the entry is inserted into its own collection (a duplicate key means it is already
there) and removed from ``pending``. A crash between the two writes leaves the entry
parked in the wallet: the retry of the same key finds the key applied, completes the
missing half and answers the original outcome — never applying twice. Reads (statement,
batch read) and every later write on the wallet complete parked entries first, and a
timer sweeps wallets with ``pending_n > 0``, so the ledger is complete even if the caller
never comes back. Keys leave ``applied`` only when the map is full and their entry is
written: from then on the entry document itself answers a late duplicate.

The balance is derived: it always equals the sum of the wallet's ledger entries (counting
parked ones), which the tests check under 20 concurrent charges.
"""
from __future__ import annotations

import logging
import random
from datetime import datetime
from functools import wraps
from typing import Callable

import eventlet
import pymongo
from pymongo.database import Database

from contracts.events.wallet import (WalletChargedV1, WalletLimitRefusedV1, WalletLowBalanceV1,
                                     WalletRefundedV1, WalletToppedUpV2)
from services.common import clock, outbox
from services.common.errors import Conflict, Forbidden, NotFound
from services.common.keyed_lock import KeyedLocks
from services.common.outbox import OUTBOX_INDEX
from services.common.storage import merge_updates
from services.elearning import payments
from services.elearning import wallet as rules

log = logging.getLogger(__name__)

WALLETS = "wallets"
LEDGER = "wallet_ledger"
REFUSALS = "wallet_refusals"
GUARDIANS = "wallet_guardians"
TERMINALS = "wallet_terminals"
ORDERS = "wallet_orders"

INDEXES = {
    WALLETS: [pymongo.IndexModel([("pending_n", 1)], name="pending_n"), OUTBOX_INDEX],
    # ``skey`` = "<student prefix>|<YYYY-MM>|<seq>": a statement month, the opening balance and the
    # recent movements are each a range on this one field
    LEDGER: [pymongo.IndexModel([("student_id", 1)], name="student"),
             pymongo.IndexModel([("skey", 1)], name="skey")],
    REFUSALS: [pymongo.IndexModel([("student_id", 1)], name="student")],
    GUARDIANS: [pymongo.IndexModel([("guardian_id", 1)], name="guardian"),
                pymongo.IndexModel([("student_id", 1)], name="student")],
    TERMINALS: [pymongo.IndexModel([("school_id", 1)], name="school")],
    ORDERS: [pymongo.IndexModel([("student_id", 1)], name="student")],
}
OUTBOX_COLLECTIONS = [WALLETS]

CAS_ATTEMPTS = 80


# --- terminals and guardians -------------------------------------------------------

def register_terminal(db: Database, terminal_id: str, school_id: str, kind: str, key: str,
                      replace: bool = False) -> dict:
    """A terminal with its signing key (``terminals``). Registering it again refuses unless
    ``replace``: then the new key replaces the old one (a revoked terminal comes back)."""
    doc = {"_id": terminal_id, "school_id": school_id, "kind": kind, "key": key,
           "registered_at": clock.now().isoformat(), "revoked_at": None}
    try:
        db[TERMINALS].insert_one(doc)
        return doc
    except pymongo.errors.DuplicateKeyError:
        pass
    existing = db[TERMINALS].find_one({"_id": terminal_id})
    if existing["school_id"] != school_id:
        raise Conflict(f"terminal {terminal_id} is registered to another school")
    if not replace:
        raise Conflict(f"terminal {terminal_id} is already registered: replace its key, or revoke it")
    db[TERMINALS].update_one({"_id": terminal_id}, {"$set": {k: v for k, v in doc.items() if k != "_id"}})
    return doc


def revoke_terminal(db: Database, terminal_id: str) -> bool:
    """The terminal's key stops working (it is forgotten); False when there was none to revoke."""
    return db[TERMINALS].update_one({"_id": terminal_id, "revoked_at": None}, {"$set": {
        "revoked_at": clock.now().isoformat(), "key": None}}).modified_count == 1


def find_terminal(db: Database, terminal_id: str) -> dict | None:
    return db[TERMINALS].find_one({"_id": terminal_id})


def _new_wallet(student_id: str, school_id: str) -> dict:
    return {"_id": student_id, "school_id": school_id, "balance": 0, "version": 0, "frozen": False,
            "limits": {"per_payment_fen": None, "daily_fen": None},
            "low_threshold_fen": rules.DEFAULT_LOW_BALANCE_FEN, "low": True, "daily": {}, "applied": {},
            "refunded": {}, "pending": {}, "pending_n": 0, "last_month": None,
            "created_at": clock.now().isoformat(), "outbox": {}, outbox.PENDING: 0}


def link_guardian(db: Database, student_id: str, guardian_id: str, school_id: str) -> dict:
    """The guardian relation, and the student's wallet (created at the first link). The
    roster is authoritative: a student moved to another school takes the wallet along."""
    db[GUARDIANS].update_one({"_id": rules.guardian_link_id(student_id, guardian_id)}, {"$set": {
        "student_id": student_id, "guardian_id": guardian_id, "school_id": school_id,
        "linked_at": clock.now().isoformat()}}, upsert=True)
    try:
        db[WALLETS].insert_one(_new_wallet(student_id, school_id))
    except pymongo.errors.DuplicateKeyError:
        _change(db, student_id, lambda w: None if w["school_id"] == school_id else {"school_id": school_id})
    return {"student_id": student_id, "guardian_id": guardian_id, "school_id": school_id}


def unlink_guardian(db: Database, student_id: str, guardian_id: str) -> bool:
    return db[GUARDIANS].delete_one({"_id": rules.guardian_link_id(student_id, guardian_id)}).deleted_count == 1


def require_guardian(db: Database, guardian_id: str, student_id: str) -> None:
    if db[GUARDIANS].find_one({"_id": rules.guardian_link_id(student_id, guardian_id)}, {"_id": 1}) is None:
        raise Forbidden("only a guardian of this student may do this")


def guardians_of(db: Database, student_id: str) -> list[str]:
    return [g["guardian_id"] for g in db[GUARDIANS].find({"student_id": student_id}).limit(50)]


# --- the wallet document -------------------------------------------------------------

def wallet(db: Database, student_id: str) -> dict:
    found = db[WALLETS].find_one({"_id": student_id})
    if found is None:
        raise NotFound(f"no wallet for student {student_id}")
    return found


_turns = KeyedLocks()


def _in_turn(change):
    """This process's changes to one wallet take turns (``keyed_lock``): concurrent charges
    to one wallet no longer fail each other's compare-and-set, which still decides across
    processes."""
    @wraps(change)
    def in_turn(db: Database, student_id: str, *args, **kwargs):
        with _turns.held(student_id):
            return change(db, student_id, *args, **kwargs)
    return in_turn


def _backoff(attempt: int) -> None:
    eventlet.sleep(random.uniform(0, 0.002 * min(attempt + 1, 20)))


@_in_turn
def _change(db: Database, student_id: str, plan: Callable[[dict], dict | None]) -> dict:
    """A settings change (limits, freeze, threshold, school) by compare-and-set: it bumps
    the version too, so a charge decided on the old settings cannot land after it."""
    for attempt in range(CAS_ATTEMPTS):
        w = wallet(db, student_id)
        fields = plan(w)
        if not fields:
            return w
        if db[WALLETS].update_one({"_id": student_id, "version": w["version"]},
                                  {"$set": {**fields, "version": w["version"] + 1}}).matched_count:
            return {**w, **fields, "version": w["version"] + 1}
        _backoff(attempt)
    raise Conflict("the wallet is changing too often right now: try again")


def set_limits(db: Database, student_id: str, per_payment: int | None, daily: int | None) -> dict:
    w = _change(db, student_id, lambda w: {"limits": {"per_payment_fen": per_payment, "daily_fen": daily}})
    return view(w)


def set_frozen(db: Database, student_id: str, frozen: bool) -> dict:
    return view(_change(db, student_id, lambda w: None if w.get("frozen") == frozen else {"frozen": frozen}))


def set_threshold(db: Database, student_id: str, threshold: int) -> dict:
    # No notice for a settings change: the flag follows the balance, so the next
    # crossing below the new threshold is the one that is published.
    return view(_change(db, student_id, lambda w: {"low_threshold_fen": threshold,
                                                    "low": w["balance"] < threshold}))


# --- completing parked entries --------------------------------------------------------

def _insert_entry(db: Database, collection: str, doc: dict) -> None:
    """Insert a ledger entry or refusal under its key. The key already there for the same
    student is the entry itself (written before). For another student it is a terminal
    that reused one transaction id for two students at the same instant: both were
    applied, so this one is kept beside it (``<key>|<student>``), never lost."""
    try:
        db[collection].insert_one(doc)
        return
    except pymongo.errors.DuplicateKeyError:
        pass
    existing = db[collection].find_one({"_id": doc["_id"]}, {"student_id": 1})
    if existing is not None and existing["student_id"] != doc["student_id"]:
        log.error("wallet key %s applied for two students (%s, %s)", doc["_id"], existing["student_id"],
                  doc["student_id"])
        try:
            db[collection].insert_one({**doc, "_id": f"{doc['_id']}|{doc['student_id']}", "key": doc["_id"]})
        except pymongo.errors.DuplicateKeyError:
            pass


def complete(db: Database, w: dict) -> int:
    """Write the entries parked in wallet ``w`` into their collections; how many."""
    done = 0
    for k, parked in (w.get("pending") or {}).items():
        _insert_entry(db, parked["c"], parked["doc"])
        done += db[WALLETS].update_one({"_id": w["_id"], f"pending.{k}": {"$exists": True}},
                                       {"$unset": {f"pending.{k}": ""}, "$inc": {"pending_n": -1}}).modified_count
    return done


def complete_all(db: Database, batch: int = 100) -> int:
    """The sweep: every wallet with parked entries (one indexed range)."""
    return sum(complete(db, w) for w in db[WALLETS].find({"pending_n": {"$gt": 0}}, {"pending": 1}).limit(batch))


def _complete_wallet(db: Database, student_id: str) -> dict:
    w = wallet(db, student_id)
    if w.get("pending_n", 0) > 0:
        complete(db, w)
    return w


# --- movements ---------------------------------------------------------------------

def _entry_outcome(doc: dict, collection: str) -> dict:
    if collection == REFUSALS:
        return {"status": "refused", "key": doc.get("key", doc["_id"]), "student_id": doc["student_id"],
                "amount_fen": doc["amount_fen"], "reason": doc["reason"], "limit_fen": doc.get("limit_fen")}
    status = {"top_up": "topped_up", "charge": "charged", "refund": "refunded"}[doc["kind"]]
    out = {"status": status, "key": doc.get("key", doc["_id"]), "student_id": doc["student_id"],
           "amount_fen": abs(doc["amount_fen"]), "balance_fen": doc["balance_after_fen"], "seq": doc["seq"]}
    for k in ("original_entry_id", "payment_ref", "staff_id"):   # what a repeat must match (``extra``)
        if doc.get(k):
            out[k] = doc[k]
    return out


def _stored_outcome(db: Database, key: str, student_id: str) -> dict | None:
    """The outcome of ``key`` from the entry documents (keys no longer in a wallet's map)."""
    for collection in (LEDGER, REFUSALS):
        doc = db[collection].find_one({"_id": key}, {"outbox": 0})
        if doc is None:
            continue
        if doc["student_id"] != student_id:
            beside = db[collection].find_one({"_id": f"{key}|{student_id}"})
            return _entry_outcome(beside, collection) if beside else _entry_outcome(doc, collection)
        return _entry_outcome(doc, collection)
    return None


def _same_request(done: dict, student_id: str, amount: int, extra: dict | None = None) -> None:
    mismatch = done["student_id"] != student_id or done["amount_fen"] != amount or any(
        done.get(k) != v for k, v in (extra or {}).items())
    if mismatch:
        raise Conflict(f"{done['key']} was already used for a different request")


def _answer(done: dict, duplicate: bool) -> dict:
    return {k: v for k, v in done.items() if k != "seq"} | {"entry_id": done["key"], "duplicate": duplicate}


Plan = Callable[[dict, datetime], tuple[dict, dict, list[dict], dict]]


@_in_turn
def _apply(db: Database, student_id: str, key: str, plan: Plan, amount: int, extra: dict | None = None) -> dict:
    """Apply the movement or refusal ``key`` to the student's wallet exactly once.

    ``plan(wallet, now)`` decides on the wallet as read and returns (the ``$set`` fields,
    the parked entry {"c": collection, "doc": ...}, the events, the outcome). It may also
    raise (bad input, forbidden): nothing is written then.
    """
    fk = rules.field_key(key)
    first_version = None
    for attempt in range(CAS_ATTEMPTS):
        w = wallet(db, student_id)
        done = (w.get("applied") or {}).get(fk)
        if done is None and (first_version is None or w["version"] - first_version >= rules.APPLIED_KEPT):
            # Not in the recent map: it may have left it (its entry written before this read).
            first_version = w["version"]
            done = _stored_outcome(db, key, student_id)
        if done is not None:
            if w.get("pending_n", 0) > 0:
                complete(db, w)  # the retry completes what a crash left half done
            _same_request(done, student_id, amount, extra)
            return _answer(done, duplicate=True)

        now = clock.now()
        fields, parked, events, outcome = plan(w, now)
        version = w["version"] + 1
        parked["doc"] = {**parked["doc"], "seq": version}
        outcome = {**outcome, "key": key, "student_id": student_id, "seq": version, **(extra or {})}
        today = rules.local_day(now)
        counted = fields.get("$inc", {})
        forget_days = [d for d in rules.days_to_forget(w.get("daily") or {}, today) if f"daily.{d}" not in counted]
        forget_keys = rules.keys_to_forget(w.get("applied") or {}, (w.get("pending") or {}).keys())
        update = merge_updates(
            {"$set": {**{k: v for k, v in fields.items() if not k.startswith("$")}, "version": version,
                      f"applied.{fk}": outcome, f"pending.{fk}": parked},
             "$inc": {"pending_n": 1, **counted}},
            outbox.record(*events) if events else {},
            {"$unset": {**{f"daily.{d}": "" for d in forget_days}, **{f"applied.{k}": "" for k in forget_keys}}}
            if forget_days or forget_keys else {})
        if db[WALLETS].update_one({"_id": student_id, "version": w["version"]}, update).matched_count:
            complete(db, {"_id": student_id, "pending": {**(w.get("pending") or {}), fk: parked}})
            return _answer(outcome, duplicate=False)
        _backoff(attempt)
    raise Conflict("the wallet is changing too often right now: try again with the same transaction id")


def _ledger_entry(w: dict, key: str, kind: str, signed_amount: int, balance_after: int, now: datetime,
                  **details) -> tuple[dict, str]:
    month = rules.booking_month(now, w.get("last_month"))
    seq = w["version"] + 1
    doc = {"_id": key, "student_id": w["_id"], "kind": kind, "amount_fen": signed_amount,
           "balance_after_fen": balance_after, "month": month, "skey": f"{rules.ledger_prefix(w['_id'])}|{month}|{seq:012d}",
           "booked_at": now.isoformat(), **details}
    return doc, month


def _balance_fields(w: dict, balance: int, key: str, now: datetime) -> tuple[dict, list[dict]]:
    threshold = w.get("low_threshold_fen", rules.DEFAULT_LOW_BALANCE_FEN)
    low, crossed = rules.low_balance(balance, threshold, bool(w.get("low")))
    events = [outbox.event(WalletLowBalanceV1.TYPE, {
        "student_id": w["_id"], "balance_fen": balance, "threshold_fen": threshold, "entry_id": key,
        "booked_at": now}, subject=w["_id"])] if crossed else []
    return {"balance": balance, "low": low}, events


def _top_up(db: Database, student_id: str, key: str, amount: int, details: dict, extra: dict | None = None) -> dict:
    """Money in: the one way a wallet's balance goes up other than a refund (``payments``)."""

    def plan(w, now):
        balance = w["balance"] + amount
        entry, month = _ledger_entry(w, key, "top_up", amount, balance, now, **details)
        fields, events = _balance_fields(w, balance, key, now)
        events.insert(0, outbox.event(WalletToppedUpV2.TYPE, {
            "student_id": student_id, **details, "amount_fen": amount, "balance_fen": balance, "entry_id": key,
            "booked_at": now}, subject=student_id))
        return ({**fields, "last_month": month}, {"c": LEDGER, "doc": entry}, events,
                {"status": "topped_up", "amount_fen": amount, "balance_fen": balance})

    return _apply(db, student_id, key, plan, amount, extra)


# --- payment orders and staff top-ups ------------------------------------------------

def create_order(db: Database, guardian_id: str, student_id: str, amount: int) -> dict:
    """A guardian's request to top up, pending until the provider notifies its payment."""
    wallet(db, student_id)
    doc = {"_id": payments.new_order_id(), "student_id": student_id, "guardian_id": guardian_id,
           "amount_fen": amount, "status": payments.PENDING, "created_at": clock.now().isoformat()}
    db[ORDERS].insert_one(doc)
    return order_view(doc)


def order_view(doc: dict) -> dict:
    return {"order_id": doc["_id"], "student_id": doc["student_id"], "amount_fen": doc["amount_fen"],
            "status": doc["status"], "created_at": doc["created_at"], "paid_at": doc.get("paid_at")}


def order(db: Database, order_id: str) -> dict:
    found = db[ORDERS].find_one({"_id": order_id})
    if found is None:
        raise NotFound(f"no payment order {order_id}: orders are created by the suite")
    return found


def credit_order(db: Database, order_id: str, provider_ref: str, amount: int) -> dict:
    """Credit a paid order once: its key is the order's, and the provider's reference must be
    the one that paid it (the same reference again answers the first outcome)."""
    found = order(db, order_id)
    payments.check_paid(found, amount)
    done = _top_up(db, found["student_id"], rules.order_key(order_id), amount,
                   {"source": "payment", "guardian_id": found["guardian_id"], "order_id": order_id,
                    "payment_ref": provider_ref}, extra={"payment_ref": provider_ref})
    db[ORDERS].update_one({"_id": order_id, "status": payments.PENDING}, {"$set": {
        "status": payments.PAID, "provider_ref": provider_ref, "paid_at": clock.now().isoformat()}})
    return {**done, "order_id": order_id}


def staff_top_up(db: Database, staff_id: str, student_id: str, amount: int, reason: str, request_id: str) -> dict:
    """A top-up by school staff, with the reason the ledger keeps (the caller checked who)."""
    return _top_up(db, student_id, rules.staff_top_up_key(request_id), amount,
                   {"source": "staff", "staff_id": staff_id, "reason": reason},
                   extra={"staff_id": staff_id})


def charge(db: Database, terminal_doc: dict, txn_id: str, student_id: str, amount: int, at: datetime) -> dict:
    terminal_id = terminal_doc["_id"]
    key = rules.charge_key(terminal_id, txn_id)

    def plan(w, now):
        if w["school_id"] != terminal_doc["school_id"]:
            raise Forbidden(f"terminal {terminal_id} belongs to another school than this student's")
        rules.check_charge_time(at, now)
        day = rules.local_day(at)
        limits = w.get("limits") or {}
        refusal = rules.decide_charge(amount=amount, balance=w["balance"], frozen=bool(w.get("frozen")),
                                      per_payment=limits.get("per_payment_fen"), daily=limits.get("daily_fen"),
                                      spent_today=(w.get("daily") or {}).get(day, 0))
        if refusal is not None:
            record = {"_id": key, "student_id": student_id, "terminal_id": terminal_id, "terminal_txn_id": txn_id,
                      "school_id": w["school_id"], "amount_fen": amount, "reason": refusal.reason,
                      "limit_fen": refusal.limit_fen, "at": at.isoformat(), "booked_at": now.isoformat()}
            event = outbox.event(WalletLimitRefusedV1.TYPE, {
                "student_id": student_id, "terminal_id": terminal_id, "terminal_txn_id": txn_id,
                "amount_fen": amount, "reason": refusal.reason, "limit_fen": refusal.limit_fen, "at": at,
                "booked_at": now}, subject=student_id)
            return ({}, {"c": REFUSALS, "doc": record}, [event],
                    {"status": "refused", "amount_fen": amount, "reason": refusal.reason,
                     "limit_fen": refusal.limit_fen})
        balance = w["balance"] - amount
        entry, month = _ledger_entry(w, key, "charge", -amount, balance, now, terminal_id=terminal_id,
                                     terminal_txn_id=txn_id, school_id=w["school_id"], at=at.isoformat())
        fields, low_events = _balance_fields(w, balance, key, now)
        charged = outbox.event(WalletChargedV1.TYPE, {
            "student_id": student_id, "school_id": w["school_id"], "terminal_id": terminal_id,
            "terminal_txn_id": txn_id, "amount_fen": amount, "balance_fen": balance, "entry_id": key, "at": at,
            "booked_at": now}, subject=student_id)
        return ({**fields, "last_month": month, "$inc": {f"daily.{day}": amount}}, {"c": LEDGER, "doc": entry},
                [charged, *low_events], {"status": "charged", "amount_fen": amount, "balance_fen": balance})

    return _apply(db, student_id, key, plan, amount)


def refund(db: Database, terminal_doc: dict, txn_id: str, original_txn_id: str, amount: int) -> dict:
    terminal_id = terminal_doc["_id"]
    original_key = rules.charge_key(terminal_id, original_txn_id)
    original = db[LEDGER].find_one({"_id": original_key})
    if original is None or original["kind"] != "charge":
        raise NotFound(f"no charge {original_txn_id} by terminal {terminal_id}")
    student_id, charged = original["student_id"], -original["amount_fen"]
    key = rules.refund_key(terminal_id, txn_id)
    ok = rules.field_key(original_key)

    def plan(w, now):
        refunded = rules.refundable(charged, (w.get("refunded") or {}).get(ok, 0), amount)
        balance = w["balance"] + amount
        entry, month = _ledger_entry(w, key, "refund", amount, balance, now, terminal_id=terminal_id,
                                     terminal_txn_id=txn_id, original_entry_id=original_key)
        fields, events = _balance_fields(w, balance, key, now)
        events.insert(0, outbox.event(WalletRefundedV1.TYPE, {
            "student_id": student_id, "terminal_id": terminal_id, "terminal_txn_id": txn_id,
            "original_entry_id": original_key, "amount_fen": amount, "balance_fen": balance, "entry_id": key,
            "booked_at": now}, subject=student_id))
        return ({**fields, "last_month": month, f"refunded.{ok}": refunded}, {"c": LEDGER, "doc": entry}, events,
                {"status": "refunded", "amount_fen": amount, "balance_fen": balance})

    return _apply(db, student_id, key, plan, amount, extra={"original_entry_id": original_key})


# --- reads ---------------------------------------------------------------------------

def _movement(doc: dict) -> dict:
    keep = ("kind", "amount_fen", "balance_after_fen", "booked_at", "at", "terminal_id", "terminal_txn_id",
            "school_id", "source", "order_id", "payment_ref", "guardian_id", "staff_id", "reason",
            "original_entry_id")
    return {"entry_id": doc.get("key", doc["_id"]), **{k: doc[k] for k in keep if k in doc}}


def _ledger_range(db: Database, low: str, high: str, direction: int, limit: int = 0):
    return db[LEDGER].find({"skey": {"$gte": low, "$lt": high}}, {"outbox": 0}).sort("skey", direction).limit(limit)


def recent(db: Database, student_id: str, limit: int = 5) -> list[dict]:
    p = rules.ledger_prefix(student_id)
    return [_movement(d) for d in _ledger_range(db, f"{p}|", f"{p}|~", -1, limit)]


def statement(db: Database, student_id: str, month: str) -> dict:
    _complete_wallet(db, student_id)
    p = rules.ledger_prefix(student_id)
    before = list(_ledger_range(db, f"{p}|", f"{p}|{month}", -1, 1))
    opening = before[0]["balance_after_fen"] if before else 0
    entries = [_movement(d) for d in _ledger_range(db, f"{p}|{month}|", f"{p}|{month}|~", 1)]
    return {"student_id": student_id, **rules.statement(month, opening, entries)}


def view(w: dict) -> dict:
    limits = w.get("limits") or {}
    today = clock.today().isoformat()
    return {"student_id": w["_id"], "school_id": w["school_id"], "balance_fen": w["balance"],
            "frozen": bool(w.get("frozen")),
            "limits": {"per_payment_fen": limits.get("per_payment_fen"), "daily_fen": limits.get("daily_fen")},
            "low_balance_threshold_fen": w.get("low_threshold_fen", rules.DEFAULT_LOW_BALANCE_FEN),
            "low_balance": bool(w.get("low")), "spent_today_fen": (w.get("daily") or {}).get(today, 0)}


def for_students(db: Database, student_ids: list[str], movements: int = 5) -> dict:
    """Batch read for the gateway: {student_id: wallet view with recent movements, or None}."""
    found = {w["_id"]: w for w in db[WALLETS].find({"_id": {"$in": student_ids}},
                                                    {"outbox": 0, "applied": 0, "refunded": 0})}
    out: dict = {}
    for sid in student_ids:
        w = found.get(sid)
        if w is None:
            out[sid] = None
            continue
        if w.get("pending_n", 0) > 0:
            complete(db, w)
        out[sid] = {**view(w), "recent": recent(db, sid, movements) if movements else []}
    return out


def audit(db: Database, student_id: str) -> dict:
    """What a checker reads of one wallet, changing nothing: its balance, its ledger's sum and
    each charge's count by terminal transaction, the entries still parked in the wallet
    (written after a crash, or by the sweep) counted where they belong."""
    w = db[WALLETS].find_one({"_id": student_id}, {"balance": 1, "pending": 1}) or {}
    entries = list(db[LEDGER].find({"student_id": student_id}))
    written = {e["_id"] for e in entries}
    parked = [p["doc"] for p in (w.get("pending") or {}).values()
              if p["c"] == LEDGER and p["doc"]["_id"] not in written]
    charges: dict[str, int] = {}
    by_terminal: dict[str, int] = {}   # "<terminal>|<txn>": two terminals may use one txn id
    for e in entries + parked:
        if e["kind"] == "charge":
            charges[e["terminal_txn_id"]] = charges.get(e["terminal_txn_id"], 0) + 1
            pair = f"{e['terminal_id']}|{e['terminal_txn_id']}"
            by_terminal[pair] = by_terminal.get(pair, 0) + 1
    return {"balance": w.get("balance"), "ledger_sum": sum(e["amount_fen"] for e in entries + parked),
            "charges": charges, "terminal_charges": by_terminal, "parked": len(parked)}


def ledger_sum(db: Database, student_id: str) -> int:
    """The balance as the ledger has it (aggregate on one indexed field)."""
    _complete_wallet(db, student_id)
    got = list(db[LEDGER].aggregate([{"$match": {"student_id": student_id}},
                                     {"$group": {"_id": None, "total": {"$sum": "$amount_fen"}}}]))
    return got[0]["total"] if got else 0

