"""Where messages that cannot be applied go: one durable queue per consuming service.

A dead-lettered message keeps its body and headers untouched and gains the reason,
where it came from and how often it was tried, so that an operator can read it and,
once the cause is fixed, send it back where it came from (``suite dlq``).
"""
from __future__ import annotations

from kombu import Exchange, Queue

from services.common import clock

DLX = Exchange("suite.dlx", type="direct", durable=True, auto_delete=False)

REASON = "x-dead-letter-reason"
ORIGINAL_QUEUE = "x-original-queue"
ORIGINAL_EXCHANGE = "x-original-exchange"
ORIGINAL_ROUTING_KEY = "x-original-routing-key"
ORIGINAL_USER_ID = "x-original-user-id"
ATTEMPTS = "x-attempts"
DEAD_AT = "x-dead-lettered-at"
TRUNCATED = "x-truncated-from"   # the size of a body too large to park whole: only its first bytes are kept
KEPT_BYTES = 64 * 1024


def dead_letter_queue(service: str) -> Queue:
    return Queue(f"dlq.{service}", exchange=DLX, routing_key=service, durable=True, auto_delete=False)


def first_delivery(message) -> tuple[str, str, str | None]:
    """(exchange, routing key, user_id) of the message as first published, even after it was
    sent back to its queue through the default exchange for a retry or a replay."""
    headers = message.headers or {}
    if message.delivery_info.get("exchange", "") == "" and ORIGINAL_ROUTING_KEY in headers:
        return (headers.get(ORIGINAL_EXCHANGE, ""), headers[ORIGINAL_ROUTING_KEY],
                headers.get(ORIGINAL_USER_ID) or None)
    return (message.delivery_info.get("exchange", ""), message.delivery_info.get("routing_key", ""),
            message.properties.get("user_id"))


def origin_headers(message) -> dict:
    """Headers that carry the first delivery along when a service re-publishes a message to
    its queue through the default exchange (which only services may publish to, so a device
    cannot forge them)."""
    exchange, routing_key, user_id = first_delivery(message)
    return {ORIGINAL_EXCHANGE: exchange, ORIGINAL_ROUTING_KEY: routing_key, ORIGINAL_USER_ID: user_id or ""}


def dead_letter_headers(message, queue_name: str, reason: str, attempts: int) -> dict:
    headers = dict(message.headers or {})
    headers.update({
        REASON: reason[:1000],
        ORIGINAL_QUEUE: queue_name,
        **origin_headers(message),
        ATTEMPTS: attempts,
        DEAD_AT: clock.now().isoformat(),
    })
    return headers
