"""Kiosk events are partitioned by copy (a consistent-hash exchange into ``PARTITIONS``
queues), each partition taken by one library process at a time (RabbitMQ's single active
consumer), and library processes share the partitions: a copy's events taken by two
processes at once were applied out of order."""
import uuid

import pytest
from kombu import Connection, Queue

from contracts.events.kiosk import EXCHANGE, PARTITION_HEADER
from infra import rabbitmq_admin, topology
from services.library import kiosk_partitions
from services.library.service import LibraryService
from support import wait_for

PARTITIONS = kiosk_partitions.queues()


@pytest.fixture
def vhost(settings):
    name = f"suite-kq-{uuid.uuid4().hex[:8]}"
    rabbitmq_admin.create_vhost(name)
    yield name, settings.amqp_uri.rsplit("/", 1)[0] + f"/{name}"
    rabbitmq_admin.delete_vhost(name)


def test_a_copys_events_stay_in_one_partition_and_two_processes_share_the_partitions(
        vhost, start_service, service_config):
    name, uri = vhost
    topology.declare(uri, "classic")
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:   # no library yet: they wait
        producer = conn.Producer()
        for n in range(40):
            for kind in ("checkout", "checkin"):
                producer.publish({"n": n}, exchange=EXCHANGE, routing_key=f"kiosk.K1.{kind}",
                                 headers={PARTITION_HEADER: f"B{n}"}, delivery_mode=2)
        channel = conn.channel()
        where = {}
        for queue in PARTITIONS:
            while (message := channel.basic_get(queue.name, no_ack=True)) is not None:
                where.setdefault(message.headers[PARTITION_HEADER], set()).add(queue.name)
    assert len(where) == 40 and all(len(q) == 1 for q in where.values())   # each copy in one partition
    assert len(set.union(*where.values())) > len(PARTITIONS) // 2          # spread over them

    # two processes: each partition has both as consumers, one active; each process is active on some
    config = service_config("library", AMQP_URI=uri, EVENT_BATCH_LINGER="0")
    for _ in range(2):
        start_service(LibraryService, config)
    infos = wait_for(lambda: (lambda i: all(q.get("consumers") == 2 for q in i) and i)(
        [rabbitmq_admin.queue_info(name, q.name) for q in PARTITIONS]), timeout=20, interval=0.5)
    assert all(i["arguments"] == {"x-single-active-consumer": True} and i.get("single_active_consumer_tag")
               for i in infos)


def test_deploy_says_how_to_replace_a_kiosk_queue_declared_by_an_earlier_version(vhost):
    name, uri = vhost
    queue = PARTITIONS[0]
    with Connection(uri) as conn:   # as if declared without the single active consumer
        Queue(queue.name, durable=True)(conn.channel()).declare()
    with pytest.raises(topology.QueueDeclaredOtherwise, match=f"rabbitmqctl delete_queue {queue.name}"):
        topology.declare(uri, "classic")


def test_deploy_unbinds_the_single_kiosk_queue_of_earlier_versions(vhost):
    name, uri = vhost
    with Connection(uri) as conn:
        channel = conn.channel()
        Queue(topology.LEGACY_KIOSK_QUEUE, exchange=kiosk_partitions.KIOSK_EVENTS, routing_key="kiosk.*.*",
              durable=True, queue_arguments={"x-single-active-consumer": True})(channel).declare()
        topology.declare(uri, "classic")
        conn.Producer().publish({}, exchange=EXCHANGE, routing_key="kiosk.K1.heartbeat", delivery_mode=2)
        assert channel.queue_declare(topology.LEGACY_KIOSK_QUEUE, passive=True).message_count == 0
