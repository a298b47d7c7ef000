"""The inbox: exactly-once effects, bounded retries, dead letters with reasons."""
import json
import uuid

import pytest
from kombu import Connection

from contracts.events.community import ResidentRegisteredV1
from services.common import deadletter
from services.common.inbox import Applied, PermanentError, apply_once, inbox_handler
from services.common.outbox import event
from support import drain, wait_for

QUEUE = f"evt-community-{ResidentRegisteredV1.TYPE}--probe.handle"
seen: list = []          # (resident_id, attempt) as the probe's handler saw them
fail_times: dict = {}    # resident_id -> how many times the handler should fail first


class ProbeService:
    name = "probe"

    @inbox_handler(ResidentRegisteredV1.TYPE)
    def handle(self, ev):
        rid = ev["data"]["resident_id"]
        seen.append(rid)
        remaining = fail_times.get(rid, 0)
        if remaining == "permanent":
            raise PermanentError("cannot ever apply this")
        if remaining:
            fail_times[rid] = remaining - 1
            raise RuntimeError(f"transient failure, {remaining} to go")


def envelope(resident_id: str) -> dict:
    return event(ResidentRegisteredV1.TYPE, {
        "resident_id": resident_id, "name": "测试", "residence_committee": "C0101",
        "registered_on": "2026-11-25"})


def publish(amqp_uri: str, body, content_type: str = "application/json"):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    with Connection(amqp_uri) as conn:
        conn.Producer().publish(raw, exchange="community.events", routing_key=ResidentRegisteredV1.TYPE,
                                content_type=content_type, content_encoding="utf-8")


@pytest.fixture
def probe(start_service, service_config):
    seen.clear()
    fail_times.clear()
    start_service(ProbeService, service_config("probe", EVENT_MAX_RETRIES=2, EVENT_RETRY_BACKOFF=0.01))
    return ProbeService


def dead_letters(settings, expect=1):
    return drain(settings.amqp_uri, "dlq.probe", expect=expect)


def test_transient_failure_is_retried_then_applied(probe, settings):
    fail_times["flaky"] = 2
    publish(settings.amqp_uri, envelope("flaky"))
    wait_for(lambda: seen.count("flaky") == 3)
    publish(settings.amqp_uri, envelope("after"))
    wait_for(lambda: "after" in seen)
    assert seen.count("flaky") == 3  # two failures, one success, then nothing more


def test_lasting_failure_is_dead_lettered_with_its_reason_after_bounded_retries(probe, settings):
    fail_times["doomed"] = 99
    ev = envelope("doomed")
    publish(settings.amqp_uri, ev)
    [msg] = dead_letters(settings)
    assert seen.count("doomed") == 3  # first try + EVENT_MAX_RETRIES
    assert "RuntimeError: transient failure" in msg.headers[deadletter.REASON]
    assert msg.headers[deadletter.ORIGINAL_QUEUE] == QUEUE
    assert msg.headers[deadletter.ATTEMPTS] == 3
    assert json.loads(msg.body)["id"] == ev["id"]  # the body is kept as it was


def test_permanent_error_is_dead_lettered_at_once(probe, settings):
    fail_times["never"] = "permanent"
    publish(settings.amqp_uri, envelope("never"))
    [msg] = dead_letters(settings)
    assert seen.count("never") == 1
    assert "PermanentError: cannot ever apply this" in msg.headers[deadletter.REASON]


@pytest.mark.parametrize("body, reason", [
    ("{not json", "undecodable message"),
    ({"specversion": "1.0", "id": "x", "source": "community", "type": ResidentRegisteredV1.TYPE,
      "time": "2026-11-25T00:00:00Z", "data": {"resident_id": {"$gt": ""}}}, "invalid data for"),
    ({"hello": "world"}, "invalid CloudEvents envelope"),
    ([1, 2, 3], "must be a JSON object"),
])
def test_malformed_message_is_dead_lettered_and_the_consumer_goes_on(probe, settings, body, reason):
    publish(settings.amqp_uri, body)
    publish(settings.amqp_uri, envelope("good"))
    wait_for(lambda: "good" in seen)
    [msg] = dead_letters(settings)
    assert reason in msg.headers[deadletter.REASON]
    assert seen == ["good"]  # the handler never saw the bad one


def test_apply_once_absorbs_duplicates(db):
    coll = db("kit")[f"inbox_{uuid.uuid4().hex[:6]}"]
    key = {"_id": "k"}
    assert apply_once(coll, key, {"$inc": {"n": 1}}, "e1", upsert=True) is Applied.APPLIED
    assert apply_once(coll, key, {"$inc": {"n": 1}}, "e1", upsert=True) is Applied.DUPLICATE
    assert apply_once(coll, key, {"$inc": {"n": 1}}, "e1") is Applied.DUPLICATE
    assert apply_once(coll, key, {"$inc": {"n": 1}}, "e2") is Applied.APPLIED
    assert apply_once(coll, {"_id": "absent"}, {"$inc": {"n": 1}}, "e3") is Applied.MISSING
    assert coll.find_one(key)["n"] == 2
    assert coll.find_one({"_id": "absent"}) is None


def test_apply_once_under_concurrent_redelivery(db):
    """Ten green threads deliver the same event at once: one effect."""
    import eventlet

    coll = db("kit")[f"inbox_{uuid.uuid4().hex[:6]}"]
    pool = eventlet.GreenPool(10)
    outcomes = list(pool.imap(lambda _: apply_once(coll, {"_id": "k"}, {"$inc": {"n": 1}}, "same", upsert=True),
                              range(10)))
    assert outcomes.count(Applied.APPLIED) == 1
    assert outcomes.count(Applied.DUPLICATE) == 9
    assert coll.find_one({"_id": "k"})["n"] == 1


def test_operator_lists_and_replays_dead_letters_once_fixed(probe, settings):
    from infra import dlq

    fail_times["fixable"] = "permanent"
    publish(settings.amqp_uri, envelope("fixable"))
    wait_for(lambda: any(d["reason"] and "PermanentError" in d["reason"] for d in dlq.peek(settings.amqp_uri, "probe")))
    listed = dlq.peek(settings.amqp_uri, "probe")
    assert listed[0]["queue"] == QUEUE and listed == dlq.peek(settings.amqp_uri, "probe")  # looking moves nothing
    fail_times.pop("fixable")          # the cause is fixed
    assert dlq.replay(settings.amqp_uri, "probe") == 1
    wait_for(lambda: seen.count("fixable") == 2)
    assert dlq.peek(settings.amqp_uri, "probe") == []
