"""The consumer of ``interdistrict.in``: what linked districts' shovels bring (forwarded
cases, replies to ours), each checked at the wire before anything is applied. The kit's
inbox handler, bound to that exchange instead of a service's events exchange: a message
that does not fit the contract, or that comes from a district not linked to this one, is
dead-lettered with its reason (``dlq.community``) and changes nothing."""
from __future__ import annotations

from kombu import Exchange, Queue

from contracts.events.interdistrict import IN_EXCHANGE
from services.common.config import DEFAULT_DISTRICT_CODE, linked_districts, option
from services.common.deadletter import first_delivery
from services.common.inbox import InboxEventHandler
from services.community import interdistrict

EXCHANGE = Exchange(IN_EXCHANGE, type="topic", durable=True, auto_delete=False, delivery_mode=2)
BINDING = "#"   # every district's key: one not linked is refused with its reason, never dropped unseen


class InterdistrictEventHandler(InboxEventHandler):
    bound_exchange = EXCHANGE   # read by infra/topology.py, which declares the queue the same way

    def setup(self):
        super().setup()
        q = self.queue
        self.queue = Queue(q.name, exchange=EXCHANGE, routing_key=BINDING, durable=True, auto_delete=False,
                           exclusive=False, queue_arguments=q.queue_arguments)
        self.district = str(option(self.container.config, "DISTRICT_CODE", DEFAULT_DISTRICT_CODE))
        self.linked = linked_districts(option(self.container.config, "LINKED_DISTRICTS", ""))

    def check_sender(self, message, event):
        _, routing_key, _ = first_delivery(message)
        problem = interdistrict.sender_problem(event["data"], routing_key, self.district, self.linked)
        if problem:
            raise ValueError(problem)


interdistrict_handler = InterdistrictEventHandler.decorator
