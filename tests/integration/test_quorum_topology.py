"""Quorum queues in a cluster: the definitions imported, nameko's own declarations accepted.

nameko declares its queues with no ``x-queue-type``; RabbitMQ refuses that redeclare of a
quorum queue (PRECONDITION_FAILED) unless the vhost's default queue type is quorum. These
tests run against the local RabbitMQ in throwaway vhosts.
"""
import uuid

import amqp.exceptions
import pytest
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy

from infra import broker_definitions, rabbitmq_admin, topology
from services.community.service import CommunityService
from services.library.service import LibraryService
from support import id_number, wait_for


def _uri(settings, vhost: str, user: str = "guest", password: str = "guest") -> str:
    base = settings.amqp_uri.rsplit("/", 1)[0].replace("guest:guest@", f"{user}:{password}@")
    return f"{base}/{vhost}"


def queue_stats(vhost: str, name: str) -> dict:
    # the policy shows once the broker has emitted the queue's stats (every 5 s by default)
    return wait_for(lambda: (lambda info: "policy" in info and info)(rabbitmq_admin.queue_info(vhost, name)),
                    timeout=20, interval=0.5)


@pytest.fixture
def vhosts():
    made = []
    yield lambda: made.append(f"suite-qq-{uuid.uuid4().hex[:8]}") or made[-1]
    for name in made:
        rabbitmq_admin.delete_vhost(name)


@pytest.fixture
def quorum_uri(settings, vhosts):
    uri = _uri(settings, vhosts())
    broker_definitions.apply(uri, "quorum")
    return uri


def test_apply_makes_every_topology_queue_quorum_with_its_policy(quorum_uri):
    vhost = quorum_uri.rsplit("/", 1)[1]
    for queue in topology.queues():
        info = queue_stats(vhost, queue.name)
        assert info["type"] == "quorum", queue.name
        if queue.name.startswith("evt-"):
            service = queue.name.split("--")[1].split(".")[0]
            assert info["policy"] == f"suite-events-{service}"
            assert info["effective_policy_definition"]["delivery-limit"] == broker_definitions.DELIVERY_LIMIT


def test_quorum_declare_refused_where_nameko_would_be(settings, vhosts):
    # A vhost with no default queue type: the deploy step says so instead of every service failing.
    vhost = vhosts()
    rabbitmq_admin.create_vhost(vhost)
    with pytest.raises(topology.NamekoWouldBeRefused, match="default queue type is quorum"):
        topology.declare(_uri(settings, vhost), "quorum")
    # and this is the refusal nameko itself would meet
    with Connection(_uri(settings, vhost)) as conn:
        with pytest.raises(amqp.exceptions.PreconditionFailed, match="x-queue-type"):
            topology.queues()[0](conn.channel()).declare()


def test_services_run_on_quorum_queues(quorum_uri, start_service, service_config, db):
    community = start_service(CommunityService, service_config("community", AMQP_URI=quorum_uri))
    start_service(LibraryService, service_config("library", AMQP_URI=quorum_uri))
    with ClusterRpcProxy({"AMQP_URI": quorum_uri}, timeout=10) as rpc:
        rpc.community.upsert_places([
            {"code": "SD01", "kind": "subdistrict", "name": "示例街道"},
            {"code": "C0101", "kind": "committee", "name": "示例第一居委会", "parent": "SD01"}])
        resident = rpc.community.register_resident({
            "id_number": id_number(), "name": "王芳", "phone": "13800138000", "registered_committee": "C0101",
            "residence_committee": "C0101", "address": "示例路1号"})
        # community's outbox -> community.events -> a quorum queue -> library's inbox
        patron = wait_for(lambda: db("library").patrons.find_one({"_id": resident["resident_id"]}))
        assert patron["name"] == "王芳"
    vhost = quorum_uri.rsplit("/", 1)[1]
    # nameko's own queues took the vhost's default type too (its RPC queue) ...
    assert rabbitmq_admin.queue_info(vhost, f"rpc-{community.service_name}")["type"] == "quorum"
    # ... and the kit's dead-letter queue, declared by the handler without arguments
    assert rabbitmq_admin.queue_info(vhost, "dlq.library")["type"] == "quorum"


def test_compose_definitions_import_and_agree_with_the_code(settings, vhosts):
    vhost, user = vhosts(), f"suite-qq-user-{uuid.uuid4().hex[:6]}"
    doc = broker_definitions.build("classic", vhost, user=(user, "s3cret-for-test"))
    try:
        rabbitmq_admin.import_definitions(doc)
        uri = _uri(settings, vhost, user, "s3cret-for-test")  # the generated password hash logs in
        assert topology.declare(uri, "classic") == [q["name"] for q in doc["queues"]]  # same declarations
        info = queue_stats(vhost, "dlq.community")
        assert info["type"] == "classic" and info["policy"] is None  # dead letters are never limited
        rpc_policy = next(p for p in doc["policies"] if p["name"] == "suite-rpc")
        assert rpc_policy["definition"]["overflow"] == "reject-publish"
    finally:
        rabbitmq_admin.delete_user(user)


def test_suite_up_sets_the_length_policies_on_a_classic_vhost(settings, vhosts):
    vhost = vhosts()
    rabbitmq_admin.create_vhost(vhost)
    uri = _uri(settings, vhost)
    queues = topology.declare(uri)
    assert broker_definitions.apply_policies(uri) is True
    event_queue = next(q for q in queues if q.startswith("evt-") and q.endswith(tuple(
        f"--library.{m}" for m in ("on_resident_registered",))))
    stats = queue_stats(vhost, event_queue)
    assert stats["policy"] == "suite-events-library"
    assert stats["effective_policy_definition"]["max-length"] == broker_definitions.EVENT_QUEUE_MAX_LENGTH
    assert stats["effective_policy_definition"]["overflow"] == "reject-publish"
