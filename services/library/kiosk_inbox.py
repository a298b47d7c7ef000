"""The kiosk queues' consumer: every kiosk's events, partitioned by copy, each message checked at the wire before anything is applied (``kiosk_events`` applies it).

- The sender: the broker-validated ``user_id``, the routing key and the envelope's source name
  the same kiosk, and the routing key's kind is the envelope's type (``kiosks.sender_problem``);
  a key of no known kind (``kiosk.K-1.checkout.v2``) is dead-lettered with its reason, not lost.
- Its arrival: the event carries when the library took it (``kiosk_events.RECEIVED``), where
  an event stamped ahead of it is placed.
- Taken a batch at a time (``batch_inbox``: ``EVENT_BATCH_SIZE`` events at most, after at most
  ``EVENT_BATCH_LINGER`` seconds) and applied together (``kiosk_batch``), each copy's events in
  order of their time.
- Partitioned by copy (``kiosk_partitions``): each partition is taken by one library process
  at a time (the broker's single active consumer; the others stand by), so each copy's events
  are applied in order, and library processes share the partitions. A message whose partition
  key is not its copy's is dead-lettered.
"""
from __future__ import annotations

import amqp.exceptions

from contracts.events.kiosk import BY_KIND, PARTITION_HEADER, partition_key
from services.common import clock
from services.common.batch_inbox import BatchInboxEventHandler
from services.common.deadletter import first_delivery
from services.library import kiosk_events, kiosk_partitions, kiosks


class KioskEventHandler(BatchInboxEventHandler):
    queue_arguments = kiosk_partitions.QUEUE_ARGUMENTS
    partitioning = kiosk_partitions   # its queues, as the topology declares them

    def queues(self) -> list:
        return kiosk_partitions.queues()

    def declare(self, channel) -> None:
        try:
            kiosk_partitions.declare_exchanges(channel)
        except amqp.exceptions.AMQPError as exc:
            raise RuntimeError(f"cannot declare the kiosk partitions ({exc}): is RabbitMQ's plugin "
                               "rabbitmq_consistent_hash_exchange enabled (`suite broker --management`)?") from None

    def check_sender(self, message, event):
        _, routing_key, user_id = first_delivery(message)
        problem = kiosks.sender_problem(routing_key, user_id, event["source"], event["type"])
        if problem:
            raise ValueError(problem)
        key = (message.headers or {}).get(PARTITION_HEADER)
        kind = routing_key.split(".")[2]
        expected = partition_key(kind, event["data"], event["source"].rsplit("/", 1)[-1]) if kind in BY_KIND else key
        if key is not None and key != expected:   # it would not keep its copy's order
            raise ValueError(f"partition key {str(key)[:64]!r} is not this event's ({expected!r})")

    def accepted(self, message, event: dict) -> None:
        event[kiosk_events.RECEIVED] = clock.now().isoformat()


kiosk_handler = KioskEventHandler.decorator
