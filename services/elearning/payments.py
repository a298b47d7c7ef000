"""Top-ups as the wallet accepts them, free of I/O: paid orders and staff top-ups.

Money comes into a wallet only two ways (docs/ARCHITECTURE.md, "Money in the wallet"):

- a **payment order**: a guardian asks to top up (an order id with the student and the
  amount, pending); the payment provider's notification is accepted only with a valid
  HMAC-SHA256 over its fields with the provider's key (``PAYMENT_PROVIDER_KEY``), for an
  order the suite created, with the order's amount; the order is credited once (a second
  notification with the same provider reference is answered OK, crediting nothing; another
  reference for a paid order is refused);
- a **staff top-up**: a teacher of the student's school (the roster's staff) with a reason,
  which the ledger entry keeps.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets

from services.common.errors import BadInput, Forbidden

NOTICE_FIELDS = ("order_id", "provider_ref", "amount_fen", "status", "paid_at")
PAID = "paid"
PENDING = "pending"
MAX_REASON = 200
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def new_order_id() -> str:
    return "po-" + secrets.token_hex(12)


def canonical(notice: dict) -> str:
    """What the provider signs: the notification's fields, in order, as compact JSON."""
    missing = [f for f in NOTICE_FIELDS if f not in notice]
    if missing:
        raise BadInput(f"the notification lacks {', '.join(missing)}")
    return json.dumps([notice[f] for f in NOTICE_FIELDS], ensure_ascii=False, separators=(",", ":"))


def sign(key: str, notice: dict) -> str:
    return hmac.new(key.encode(), canonical(notice).encode(), hashlib.sha256).hexdigest()


def check_notice(key: str, notice: dict, signature) -> None:
    """Refuse a notification that is not signed with the provider's key (``Forbidden``), or
    that does not tell of a payment made."""
    if not key:
        raise Forbidden("payment notifications are not accepted here: PAYMENT_PROVIDER_KEY is not set")
    if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
        raise Forbidden("the notification is not signed: send the HMAC-SHA256 of its fields, in hex")
    if not hmac.compare_digest(sign(key, notice), signature):
        raise Forbidden("the notification's signature does not match its fields")
    if notice["status"] != PAID:
        raise BadInput(f"status must be {PAID!r}: only payments made are notified")


def check_paid(order: dict, amount: int) -> None:
    """The amount paid must be the order's."""
    if amount != order["amount_fen"]:
        raise BadInput(f"the amount paid ({amount} fen) is not the order's ({order['amount_fen']} fen): "
                       "nothing was credited")


def check_reason(reason) -> str:
    """A staff top-up's reason, kept in the ledger: 4 to 200 characters of text."""
    if not isinstance(reason, str) or len(reason.strip()) < 4 or len(reason) > MAX_REASON:
        raise BadInput(f"a staff top-up needs a reason of 4 to {MAX_REASON} characters (it is kept in the ledger)")
    if any(ord(c) < 32 for c in reason):
        raise BadInput("the reason must be one line of text")
    return reason.strip()
