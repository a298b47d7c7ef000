"""Kiosks as a vendor builds them (infra/kiosk/client.py), against the real broker and the
library service: buffering while the broker is away, replay in order, and a simulated
network (duplicates, reordering, an offline kiosk) that must end as the oracle says.

The last three tests pin down cases the simulation first found wrong in the library: a
checkout arriving before the return it follows, a failing kiosk event retried (not lost),
and a replayed burst of one kiosk's events applied in order.
"""
import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import eventlet
import pytest

from infra.kiosk import accounts, simulator
from infra.kiosk.client import KioskClient, KioskRefused
from infra.local import demo_data
from services.community.service import CommunityService
from services.library.service import LibraryService
from support import bind_probe_queue, drain, wait_for


@pytest.fixture
def kiosk_account(settings):
    kiosk_id = "T" + uuid.uuid4().hex[:8]
    user, password = accounts.add_kiosk(settings.amqp_uri, kiosk_id)
    yield kiosk_id, user, password
    accounts.remove_kiosk(kiosk_id)


def test_events_buffer_while_the_broker_is_away_and_replay_in_order(settings, kiosk_account, tmp_path):
    kiosk_id, user, password = kiosk_account
    probe = bind_probe_queue(settings.amqp_uri, "kiosk.events", f"kiosk.{kiosk_id}.*")
    away = accounts.kiosk_uri("amqp://127.0.0.1:1" + urlparse(settings.amqp_uri).path, user, password)
    client = KioskClient(away, kiosk_id, tmp_path)
    sent = [client.checkout("B0001", "LC0001"), client.checkin("B0001"), client.heartbeat(60)]
    assert client.published == 0 and client.pending_count() == 3
    assert sent[2]["data"]["buffered_events"] == 2           # the heartbeat tells what waits
    client.close()                                           # the kiosk restarts

    again = KioskClient(accounts.kiosk_uri(settings.amqp_uri, user, password), kiosk_id, tmp_path)
    assert again.pending() == sent
    assert again.flush() == 3 and again.pending_count() == 0 and again.replayed == 3
    later = again.checkin("B0002")                           # the sequence survived the restart
    assert later["sequence"] == 4 and again.pending_count() == 0 and again.replayed == 3
    again.close()

    got = drain(settings.amqp_uri, probe, expect=4)
    bodies = [json.loads(m.body) for m in got]
    assert [b["id"] for b in bodies] == [e["id"] for e in sent + [later]]
    assert [b["sequence"] for b in bodies] == [1, 2, 3, 4]
    assert [b["time"] for b in bodies[:3]] == [e["time"] for e in sent]
    assert all(b["source"] == f"/kiosks/{kiosk_id}" for b in bodies)
    assert [m.delivery_info["routing_key"] for m in got] == [
        f"kiosk.{kiosk_id}.{k}" for k in ("checkout", "checkin", "heartbeat", "checkin")]
    for m in got:
        assert m.properties["user_id"] == user and m.properties["delivery_mode"] == 2
        assert m.content_type == "application/json"


def test_invalid_data_is_refused_before_anything_is_kept(settings, kiosk_account, tmp_path):
    kiosk_id, user, password = kiosk_account
    with KioskClient(accounts.kiosk_uri(settings.amqp_uri, user, password), kiosk_id, tmp_path) as client:
        with pytest.raises(ValueError):
            client.checkout("not a barcode!", "LC1")
        with pytest.raises(ValueError):
            client.heartbeat(interval_seconds=1)
        assert client.pending_count() == 0 and client.last_sequence() == 0


def test_a_refused_kiosk_keeps_its_events_and_says_why(settings, kiosk_account, tmp_path):
    kiosk_id, user, password = kiosk_account
    with KioskClient(accounts.kiosk_uri(settings.amqp_uri, user, "wrong"), kiosk_id, tmp_path) as client:
        with pytest.raises(KioskRefused, match="ACCESS_REFUSED"):
            client.heartbeat()
        assert client.pending_count() == 1                   # kept until an operator fixes it


def test_suite_kiosk_add_prints_the_uri_and_the_password_last(settings, monkeypatch, capsys, tmp_path):
    from infra.cli import common, main as cli

    monkeypatch.setattr(common, "settings", lambda: settings)
    kiosk_id = "T" + uuid.uuid4().hex[:8]
    args = cli.build_parser().parse_args(["kiosk", "add", kiosk_id])
    try:
        assert args.func(args) == 0
        lines = capsys.readouterr().out.splitlines()
        password, uri = lines[-1], next(line for line in lines if line.startswith("amqp://"))
        assert uri.startswith(f"amqp://kiosk-{kiosk_id}@") and password not in uri
        probe = bind_probe_queue(settings.amqp_uri, "kiosk.events", f"kiosk.{kiosk_id}.*")
        with KioskClient(accounts.kiosk_uri(settings.amqp_uri, f"kiosk-{kiosk_id}", password), kiosk_id,
                         tmp_path) as client:
            beat = client.heartbeat()
            assert client.pending_count() == 0
        [got] = drain(settings.amqp_uri, probe)
        assert json.loads(got.body)["id"] == beat["id"]
    finally:
        accounts.remove_kiosk(kiosk_id)
    bad = cli.build_parser().parse_args(["kiosk", "add", "no spaces"])
    assert bad.func(bad) == 2


@pytest.fixture
def suite(start_service, rpc):
    start_service(CommunityService)
    start_service(LibraryService)
    rpc.community.upsert_places(demo_data.PLACES)
    return rpc


def _ours(report, messages):
    """The messages of this run's kiosks (the dead-letter queue is shared with other tests,
    whose poison messages need not even be JSON)."""
    sources = {f"/kiosks/{k}" for k in report.kiosk_ids}
    return [m for m in messages if _source(m.body) in sources]


def _source(body) -> str | None:
    try:
        return json.loads(body).get("source")
    except (ValueError, AttributeError):
        return None


def test_simulated_kiosk_network_ends_as_the_oracle_says(suite, settings, db):
    fixtures = simulator.prepare_fixtures(suite, kiosks=3, copies=9, patrons=4)
    report = simulator.simulate(settings.amqp_uri, kiosks=3, events=60, rate=40, duplicates=0.2, reorder=0.2,
                                offline=0.34, seed=11, copies=fixtures.copies, patrons=fixtures.patrons,
                                kiosk_ids=fixtures.kiosk_ids, titles=fixtures.titles,
                                search_texts=fixtures.search_texts)
    print(f"sent {report.sent}, duplicates {report.duplicates}, reordered {report.reordered}, "
          f"replayed {report.replayed}, applied {report.applied}, lost {report.lost}, "
          f"offline {report.offline_kiosks}, {report.seconds:.1f} s")
    # the kiosks' side: everything published and confirmed, nothing left behind
    assert report.sent == 60 and report.lost == 0 and report.oracle_conflicts == 0
    assert report.duplicates > 0 and report.reordered > 0 and len(report.offline_kiosks) == 1
    assert report.replayed > 0

    mismatches = simulator.verify_until(report, suite, timeout=15, amqp_uri=settings.amqp_uri)

    # nothing applied twice: each applied event is recorded once in its copy and moved its version once
    for barcode in fixtures.copies:
        copy = db("library").copies.find_one({"_id": barcode})
        assert simulator.applied_once(copy), barcode
        loans = list(db("library").loan_history.find({"barcode": barcode}))
        assert len({h["loaned_at"] for h in loans}) == len(loans), f"{barcode}: one loan recorded twice"

    # nothing lost silently: a copy that ends wrong has a conflict or a dead-lettered event to show for it
    conflicts = simulator.library_conflicts(report, suite)
    dead = _ours(report, drain(settings.amqp_uri, "dlq.library", expect=0, timeout=0.5))
    explained = {c["barcode"] for c in conflicts} | {json.loads(m.body)["data"].get("barcode") for m in dead}
    wrong = {m.split(":")[0] for m in mismatches}
    assert wrong <= explained, mismatches
    # the story has no conflict and every event is valid: the library must absorb every
    # duplicate, reordering and replay by itself
    assert not conflicts and not dead, [c["reason"] for c in conflicts] + [
        m.headers["x-dead-letter-reason"] for m in dead]
    assert mismatches == []


# ---- faults of the library's kiosk handling ----------------------------------------------------

@pytest.fixture
def library(start_service, rpc):
    start_service(LibraryService)
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    return rpc.library


def _patron(db):
    rid = uuid.uuid4().hex
    card = "LC" + rid[:10].upper()
    db("library").patrons.insert_one({"_id": rid, "card_number": card, "name": "读者", "patron_type": "adult",
                                      "home_committee": "C0101", "blocks": {}})
    return rid, card


def _copies(library, location, n):
    barcodes = [f"B{uuid.uuid4().hex[:10]}" for _ in range(n)]
    library.import_catalogue([{"record_id": "t-" + uuid.uuid4().hex[:10], "title": "测试", "copies": [
        {"barcode": b, "home_location": location} for b in barcodes]}])
    return barcodes


@pytest.fixture
def kiosk_client(settings, library, kiosk_account, tmp_path):
    kiosk_id, user, password = kiosk_account
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "测试", "committee": "C0101"}])
    with KioskClient(accounts.kiosk_uri(settings.amqp_uri, user, password), kiosk_id, tmp_path) as client:
        yield client


def _settled(settings):
    wait_for(lambda: simulator.kiosk_queue_depth(settings.amqp_uri) == 0)
    eventlet.sleep(0.5)


def test_checkout_arriving_before_the_return_it_follows_ends_right(kiosk_client, library, db, settings):
    (_, p_card), (q_id, q_card) = _patron(db), _patron(db)
    [barcode] = _copies(library, kiosk_client.kiosk_id, 1)
    t0 = datetime.now(timezone.utc) - timedelta(hours=1)
    kiosk_client.checkout(barcode, p_card, at=t0)                    # P borrows (sequence 1)
    wait_for(lambda: db("library").copies.find_one({"_id": barcode})["status"] == "on_loan")
    back = kiosk_client.build("checkin", {"barcode": barcode}, t0 + timedelta(minutes=10))       # sequence 2
    again = kiosk_client.build("checkout", {"barcode": barcode, "card_number": q_card}, t0 + timedelta(minutes=20))
    kiosk_client.send(again)                                         # the network swaps them
    _settled(settings)
    kiosk_client.send(back)
    _settled(settings)
    copy = db("library").copies.find_one({"_id": barcode})
    assert (copy["status"], (copy.get("loan") or {}).get("patron")) == ("on_loan", q_id)


def test_failed_kiosk_event_is_retried_then_dead_lettered(kiosk_client, library, db, settings):
    _, card = _patron(db)
    [barcode] = _copies(library, "MAIN", 1)
    # the handler fails on this one (its kiosk is no library location): any failure takes the same path
    db("library").locations.delete_one({"_id": kiosk_client.kiosk_id})
    event = kiosk_client.build("checkout", {"barcode": barcode, "card_number": card})
    kiosk_client.send(event)
    dead = wait_for(lambda: [m for m in drain(settings.amqp_uri, "dlq.library", expect=0, timeout=0.5)
                             if event["id"].encode() in (m.body if isinstance(m.body, bytes) else m.body.encode())],
                    timeout=10)
    headers = dead[0].headers
    assert "unknown library location" in headers["x-dead-letter-reason"], headers
    assert int(headers["x-attempts"]) == settings.event_max_retries + 1, headers


def test_a_replayed_burst_ends_right(kiosk_client, library, db, settings):
    (_, p_card), (q_id, q_card) = _patron(db), _patron(db)
    barcodes = _copies(library, kiosk_client.kiosk_id, 10)
    t0 = datetime.now(timezone.utc) - timedelta(hours=1)
    for i, b in enumerate(barcodes):
        kiosk_client.checkout(b, p_card, at=t0 + timedelta(seconds=i))
    _settled(settings)
    kiosk_client.offline = True                                   # the kiosk loses its line ...
    for i, b in enumerate(barcodes):
        kiosk_client.checkin(b, at=t0 + timedelta(minutes=10, seconds=i))
        kiosk_client.checkout(b, q_card, at=t0 + timedelta(minutes=20, seconds=i))
    kiosk_client.offline = False                                  # ... and replays, in order
    assert kiosk_client.flush() == 20
    _settled(settings)
    ends = {b: (c["status"], (c.get("loan") or {}).get("patron"))
            for b in barcodes for c in [db("library").copies.find_one({"_id": b})]}
    assert ends == {b: ("on_loan", q_id) for b in barcodes}
