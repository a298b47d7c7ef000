"""The broker topology, declared at deploy time from one definition: the code itself.

Every ``@inbox_handler`` of every service names a durable queue; declaring them all
before any service starts means no event is ever published to an exchange with no queue
bound (nameko publishes events without ``mandatory``, so such an event would be lost).
Queues are declared exactly as nameko declares them, or nameko's own declaration would
fail with PRECONDITION_FAILED.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import import_module

from kombu import Connection, Exchange, Queue
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from contracts.registry import EVENTS
from services.common import deadletter
from services.common.inbox import InboxEventHandler
from services.common.outbox import event_exchange

SERVICE_CLASSES = {
    "community": "services.community.service:CommunityService",
    "library": "services.library.service:LibraryService",
    "elearning": "services.elearning.service:ElearningService",
}
GATEWAY_CLASS = "gateway.service:GatewayService"


def load_class(path: str):
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


@dataclass(frozen=True)
class Subscription:
    service: str
    method: str
    event_type: str
    source: str

    @property
    def queue(self) -> Queue:
        # nameko: evt-<source>-<type>--<service>.<method>, durable, bound by event type
        return Queue(f"evt-{self.source}-{self.event_type}--{self.service}.{self.method}",
                     exchange=event_exchange(self.source), routing_key=self.event_type,
                     durable=True, auto_delete=False, exclusive=False)


def subscriptions() -> list[Subscription]:
    found = []
    for service, path in SERVICE_CLASSES.items():
        cls = load_class(path)
        for method, fn in inspect.getmembers(cls, inspect.isfunction):
            for ep in getattr(fn, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(ep, InboxEventHandler):
                    found.append(Subscription(service, method, ep.event_type, ep.source_service))
    return sorted(found, key=lambda s: (s.service, s.method))


def exchanges() -> list[Exchange]:
    sources = {src for src, _ in EVENTS.values()} | {s.source for s in subscriptions()}
    return [event_exchange(src) for src in sorted(sources)] + [deadletter.DLX]


def queues() -> list[Queue]:
    return [s.queue for s in subscriptions()] + [deadletter.dead_letter_queue(s) for s in SERVICE_CLASSES]


def declare(amqp_uri: str) -> list[str]:
    """Declare every exchange, queue and binding; return the queue names."""
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        for exchange in exchanges():
            exchange(channel).declare()
        names = []
        for queue in queues():
            queue(channel).declare()
            names.append(queue.name)
        return names
