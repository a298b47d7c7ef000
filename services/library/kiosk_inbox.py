"""The kiosk queue's consumer: one queue for every kiosk's events, bound to every kiosk routing
key, each message checked at the wire before anything is applied (``kiosk_events`` applies it).

- The sender: the broker-validated ``user_id``, the routing key and the envelope's source name
  the same kiosk, and the routing key's kind is the envelope's type (``kiosks.sender_problem``);
  a key of no known kind (``kiosk.K-1.checkout.v2``) is dead-lettered with its reason, not lost.
- Its arrival: the event carries when the library took it (``kiosk_events.RECEIVED``), where
  an event stamped ahead of it is placed; a checkout or return registers its turn on its copy
  now, in delivery order, so that its copy's events are applied in order of their time.
- One library process at a time takes them (the broker's single active consumer; the others
  stand by): a copy's events taken by two processes at once were applied out of order.
"""
from __future__ import annotations


from services.common import clock
from services.common.deadletter import first_delivery
from services.common.inbox import InboxEventHandler
from services.library import kiosk_events, kiosks


class KioskEventHandler(InboxEventHandler):
    queue_arguments = {"x-single-active-consumer": True}

    def check_sender(self, message, event):
        _, routing_key, user_id = first_delivery(message)
        problem = kiosks.sender_problem(routing_key, user_id, event["source"], event["type"])
        if problem:
            raise ValueError(problem)

    def accepted(self, message, event: dict) -> None:
        received = clock.now()
        event[kiosk_events.RECEIVED] = received.isoformat()
        barcode = kiosk_events.copy_of(event)
        if barcode is not None:
            kiosks.copy_turns.register(barcode, kiosk_events.turn_order(event, received), event["id"])


kiosk_handler = KioskEventHandler.decorator
