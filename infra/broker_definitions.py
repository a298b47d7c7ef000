"""RabbitMQ definitions (exchanges, queues, bindings, policies) made from the topology.

The same source as ``suite deploy``: ``infra.topology``, which reads the handlers. Two uses:

- ``infra/rabbitmq/definitions.json``, loaded by the broker at boot in ``compose.yaml``
  (classic queues, the development user ``guest``); regenerate it with
  ``suite topology definitions --user guest:guest > infra/rabbitmq/definitions.json``
  (a unit test fails while the file and the code disagree);
- ``suite topology apply`` in a cluster: the same document for the vhost of ``AMQP_URI``,
  with quorum queues and a vhost whose default queue type is quorum, imported through the
  management API (users stay the operator's).

Policies, and why:

- event queues dead-letter to ``suite.dlx`` with the consuming service as routing key, so
  what the broker itself gives up on lands in that service's ``dlq.<service>``. The kit
  dead-letters failed handlers itself (nameko acknowledges them); on quorum queues the
  broker adds ``delivery-limit``: a message redelivered that often (its consumer died
  while handling it, again and again) is dead-lettered, at least once, instead of looping;
- event queues hold at most ``EVENT_QUEUE_MAX_LENGTH`` messages and then refuse new ones
  (``reject-publish``): the outbox relay publishes with confirms, so a refused event stays
  in its outbox and goes out later, and kiosks keep it in their buffer. Nothing is dropped;
- RPC request queues refuse beyond ``RPC_QUEUE_MAX_LENGTH``: a caller gets an error at once
  instead of a timeout behind a backlog nobody will answer in time;
- dead-letter queues have no limit: a dead letter is never dropped; alert on their depth;
- the kiosk exchange has an alternate exchange (``kiosk.unroutable``): a kiosk message no
  queue takes (a kind or version the library does not know) lands in
  ``dlq.kiosk-unroutable`` instead of vanishing after the broker confirmed it (a policy, not
  an exchange argument: nameko declares the exchange without arguments, and an exchange's
  arguments cannot change once it exists).
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from kombu import Connection

from infra import district_links, rabbitmq_admin, topology
from contracts.events.kiosk import EXCHANGE as KIOSK_EXCHANGE
from services.common import config, deadletter

DEFINITIONS_PATH = Path(__file__).with_name("rabbitmq") / "definitions.json"
EVENT_QUEUE_MAX_LENGTH = 1_000_000   # ~1 KB events: about 1 GB behind one consumer group
RPC_QUEUE_MAX_LENGTH = 10_000        # far beyond what RPC_TIMEOUT lets anyone wait for
DELIVERY_LIMIT = 20                  # quorum only: redeliveries after consumer crashes


def policies(vhost: str, queue_type: str, event_max_length: int = EVENT_QUEUE_MAX_LENGTH) -> list[dict]:
    out = []
    for service in topology.SERVICE_CLASSES:
        definition = {"dead-letter-exchange": deadletter.DLX.name, "dead-letter-routing-key": service,
                      "max-length": event_max_length, "overflow": "reject-publish"}
        if queue_type == "quorum":
            definition.update({"delivery-limit": DELIVERY_LIMIT, "dead-letter-strategy": "at-least-once"})
        # nameko names event queues evt-<source>-<type>--<service>.<method>
        out.append({"vhost": vhost, "name": f"suite-events-{service}", "pattern": rf"^evt-.*--{service}\.",
                    "apply-to": "queues", "priority": 10, "definition": definition})
    out.append({"vhost": vhost, "name": "suite-rpc", "apply-to": "queues", "priority": 10,
                "pattern": "^rpc-(" + "|".join(topology.SERVICE_CLASSES) + ")$",
                "definition": {"max-length": RPC_QUEUE_MAX_LENGTH, "overflow": "reject-publish"}})
    out.append({"vhost": vhost, "name": "suite-kiosk-unroutable", "apply-to": "exchanges", "priority": 10,
                "pattern": "^" + KIOSK_EXCHANGE.replace(".", "\\.") + "$",
                "definition": {"alternate-exchange": topology.UNROUTABLE.name}})
    return out


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + password)).
    The salt is fixed by default so that the checked-in file is reproducible (a development
    password only)."""
    salt = salt if salt is not None else hashlib.sha256(b"smart-community-suite").digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def build(queue_type: str = "classic", vhost: str = "/", user: tuple[str, str] | None = None,
          grant: str | None = None, district: str | None = None, linked: dict[str, str] | None = None) -> dict:
    """The definitions document. ``user`` (name, password): a user to create, an
    administrator with every permission on ``vhost``; ``grant``: an existing user to give
    those permissions (the operator's). With quorum, the vhost defaults to quorum too.
    ``linked`` (with this ``district``'s code): a queue and a shovel per linked district."""
    linked = linked or {}
    queues = topology.queues(queue_type, linked)
    doc: dict = {"vhosts": [{"name": vhost, "metadata": {"description": "Smart Community Suite"}}]}
    if queue_type != "classic":
        doc["vhosts"][0]["metadata"]["default_queue_type"] = queue_type
        doc["vhosts"][0]["default_queue_type"] = queue_type  # the key newer brokers export
    if user:
        doc["users"] = [{"name": user[0], "password_hash": password_hash(user[1]),
                         "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]}]
    granted = [name for name in (user[0] if user else None, grant) if name]
    doc["permissions"] = [{"user": name, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
                          for name in granted]
    doc["exchanges"] = [{"name": ex.name, "vhost": vhost, "type": ex.type, "durable": ex.durable,
                         "auto_delete": ex.auto_delete, "internal": False, "arguments": dict(ex.arguments or {})}
                        for ex in topology.exchanges()]
    doc["queues"] = [{"name": q.name, "vhost": vhost, "durable": q.durable, "auto_delete": q.auto_delete,
                      "arguments": dict(q.queue_arguments or {})} for q in queues]
    doc["bindings"] = [{"source": q.exchange.name, "vhost": vhost, "destination": q.name,
                        "destination_type": "queue", "routing_key": q.routing_key, "arguments": {}}
                       for q in queues] + [
        {"source": source, "vhost": vhost, "destination": destination, "destination_type": "exchange",
         "routing_key": key, "arguments": {}} for source, destination, key in topology.exchange_bindings()]
    doc["policies"] = policies(vhost, queue_type)
    if linked:
        doc["parameters"] = district_links.parameters(vhost, district or "", linked)
    return doc


def render(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def compose_document() -> dict:
    """What ``infra/rabbitmq/definitions.json`` holds (compose: classic queues, guest/guest).
    Importing at boot skips the broker's default user, so the file brings its own."""
    return build("classic", "/", user=("guest", "guest"))


def apply_policies(amqp_uri: str, queue_type: str = "classic") -> bool:
    """The policies alone, for the vhost of ``amqp_uri`` (what ``suite up`` does locally);
    False when the management API does not answer (then queues have no length limit)."""
    if not rabbitmq_admin.available():
        return False
    vhost = Connection(amqp_uri).virtual_host or "/"
    rabbitmq_admin.import_definitions({"policies": policies(vhost, queue_type)})
    return True


def apply(amqp_uri: str, queue_type: str) -> list[str]:
    """Import the definitions for the vhost of ``amqp_uri`` (made, with its default queue
    type, if new) through the management API, then declare and check the topology."""
    conn = Connection(amqp_uri)
    vhost, user = conn.virtual_host or "/", conn.userid
    settings = config.load()
    rabbitmq_admin.import_definitions(build(queue_type, vhost, grant=user, district=settings.district_code,
                                            linked=settings.linked_districts))
    return topology.declare(amqp_uri, queue_type, settings.linked_districts)
