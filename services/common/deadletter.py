"""Where messages that cannot be applied go: one durable queue per consuming service.

A dead-lettered message keeps its body and headers untouched and gains the reason,
where it came from and how often it was tried, so that an operator can read it and,
once the cause is fixed, send it back where it came from (``suite dlq``).
"""
from __future__ import annotations

from datetime import datetime, timezone

from kombu import Exchange, Queue

DLX = Exchange("suite.dlx", type="direct", durable=True, auto_delete=False)

REASON = "x-dead-letter-reason"
ORIGINAL_QUEUE = "x-original-queue"
ORIGINAL_EXCHANGE = "x-original-exchange"
ORIGINAL_ROUTING_KEY = "x-original-routing-key"
ATTEMPTS = "x-attempts"
DEAD_AT = "x-dead-lettered-at"


def dead_letter_queue(service: str) -> Queue:
    return Queue(f"dlq.{service}", exchange=DLX, routing_key=service, durable=True, auto_delete=False)


def dead_letter_headers(message, queue_name: str, reason: str, attempts: int) -> dict:
    headers = dict(message.headers or {})
    headers.update({
        REASON: reason[:1000],
        ORIGINAL_QUEUE: queue_name,
        ORIGINAL_EXCHANGE: message.delivery_info.get("exchange", ""),
        ORIGINAL_ROUTING_KEY: message.delivery_info.get("routing_key", ""),
        ATTEMPTS: attempts,
        DEAD_AT: datetime.now(timezone.utc).isoformat(),
    })
    return headers
