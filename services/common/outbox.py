"""Transactional outbox: a state change and the events it causes are one write.

The embedded store's transactions are not isolated (docs/ARCHITECTURE.md, "The store"), so
the pending events live inside the changed document, in an ``outbox`` map keyed by event id (the
embedded store corrupts arrays of sub-documents under ``$push``: it stores them as JSON
strings), with a counter (``outbox_pending``, indexed) that the relay finds them by. The relay publishes each
event as a nameko event (exchange ``<source>.events``, routing key = event type) with
publisher confirms, then removes exactly what it published by ``_id``.

Each pending document names the process that wrote it (``outbox_owner``) and when
(``outbox_at``): a process's relay publishes its own writes, and takes over another's only
when they have waited ``OUTBOX_ORPHAN_AFTER`` seconds (that process died, or cannot reach the
broker). Without that, every relay of a service with several processes published every
pending event: 3.3 × the events with 4 processes (bench/RESULTS.md).

A takeover is a compare-and-set (``claim``): one relay wins, and the writer, if it was only
slow, no longer finds those events as its own. Delivery is at least once: a crash between
publish and removal publishes again, and so does a writer that had already read the events
when they were taken over; consumers absorb the duplicate through their inbox.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import timedelta
from functools import partial
from typing import Iterable, Sequence

import eventlet
import pymongo
from eventlet.event import Event
from kombu import Connection, Exchange
from kombu.utils import json as kombu_json
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.extensions import DependencyProvider
from pymongo import IndexModel, UpdateOne
from pymongo.collection import Collection

from contracts import new_event
from contracts.events import interdistrict
from contracts.registry import event_source
from services.common import clock, tracing
from services.common.config import option
from services.common.logs import CONTEXT_KEY, current_correlation_id
from services.common.tracing import current_traceparent
from services.common.storage import Store

log = logging.getLogger(__name__)

PENDING = "outbox_pending"
OWNER = "outbox_owner"
WRITTEN = "outbox_at"
# who "owns" a document whose event no queue took (an inter-district case for a district with no
# link queue): no relay's own, so only the sweep retries it, once it looks orphaned; newer events
# are not starved behind a pile of them
HELD = "held:no-queue"
OUTBOX_INDEX = IndexModel([(PENDING, pymongo.ASCENDING)], name="outbox_pending")
BATCH = 100
ORPHAN_AFTER = 10.0  # seconds: an owner that keeps up is never overtaken; one that lags more is helped
FIELDS = ("outbox", PENDING, OWNER, WRITTEN)   # the kit's, in every document that has events
HIDDEN = dict.fromkeys(FIELDS, 0)                # a projection that leaves them out of a read
SWEEP_EVERY = 2.0    # seconds between looks for others' leftovers
THIS_PROCESS = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def event_exchange(source_service: str) -> Exchange:
    # Must equal nameko's own declaration (nameko.standalone.events.get_event_exchange).
    return Exchange(f"{source_service}.events", type="topic", durable=True, auto_delete=False,
                    delivery_mode=2)


INTERDISTRICT_OUT = Exchange(interdistrict.OUT_EXCHANGE, type="direct", durable=True, auto_delete=False,
                             delivery_mode=2)


def route(ev: dict) -> tuple[Exchange, str]:
    """Where an event goes: its service's events exchange by type; a case handed on to another
    district (``contracts/events/interdistrict.py``) to ``interdistrict.out`` by that district's
    code, whose link queue the shovel drains."""
    if ev["type"] in interdistrict.TYPES:
        return INTERDISTRICT_OUT, ev["data"]["to_district"]
    return event_exchange(ev["source"]), ev["type"]


_built = 0   # events this process has put into updates: a relay looks when it has grown


def _written(events: Sequence[dict]) -> dict:
    global _built
    _built += len(events)
    return {OWNER: THIS_PROCESS, WRITTEN: clock.now().isoformat()}


def record(*events: dict) -> dict:
    """The update fragment that stores ``events`` in the document being changed."""
    return {"$set": {**{f"outbox.{ev['id']}": ev for ev in events}, **_written(events)}, "$inc": {PENDING: len(events)}}


def pending_fields(events: Sequence[dict]) -> dict:
    """The same, for a document being inserted."""
    return {"outbox": {ev["id"]: ev for ev in events}, PENDING: len(events), **_written(events)}


def orphaned(doc: dict, cutoff: str) -> bool:
    """Pending events whose writer's relay has not published them in time (or that no relay's
    process wrote: a store restored from a backup, an operator's script)."""
    return not doc.get(OWNER) or not doc.get(WRITTEN) or doc[WRITTEN] < cutoff


def event(type: str, data, subject: str | None = None, **extensions) -> dict:
    """A new CloudEvent for the outbox, carrying the current correlation id."""
    source = event_source(type)
    extensions.setdefault("correlationid", current_correlation_id())
    if current_traceparent():  # CloudEvents' distributed tracing extension
        extensions.setdefault("traceparent", current_traceparent())
    return new_event(type, source, data, subject=subject, **extensions)


def claim(collection: Collection, doc: dict, owner: str) -> bool:
    """Take over the pending events of ``doc`` (as read) for ``owner``. A compare-and-set on who
    wrote them and when: of the relays that found them orphaned, one wins, and their writer's
    relay, if it was only slow, no longer finds them as its own. (Without it, every relay that
    looked published them: 18% of the events twice with 4 processes under overload.)"""
    match = {"_id": doc["_id"], **{f: doc[f] if f in doc else {"$exists": False} for f in (OWNER, WRITTEN)}}
    taken = {OWNER: owner, WRITTEN: clock.now().isoformat()}
    if collection.update_one(match, {"$set": taken}).matched_count != 1:
        return False
    doc.update(taken)   # as it is stored now
    return True


def relay_once(collections: Iterable[Collection], publisher: Publisher, *, owner: str = THIS_PROCESS,
               orphans: bool = True, orphan_after: float = ORPHAN_AFTER) -> int:
    """Publish what this process wrote that is pending in ``collections`` and, with ``orphans``,
    what others wrote and left pending for ``orphan_after`` seconds; return how many went out."""
    sent = 0
    cutoff = (clock.now() - timedelta(seconds=orphan_after)).isoformat()
    fields = dict.fromkeys(FIELDS, 1)
    for collection in collections:
        docs = list(collection.find({PENDING: {"$gt": 0}, OWNER: owner}, fields).limit(BATCH))
        if orphans:
            docs += [d for d in collection.find({PENDING: {"$gt": 0}, OWNER: {"$ne": owner}}, fields).limit(BATCH)
                     if orphaned(d, cutoff) and claim(collection, d, owner)]
        published: list[UpdateOne] = []
        outgoing: list[tuple[dict, dict]] = []   # (event, its document)
        for doc in docs:
            if not doc.get("outbox"):
                # A counter with nothing behind it would keep this document in every batch and
                # starve real events: reset it, unless a writer added an event meanwhile.
                collection.update_one({"_id": doc["_id"], PENDING: doc[PENDING]}, {"$set": {PENDING: 0}})
                log.warning("outbox: reset a pending count with no event behind it", extra={"doc": str(doc["_id"])})
                continue
            outgoing += [(ev, doc) for ev in sorted(doc["outbox"].values(), key=lambda e: e["time"])]

        def confirmed(ev: dict, doc: dict) -> None:
            # Conditional on the event still being there, so that two relays racing
            # cannot both count it off (the counter would then hide later events).
            published.append(UpdateOne({"_id": doc["_id"], f"outbox.{ev['id']}": {"$exists": True}},
                                       {"$unset": {f"outbox.{ev['id']}": ""}, "$inc": {PENDING: -1}}))
        held: dict = {}   # _id -> the document as read, of events no queue took
        try:
            if isinstance(publisher, PipelinedPublisher):
                try:
                    publisher.publish_all(outgoing, confirmed)
                finally:
                    held.update({doc["_id"]: doc for ev, doc in outgoing if ev["id"] in publisher.returned})
            else:
                for ev, doc in outgoing:
                    exchange, routing_key = route(ev)
                    linked = exchange is INTERDISTRICT_OUT
                    try:
                        publisher.publish(ev, exchange=exchange, routing_key=routing_key, headers=_headers(ev),
                                          message_id=ev["id"], mandatory=linked, declare=[exchange] if linked else [])
                    except UndeliverableMessage:
                        _no_link(ev, routing_key)
                        held[doc["_id"]] = doc
                        continue
                    confirmed(ev, doc)
        finally:
            # what was confirmed is removed in one round trip, even when a later publish failed
            if published:
                collection.bulk_write(published, ordered=False)
                sent += len(published)
            for doc in held.values():   # unless a writer added events meanwhile (they go out at once)
                collection.update_one({"_id": doc["_id"], OWNER: doc.get(OWNER), WRITTEN: doc.get(WRITTEN)},
                                      {"$set": {OWNER: HELD, WRITTEN: clock.now().isoformat()}})
    return sent


def _no_link(ev: dict, district: str) -> None:
    # a case for another district must reach its link queue: without one (that district not
    # linked by `suite deploy`) it stays in the outbox, not lost, and is said
    log.error("outbox: no link queue for district %s; the event waits (run `suite deploy` with LINKED_DISTRICTS "
              "naming it)", district, extra={"event_id": ev["id"]})


def _headers(ev: dict) -> dict:
    headers = {f"nameko.{CONTEXT_KEY}": ev["correlationid"]} if ev.get("correlationid") else {}
    if ev.get("traceparent"):
        headers[f"nameko.{tracing.CONTEXT_KEY}"] = ev["traceparent"]
    return headers


class PipelinedPublisher:
    """Publishes a relay pass's events on one channel in confirm mode, then waits for the
    broker's confirms of all of them at once: one round trip a pass, not one an event (a busy
    broker took milliseconds for each, and the relay waited for every one). Only what the
    broker confirmed is reported (``confirmed``), so only that is removed from the outbox."""

    def __init__(self, amqp_uri: str, confirm_timeout: float = 10.0):
        self.amqp_uri, self.confirm_timeout = amqp_uri, confirm_timeout
        self._conn = self._channel = None
        self.returned: set = set()   # the ids of the last pass's events no queue took

    def _open(self):
        if self._channel is None:
            conn = Connection(self.amqp_uri, heartbeat=0)
            conn.connect()
            channel = conn.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            self._conn, self._channel, self._tag, self._declared = conn, channel, 0, set()
        return self._channel

    def close(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # going anyway
                pass

    def _on_ack(self, delivery_tag, multiple):
        for tag in ([t for t in self._waiting if t <= delivery_tag] if multiple else [delivery_tag]):
            waiting = self._waiting.pop(tag, None)
            if waiting is not None and waiting[0] not in self.returned:   # returned: routed nowhere, kept
                waiting[1]()

    def _on_return(self, exc, exchange, routing_key, message):
        # a mandatory event no queue took (an inter-district case with no link queue) comes back
        # before its confirm: it stays in the outbox
        self.returned.add(message.properties.get("message_id"))
        _no_link({"id": message.properties.get("message_id")}, routing_key)

    def _on_nack(self, delivery_tag, multiple):
        for tag in ([t for t in self._waiting if t <= delivery_tag] if multiple else [delivery_tag]):
            self._waiting.pop(tag, None)
            self._refused += 1

    def publish_all(self, outgoing: list[tuple[dict, dict]], confirmed) -> None:
        if not outgoing:
            return
        self._waiting, self._refused, self.returned = {}, 0, set()
        try:
            channel = self._open()
            for ev, doc in outgoing:
                message = channel.prepare_message(
                    kombu_json.dumps(ev), content_type="application/json", content_encoding="utf-8",
                    headers=_headers(ev), properties={"message_id": ev["id"], "delivery_mode": 2})
                exchange, routing_key = route(ev)
                if exchange.name not in self._declared:   # as nameko's publisher does, once a channel
                    exchange(channel).declare()
                    self._declared.add(exchange.name)
                self._tag += 1
                self._waiting[self._tag] = (ev["id"], partial(confirmed, ev, doc))
                channel.basic_publish(message, exchange=exchange.name, routing_key=routing_key,
                                      mandatory=exchange is INTERDISTRICT_OUT)
            deadline = time.monotonic() + self.confirm_timeout
            while self._waiting and time.monotonic() < deadline:
                try:
                    self._conn.drain_events(timeout=max(0.01, deadline - time.monotonic()))
                except socket.timeout:
                    pass
        except Exception:
            self.close()
            raise
        if self._waiting or self._refused:
            self.close()   # what is unconfirmed stays in the outbox: the next pass publishes it again
            raise RuntimeError(f"{len(self._waiting)} events unconfirmed, {self._refused} refused by the broker")


class OutboxRelay(DependencyProvider):
    """Runs the relay in the service process for the named collections of its store. A worker
    that stored events wakes it as it ends; otherwise it looks every ``OUTBOX_INTERVAL`` s.
    (Polling five collections every 0.2 s cost an idle store more CPU than anything else.)"""

    def __init__(self, collections: Sequence[str]):
        self.collection_names = tuple(collections)
        self._gt = None
        self._running = False
        self._wake = Event()
        self._built_before: dict[int, int] = {}   # id(worker_ctx) -> events built when it began

    def setup(self):
        config = self.container.config
        self.interval = float(config.get("OUTBOX_INTERVAL", 1.0))
        self.orphan_after = float(option(config, "OUTBOX_ORPHAN_AFTER", ORPHAN_AFTER))
        self.publisher = PipelinedPublisher(config["AMQP_URI"])

    def start(self):
        self._running = True
        self._gt = self.container.spawn_managed_thread(self._run, identifier="outbox_relay")

    def stop(self):
        self._running = False
        if self._gt is not None:
            self._gt.kill()
        self.publisher.close()

    kill = stop

    def _collections(self):
        # The service's Store (bound to this container) holds the database.
        store = next(d for d in self.container.dependencies if isinstance(d, Store))
        return [store.db[name] for name in self.collection_names]

    def worker_setup(self, worker_ctx):
        self._built_before[id(worker_ctx)] = _built

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        # the worker's writes are done: if events were built while it ran, look now
        if self._built_before.pop(id(worker_ctx), None) != _built and not self._wake.ready():
            self._wake.send()

    def _run(self):
        next_sweep = 0.0  # others' leftovers are looked for at start, then every SWEEP_EVERY s at most
        while self._running:
            self._wake = Event()
            try:
                sweep = time.monotonic() >= next_sweep
                if sweep:
                    next_sweep = time.monotonic() + SWEEP_EVERY
                if relay_once(self._collections(), self.publisher, orphans=sweep,
                              orphan_after=self.orphan_after) >= BATCH:
                    continue  # a batch was full: more may be waiting, no pause
                # Otherwise what was pending is out. A worker that stored events meanwhile has
                # woken this very Event, so the wait below ends at once: no second look at
                # every collection after each event (half the relay's reads per event).
            except Exception as exc:  # broker or store away: try again shortly
                log.warning("outbox relay: %s", exc)
                eventlet.sleep(min(5.0, self.interval * 10))
                continue
            self._wake.wait(timeout=self.interval)

    def get_dependency(self, worker_ctx):
        return None
