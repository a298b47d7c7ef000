"""The inbox: consume events so that redelivery and replay change nothing.

``@inbox_handler(event_type)`` is nameko's event handler made safe:

- the envelope and its ``data`` are validated against ``contracts/`` before any worker
  runs; an invalid or undecodable message is dead-lettered with the reason at once;
- a handler that raises is retried a bounded number of times with back-off (the message
  goes back on its queue with an attempt count) and is then dead-lettered with its
  reason. nameko's own handler acknowledges a failed message and loses it.

The handler applies the effect with ``apply_once``, which records the event id in the
changed document by the same conditional update, so a duplicate is absorbed atomically.
"""
from __future__ import annotations

import logging
import threading
from enum import Enum
from functools import partial
from typing import Any, Mapping

import amqp.exceptions
import eventlet
import pymongo
from kombu import Connection
from nameko.amqp.publish import Publisher
from nameko.events import SERVICE_POOL, EventHandler
from nameko.messaging import QueueConsumer
from pydantic import ValidationError
from pymongo.collection import Collection

from contracts import CloudEvent
from contracts.registry import UnknownEventType, event_model, event_source
from services.common import deadletter, metrics
from services.common.broker_loss import survive_broker_loss
from services.common.config import option
from services.common.storage import merge_updates

log = logging.getLogger(__name__)

INBOX_FIELD = "inbox"
INBOX_KEEP = 200  # ids remembered per document; enough for any one document's history
EVENT_MAX_BYTES = 256 * 1024  # no event of the contracts comes near; a bigger body is an error or an attack
_outcome = threading.local()  # green-thread local: what became of the event this worker applies
OUTCOMES = ("applied", "duplicate", "late", "conflict")   # what a handler may say of an event it took


def note_outcome(event_id: str, outcome: str) -> None:
    """Say what became of ``event_id`` in this worker (``applied`` unless said): a duplicate
    absorbed, an event that came too late to change anything, one kept as a conflict for staff.
    The inbox counts it so (``suite_events``)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome is one of {', '.join(OUTCOMES)}")
    _outcome.value = (event_id, outcome)


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the message is dead-lettered at once."""


class Applied(Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    MISSING = "missing"


def apply_once(collection: Collection, key: Mapping[str, Any], update: Mapping, event_id: str,
               upsert: bool = False) -> Applied:
    """Apply ``update`` to the document at ``key`` unless ``event_id`` was applied to it.

    One conditional ``update_one``: the effect and the record of the event id are one
    write. (``$nin`` rather than ``$ne``: the embedded store matches ``$ne`` against an
    array wrongly.)
    """
    guarded = {**key, INBOX_FIELD: {"$nin": [event_id]}}
    mark = {"$push": {INBOX_FIELD: {"$each": [event_id], "$slice": -INBOX_KEEP}}}
    try:
        result = collection.update_one(guarded, merge_updates(update, mark), upsert=upsert)
    except pymongo.errors.DuplicateKeyError:
        # The upsert found no document without the mark and tried to insert one: the
        # document exists, so either this event was applied or another unique key clashed.
        if collection.find_one({**key, INBOX_FIELD: event_id}, {"_id": 1}) is not None:
            note_outcome(event_id, "duplicate")
            return Applied.DUPLICATE
        raise
    if result.matched_count or result.upserted_id is not None:
        return Applied.APPLIED
    if collection.find_one({**key, INBOX_FIELD: event_id}, {"_id": 1}) is not None:
        note_outcome(event_id, "duplicate")
        return Applied.DUPLICATE
    return Applied.MISSING


def validate_event(body: Any, expected_type: str | tuple[str, ...]) -> dict:
    """The envelope as a dict with validated ``data``; raises ValueError saying why not."""
    expected = (expected_type,) if isinstance(expected_type, str) else expected_type
    if not isinstance(body, dict):
        raise ValueError(f"event body must be a JSON object, got {type(body).__name__}")
    try:
        envelope = CloudEvent.model_validate(body)
    except ValidationError as exc:
        raise ValueError(f"invalid CloudEvents envelope: {_errors(exc)}") from None
    if envelope.type not in expected:
        raise ValueError(f"unexpected event type {envelope.type!r} on a queue for {', '.join(expected)}")
    try:
        data = event_model(envelope.type).model_validate(envelope.data)
    except ValidationError as exc:
        raise ValueError(f"invalid data for {envelope.type}: {_errors(exc)}") from None
    out = envelope.model_dump(mode="json")
    out["data"] = data.model_dump(mode="json")
    return out


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()[:5])


REFUSED_COMPRESSION = "x-refused-compression"   # the compression a message claimed, never undone here


def uninflated(message_to_python):
    """``channel.message_to_python`` that never inflates a body: kombu decompresses a message
    whose headers name a compression as it receives it, before any size check (a few hundred
    bytes of bz2 became 110 MB in the library). The compression is kept under another name,
    and the message is refused (``refusal``) with its body as it came."""
    def convert(raw):
        headers = (getattr(raw, "properties", None) or {}).get("application_headers")
        if headers and "compression" in headers:
            headers = dict(headers)
            headers[REFUSED_COMPRESSION] = str(headers.pop("compression"))[:100]
            raw.properties["application_headers"] = headers
        return message_to_python(raw)
    convert.uninflated = True
    return convert


class DeadLetteringQueueConsumer(QueueConsumer):
    """nameko's queue consumer, but a message that cannot be decoded, or that claims a
    compression, is dead-lettered with the reason instead of breaking the consumer."""

    def get_consumers(self, consumer_cls, channel):
        if not getattr(channel.message_to_python, "uninflated", False):
            channel.message_to_python = uninflated(channel.message_to_python)
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._on_decode_error, provider)
        return consumers

    def _on_decode_error(self, provider, message, exc):
        reason = provider.refusal(message) or f"undecodable message: {type(exc).__name__}: {exc}"
        provider.dead_letter(message, reason, attempts=1)


class InboxEventHandler(EventHandler):
    """``@inbox_handler(event_type)``; or ``@inbox_handler(binding, accept=(type, ...))`` for
    one queue bound by a topic pattern that takes several types (kiosks)."""

    queue_consumer = DeadLetteringQueueConsumer()
    queue_arguments: dict = {}   # declared with the queue (here and by infra/topology.py, alike)

    def __init__(self, event_type: str, accept: tuple[str, ...] | None = None, **kwargs):
        self.accept = tuple(accept or (event_type,))
        try:
            source = event_source(self.accept[0])
        except UnknownEventType as exc:
            raise ValueError(str(exc)) from None
        super().__init__(source, event_type, handler_type=SERVICE_POOL, reliable_delivery=True,
                         requeue_on_error=False, **kwargs)

    def setup(self):
        super().setup()
        if self.queue_arguments:
            self.queue.queue_arguments = {**(self.queue.queue_arguments or {}), **self.queue_arguments}
        config = self.container.config
        self.max_retries = int(config.get("EVENT_MAX_RETRIES", 3))
        self.backoff = float(config.get("EVENT_RETRY_BACKOFF", 0.2))
        self.max_bytes = int(option(config, "EVENT_MAX_BYTES", EVENT_MAX_BYTES))
        self.publisher = Publisher(config["AMQP_URI"], use_confirms=True)
        self.dlq = deadletter.dead_letter_queue(self.container.service_name)
        with Connection(config["AMQP_URI"]) as conn:  # so that an operator can always look there
            self.dlq(conn.channel()).declare()

    def check_sender(self, message, event: dict) -> None:
        """Raise ValueError when the message may not speak for its sender (subclasses)."""

    def accepted(self, message, event: dict) -> None:
        """The event passed every check and goes to a worker now (in the consumer, in delivery
        order): what a subclass notes as it arrives."""

    def refusal(self, message) -> str | None:
        """Why a message is refused before it is decoded: a compression it claims, or its size
        on the wire."""
        size = len(message.body or b"")
        compression = (message.headers or {}).get(REFUSED_COMPRESSION)
        if compression:
            return f"compressed message ({compression}, {size} bytes): refused before decoding"
        if size > self.max_bytes:
            return f"message too large: {size} bytes (EVENT_MAX_BYTES is {self.max_bytes})"
        return None

    def handle_message(self, body, message):
        with survive_broker_loss("take an event"):
            self._take(body, message)

    def _take(self, body, message) -> None:
        refused = self.refusal(message)
        if refused:  # before validating: neither the contract check nor a worker spends time on it
            self.dead_letter(message, refused, attempts=1)
            return
        try:
            event = validate_event(body, self.accept)
            self.check_sender(message, event)
        except ValueError as exc:
            self.dead_letter(message, str(exc), attempts=1)
            return
        self.accepted(message, event)
        super().handle_message(event, message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        # (in the worker's green thread, where the handler noted what became of its event)
        noted = getattr(_outcome, "value", None)
        _outcome.value = None
        outcome = noted[1] if noted and noted[0] == worker_ctx.args[0]["id"] else "applied"
        with survive_broker_loss("acknowledge an event"):
            self._settle(message, result, exc_info, outcome)
        return result, exc_info

    def _settle(self, message, result, exc_info, outcome: str) -> None:
        """Acknowledge, retry or dead-letter the message the worker handled."""
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            self._count(message, outcome)
            return
        exc = exc_info[1]
        attempts = int((message.headers or {}).get(deadletter.ATTEMPTS, 0)) + 1
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, PermanentError) or attempts > self.max_retries:
            self.dead_letter(message, reason, attempts)
        else:
            log.warning("event handler failed, retrying", extra={
                "queue": self.queue.name, "attempt": attempts, "reason": reason})
            eventlet.sleep(self.backoff * 2 ** (attempts - 1))
            self._republish(message, {**(message.headers or {}), deadletter.ATTEMPTS: attempts})
            self.queue_consumer.ack_message(message)
            self._count(message, "retried")

    def dead_letter(self, message, reason: str, attempts: int) -> None:
        """Park ``message`` in the service's dead-letter queue, then acknowledge it. A body the
        broker will not take back (over its largest message) is parked as its first bytes and
        its size: one message must never stop the consumer."""
        queue = self.queue_of(message)
        headers = deadletter.dead_letter_headers(message, queue, reason, attempts)
        log.error("dead-lettered message", extra={"queue": queue, "reason": reason[:300]})
        try:
            self.publisher.publish(message.body, exchange=deadletter.DLX, routing_key=self.dlq.routing_key,
                                   declare=[self.dlq], headers=headers, **_raw(message))
        except amqp.exceptions.AMQPError as exc:
            body = message.body or b""
            log.error("dead letter refused by the broker; parking its first bytes", extra={
                "queue": queue, "size": len(body), "error": f"{type(exc).__name__}: {exc}"[:300]})
            headers[deadletter.TRUNCATED] = len(body)
            self.publisher.publish(body[:deadletter.KEPT_BYTES], exchange=deadletter.DLX,
                                   routing_key=self.dlq.routing_key, declare=[self.dlq], headers=headers,
                                   **_raw(message))
        self.queue_consumer.ack_message(message)
        self._count(message, "dead_lettered")

    def queue_of(self, message) -> str:
        """The queue ``message`` came from (a handler of several queues says which)."""
        return self.queue.name

    def _count(self, message, outcome: str) -> None:
        # Labelled with a type this queue accepts, else its binding: a bad message cannot
        # make up label values.
        try:
            claimed = message.payload.get("type")
        except Exception:  # undecodable, or not an object
            claimed = None
        event_type = claimed if claimed in self.accept else self.event_type
        metrics.count_event(self.container.service_name, event_type, outcome)

    def _republish(self, message, headers: dict) -> None:
        # Back on the same queue through the default exchange: only this handler sees it. The
        # first delivery's routing key and validated sender travel along as headers.
        self.publisher.publish(message.body, exchange="", routing_key=self.queue_of(message),
                               headers={**headers, **deadletter.origin_headers(message)}, **_raw(message))


def _raw(message) -> dict:
    """Publish options that send ``message.body`` byte for byte."""
    return {"content_type": message.content_type or "application/octet-stream",
            "content_encoding": message.content_encoding or "binary",
            "message_id": message.properties.get("message_id")}


inbox_handler = InboxEventHandler.decorator
