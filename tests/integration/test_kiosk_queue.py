"""Kiosk events are taken by one library process at a time (RabbitMQ's single active
consumer): a copy's events taken by two processes at once were applied out of order."""
import uuid

import pytest
from kombu import Connection, Queue

from infra import rabbitmq_admin, topology
from services.library.service import LibraryService
from support import wait_for

KIOSK_QUEUE = next(s.queue for s in topology.subscriptions() if s.method == "on_kiosk_event")


@pytest.fixture
def vhost(settings):
    name = f"suite-kq-{uuid.uuid4().hex[:8]}"
    rabbitmq_admin.create_vhost(name)
    yield name, settings.amqp_uri.rsplit("/", 1)[0] + f"/{name}"
    rabbitmq_admin.delete_vhost(name)


def test_one_library_process_at_a_time_takes_kiosk_events(vhost, start_service, service_config):
    name, uri = vhost
    topology.declare(uri, "classic")
    for _ in range(2):
        start_service(LibraryService, service_config("library", AMQP_URI=uri))
    info = wait_for(lambda: (lambda i: i.get("consumers") == 2 and i)(rabbitmq_admin.queue_info(name, KIOSK_QUEUE.name)),
                    timeout=20, interval=0.5)
    assert info["arguments"] == {"x-single-active-consumer": True}
    assert info.get("single_active_consumer_tag")    # one of the two is the active one


def test_deploy_says_how_to_replace_a_kiosk_queue_declared_by_an_earlier_version(vhost):
    name, uri = vhost
    with Connection(uri) as conn:   # as versions before the single active consumer declared it
        Queue(KIOSK_QUEUE.name, exchange=KIOSK_QUEUE.exchange, routing_key=KIOSK_QUEUE.routing_key,
              durable=True)(conn.channel()).declare()
    with pytest.raises(topology.QueueDeclaredOtherwise, match=f"rabbitmqctl delete_queue {KIOSK_QUEUE.name}"):
        topology.declare(uri, "classic")
