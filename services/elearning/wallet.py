"""The e-schoolbag small-payment wallet (一机通): pure rules, no I/O.

Money is integer fen (1 yuan = 100 fen) everywhere: a float, a string or a boolean is
refused, never rounded. What is decided here — may this charge go through, did the
balance just cross the low-balance threshold, how much of a charge is still refundable,
which bookkeeping entries may be forgotten — is decided on plain values, so that it is
tested without a store (tests/unit/test_wallet_rules.py); ``wallet_store`` does the I/O.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Mapping

from services.common.errors import BadInput, Conflict
from services.common.clock import DISTRICT_TIME

MAX_TOP_UP_FEN = 100_000          # one top-up: at most 1,000 yuan
MAX_LIMIT_FEN = 100_000           # a guardian's per-payment or daily limit
DEFAULT_LOW_BALANCE_FEN = 2_000   # below 20 yuan the guardians hear of it
MAX_LOW_BALANCE_FEN = 100_000

CHARGE_MAX_AGE = timedelta(days=7)    # an offline terminal's replay older than this is refused
CHARGE_MAX_AHEAD = timedelta(minutes=5)
DAYS_KEPT = 8                         # daily-spend counters kept in the wallet document
APPLIED_KEPT = 200                    # recent idempotency keys kept in the wallet document

_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_REF = re.compile(r"[^\x00-\x1f\x7f,]{1,128}")  # roster sourcedIds and resident ids
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")

# why a charge was refused (WalletLimitRefusedV1.reason)
FROZEN, PER_PAYMENT, DAILY, INSUFFICIENT = "frozen", "per_payment_limit", "daily_limit", "insufficient_balance"


# --- input -------------------------------------------------------------------------

def check_amount(value, maximum: int | None = None, what: str = "amount_fen") -> int:
    """A positive whole number of fen, at most ``maximum``. Refuses bool (an int in
    Python), float (even 100.0), str ("100"), zero and negatives."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{what} must be a whole number of fen (an integer), not {type(value).__name__}")
    if value <= 0:
        raise BadInput(f"{what} must be more than zero")
    if maximum is not None and value > maximum:
        raise BadInput(f"{what} must be at most {maximum} fen")
    return value


def check_top_up(value) -> int:
    return check_amount(value, MAX_TOP_UP_FEN)


def check_id(value, what: str = "id") -> str:
    """Ids become parts of idempotency keys (``charge|<terminal>|<txn>``): letters, digits
    and ``_ . : -`` only, 1 to 64 of them."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise BadInput(f"{what} must be 1-64 characters of letters, digits, '_', '.', ':' or '-'")
    return value


def check_ref(value, what: str = "id") -> str:
    """A student, guardian (resident) or school id as the roster gives it: 1 to 128
    characters, no control characters or commas. Never used in a key or update path as is."""
    if not isinstance(value, str) or not _REF.fullmatch(value):
        raise BadInput(f"{what} must be 1-128 characters without control characters or commas")
    return value


def check_limits(per_payment_fen, daily_fen) -> tuple[int | None, int | None]:
    """A guardian's limits; ``None`` lifts one. A per-payment limit above the daily
    limit could never be reached: refused as a mistake."""
    per_payment = None if per_payment_fen is None else check_amount(per_payment_fen, MAX_LIMIT_FEN, "per_payment_fen")
    daily = None if daily_fen is None else check_amount(daily_fen, MAX_LIMIT_FEN, "daily_fen")
    if per_payment is not None and daily is not None and per_payment > daily:
        raise BadInput("the per-payment limit cannot be above the daily limit")
    return per_payment, daily


def check_threshold(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LOW_BALANCE_FEN:
        raise BadInput(f"threshold_fen must be a whole number of fen from 0 to {MAX_LOW_BALANCE_FEN}")
    return value


def check_month(value) -> str:
    if not isinstance(value, str) or not _MONTH.fullmatch(value):
        raise BadInput("month must read YYYY-MM")
    return value


def check_charge_time(at: datetime, now: datetime) -> datetime:
    """The terminal's time of the payment: aware, not in the future, not older than a week
    (the daily counters of older days are gone)."""
    if at.tzinfo is None:
        raise BadInput("at must carry a time zone")
    if at > now + CHARGE_MAX_AHEAD:
        raise BadInput("at is in the future")
    if at < now - CHARGE_MAX_AGE:
        raise BadInput(f"at is older than {CHARGE_MAX_AGE.days} days: settle it with the school office")
    return at


# --- keys and calendar -----------------------------------------------------------

def order_key(order_id: str) -> str:
    """A paid order's top-up: one per order, whatever the provider's reference."""
    return f"topup|order|{order_id}"


def staff_top_up_key(request_id: str) -> str:
    return f"topup|staff|{request_id}"


def charge_key(terminal_id: str, txn_id: str) -> str:
    return f"charge|{terminal_id}|{txn_id}"


def refund_key(terminal_id: str, txn_id: str) -> str:
    return f"refund|{terminal_id}|{txn_id}"


def field_key(key: str) -> str:
    """A map key for ``key`` that is safe in a dotted update path (ids may hold dots)."""
    return "k" + hashlib.sha1(key.encode()).hexdigest()[:24]


def ledger_prefix(student_id: str) -> str:
    """The fixed-width start of a student's ledger ``skey`` ("<prefix>|<YYYY-MM>|<seq>"):
    a hash, so that no student's range holds another's, whatever characters ids use."""
    return "s" + hashlib.sha1(student_id.encode()).hexdigest()[:24]


def guardian_link_id(student_id: str, guardian_id: str) -> str:
    return f"{len(student_id)}:{student_id}|{guardian_id}"  # length-prefixed: unambiguous


def local_day(at: datetime) -> str:
    return at.astimezone(DISTRICT_TIME).date().isoformat()


def local_month(at: datetime) -> str:
    return at.astimezone(DISTRICT_TIME).strftime("%Y-%m")


def booking_month(now: datetime, last_booked: str | None) -> str:
    """The statement month of a new movement: never earlier than the wallet's last one,
    so that months follow the ledger's order even when two workers' clocks disagree."""
    month = local_month(now)
    return max(month, last_booked) if last_booked else month


def days_to_forget(days: Iterable[str], today: str) -> list[str]:
    """Daily-spend counters older than the ones kept."""
    oldest = (date.fromisoformat(today) - timedelta(days=DAYS_KEPT - 1)).isoformat()
    return sorted(d for d in days if d < oldest)


def keys_to_forget(applied: Mapping[str, dict], pending: Iterable[str], keep: int = APPLIED_KEPT) -> list[str]:
    """Recent-key entries the wallet document may drop: the oldest beyond ``keep``, and
    only those whose ledger (or refusal) document is written — after that the document
    itself answers a late duplicate."""
    if len(applied) <= keep:
        return []
    waiting = set(pending)
    by_age = sorted(applied, key=lambda k: applied[k].get("seq", 0))
    return [k for k in by_age[:len(applied) - keep] if k not in waiting]


# --- decisions ---------------------------------------------------------------------

@dataclass(frozen=True)
class Refusal:
    reason: str
    limit_fen: int | None


def decide_charge(*, amount: int, balance: int, frozen: bool, per_payment: int | None,
                  daily: int | None, spent_today: int) -> Refusal | None:
    """None when the charge may go through; else why not. The balance never goes below zero."""
    if frozen:
        return Refusal(FROZEN, None)
    if per_payment is not None and amount > per_payment:
        return Refusal(PER_PAYMENT, per_payment)
    if daily is not None and spent_today + amount > daily:
        return Refusal(DAILY, daily)
    if amount > balance:
        return Refusal(INSUFFICIENT, balance)
    return None


def refundable(charged: int, refunded: int, amount: int) -> int:
    """What is refunded so far after this refund; refuses going over the charge."""
    if refunded + amount > charged:
        raise Conflict(f"a refund of {amount} fen is more than what is left of the charge "
                       f"({charged - refunded} of {charged} fen)")
    return refunded + amount


def low_balance(balance: int, threshold: int, was_low: bool) -> tuple[bool, bool]:
    """(is low now, crossed downwards now): one notice per crossing, re-armed when the
    balance is back at or above the threshold."""
    low = balance < threshold
    return low, low and not was_low


def statement(month: str, opening: int, entries: list[dict]) -> dict:
    """A month's statement from its opening balance and its ledger entries in order."""
    closing = opening
    totals = {"top_up": 0, "charge": 0, "refund": 0}
    for e in entries:
        closing += e["amount_fen"]
        totals[e["kind"]] += abs(e["amount_fen"])
    return {"month": month, "opening_balance_fen": opening, "closing_balance_fen": closing,
            "totals_fen": totals, "movements": entries}
