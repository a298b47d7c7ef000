"""School terminals' signed requests (canteen, shop: 一机通), free of I/O.

Each terminal has a key of its own, made by ``suite terminal add`` and shown once; the
elearning service keeps it to check signatures (an HMAC needs the key on both sides).
A request is signed with HMAC-SHA256 over its canonical string: the JSON array of the
operation's name and the request's fields in a fixed order, exactly as sent, so that no
field can be changed, dropped or moved without the signature failing, whatever characters
ids hold. ``sent_at`` is the terminal's clock when it sends (re-signed on every send, also
when an offline terminal replays what it buffered); a request whose ``sent_at`` is more
than ``WINDOW`` away from the service's clock is refused, and within the window the
terminal's transaction id makes a repeat answer the first outcome (``wallet_store``).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import datetime, timedelta

from services.common.errors import BadInput, Forbidden

WINDOW = timedelta(minutes=5)
CHARGE, REFUND = "wallet.charge.v1", "wallet.refund.v1"
SIGNED_FIELDS = {
    CHARGE: ("terminal_id", "sent_at", "terminal_txn_id", "amount_fen", "student_id", "at"),
    REFUND: ("terminal_id", "sent_at", "terminal_txn_id", "amount_fen", "original_txn_id"),
}
_KEY = re.compile(r"[A-Za-z0-9_-]{43,86}")     # token_urlsafe of 32 to 64 bytes
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def new_key() -> str:
    """A terminal's signing key: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def check_key(key) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise BadInput("a terminal key is 43-86 characters of letters, digits, '-' or '_' (suite terminal add "
                       "makes one)")
    return key


def canonical(operation: str, request: dict) -> str:
    """The string a terminal signs: ``["wallet.charge.v1", terminal_id, sent_at, ...]`` as
    compact JSON (UTF-8, not ASCII-escaped)."""
    missing = [f for f in SIGNED_FIELDS[operation] if f not in request]
    if missing:
        raise BadInput(f"the request lacks {', '.join(missing)}")
    return json.dumps([operation, *(request[f] for f in SIGNED_FIELDS[operation])], ensure_ascii=False,
                      separators=(",", ":"))


def sign(key: str, operation: str, request: dict) -> str:
    """The request's signature (hex), as a terminal computes it."""
    return hmac.new(key.encode(), canonical(operation, request).encode(), hashlib.sha256).hexdigest()


def check_signed(terminal: dict | None, operation: str, request: dict, signature, now: datetime) -> None:
    """Refuse (``Forbidden``) a request from an unknown or revoked terminal, with a signature
    that does not match its key, or sent outside the window around ``now``. The request's
    fields are checked for shape before (the contract), the signature before the time, so an
    unsigned request learns nothing of the clock."""
    if terminal is None or terminal.get("revoked_at") or not terminal.get("key"):
        raise Forbidden(f"terminal {request.get('terminal_id')} is unknown or its credential was revoked")
    if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
        raise Forbidden("the request is not signed: send the HMAC-SHA256 of its canonical string, in hex")
    if not hmac.compare_digest(sign(terminal["key"], operation, request), signature):
        raise Forbidden("the signature does not match the request")
    sent_at = request["sent_at"]
    try:
        sent = datetime.fromisoformat(sent_at)
    except (TypeError, ValueError):
        raise BadInput("sent_at must be an ISO 8601 time with a time zone") from None
    if sent.tzinfo is None:
        raise BadInput("sent_at must carry a time zone")
    if abs(sent - now) > WINDOW:
        raise Forbidden(f"sent_at is more than {int(WINDOW.total_seconds() // 60)} minutes from the service's "
                        "clock: sign the request again when sending it (and check the terminal's clock)")
