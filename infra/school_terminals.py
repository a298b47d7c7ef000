"""School terminals (canteen, shop: 一机通) for ``suite terminal add|revoke``, and the
reference client a terminal follows to sign and send its charges and refunds.

The key is made here and sent once to the elearning service, which keeps it to check each
request's HMAC (``services/elearning/terminals.py``); it is shown once, to the operator,
who puts it in the terminal. Revoking forgets it: that terminal charges nothing more.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

from nameko.exceptions import RemoteError

from services.common import clock
from services.elearning import terminals


class TerminalRefused(Exception):
    """The terminal could not be added or revoked (bad id, another school's, already there)."""


def add_terminal(rpc, terminal_id: str, school_id: str, kind: str, replace: bool = False) -> str:
    """Register the terminal with a new key through the elearning RPC; return the key."""
    key = terminals.new_key()
    try:
        rpc.elearning.wallet_register_terminal(terminal_id, school_id, kind, key, replace)
    except RemoteError as exc:
        raise TerminalRefused(exc.value) from None
    return key


def revoke_terminal(rpc, terminal_id: str) -> bool:
    try:
        return rpc.elearning.wallet_revoke_terminal(terminal_id)
    except RemoteError as exc:
        raise TerminalRefused(exc.value) from None


def signed_charge(terminal_id: str, key: str, student_id: str, amount_fen: int, txn_id: str | None = None,
                  at: str | None = None) -> tuple[dict, str]:
    """(request, signature) of a charge as a terminal sends it, stamped now."""
    now = clock.now().isoformat()
    request = {"terminal_id": terminal_id, "terminal_txn_id": txn_id or uuid.uuid4().hex[:16],
               "student_id": student_id, "amount_fen": amount_fen, "at": at or now, "sent_at": now}
    return request, terminals.sign(key, terminals.CHARGE, request)


def signed_refund(terminal_id: str, key: str, original_txn_id: str, amount_fen: int,
                  txn_id: str | None = None) -> tuple[dict, str]:
    request = {"terminal_id": terminal_id, "terminal_txn_id": txn_id or uuid.uuid4().hex[:16],
               "original_txn_id": original_txn_id, "amount_fen": amount_fen, "sent_at": clock.now().isoformat()}
    return request, terminals.sign(key, terminals.REFUND, request)


def post(url: str, body: dict, headers: dict, timeout: float = 10) -> tuple[int, dict]:
    """POST ``body`` as JSON; (status, the JSON answer) whatever the status."""
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def send(base_url: str, request: dict, signature: str) -> tuple[int, dict]:
    """Send a signed charge or refund to the elearning port (``base_url``: http://host:port)."""
    path = "/wallet/v1/refunds" if "original_txn_id" in request else "/wallet/v1/charges"
    return post(base_url.rstrip("/") + path, request, {"X-Terminal-Signature": signature})
