"""A request that comes back to a service (its first handler died, or lost the broker, before
acknowledging it) is answered ``OutcomeUnknown`` instead of being run a second time: a kill -9
under load had stored a case twice that way."""
import uuid

import pytest
from kombu import Connection, Queue
from nameko.exceptions import RemoteError
from nameko.rpc import get_rpc_exchange
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.rpc import rpc

runs: list = []


class ProbeService:
    name = f"rpcprobe{uuid.uuid4().hex[:6]}"

    @rpc
    def apply(self, key):
        runs.append(key)
        return key


def _requeue_one_unacknowledged(amqp_uri: str, queue: str) -> None:
    """Take the request as a handler would, and vanish before acknowledging it."""
    with Connection(amqp_uri) as conn:
        message = Queue(queue, channel=conn.channel(), no_declare=True).get(no_ack=False)
        assert message is not None and not message.delivery_info["redelivered"]
    # the connection closed without an ack: the broker puts the request back, marked redelivered


def test_a_redelivered_request_is_answered_outcome_unknown_and_not_run_again(settings, start_service, service_config):
    runs.clear()
    queue = f"rpc-{ProbeService.name}"
    with Connection(settings.amqp_uri) as conn:   # as nameko declares it, before the service runs
        Queue(queue, exchange=get_rpc_exchange({"AMQP_URI": settings.amqp_uri}),
              routing_key=f"{ProbeService.name}.*", durable=True)(conn.channel()).declare()
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=15) as proxy:
        reply = getattr(proxy, ProbeService.name).apply.call_async("first")
        _requeue_one_unacknowledged(settings.amqp_uri, queue)
        start_service(ProbeService, service_config(ProbeService.name))
        with pytest.raises(RemoteError) as unknown:
            reply.result()
        assert unknown.value.exc_type == "OutcomeUnknown" and runs == []
        assert getattr(proxy, ProbeService.name).apply("second") == "second"   # a fresh request runs
    assert runs == ["second"]
    with Connection(settings.amqp_uri) as conn:
        assert Queue(queue, channel=conn.channel()).queue_declare(passive=True).message_count == 0


def test_a_request_published_twice_runs_once(settings, start_service, service_config):
    """kombu publishes a request again, with the same correlation id, when the caller's
    connection drops before the broker confirms it (a broker hiccup stored a case twice)."""
    runs.clear()
    queue = f"rpc-{ProbeService.name}"
    exchange = get_rpc_exchange({"AMQP_URI": settings.amqp_uri})
    with Connection(settings.amqp_uri) as conn:
        Queue(queue, exchange=exchange, routing_key=f"{ProbeService.name}.*", durable=True)(conn.channel()).declare()
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=15) as proxy:
        reply = getattr(proxy, ProbeService.name).apply.call_async("once")
        with Connection(settings.amqp_uri) as conn:
            sent = Queue(queue, channel=conn.channel(), no_declare=True).get(no_ack=True)
            assert sent is not None
            producer = conn.Producer()
            for _ in range(2):   # the request and kombu's second publish of it
                producer.publish(sent.body, exchange=exchange, routing_key=sent.delivery_info["routing_key"],
                                 headers=sent.headers, content_type=sent.content_type,
                                 content_encoding=sent.content_encoding, **{
                                     k: sent.properties[k] for k in ("correlation_id", "reply_to")})
        start_service(ProbeService, service_config(ProbeService.name))
        assert reply.result() == "once"
        assert getattr(proxy, ProbeService.name).apply("next") == "next"
    assert runs == ["once", "next"]
    with Connection(settings.amqp_uri) as conn:
        assert Queue(queue, channel=conn.channel()).queue_declare(passive=True).message_count == 0


def test_a_submission_published_twice_and_taken_by_two_processes_stores_one_case(
        settings, start_service, rpc, db, monkeypatch):
    """What one process's guard cannot see: the copy taken by another process of the service.
    The case id is made from the request's key, so the copy answers the first one's case."""
    from services.common import rpc as kit
    from services.community.service import CommunityService
    from support import id_number, load_demo_district

    community = start_service(CommunityService)
    load_demo_district(rpc)
    resident = rpc.community.register_resident({
        "id_number": id_number(), "name": "赵六", "residence_committee": "C0101", "address": "龙华路9号"})
    clerk = {"id": "clerk-1", "role": "staff", "committee": "C0101"}
    request = {"resident_id": resident["resident_id"], "matter_code": "ELDERLY_ALLOWANCE"}
    community.stop()   # the request waits in the queue while it is copied

    reply = rpc.community.submit_case.call_async(clerk, request)
    exchange = get_rpc_exchange({"AMQP_URI": settings.amqp_uri})
    with Connection(settings.amqp_uri) as conn:
        sent = Queue("rpc-community", channel=conn.channel(), no_declare=True).get(no_ack=True)
        assert sent is not None
        producer = conn.Producer()
        for _ in range(2):
            producer.publish(sent.body, exchange=exchange, routing_key=sent.delivery_info["routing_key"],
                             headers=sent.headers, content_type=sent.content_type,
                             content_encoding=sent.content_encoding, **{
                                 k: sent.properties[k] for k in ("correlation_id", "reply_to")})
    monkeypatch.setattr(kit.taken, "first_time", lambda correlation_id: True)   # as if two processes took them
    start_service(CommunityService)
    case = reply.result()

    stored = list(db("community").cases.find({"resident_id": resident["resident_id"]}, {"number": 1}))
    assert [c["_id"] for c in stored] == [case["case_id"]]
    # (a copy that runs at the same time as the first may have taken a case number it then drops)
    second = rpc.community.submit_case(clerk, request)   # a new request is a new case
    assert second["case_id"] != case["case_id"] and second["number"] > case["number"]
    assert db("community").cases.count_documents({"resident_id": resident["resident_id"]}) == 2
