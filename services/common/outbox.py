"""Transactional outbox: a state change and the events it causes are one write.

The embedded store's transactions are not isolated (see DESIGN.md), so the pending
events live inside the changed document, in an ``outbox`` map keyed by event id (the
embedded store corrupts arrays of sub-documents under ``$push``: it stores them as JSON
strings), with a counter (``outbox_pending``, indexed) that the relay finds them by. The relay publishes each
event as a nameko event (exchange ``<source>.events``, routing key = event type) with
publisher confirms, then removes exactly what it published by ``_id``.

Delivery is at least once: a crash between publish and removal publishes again, and
consumers absorb the duplicate through their inbox.
"""
from __future__ import annotations

import logging
from typing import Iterable, Sequence

import eventlet
import pymongo
from kombu import Exchange
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from pymongo import IndexModel
from pymongo.collection import Collection

from contracts import new_event
from contracts.registry import event_source
from services.common import tracing
from services.common.logs import CONTEXT_KEY, current_correlation_id
from services.common.tracing import current_traceparent
from services.common.storage import Store

log = logging.getLogger(__name__)

PENDING = "outbox_pending"
OUTBOX_INDEX = IndexModel([(PENDING, pymongo.ASCENDING)], name="outbox_pending")
BATCH = 100


def event_exchange(source_service: str) -> Exchange:
    # Must equal nameko's own declaration (nameko.standalone.events.get_event_exchange).
    return Exchange(f"{source_service}.events", type="topic", durable=True, auto_delete=False,
                    delivery_mode=2)


def record(*events: dict) -> dict:
    """The update fragment that stores ``events`` in the document being changed."""
    return {"$set": {f"outbox.{ev['id']}": ev for ev in events}, "$inc": {PENDING: len(events)}}


def pending_fields(events: Sequence[dict]) -> dict:
    """The same, for a document being inserted."""
    return {"outbox": {ev["id"]: ev for ev in events}, PENDING: len(events)}


def event(type: str, data, subject: str | None = None, **extensions) -> dict:
    """A new CloudEvent for the outbox, carrying the current correlation id."""
    source = event_source(type)
    extensions.setdefault("correlationid", current_correlation_id())
    if current_traceparent():  # CloudEvents' distributed tracing extension
        extensions.setdefault("traceparent", current_traceparent())
    return new_event(type, source, data, subject=subject, **extensions)


def relay_once(collections: Iterable[Collection], publisher: Publisher) -> int:
    """Publish what is pending in ``collections``; return how many events went out."""
    sent = 0
    for collection in collections:
        for doc in collection.find({PENDING: {"$gt": 0}}, {"outbox": 1, PENDING: 1}).limit(BATCH):
            if not doc.get("outbox"):
                # A counter with nothing behind it would keep this document in every batch and
                # starve real events: reset it, unless a writer added an event meanwhile.
                collection.update_one({"_id": doc["_id"], PENDING: doc[PENDING]}, {"$set": {PENDING: 0}})
                log.warning("outbox: reset a pending count with no event behind it", extra={"doc": str(doc["_id"])})
                continue
            for ev in sorted(doc["outbox"].values(), key=lambda e: e["time"]):
                headers = {f"nameko.{CONTEXT_KEY}": ev["correlationid"]} if ev.get("correlationid") else {}
                if ev.get("traceparent"):
                    headers[f"nameko.{tracing.CONTEXT_KEY}"] = ev["traceparent"]
                publisher.publish(ev, exchange=event_exchange(ev["source"]), routing_key=ev["type"],
                                  headers=headers, message_id=ev["id"])
                # Conditional on the event still being there, so that two relays racing
                # cannot both count it off (the counter would then hide later events).
                collection.update_one({"_id": doc["_id"], f"outbox.{ev['id']}": {"$exists": True}},
                                      {"$unset": {f"outbox.{ev['id']}": ""}, "$inc": {PENDING: -1}})
                sent += 1
    return sent


class OutboxRelay(DependencyProvider):
    """Runs the relay in the service process for the named collections of its store."""

    def __init__(self, collections: Sequence[str]):
        self.collection_names = tuple(collections)
        self._gt = None
        self._running = False

    def setup(self):
        config = self.container.config
        self.interval = float(config.get("OUTBOX_INTERVAL", 0.2))
        self.publisher = Publisher(config["AMQP_URI"], use_confirms=True, serializer="json")

    def start(self):
        self._running = True
        self._gt = self.container.spawn_managed_thread(self._run, identifier="outbox_relay")

    def stop(self):
        self._running = False
        if self._gt is not None:
            self._gt.kill()

    kill = stop

    def _collections(self):
        # The service's Store (bound to this container) holds the database.
        store = next(d for d in self.container.dependencies if isinstance(d, Store))
        return [store.db[name] for name in self.collection_names]

    def _run(self):
        while self._running:
            try:
                if relay_once(self._collections(), self.publisher):
                    continue  # more may be waiting: no pause
            except Exception as exc:  # broker or store away: try again shortly
                log.warning("outbox relay: %s", exc)
                eventlet.sleep(min(5.0, self.interval * 10))
            eventlet.sleep(self.interval)

    def get_dependency(self, worker_ctx):
        return None
