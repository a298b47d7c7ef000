"""``suite dlq list|replay``: look at dead-lettered messages and, once the cause is fixed, send
them back to the queue they came from (each once: a replayed message leaves the DLQ only
after the broker has confirmed it back on its queue)."""
from __future__ import annotations

from kombu import Connection

from services.common import deadletter
from services.common.config import SERVICES


def _queue(conn, service: str):
    return deadletter.dead_letter_queue(service)(conn.channel())


def peek(amqp_uri: str, service: str, limit: int = 50) -> list[dict]:
    """The first ``limit`` dead letters of ``service``, left where they are."""
    out = []
    with Connection(amqp_uri) as conn:
        queue = _queue(conn, service)
        queue.declare()
        taken = []
        for _ in range(limit):
            message = queue.get(no_ack=False)
            if message is None:
                break
            taken.append(message)
            h = message.headers or {}
            out.append({"queue": h.get(deadletter.ORIGINAL_QUEUE), "reason": h.get(deadletter.REASON),
                        "attempts": h.get(deadletter.ATTEMPTS), "at": h.get(deadletter.DEAD_AT),
                        "message_id": message.properties.get("message_id"), "size": len(message.body or b""),
                        "body": (message.body[:200] if isinstance(message.body, (bytes, str)) else b"")})
        for message in taken:
            message.requeue()
    return out


def replay(amqp_uri: str, service: str, only_queue: str | None = None, limit: int = 1000) -> int:
    """Send dead letters back to their queues with a fresh attempt count; return how many."""
    done = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        queue = _queue(conn, service)
        queue.declare()
        producer = conn.Producer()
        skipped = []
        for _ in range(limit):
            message = queue.get(no_ack=False)
            if message is None:
                break
            headers = dict(message.headers or {})
            target = headers.get(deadletter.ORIGINAL_QUEUE)
            if not target or (only_queue and target != only_queue):
                skipped.append(message)
                continue
            # The origin headers stay: the consumer reads the first delivery's routing key and
            # broker-validated sender from them (a kiosk event is checked against both).
            for key in (deadletter.REASON, deadletter.ATTEMPTS, deadletter.DEAD_AT, deadletter.ORIGINAL_QUEUE):
                headers.pop(key, None)
            producer.publish(message.body, exchange="", routing_key=target, headers=headers,
                             content_type=message.content_type, content_encoding=message.content_encoding,
                             delivery_mode=2, message_id=message.properties.get("message_id"))
            message.ack()  # after the confirm: never lost, at worst replayed twice
            done += 1
        for message in skipped:
            message.requeue()
    return done


def services() -> tuple[str, ...]:
    return SERVICES
