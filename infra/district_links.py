"""Links to other districts (收受分离 across districts): for each district of
``LINKED_DISTRICTS`` a durable queue holds what waits for it on ``interdistrict.out``
(``topology.link_queues``), and a RabbitMQ dynamic Shovel carries it to that district's
broker and vhost, exchange ``interdistrict.in``, with this district's code as routing key
(what the receiver checks against the message: ``services/community/interdistrict.py``).

The shovel acknowledges a message here only once the other broker confirmed it
(``on-confirm``): a link that is down (the other broker away, the shovel deleted or its
connection closed) keeps the messages in the queue, and the shovel, reconnecting every
``RECONNECT_DELAY`` seconds, carries them on in order when it is back. A message carried
twice (a confirm lost with the connection) is absorbed by the receiver's inbox. The shovel
plugin (``rabbitmq_shovel``) is enabled by ``suite broker --management``.
"""
from __future__ import annotations

from urllib.parse import quote

from kombu import Connection

from contracts.events.interdistrict import IN_EXCHANGE, link_queue
from infra import rabbitmq_admin

RECONNECT_DELAY = 1   # seconds: a link back up is used again at once, and a broker away is not hammered


def shovel_name(district: str) -> str:
    return f"interdistrict-to-{district}"


def shovel_value(vhost: str, own: str, district: str, uri: str) -> dict:
    """The dynamic shovel's definition (the ``value`` of its runtime parameter)."""
    return {"src-protocol": "amqp091", "src-uri": f"amqp:///{quote(vhost, safe='')}",
            "src-queue": link_queue(district),
            "dest-protocol": "amqp091", "dest-uri": uri, "dest-exchange": IN_EXCHANGE, "dest-exchange-key": own,
            "ack-mode": "on-confirm", "reconnect-delay": RECONNECT_DELAY, "src-delete-after": "never"}


def parameters(vhost: str, own: str, linked: dict[str, str]) -> list[dict]:
    """The shovels as definitions' runtime parameters (``suite topology apply``)."""
    return [{"vhost": vhost, "component": "shovel", "name": shovel_name(code),
             "value": shovel_value(vhost, own, code, uri)} for code, uri in sorted(linked.items())]


def apply(amqp_uri: str, own: str, linked: dict[str, str]) -> list[str]:
    """Declare (or update) the shovel of each linked district in the vhost of ``amqp_uri``
    through the management API; return their names. The link queues are the topology's."""
    vhost = Connection(amqp_uri).virtual_host or "/"
    for code, uri in sorted(linked.items()):
        rabbitmq_admin.put_shovel(vhost, shovel_name(code), shovel_value(vhost, own, code, uri))
    return [shovel_name(code) for code in sorted(linked)]


def remove(amqp_uri: str, district: str) -> None:
    rabbitmq_admin.delete_shovel(Connection(amqp_uri).virtual_host or "/", shovel_name(district))
