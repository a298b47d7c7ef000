"""An event queue filled to its limit (the suite's own policy, its limit made small in a vhost
of this test's own): the broker refuses what is over (``reject-publish``), the publisher sees
the refusal (the outbox relay's confirm is a nack), keeps the event in its outbox and sends it
once there is room. Nothing is silently dropped at the limit."""
import uuid

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from infra import broker_definitions, rabbitmq_admin, topology
from services.common import outbox
from services.community.service import CommunityService
from services.library.service import LibraryService
from support import id_number, load_demo_district, wait_for

LIMIT = 5
QUEUE = "evt-community-cn.community.resident.registered.v1--library.on_resident_registered"


@pytest.fixture
def small_queues(settings):
    vhost = f"suite-test-limits-{uuid.uuid4().hex[:6]}"
    rabbitmq_admin.create_vhost(vhost)
    uri = settings.amqp_uri.rsplit("/", 1)[0] + "/" + vhost
    topology.declare(uri)
    rabbitmq_admin.import_definitions({"policies": broker_definitions.policies(vhost, "classic", LIMIT)})
    yield vhost, uri
    rabbitmq_admin.delete_vhost(vhost)


def depth(uri: str) -> int:
    from kombu import Connection
    with Connection(uri) as conn:
        return conn.channel().queue_declare(QUEUE, passive=True).message_count


def test_a_full_event_queue_refuses_and_the_outbox_keeps_what_it_refused(small_queues, start_service,
                                                                        service_config, db):
    vhost, uri = small_queues
    wait_for(lambda: rabbitmq_admin.queue_info(vhost, QUEUE).get("policy") == "suite-events-library")
    start_service(CommunityService, service_config("community", AMQP_URI=uri))
    with ClusterRpcProxy({"AMQP_URI": uri}, timeout=30) as rpc:
        load_demo_district(rpc)
        ids = [rpc.community.register_resident({"id_number": id_number(), "name": "满员", "residence_committee": "C0101",
                                                "address": "龙华路1号"})["resident_id"] for _ in range(LIMIT + 3)]
    residents = db("community").residents

    def pending():
        return sum(residents.find_one({"_id": i})[outbox.PENDING] for i in ids)
    wait_for(lambda: depth(uri) == LIMIT and pending() == 3, timeout=20)   # refused ones wait in their outbox
    assert depth(uri) == LIMIT                                              # none beyond the limit
    start_service(LibraryService, service_config("library", AMQP_URI=uri))   # the consumer comes back
    wait_for(lambda: pending() == 0 and len(list(db("library").patrons.find({"_id": {"$in": ids}}))) == len(ids),
             timeout=30)
