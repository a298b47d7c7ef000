"""``suite dlq list|replay``: look at dead-lettered messages and, once the cause is fixed, send
them back to the queue they came from (each once: a replayed message leaves the DLQ only
after the broker has confirmed it back on its queue).

Messages are read as the broker holds them (``basic_get``), never decoded or decompressed: a
dead letter may be anything a device sent, and a listing shows its size and its first bytes
only. Besides each service's ``dlq.<service>``, the kiosk messages no queue took
(``dlq.kiosk-unroutable``, behind the kiosk exchange's alternate exchange) are listed.
"""
from __future__ import annotations

import amqp.exceptions
from kombu import Connection

from services.common import deadletter
from services.common.config import SERVICES

UNROUTABLE = "kiosk-unroutable"
PREFIX = 120   # bytes of a body a listing shows


def _queue_name(service: str) -> str:
    return f"dlq.{service}"


def describe(raw, queue: str) -> dict:
    """A dead letter as an operator reads it, from the broker's message as it is."""
    props = raw.properties or {}
    h = props.get("application_headers") or {}
    body = raw.body if isinstance(raw.body, (bytes, bytearray)) else str(raw.body or "").encode("utf-8", "replace")
    routing_key = h.get(deadletter.ORIGINAL_ROUTING_KEY) or raw.delivery_info.get("routing_key", "")
    reason = h.get(deadletter.REASON) or (
        f"unroutable: no queue takes routing key {routing_key!r}" if queue == _queue_name(UNROUTABLE) else None)
    return {"queue": h.get(deadletter.ORIGINAL_QUEUE) or "", "reason": reason, "attempts": h.get(deadletter.ATTEMPTS),
            "at": h.get(deadletter.DEAD_AT), "routing_key": routing_key, "message_id": props.get("message_id"),
            "size": int(h.get(deadletter.TRUNCATED) or len(body)), "prefix": bytes(body[:PREFIX])}


def peek(amqp_uri: str, service: str, limit: int = 50) -> list[dict]:
    """The first ``limit`` dead letters of ``service`` (or ``kiosk-unroutable``), left where they are."""
    out = []
    name = _queue_name(service)
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        try:
            channel.queue_declare(name, passive=True)
        except amqp.exceptions.NotFound:
            return []   # not declared yet (`suite deploy` declares every one): nothing parked there
        taken = []
        for _ in range(limit):
            raw = channel.basic_get(name, no_ack=False)
            if raw is None:
                break
            taken.append(raw)
            out.append(describe(raw, name))
        for raw in taken:
            channel.basic_reject(raw.delivery_tag, requeue=True)
    return out


def replay(amqp_uri: str, service: str, only_queue: str | None = None, limit: int = 1000) -> int:
    """Send dead letters back to their queues with a fresh attempt count; return how many."""
    done = 0
    name = _queue_name(service)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        producer = conn.Producer()
        skipped = []
        for _ in range(limit):
            raw = channel.basic_get(name, no_ack=False)
            if raw is None:
                break
            props = raw.properties or {}
            headers = dict(props.get("application_headers") or {})
            target = headers.get(deadletter.ORIGINAL_QUEUE)
            if not target or (only_queue and target != only_queue) or headers.get(deadletter.TRUNCATED):
                skipped.append(raw)   # not from a queue, or only its first bytes were kept
                continue
            # The origin headers stay: the consumer reads the first delivery's routing key and
            # broker-validated sender from them (a kiosk event is checked against both).
            for key in (deadletter.REASON, deadletter.ATTEMPTS, deadletter.DEAD_AT, deadletter.ORIGINAL_QUEUE):
                headers.pop(key, None)
            producer.publish(raw.body, exchange="", routing_key=target, headers=headers,
                             content_type=props.get("content_type"), content_encoding=props.get("content_encoding"),
                             delivery_mode=2, message_id=props.get("message_id"))
            channel.basic_ack(raw.delivery_tag)  # after the confirm: never lost, at worst replayed twice
            done += 1
        for raw in skipped:
            channel.basic_reject(raw.delivery_tag, requeue=True)
    return done


def services() -> tuple[str, ...]:
    return (*SERVICES, UNROUTABLE)
