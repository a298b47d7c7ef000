"""Poison messages on the real services' own queues: invalid JSON, a wrong schema, an
unknown event type and a huge body each go to ``dlq.<service>`` with the reason, are
delivered once (never loop), and the next good message is still applied. An operator sees
them with ``suite dlq list`` and sends a fixed one back once with ``suite dlq replay``."""
import json
import uuid
from datetime import datetime, timezone

import pytest
from kombu import Connection

from contracts.events.community import ResidentRegisteredV1
from contracts.events.elearning import CreditsAwardedV1
from contracts.events.kiosk import EXCHANGE as KIOSK_EXCHANGE
from contracts.events.kiosk import broker_user, routing_key
from contracts.events.wallet import WalletLowBalanceV1
from infra.local import demo_data
from services.common import batch_inbox, deadletter, inbox
from services.common.outbox import event as new_event
from services.community.service import CommunityService
from services.elearning.service import ElearningService
from services.library.service import LibraryService
from support import drain, wait_for

HUGE = inbox.EVENT_MAX_BYTES + 40_000


@pytest.fixture
def deliveries(monkeypatch):
    """How often each message (by message id) reached a consumer of ours: validated or not."""
    seen: dict[str, int] = {}

    def count(message):
        mid = message.properties.get("message_id")
        seen[mid] = seen.get(mid, 0) + 1

    handle, undecodable = inbox.InboxEventHandler.handle_message, inbox.DeadLetteringQueueConsumer._on_decode_error

    def counted_handle(self, body, message):
        count(message)
        return handle(self, body, message)

    def counted_undecodable(self, provider, message, exc):
        count(message)
        return undecodable(self, provider, message, exc)

    batch, batch_undecodable = batch_inbox.BatchInboxEventHandler.handle_batch, \
        batch_inbox.BatchQueueConsumer._on_decode_error

    def counted_batch(self, items):
        for _, message in items:
            count(message)
        return batch(self, items)

    def counted_batch_undecodable(self, provider, message, exc):
        count(message)
        return batch_undecodable(self, provider, message, exc)

    monkeypatch.setattr(inbox.InboxEventHandler, "handle_message", counted_handle)
    monkeypatch.setattr(inbox.DeadLetteringQueueConsumer, "_on_decode_error", counted_undecodable)
    monkeypatch.setattr(batch_inbox.BatchInboxEventHandler, "handle_batch", counted_batch)   # kiosk events
    monkeypatch.setattr(batch_inbox.BatchQueueConsumer, "_on_decode_error", counted_batch_undecodable)
    return seen


@pytest.fixture
def services(start_service, rpc, deliveries, settings):
    for service in ("community", "library", "elearning"):   # what earlier tests left there is not ours
        drain(settings.amqp_uri, f"dlq.{service}", expect=0, timeout=0.2)
    for cls in (CommunityService, LibraryService, ElearningService):
        start_service(cls)
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    yield rpc
    for service in ("community", "library", "elearning"):
        drain(settings.amqp_uri, f"dlq.{service}", expect=0, timeout=0.2)


def publish(uri: str, exchange: str, key: str, body, user_id: str | None = None) -> str:
    """Publish ``body`` (bytes as they are, anything else as JSON) with a fresh message id."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    mid = uuid.uuid4().hex
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(raw, exchange=exchange, routing_key=key, content_type="application/json",
                                content_encoding="utf-8", message_id=mid, delivery_mode=2,
                                **({"user_id": user_id} if user_id else {}))
    return mid


def poisons(good: dict) -> dict:
    """Four bad messages shaped after a good envelope of the queue: kind -> (body, reason)."""
    wrong_schema = {**good, "data": {**good["data"], "unexpected": 1}}
    wrong_schema["data"].pop(next(iter(good["data"])))
    unknown = {**good, "type": good["type"].rsplit(".", 2)[0] + ".teleported.v1"}
    huge = {**good, "data": {**good["data"], "padding": "x" * HUGE}}
    return {"invalid JSON": (b'{"specversion": "1.0", "id": ', "undecodable message"),
            "wrong schema": (wrong_schema, "invalid data for"),
            "unknown type": (unknown, "unexpected event type"),
            "huge body": (json.dumps(huge).encode(), "message too large: ")}


def _queues(settings):
    """Per service, the dead letters by message id."""
    out = {}
    for service in ("community", "library", "elearning"):
        for m in drain(settings.amqp_uri, f"dlq.{service}", expect=0, timeout=0.3):
            out[m.properties.get("message_id")] = (service, m)
    return out


def test_poison_on_every_service_queue_is_dead_lettered_once_and_the_next_good_one_applied(
        services, settings, db, deliveries, kiosk):
    kiosk_id, kiosk_uri = kiosk
    resident = uuid.uuid4().hex
    db("community").residents.insert_one({"_id": resident, "name": "毒丸测试"})
    now = datetime.now(timezone.utc)
    cases = [  # service, exchange, routing key, publish as, good envelope, how to see it applied
        ("community", "elearning.events", CreditsAwardedV1.TYPE, settings.amqp_uri, None,
         new_event(CreditsAwardedV1.TYPE, {"resident_id": resident, "course_id": "c1", "amount": 2,
                                           "source": "poison test", "entry_id": "e1"}),
         lambda ev: db("community").notices.find_one({"_id": ev["id"]})),
        ("library", "community.events", ResidentRegisteredV1.TYPE, settings.amqp_uri, None,
         new_event(ResidentRegisteredV1.TYPE, {"resident_id": uuid.uuid4().hex, "name": "读者",
                                               "residence_committee": "C0101", "registered_on": "2026-01-05"}),
         lambda ev: db("library").patrons.find_one({"_id": ev["data"]["resident_id"]})),
        ("library", KIOSK_EXCHANGE, routing_key(kiosk_id, "heartbeat"), kiosk_uri, broker_user(kiosk_id),
         {"specversion": "1.0", "id": uuid.uuid4().hex, "source": f"/kiosks/{kiosk_id}",
          "type": "cn.library.kiosk.heartbeat.v1", "time": now.isoformat(), "sequence": 1,
          "data": {"interval_seconds": 60, "firmware": "", "buffered_events": 0}},
         lambda ev: db("library").kiosks.find_one({"_id": kiosk_id})),
        ("elearning", "elearning.events", WalletLowBalanceV1.TYPE, settings.amqp_uri, None,
         new_event(WalletLowBalanceV1.TYPE, {"student_id": "stu-poison", "balance_fen": 10, "threshold_fen": 100,
                                             "entry_id": "x", "booked_at": now.isoformat()}),
         lambda ev: db("elearning").guardian_alerts.find_one({"_id": ev["id"]})),
    ]
    sent = {}   # message id -> (service, kind, expected reason)
    for service, exchange, key, uri, user, good, applied in cases:
        for kind, (body, reason) in poisons(good).items():
            sent[publish(uri, exchange, key, body, user)] = (service, kind, reason, key)
        good_id = publish(uri, exchange, key, good, user)
        wait_for(lambda: applied(good), timeout=15)      # the consumer went on past the poison
        assert deliveries[good_id] == 1

    dead: dict = {}

    def all_dead_lettered():
        dead.update(_queues(settings))
        return len(dead) >= len(sent)
    wait_for(all_dead_lettered, timeout=15)
    assert set(dead) == set(sent), [(k, v[0], (v[1].headers or {}).get("x-dead-letter-reason"))
                                    for k, v in dead.items() if k not in sent]
    for mid, (service, kind, reason, key) in sent.items():
        where, message = dead[mid]
        headers = message.headers
        assert where == service, (kind, key, where)
        assert reason in headers[deadletter.REASON], (kind, key, headers[deadletter.REASON])
        assert headers[deadletter.ATTEMPTS] == 1 and deliveries[mid] == 1, (kind, key)   # never looped
        if kind == "huge body":
            assert f"message too large: {len(message.body)} bytes" in headers[deadletter.REASON]
    assert all(v == 1 for v in deliveries.values()), {k: v for k, v in deliveries.items() if v != 1}


def test_a_failing_handler_is_retried_a_bounded_number_of_times_and_replayed_once_fixed(
        services, settings, db, deliveries, kiosk, monkeypatch, capsys):
    from infra.cli import common, main as cli

    kiosk_id, kiosk_uri = kiosk
    services.library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "毒丸", "committee": "C0101"}])
    barcode = f"B{uuid.uuid4().hex[:10]}"
    services.library.import_catalogue([{"record_id": "t-" + barcode, "title": "重放测试",
                                        "copies": [{"barcode": barcode, "home_location": kiosk_id}]}])
    card = "LC" + uuid.uuid4().hex[:10].upper()
    patron = uuid.uuid4().hex
    db("library").patrons.insert_one({"_id": patron, "card_number": card, "name": "读者", "patron_type": "adult",
                                      "home_committee": "C0101", "blocks": {}})
    db("library").locations.delete_one({"_id": kiosk_id})    # the cause: the kiosk is no library location
    checkout = {"specversion": "1.0", "id": uuid.uuid4().hex, "source": f"/kiosks/{kiosk_id}",
                "type": "cn.library.kiosk.checkout.v1", "time": datetime.now(timezone.utc).isoformat(),
                "sequence": 1, "data": {"barcode": barcode, "card_number": card}}
    mid = publish(kiosk_uri, KIOSK_EXCHANGE, routing_key(kiosk_id, "checkout"), checkout, broker_user(kiosk_id))

    monkeypatch.setattr(common, "settings", lambda: settings)
    listed = cli.build_parser().parse_args(["dlq", "list", "--service", "library"])

    def listed_with_reason():
        assert listed.func(listed) == 0
        out = capsys.readouterr().out
        return "unknown library location" in out and out
    out = wait_for(listed_with_reason, timeout=20)
    assert f"attempts={settings.event_max_retries + 1}" in out and "on_kiosk_event" in out
    assert deliveries[mid] == settings.event_max_retries + 1          # bounded: first try and the retries
    assert db("library").copies.find_one({"_id": barcode})["status"] == "available"   # nothing half-applied

    services.library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "毒丸", "committee": "C0101"}])
    replay = cli.build_parser().parse_args(["dlq", "replay", "--service", "library"])
    assert replay.func(replay) == 0 and "replayed 1 message(s)" in capsys.readouterr().out
    wait_for(lambda: db("library").copies.find_one({"_id": barcode})["status"] == "on_loan", timeout=15)
    assert replay.func(replay) == 0 and "replayed 0 message(s)" in capsys.readouterr().out   # once
    copy = db("library").copies.find_one({"_id": barcode})
    assert copy["inbox"] == [f"kiosk:{kiosk_id}:{checkout['id']}"] and copy["loan"]["patron"] == patron
