"""The broker topology, declared at deploy time from one definition: the code itself.

Every ``@inbox_handler`` of every service names a durable queue; declaring them all
before any service starts means no event is ever published to an exchange with no queue
bound (nameko publishes events without ``mandatory``, so such an event would be lost).
Queues are declared exactly as nameko declares them, or nameko's own declaration would
fail with PRECONDITION_FAILED.

Quorum queues (``QUEUE_TYPE=quorum``, for a cluster): nameko declares its queues with no
``x-queue-type``. RabbitMQ (3.10.8 here, and 3.13) refuses that redeclare of a quorum queue
unless the virtual host's default queue type is quorum, in which case it adds the type
itself and the two declarations agree. So quorum needs that vhost (``suite topology
apply`` makes it), and ``declare`` checks nameko's redeclare before any service starts.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import import_module

import amqp.exceptions
from kombu import Connection, Exchange, Queue
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from contracts.registry import EVENTS
from services.common import config, deadletter
from services.common.inbox import InboxEventHandler
from services.common.outbox import INTERDISTRICT_OUT, event_exchange
from services.community.interdistrict_inbox import EXCHANGE as INTERDISTRICT_IN
from contracts.events.interdistrict import SOURCE as INTERDISTRICT, link_queue

SERVICE_CLASSES = {
    "community": "services.community.service:CommunityService",
    "library": "services.library.service:LibraryService",
    "elearning": "services.elearning.service:ElearningService",
}
GATEWAY_CLASS = "gateway.service:GatewayService"
QUEUE_TYPES = ("classic", "quorum")
# Kiosk messages no queue takes, through the kiosk exchange's alternate exchange (a policy:
# infra/broker_definitions.py), are kept here for an operator (``suite dlq list``).
UNROUTABLE = Exchange("kiosk.unroutable", type="fanout", durable=True, auto_delete=False)
UNROUTABLE_QUEUE = Queue("dlq.kiosk-unroutable", exchange=UNROUTABLE, routing_key="", durable=True, auto_delete=False)


class QueueDeclaredOtherwise(RuntimeError):
    """A queue exists with arguments this version does not declare (RabbitMQ cannot change them)."""


class NamekoWouldBeRefused(RuntimeError):
    """nameko's own declaration of a queue would fail (the vhost does not default to quorum)."""


def load_class(path: str):
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


@dataclass(frozen=True)
class Subscription:
    service: str
    method: str
    event_type: str
    source: str
    arguments: tuple = ()   # the handler's queue arguments, as (name, value) pairs
    partitioning: object = None   # a module saying its partitions (services/library/kiosk_partitions.py), or None
    exchange: Exchange | None = None   # a handler bound elsewhere than its source's events (interdistrict.in)

    @property
    def queues(self) -> list[Queue]:
        """Its queue, or its partitions' queues."""
        return self.partitioning.queues() if self.partitioning else [self.queue]

    @property
    def queue(self) -> Queue:
        # nameko: evt-<source>-<type>--<service>.<method>, durable, bound by event type
        return Queue(f"evt-{self.source}-{self.event_type}--{self.service}.{self.method}",
                     exchange=self.exchange or event_exchange(self.source), routing_key=self.event_type,
                     durable=True, auto_delete=False, exclusive=False, queue_arguments=dict(self.arguments) or None)


def subscriptions() -> list[Subscription]:
    found = []
    for service, path in SERVICE_CLASSES.items():
        cls = load_class(path)
        for method, fn in inspect.getmembers(cls, inspect.isfunction):
            for ep in getattr(fn, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(ep, InboxEventHandler):
                    found.append(Subscription(service, method, ep.event_type, ep.source_service,
                                              tuple(sorted(ep.queue_arguments.items())),
                                              getattr(ep, "partitioning", None), getattr(ep, "bound_exchange", None)))
    return sorted(found, key=lambda s: (s.service, s.method))


def exchanges() -> list[Exchange]:
    # the inter-district events travel on exchanges of their own (interdistrict.out and .in)
    sources = ({src for src, _ in EVENTS.values()} | {s.source for s in subscriptions()}) - {INTERDISTRICT}
    partitioned = [s.partitioning.PARTITIONED for s in subscriptions() if s.partitioning]
    return [event_exchange(src) for src in sorted(sources)] + partitioned + [deadletter.DLX, UNROUTABLE,
                                                                             INTERDISTRICT_OUT, INTERDISTRICT_IN]


def exchange_bindings() -> list[tuple[str, str, str]]:
    """(source, destination, routing key) of exchanges bound to exchanges: the kiosk exchange
    to the kiosk partitions' consistent-hash exchange."""
    return [(s.partitioning.KIOSK_EVENTS.name, s.partitioning.PARTITIONED.name, s.partitioning.BINDING)
            for s in subscriptions() if s.partitioning]


def link_queues(linked: dict[str, str] | None = None) -> list[Queue]:
    """One durable queue per linked district (``LINKED_DISTRICTS``) of what waits for it on
    ``interdistrict.out``: kept while the link is down, drained by that link's shovel."""
    linked = config.load().linked_districts if linked is None else linked
    return [Queue(link_queue(code), exchange=INTERDISTRICT_OUT, routing_key=code, durable=True, auto_delete=False)
            for code in sorted(linked)]


def queues(queue_type: str = "classic", linked: dict[str, str] | None = None) -> list[Queue]:
    plain = [q for s in subscriptions() for q in s.queues] + [deadletter.dead_letter_queue(s) for s in SERVICE_CLASSES] + [
        UNROUTABLE_QUEUE] + link_queues(linked)
    if queue_type == "classic":
        return plain
    if queue_type not in QUEUE_TYPES:
        raise ValueError(f"QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}, got {queue_type!r}")
    return [Queue(q.name, exchange=q.exchange, routing_key=q.routing_key, durable=True, auto_delete=False,
                  queue_arguments={**(q.queue_arguments or {}), "x-queue-type": queue_type}) for q in plain]


def declare(amqp_uri: str, queue_type: str | None = None, linked: dict[str, str] | None = None) -> list[str]:
    """Declare every exchange, queue and binding (with a queue per linked district,
    ``LINKED_DISTRICTS`` unless ``linked`` is given); return the queue names."""
    queue_type = queue_type or config.load().queue_type
    typed = queues(queue_type, linked)
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        for exchange in exchanges():
            try:
                exchange(channel).declare()
            except amqp.exceptions.CommandInvalid as exc:
                raise SystemExit(f"RabbitMQ cannot declare {exchange.name} ({exc.reply_text}): enable the plugin "
                                 "rabbitmq_consistent_hash_exchange (`suite broker --management` does)") from None
        for source, destination, key in exchange_bindings():
            channel.exchange_bind(destination=destination, source=source, routing_key=key)
        _unbind_legacy_kiosk_queue(conn)
        for queue in typed:
            try:
                queue(channel).declare()
            except amqp.exceptions.PreconditionFailed as exc:
                raise QueueDeclaredOtherwise(
                    f"{queue.name} exists with other arguments ({exc.reply_text}), declared by an earlier "
                    f"version: let it drain (its consumers running), delete it (`rabbitmqctl delete_queue "
                    f"{queue.name}`), then deploy again") from None
        if queue_type != "classic":
            _check_nameko_redeclares(conn)
        return [queue.name for queue in typed]


LEGACY_KIOSK_QUEUE = "evt-kiosk-kiosk.*.*--library.on_kiosk_event"   # one queue, before the partitions


def _unbind_legacy_kiosk_queue(conn) -> None:
    """The kiosk queue of versions before the partitions stops taking copies of kiosk messages
    (no one consumes it: it would fill, then refuse the kiosks' publishes). What it holds stays
    there for the operator (docs/ARCHITECTURE.md, "Kiosk partitions")."""
    try:
        conn.channel().queue_declare(LEGACY_KIOSK_QUEUE, passive=True)
    except amqp.exceptions.NotFound:
        return
    conn.channel().queue_unbind(LEGACY_KIOSK_QUEUE, exchange="kiosk.events", routing_key="kiosk.*.*")


def _check_nameko_redeclares(conn) -> None:
    # Fail here, at deploy time, rather than in every service's consumer at start-up.
    channel = conn.channel()
    for queue in [s.queue for s in subscriptions()]:
        try:
            queue(channel).declare()
        except amqp.exceptions.PreconditionFailed as exc:
            raise NamekoWouldBeRefused(
                f"nameko could not declare {queue.name} ({exc.reply_text}): quorum queues need a "
                "virtual host whose default queue type is quorum (`suite topology apply` creates one)") from None
