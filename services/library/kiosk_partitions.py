"""The library's kiosk queues: ``PARTITIONS`` queues, each copy's events in one of them.

``kiosk.events`` (the kiosks' topic exchange) passes every kiosk key (``kiosk.*.*``) to
``kiosk.partitions``, RabbitMQ's consistent-hash exchange (plugin
``rabbitmq_consistent_hash_exchange``), which puts each message in one queue by the hash of
its ``partition-key`` header (the copy's barcode: ``contracts.events.kiosk.partition_key``).
Each queue has a single active consumer: one library process takes it at a time, in order,
and the others stand by. Library processes share the partitions (``batch_inbox``: a process
that holds more than its share hands some over), so more processes take more events, and
each copy's events are still applied by one process at a time, in order.

``PARTITIONS`` is topology: ``suite topology`` declares it and ``infra/rabbitmq/definitions.json``
carries it (docs/ARCHITECTURE.md, "Kiosk partitions", says how to change it).
"""
from __future__ import annotations

from kombu import Exchange, Queue

from contracts.events.kiosk import EXCHANGE as KIOSK_EXCHANGE
from contracts.events.kiosk import PARTITION_HEADER

PARTITIONS = 8
BINDING = "kiosk.*.*"   # every kind of every kiosk; a key of no known shape goes to the alternate exchange
KIOSK_EVENTS = Exchange(KIOSK_EXCHANGE, type="topic", durable=True, auto_delete=False, delivery_mode=2)
PARTITIONED = Exchange("kiosk.partitions", type="x-consistent-hash", durable=True, auto_delete=False,
                       arguments={"hash-header": PARTITION_HEADER})
QUEUE_ARGUMENTS = {"x-single-active-consumer": True}


def queue_name(n: int) -> str:
    # evt-...--library.<method>: the event queues' policies (dead letters, length) apply
    return f"evt-kiosk-p{n}--library.on_kiosk_event"


def queues(partitions: int = PARTITIONS) -> list[Queue]:
    """The partitions' queues, each bound with weight 1 (an equal share of the hash ring)."""
    return [Queue(queue_name(n), exchange=PARTITIONED, routing_key="1", durable=True, auto_delete=False,
                  queue_arguments=dict(QUEUE_ARGUMENTS)) for n in range(partitions)]


def declare_exchanges(channel) -> None:
    """The two exchanges and the binding between them (what a library process needs before it
    consumes; ``suite topology`` declares the same)."""
    KIOSK_EVENTS(channel).declare()
    PARTITIONED(channel).declare()
    channel.exchange_bind(destination=PARTITIONED.name, source=KIOSK_EVENTS.name, routing_key=BINDING)
