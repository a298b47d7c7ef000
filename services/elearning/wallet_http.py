"""The wallet's HTTP doors on the elearning service's port, for devices outside the broker:
school terminals (``POST /wallet/v1/charges``, ``/wallet/v1/refunds``, signed with the
terminal's key in ``X-Terminal-Signature``) and the payment provider (``POST
/wallet/v1/payments/notify``, signed with ``PAYMENT_PROVIDER_KEY`` in
``X-Payment-Signature``). Terminals in schools speak HTTP, not AMQP.

Mixed into ``ElearningService`` (which gives ``self.db`` and ``self.config``): each route reads
the JSON body and hands it to the same function as the RPC (``wallet_rpc``). Answers are
JSON: the outcome with 200, or ``{"error": CODE, "message": ...}`` with 400 (bad input),
403 (unknown or revoked terminal, bad signature, stale request), 404 (unknown order or
charge), 409 (a transaction id or an order already used otherwise); never a 5xx for what
a caller sent.
"""
from __future__ import annotations

import json
import logging

from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.common.errors import BadInput, SuiteError
from services.common.rpc import translate
from services.elearning import wallet_rpc

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
STATUS = {"BAD_USER_INPUT": 400, "FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409, "UNAVAILABLE": 503}
JSON = "application/json; charset=utf-8"


def _json(status: int, body: dict) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, content_type=JSON)


def _body(request) -> dict:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BadInput(f"the body is larger than {MAX_BODY_BYTES} bytes")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise BadInput(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadInput("the body is not JSON in UTF-8") from None
    if not isinstance(body, dict):
        raise BadInput("the body is a JSON object")
    return body


def _answer(request, work) -> Response:
    """``work(body)`` -> the outcome; every refusal as JSON with its status."""
    try:
        return _json(200, work(_body(request)))
    except Exception as exc:   # noqa: BLE001 - each kind answered below, the unknown logged
        known = translate(exc)
        if isinstance(known, SuiteError):
            return _json(STATUS.get(known.code, 400), {"error": known.code, "message": str(known)})
        log.exception("wallet http: unexpected error")
        return _json(500, {"error": "INTERNAL", "message": "internal error"})


class WalletHttpEntrypoints:
    """Terminals' charges and refunds, the payment provider's notifications."""

    @http("POST", "/wallet/v1/charges")
    def wallet_http_charge(self, request):
        return _answer(request, lambda body: wallet_rpc.terminal_charge(
            self.db, body, request.headers.get("X-Terminal-Signature")))

    @http("POST", "/wallet/v1/refunds")
    def wallet_http_refund(self, request):
        return _answer(request, lambda body: wallet_rpc.terminal_refund(
            self.db, body, request.headers.get("X-Terminal-Signature")))

    @http("POST", "/wallet/v1/payments/notify")
    def wallet_http_payment_notified(self, request):
        return _answer(request, lambda body: wallet_rpc.payment_notified(
            self.db, self._payment_provider_key(), body, request.headers.get("X-Payment-Signature")))
