"""A request that comes back to a service (its first handler died, or lost the broker, before
acknowledging it) is answered ``OutcomeUnknown`` instead of being run a second time: a kill -9
under load had stored a case twice that way."""
import json
import time
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


def _publish_twice(amqp_uri: str, queue: str) -> None:
    """Take the request waiting in ``queue`` and publish it twice, as kombu publishes it
    again (same correlation id) when the caller's connection drops before the confirm."""
    exchange = get_rpc_exchange({"AMQP_URI": amqp_uri})
    with Connection(amqp_uri) as conn:
        sent = Queue(queue, channel=conn.channel(), no_declare=True).get(no_ack=True)
        assert sent is not None
        producer = conn.Producer()
        for _ in range(2):
            producer.publish(sent.body, exchange=exchange, routing_key=sent.delivery_info["routing_key"],
                             headers=sent.headers, content_type=sent.content_type,
                             content_encoding=sent.content_encoding, **{
                                 k: sent.properties[k] for k in ("correlation_id", "reply_to")})


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
        _publish_twice(settings.amqp_uri, queue)
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
    _publish_twice(settings.amqp_uri, "rpc-community")
    monkeypatch.setattr(kit.taken, "first_time", lambda correlation_id: True)   # as if two processes took them
    start_service(CommunityService)
    case = reply.result()

    stored = list(db("community").cases.find({"resident_id": resident["resident_id"]}, {"number": 1}))
    assert [c["_id"] for c in stored] == [case["case_id"]]
    # (a copy that runs at the same time as the first may have taken a case number it then drops)
    second = rpc.community.submit_case(clerk, request)   # a new request is a new case
    assert second["case_id"] != case["case_id"] and second["number"] > case["number"]
    assert db("community").cases.count_documents({"resident_id": resident["resident_id"]}) == 2


def _answers_to_a_request_sent_twice(amqp_uri: str, service: str, method: str, *args) -> list[dict]:
    """Send one request twice with the same correlation id (kombu's second publish) and
    return both answers, in the order they came: the caller takes the first, whichever
    copy that is."""
    exchange = get_rpc_exchange({"AMQP_URI": amqp_uri})
    replies = f"replies-{uuid.uuid4().hex[:8]}"
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        queue = Queue(replies, exchange=exchange, routing_key=replies, exclusive=True)(channel)
        queue.declare()
        request = json.dumps({"args": list(args), "kwargs": {}})
        for _ in range(2):
            conn.Producer(channel).publish(request, exchange=exchange, routing_key=f"{service}.{method}",
                                           content_type="application/json", reply_to=replies,
                                           correlation_id="same-request-" + replies)
        answers = []
        deadline = time.monotonic() + 15
        while len(answers) < 2 and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            answers.append(json.loads(message.body))
    assert len(answers) == 2, answers
    return answers


def test_each_copy_of_a_registration_or_an_import_batch_taken_by_two_processes_answers_as_the_first(
        settings, start_service, rpc, db, monkeypatch):
    """The copy of a registration finds the first one's resident (its id is made from the
    request's key) and answers with it; it used to answer "already registered", and the
    caller took whichever answer came first. The copy of an import batch counts the rows
    the first stored as imported, not as rejected."""
    from services.common import rpc as kit
    from services.community.service import CommunityService
    from support import id_number, load_demo_district

    monkeypatch.setattr(kit.taken, "first_time", lambda correlation_id: True)   # as if two processes took them
    start_service(CommunityService)
    load_demo_district(rpc)
    earlier = id_number()
    rpc.community.register_resident({"id_number": earlier, "name": "先到", "residence_committee": "C0101",
                                     "address": "龙华路1号"})

    number = id_number()
    answers = _answers_to_a_request_sent_twice(settings.amqp_uri, "community", "register_resident", {
        "id_number": number, "name": "王五", "residence_committee": "C0101", "address": "龙华路9号"})
    assert [a["error"] for a in answers] == [None, None]
    assert answers[0]["result"] == answers[1]["result"] and answers[0]["result"]["name"] == "王五"
    assert [r["_id"] for r in db("community").residents.find({"id_number": number}, {"_id": 1})] == \
        [answers[0]["result"]["resident_id"]]

    rows = [{"id_number": id_number(), "name": "批一", "residence_committee": "C0101", "address": "龙华路2号"},
            {"id_number": earlier, "name": "重号", "residence_committee": "C0101", "address": "龙华路1号"},
            {"id_number": id_number(), "name": "批三", "residence_committee": "C0101", "address": "龙华路3号"}]
    answers = _answers_to_a_request_sent_twice(settings.amqp_uri, "community", "import_residents", rows)
    assert [a["result"] for a in answers] == [{"imported": 2, "rejected": [
        {"index": 1, "reason": "already registered (same ID number)"}]}] * 2
    assert db("community").residents.count_documents({"name": {"$in": ["批一", "批三"]}}) == 2

    # someone else's registration of a number already there is still a conflict
    with pytest.raises(RemoteError) as err:
        rpc.community.register_resident({"id_number": number, "name": "王五", "residence_committee": "C0101",
                                         "address": "龙华路9号"})
    assert err.value.exc_type == "Conflict"
