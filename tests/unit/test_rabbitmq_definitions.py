"""The RabbitMQ definitions file is the code's topology, with the policies (no broker needed;
tests/integration/test_quorum_topology.py imports them into a real one)."""
import base64
import hashlib
import json
from pathlib import Path

import pytest

from infra import broker_definitions, topology

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checked_in():
    return json.loads(broker_definitions.DEFINITIONS_PATH.read_text(encoding="utf-8"))


def test_checked_in_definitions_are_current(checked_in):
    # Fails when a handler, an exchange or a policy changes without regenerating the file:
    #   suite topology definitions --user guest:guest > infra/rabbitmq/definitions.json
    expected = broker_definitions.compose_document()
    assert broker_definitions.DEFINITIONS_PATH.read_text(encoding="utf-8") == broker_definitions.render(expected)
    assert checked_in == expected


def test_every_handler_queue_is_declared_and_bound(checked_in):
    queues = {q["name"]: q for q in checked_in["queues"]}
    bindings = {(b["source"], b["destination"], b["routing_key"]) for b in checked_in["bindings"]}
    subs = topology.subscriptions()
    assert subs, "no @inbox_handler found"
    for sub in subs:
        for q in sub.queues:
            assert queues[q.name]["durable"] is True and queues[q.name]["auto_delete"] is False
            if sub.partitioning:   # the kiosk partitions: each by the consistent-hash exchange, which the kiosks' feeds
                assert (sub.partitioning.PARTITIONED.name, q.name, "1") in bindings
                assert (f"{sub.source}.events", sub.partitioning.PARTITIONED.name, sub.partitioning.BINDING) in bindings
            else:
                assert (q.exchange.name, q.name, sub.event_type) in bindings   # interdistrict.in for the links
    exchanges = {e["name"]: e for e in checked_in["exchanges"]}
    assert {s.queue.exchange.name for s in subs} <= set(exchanges)
    assert exchanges["suite.dlx"]["type"] == "direct"
    assert all(e["durable"] and not e["auto_delete"] for e in exchanges.values())


def test_event_queues_have_a_policy_and_dead_letter_queues_none(checked_in):
    import re

    policies = checked_in["policies"]
    for q in checked_in["queues"]:
        matching = [p for p in policies if re.search(p["pattern"], q["name"])]
        if q["name"].startswith("dlq."):
            assert matching == []  # a dead letter is never dropped or refused
            continue
        assert len(matching) == 1, q["name"]
        definition = matching[0]["definition"]
        service = q["name"].split("--")[1].split(".")[0]
        assert definition["dead-letter-exchange"] == "suite.dlx"
        assert definition["dead-letter-routing-key"] == service  # lands in dlq.<service>
        assert definition["overflow"] == "reject-publish"          # refuse (publisher confirms), never drop
        assert "delivery-limit" not in definition                  # a quorum-only key, absent on classic
    rpc = next(p for p in policies if p["name"] == "suite-rpc")
    assert all(re.search(rpc["pattern"], f"rpc-{s}") for s in topology.SERVICE_CLASSES)
    assert not re.search(rpc["pattern"], "rpc.reply-gateway-0f3e")  # reply queues are nameko's own


def test_compose_user_hash_is_rabbitmqs_sha256_of_guest(checked_in):
    (user,) = checked_in["users"]
    raw = base64.b64decode(user["password_hash"])
    salt, digest = raw[:4], raw[4:]
    assert user["name"] == "guest" and user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert digest == hashlib.sha256(salt + b"guest").digest()
    assert digest != hashlib.sha256(salt + b"guest2").digest()


def test_quorum_document_for_a_cluster():
    doc = broker_definitions.build("quorum", "suite", grant="default_user_x")
    assert "users" not in doc  # the cluster's users are the operator's
    assert doc["permissions"] == [{"user": "default_user_x", "vhost": "suite", "configure": ".*",
                                   "write": ".*", "read": ".*"}]
    assert doc["vhosts"][0]["metadata"]["default_queue_type"] == "quorum"  # so nameko's redeclares agree
    assert {q["arguments"].get("x-queue-type") for q in doc["queues"]} == {"quorum"}
    events = [p for p in doc["policies"] if p["name"].startswith("suite-events-")]
    assert all(p["definition"]["delivery-limit"] > 0 and p["definition"]["dead-letter-strategy"] == "at-least-once"
               for p in events)


def test_unknown_queue_type_is_refused():
    with pytest.raises(ValueError, match="QUEUE_TYPE must be one of classic, quorum"):
        broker_definitions.build("stream")


def test_rabbitmq_conf_loads_the_file_compose_mounts():
    conf = (ROOT / "infra/rabbitmq/rabbitmq.conf").read_text()
    assert "load_definitions = /etc/rabbitmq/definitions.json" in conf.splitlines()
    import yaml

    rabbit = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["rabbitmq"]
    assert "./infra/rabbitmq/definitions.json:/etc/rabbitmq/definitions.json:ro" in rabbit["volumes"]
    assert "./infra/rabbitmq/rabbitmq.conf:/etc/rabbitmq/conf.d/20-suite.conf:ro" in rabbit["volumes"]
