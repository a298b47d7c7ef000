"""The rules of the library network for kiosk events under a hostile network, each proved by
publishing as a real kiosk would (its own broker user, raw kombu, the wire contract only):
compression bombs refused before decoding, ids scoped by their kiosk, nothing unroutable lost,
keys and envelopes that must agree, outcomes counted apart, clocks that run ahead, one due
date per instant, stale inventories, one copy's events in order, a whole loan history, and
conflicts paged for staff."""
import bz2
import uuid
from datetime import datetime, timedelta, timezone

import amqp
import eventlet
import pytest
import requests

from infra import dlq, rabbitmq_admin
from infra.kiosk import accounts
from infra.kiosk.client import KioskClient, KioskRefused
from services.library.service import LibraryService
from support import drain, wait_for, web_address
from support.library import a_patron, a_title, conflict_id, library, publish_kiosk  # noqa: F401 - a fixture

NOW = lambda: datetime.now(timezone.utc)  # noqa: E731


@pytest.fixture
def library_container(start_service, rpc):
    """The library service's container (its HTTP port, or to stop it), with the demo locations."""
    from infra.local import demo_data
    container = start_service(LibraryService)
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    return container


@pytest.fixture
def at_kiosk(library, kiosk):
    """(kiosk id, its AMQP URI) with the kiosk a location of the library."""
    kiosk_id, uri = kiosk
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "测试自助图书馆", "committee": "C0101"}])
    return kiosk_id, uri


def copy(db, barcode):
    return db("library").copies.find_one({"_id": barcode})


def inventories_applied() -> float:
    """Inventory events this process's library has applied (the services run in the tests' process)."""
    from services.common.metrics import EVENTS
    return EVENTS.labels("library", "cn.library.kiosk.inventory.v1", "applied")._value.get()


def test_a_compressed_message_is_refused_before_it_is_inflated(library, at_kiosk, db, settings):
    kiosk_id, uri = at_kiosk
    rid, card = a_patron(db)
    _, [barcode] = a_title(library, copies=(kiosk_id,))
    bomb = bz2.compress(b"{" + b" " * 50_000_000 + b"}")   # 50 MB of JSON in about 100 bytes
    assert len(bomb) < 1000
    publish_kiosk(uri, kiosk_id, "checkin", {}, body=bomb, headers={"compression": "application/x-bz2"})
    [letter] = wait_for(lambda: [d for d in dlq.peek(settings.amqp_uri, "library", 200)
                                 if d["prefix"] == bomb[:len(d["prefix"])]])
    assert letter["size"] == len(bomb) and letter["prefix"] == bomb[:len(letter["prefix"])]  # as it came
    assert "refused before decoding" in letter["reason"] and "x-bz2" in letter["reason"]
    # the consumer goes on: the next event is applied
    publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": card})
    wait_for(lambda: copy(db, barcode)["status"] == "on_loan")


def test_the_same_event_id_from_two_kiosks_is_two_events(library, db, settings, kiosk):
    one, uri_one = kiosk
    two = "T" + uuid.uuid4().hex[:8]
    _, password = accounts.add_kiosk(settings.amqp_uri, two)
    uri_two = accounts.kiosk_uri(settings.amqp_uri, f"kiosk-{two}", password)
    try:
        library.upsert_locations([{"code": k, "kind": "kiosk", "name": "测试", "committee": "C0101"} for k in (one, two)])
        rid, card = a_patron(db)
        _, [b1, b2] = a_title(library, copies=(one, two))
        shared = uuid.uuid4().hex
        publish_kiosk(uri_one, one, "checkout", {"barcode": b1, "card_number": card}, event_id=shared)
        publish_kiosk(uri_two, two, "checkout", {"barcode": b2, "card_number": card}, event_id=shared)
        wait_for(lambda: copy(db, b1)["status"] == "on_loan" and copy(db, b2)["status"] == "on_loan")
        assert copy(db, b1)["loan"]["patron"] == copy(db, b2)["loan"]["patron"] == rid
    finally:
        accounts.remove_kiosk(two)


def test_a_key_of_no_known_kind_is_never_lost(library, at_kiosk, db, settings):
    kiosk_id, uri = at_kiosk
    rid, card = a_patron(db)
    _, [barcode] = a_title(library, copies=(kiosk_id,))
    # the broker refuses a kiosk a key of no kind of the contract (its permission is exact)...
    with pytest.raises(amqp.exceptions.AccessRefused):
        publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": card},
                      routing_key=f"kiosk.{kiosk_id}.checkout.v2")
    # ...and what reaches the exchange but no queue (here sent by a trusted user) is kept, with why
    publish_kiosk(settings.amqp_uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": card},
                  routing_key=f"kiosk.{kiosk_id}.checkout.v2", user=None)
    [parked] = wait_for(lambda: dlq.peek(settings.amqp_uri, "kiosk-unroutable"))
    assert parked["routing_key"] == f"kiosk.{kiosk_id}.checkout.v2" and "unroutable" in parked["reason"]
    assert copy(db, barcode)["status"] == "available"
    drain(settings.amqp_uri, "dlq.kiosk-unroutable")


def test_the_kiosk_client_keeps_an_event_no_queue_took(settings, tmp_path):
    """Published mandatory: a return is a failure (kept buffered, reported), not a sent event."""
    vhost = f"suite-test-noqueue-{uuid.uuid4().hex[:6]}"
    rabbitmq_admin.create_vhost(vhost)
    try:
        uri = settings.amqp_uri.rsplit("/", 1)[0] + "/" + vhost
        from kombu import Connection, Exchange
        with Connection(uri) as conn:   # the kiosk exchange, with no queue and no alternate
            Exchange("kiosk.events", type="topic", durable=True)(conn.channel()).declare()
        _, password = accounts.add_kiosk(uri, "NOQ-1")
        client = KioskClient(accounts.kiosk_uri(uri, "kiosk-NOQ-1", password), "NOQ-1", tmp_path)
        with pytest.raises(KioskRefused, match="returned"):
            client.checkin("B-1")
        assert client.pending_count() == 1 and client.published == 0
        client.close()
    finally:
        accounts.remove_kiosk("NOQ-1")
        rabbitmq_admin.delete_vhost(vhost)


def test_a_routing_key_that_disagrees_with_its_envelope_is_dead_lettered(library, at_kiosk, db, settings):
    kiosk_id, uri = at_kiosk
    rid, card = a_patron(db)
    _, [barcode] = a_title(library, copies=(kiosk_id,))
    sent = publish_kiosk(uri, kiosk_id, "heartbeat", {"barcode": barcode, "card_number": card},
                         event_type="cn.library.kiosk.checkout.v1")   # a checkout on the heartbeat key
    [letter] = wait_for(lambda: [d for d in dlq.peek(settings.amqp_uri, "library", 200)
                                 if sent["id"].encode() in d["prefix"]])
    assert "heartbeat" in letter["reason"] and "not the envelope" in letter["reason"]
    assert copy(db, barcode)["status"] == "available"


def test_outcomes_are_counted_apart(library_container, rpc, kiosk, db, settings):
    kiosk_id, uri = kiosk
    library = rpc.library
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "测试", "committee": "C0101"}])
    rid, card = a_patron(db)
    _, [b1, b2] = a_title(library, copies=(kiosk_id, kiosk_id))
    first = publish_kiosk(uri, kiosk_id, "checkout", {"barcode": b1, "card_number": card})
    publish_kiosk(uri, kiosk_id, "checkout", {"barcode": b1, "card_number": card}, event_id=first["id"])   # again
    publish_kiosk(uri, kiosk_id, "checkout", {"barcode": b2, "card_number": "NOCARD1"})                   # conflict
    # events that arrive in one batch are applied in their time order: the late return must come after
    wait_for(lambda: copy(db, b1)["status"] == "on_loan")
    publish_kiosk(uri, kiosk_id, "checkin", {"barcode": b1}, at=NOW() - timedelta(days=1))               # late
    publish_kiosk(uri, kiosk_id, "heartbeat", {"interval_seconds": 60})
    wait_for(lambda: db("library").conflicts.find_one({"barcode": b2}))
    eventlet.sleep(0.5)
    publish_kiosk(uri, kiosk_id, "heartbeat", {"interval_seconds": 60})   # writes the counts kept since
    status = wait_for(lambda: next((k for k in library.kiosk_status() if k["kiosk_id"] == kiosk_id
                                    and sum(k["events"].values()) >= 5), None))
    assert status["events"] == {"applied": 2, "duplicate": 1, "conflict": 1, "late": 1}, status
    metrics = requests.get(web_address(library_container) + "/metrics", timeout=10).text
    checkout = 'event_type="cn.library.kiosk.checkout.v1"'
    counted = {line.split('outcome="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("suite_events_total{") and checkout in line}
    assert counted["duplicate"] >= 1 and counted["conflict"] >= 1 and counted["applied"] >= 1


def test_a_clock_running_a_day_ahead_freezes_nothing(library, at_kiosk, db):
    kiosk_id, uri = at_kiosk
    rid, card = a_patron(db)
    _, [barcode] = a_title(library, copies=(kiosk_id,))
    publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": card},
                  at=NOW() + timedelta(days=1))   # this kiosk's clock runs a day ahead
    wait_for(lambda: copy(db, barcode)["status"] == "on_loan")
    placed = datetime.fromisoformat(copy(db, barcode)["state_at"])
    assert placed < NOW() + timedelta(minutes=1)   # placed when it arrived, not tomorrow
    publish_kiosk(uri, kiosk_id, "checkin", {"barcode": barcode}, at=NOW() + timedelta(seconds=2))   # correct
    wait_for(lambda: copy(db, barcode)["status"] == "available")   # not judged older than the skewed one
    skewed = next(k for k in library.kiosk_status() if k["kiosk_id"] == kiosk_id)["clock_skew"]
    assert skewed["seconds"] > 23 * 3600


def test_one_instant_is_one_due_date_however_it_is_written(library, at_kiosk, db):
    kiosk_id, uri = at_kiosk
    rid, card = a_patron(db)
    _, [b1, b2] = a_title(library, copies=(kiosk_id, kiosk_id))
    instant = NOW().replace(hour=20, minute=30, second=0, microsecond=0) - timedelta(days=1)   # 04:30 next day in CST
    publish_kiosk(uri, kiosk_id, "checkout", {"barcode": b1, "card_number": card}, at=instant)
    publish_kiosk(uri, kiosk_id, "checkout", {"barcode": b2, "card_number": card},
                  at=instant.astimezone(timezone(timedelta(hours=8))))
    wait_for(lambda: copy(db, b1)["status"] == copy(db, b2)["status"] == "on_loan")
    assert copy(db, b1)["loan"]["due"] == copy(db, b2)["loan"]["due"]


def test_an_older_inventory_does_not_undo_newer_facts(library, at_kiosk, db):
    kiosk_id, uri = at_kiosk
    rid, card = a_patron(db)
    _, [barcode] = a_title(library, copies=("MAIN",))
    publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": card}, at=NOW() - timedelta(hours=2))
    publish_kiosk(uri, kiosk_id, "checkin", {"barcode": barcode}, at=NOW() - timedelta(hours=1))
    wait_for(lambda: copy(db, barcode)["status"] == "available" and copy(db, barcode)["location"] == kiosk_id)
    library.checkin(barcode, "MAIN")   # then carried to the main library, checked in there now
    taken = inventories_applied()
    publish_kiosk(uri, kiosk_id, "inventory", {"barcodes": [barcode]}, at=NOW() - timedelta(minutes=30))
    wait_for(lambda: inventories_applied() > taken)
    assert copy(db, barcode)["location"] == "MAIN"   # the snapshot was older than the check-in


def test_one_copys_events_apply_in_the_order_of_their_time(library_container, start_service, rpc, kiosk, db):
    """A return and the loan it ends, arriving together in reverse order, apply as they happened:
    both, no conflict (workers took them in arrival order before)."""
    kiosk_id, uri = kiosk
    library = rpc.library
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "测试", "committee": "C0101"}])
    rid, card = a_patron(db)
    _, [barcode] = a_title(library, copies=(kiosk_id,))
    t0 = NOW() - timedelta(minutes=10)
    library_container.stop()   # a backlog: both arrive at once when the library comes back
    publish_kiosk(uri, kiosk_id, "checkin", {"barcode": barcode}, at=t0 + timedelta(minutes=5), seq=2)
    publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": card}, at=t0, seq=1)
    start_service(LibraryService)
    history = wait_for(lambda: library.loan_history(rid))
    assert len(history) == 1 and history[0]["barcode"] == barcode
    assert copy(db, barcode)["status"] == "available"
    assert db("library").conflicts.find_one({"barcode": barcode}) is None


def test_a_checkout_that_arrives_after_its_return_joins_the_loan_history(library, at_kiosk, db):
    kiosk_id, uri = at_kiosk
    rid, card = a_patron(db)
    _, [barcode] = a_title(library, copies=(kiosk_id,))
    t0 = NOW() - timedelta(hours=3)
    publish_kiosk(uri, kiosk_id, "checkin", {"barcode": barcode}, at=t0 + timedelta(hours=1), seq=2)
    wait_for(lambda: copy(db, barcode)["version"] >= 2)
    late = publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": card}, at=t0, seq=1)
    conflict = wait_for(lambda: db("library").conflicts.find_one({"_id": conflict_id(kiosk_id, late)}))
    assert conflict["status"] == "resolved"
    [past] = wait_for(lambda: library.loan_history(rid))
    assert past["barcode"] == barcode and past["title"] and past["loaned_at"].startswith(t0.isoformat()[:16])
    assert past["returned_at"] > past["loaned_at"]


def test_conflicts_are_paged_for_staff_and_resolved_with_who_and_why(library, at_kiosk, db):
    kiosk_id, uri = at_kiosk
    _, [barcode] = a_title(library, copies=(kiosk_id,))
    sent = [publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": f"NOCARD{i}"},
                          at=NOW() - timedelta(minutes=30 - i), seq=i) for i in range(5)]
    ours = {conflict_id(kiosk_id, e) for e in sent}
    wait_for(lambda: len(list(db("library").conflicts.find({"barcode": barcode}))) == 5)
    seen, after, pages = [], None, 0
    while True:
        page = library.conflicts("open", after, 2, {"location": kiosk_id})   # this kiosk's: other tests' are there too
        assert len(page["conflicts"]) <= 2
        seen += [c["conflict_id"] for c in page["conflicts"] if c["conflict_id"] in ours]
        pages += 1
        if not page["next"]:
            break
        after = page["next"]
    assert seen == [conflict_id(kiosk_id, e) for e in sent] and pages >= 3   # every one, oldest first, once
    done = library.resolve_conflict(seen[0], {"action": "patron_contacted", "note": "读者卡号录入错误，已联系读者",
                                              "by": "librarian-1"})
    assert done["status"] == "resolved" and done["resolved"]["by"] == "librarian-1"
    assert [(e["by"], e["note"]) for e in done["trail"]] == [("librarian-1", "读者卡号录入错误，已联系读者")]
    assert seen[0] not in [c["conflict_id"] for c in library.conflicts("open", None, 200)["conflicts"]]
