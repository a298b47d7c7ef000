"""Kiosk events as kiosks publish them (their own broker users, raw kombu), applied by the
library service on the real store and broker: duplicates and reordering, conflicts kept for
staff, senders checked, faults, dead letters replayed, late checkouts."""
import json
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from kombu import Connection

from services.library.service import LibraryService
from support import bind_probe_queue, drain, wait_for
from support.library import (a_patron, a_title, conflict_id, library, publish_kiosk,  # noqa: F401 - a fixture
                             refused)


def test_kiosk_events_twice_and_out_of_order_end_in_the_right_state(library, db, kiosk):
    kiosk_id, uri = kiosk
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "测试自助图书馆", "committee": "C0101"}])
    rid, card = a_patron(db)
    _, [b1, b2] = a_title(library, copies=(kiosk_id, kiosk_id))
    t0 = datetime.now(timezone.utc) - timedelta(hours=3)   # what the kiosk did while offline
    out1 = publish_kiosk(uri, kiosk_id, "checkout", {"barcode": b1, "card_number": card}, at=t0, seq=1)
    publish_kiosk(uri, kiosk_id, "checkout", {"barcode": b1, "card_number": card}, at=t0, seq=1,
                  event_id=out1["id"])                                     # the same event again
    # b2: the return arrives before the checkout it ends
    publish_kiosk(uri, kiosk_id, "checkin", {"barcode": b2}, at=t0 + timedelta(minutes=30), seq=3)
    # (applied before the checkout comes: events of a copy that come together are put in order of time)
    wait_for(lambda: db("library").copies.find_one({"_id": b2})["version"] == 2)
    publish_kiosk(uri, kiosk_id, "checkout", {"barcode": b2, "card_number": card}, at=t0 + timedelta(minutes=5),
                  seq=2)
    publish_kiosk(uri, kiosk_id, "heartbeat", {"interval_seconds": 60}, seq=4)
    wait_for(lambda: any(k["kiosk_id"] == kiosk_id and k["status"] == "online" for k in library.kiosk_status()))
    wait_for(lambda: db("library").copies.find_one({"_id": b1})["status"] == "on_loan")
    eventlet.sleep(0.5)
    c1, c2 = db("library").copies.find_one({"_id": b1}), db("library").copies.find_one({"_id": b2})
    assert c1["loan"]["patron"] == rid and c1["version"] == 2     # applied once
    assert c2["status"] == "available" and c2["version"] == 2     # the late checkout changed nothing
    # ... and is kept for staff, settled: the return that ended it came first
    note = wait_for(lambda: db("library").conflicts.find_one({"barcode": b2}))
    assert (note["kind"], note["status"], note["event"]["data"]["card_number"]) == ("stale_checkout", "resolved", card)


def test_kiosk_conflicts_are_kept_for_staff(library, db, kiosk):
    kiosk_id, uri = kiosk
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "测试", "committee": "C0101"}])
    holder, _ = a_patron(db)
    borrower, card = a_patron(db)
    _, [barcode, held] = a_title(library, copies=(kiosk_id, "MAIN"))
    # lent at the kiosk while we still think someone else has it: their return is implied
    library.checkout(barcode, holder, "MAIN")
    event = publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": card})
    note = wait_for(lambda: db("library").conflicts.find_one({"_id": conflict_id(kiosk_id, event)}))
    assert note["kind"] == "implied_return" and note["status"] == "open"
    copy = db("library").copies.find_one({"_id": barcode})
    assert copy["loan"]["patron"] == borrower
    # the holder's own return, scanned before the kiosk lent it, arrives late: the note is settled
    returned_at = datetime.now(timezone.utc) - timedelta(seconds=30)
    publish_kiosk(uri, kiosk_id, "checkin", {"barcode": barcode}, at=returned_at)
    wait_for(lambda: db("library").conflicts.find_one({"_id": conflict_id(kiosk_id, event)})["status"] == "resolved")
    assert db("library").copies.find_one({"_id": barcode})["loan"]["patron"] == borrower
    # a copy waiting on the hold shelf for another patron cannot be lent: kept for staff, unchanged
    waiting, _ = a_patron(db)
    library.place_hold(waiting, db("library").copies.find_one({"_id": held})["title_id"], "MAIN")
    stolen = publish_kiosk(uri, kiosk_id, "checkout", {"barcode": held, "card_number": card})
    conflict = wait_for(lambda: db("library").conflicts.find_one({"_id": conflict_id(kiosk_id, stolen)}))
    assert conflict["kind"] == "unresolved" and "hold" in conflict["reason"]
    assert db("library").copies.find_one({"_id": held})["hold"]["patron"] == waiting


def test_a_kiosk_cannot_speak_for_another(library, db, kiosk, settings):
    import amqp
    kiosk_id, uri = kiosk
    # the broker refuses another kiosk's routing key for this user...
    with pytest.raises(amqp.exceptions.AccessRefused):
        publish_kiosk(uri, "K-001", "heartbeat", {"interval_seconds": 60}, user=f"kiosk-{kiosk_id}")
    # ...and a user_id that is not the signed-in user
    with pytest.raises(amqp.exceptions.PreconditionFailed):
        publish_kiosk(uri, kiosk_id, "heartbeat", {"interval_seconds": 60}, user="kiosk-K-001")
    # ...nor the default exchange, where services re-publish with the origin headers they trust
    with pytest.raises(amqp.exceptions.AccessRefused):
        with Connection(uri, transport_options={"confirm_publish": True}) as conn:
            conn.Producer().publish("{}", exchange="", routing_key="evt-kiosk-events--library.on_kiosk_event",
                                    headers={"x-original-user-id": "kiosk-K-001"}, delivery_mode=2)
    # a message naming another kiosk in its envelope is dead-lettered, not applied
    publish_kiosk(uri, kiosk_id, "heartbeat", {"interval_seconds": 60}, source="/kiosks/K-001")
    reasons = []   # (what earlier tests left there may come first)
    wait_for(lambda: reasons.extend(m.headers["x-dead-letter-reason"] for m in drain(
        settings.amqp_uri, "dlq.library", expect=0, timeout=0.2)) or any("does not name kiosk" in r for r in reasons))
    assert not any(k["kiosk_id"] == "K-001" for k in library.kiosk_status())


def test_kiosk_fault_is_published_once(library, db, kiosk, settings):
    kiosk_id, uri = kiosk
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "测试", "committee": "C0201"}])
    probe = bind_probe_queue(settings.amqp_uri, "library.events", "cn.library.kiosk.fault.v1")
    event = publish_kiosk(uri, kiosk_id, "fault", {"fault_code": "PRINTER_JAM", "description": "卡纸"})
    publish_kiosk(uri, kiosk_id, "fault", {"fault_code": "PRINTER_JAM", "description": "卡纸"}, event_id=event["id"])
    [fault] = drain(settings.amqp_uri, probe)
    body = json.loads(fault.body)
    assert body["data"]["committee"] == "C0201" and body["id"] == f"fault-{kiosk_id}-{event['id']}"
    eventlet.sleep(0.5)
    assert drain(settings.amqp_uri, probe, expect=0) == []
    # the jammed printer reports again a minute later (a new event): counted, no second case
    publish_kiosk(uri, kiosk_id, "fault", {"fault_code": "PRINTER_JAM", "description": "卡纸"},
                  at=datetime.now(timezone.utc) + timedelta(minutes=1))
    wait_for(lambda: [f for f in next(k for k in library.kiosk_status() if k["kiosk_id"] == kiosk_id)["open_faults"]
                      if f["reports"] == 2])
    assert drain(settings.amqp_uri, probe, expect=0, timeout=1) == []
    # a different fault opens its own case; once repaired, the printer jamming again opens a new one
    publish_kiosk(uri, kiosk_id, "fault", {"fault_code": "DOOR_SENSOR"})
    assert json.loads(drain(settings.amqp_uri, probe)[0].body)["data"]["fault_code"] == "DOOR_SENSOR"
    assert library.clear_kiosk_fault(kiosk_id, "PRINTER_JAM", "tech-1") == {"kiosk_id": kiosk_id,
                                                                            "cleared": "PRINTER_JAM"}
    assert refused(lambda: library.clear_kiosk_fault(kiosk_id, "PRINTER_JAM", "tech-1")).exc_type == "NotFound"
    assert refused(lambda: library.clear_kiosk_fault(kiosk_id, "$where", "x")).exc_type == "BadInput"
    again = publish_kiosk(uri, kiosk_id, "fault", {"fault_code": "PRINTER_JAM"})
    assert json.loads(drain(settings.amqp_uri, probe)[0].body)["id"] == f"fault-{kiosk_id}-{again['id']}"
    codes = [f["code"] for f in next(k for k in library.kiosk_status() if k["kiosk_id"] == kiosk_id)["open_faults"]]
    assert codes == ["DOOR_SENSOR", "PRINTER_JAM"]


def test_a_dead_lettered_kiosk_event_is_applied_when_replayed(start_service, service_config, rpc, db, kiosk,
                                                             settings):
    """A kiosk event that failed for a cause since fixed (here the store was away) is sent back by
    `suite dlq replay` and applied: the replay keeps the broker-validated sender it first came with."""
    from support import free_port
    from infra import dlq

    kiosk_id, uri = kiosk
    storeless = start_service(LibraryService, service_config(
        "library", MONGO_URI=f"mongodb://127.0.0.1:{free_port()}/", STORE_TIMEOUT_MS=300, EVENT_MAX_RETRIES=0))
    event = publish_kiosk(uri, kiosk_id, "heartbeat", {"interval_seconds": 60})

    def parked():
        return [d for d in dlq.peek(settings.amqp_uri, "library")
                if event["id"].encode() in d["prefix"]]
    dead = wait_for(parked)
    assert "StoreUnavailable" in dead[0]["reason"] or "Timeout" in dead[0]["reason"], dead[0]["reason"]
    storeless.stop()

    start_service(LibraryService)           # the store is back
    assert dlq.replay(settings.amqp_uri, "library") >= 1
    wait_for(lambda: any(k["kiosk_id"] == kiosk_id and k["status"] == "online" for k in rpc.library.kiosk_status()))
    assert parked() == []


def test_a_late_kiosk_checkout_is_kept_for_staff_until_its_return_explains_it(library, db, kiosk):
    kiosk_id, uri = kiosk
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "测试", "committee": "C0101"}])
    desk_patron, _ = a_patron(db)
    kiosk_patron, card = a_patron(db)
    _, [barcode] = a_title(library, copies=(kiosk_id,))
    t0 = datetime.now(timezone.utc) - timedelta(hours=2)
    # the kiosk lent it while offline; meanwhile the item was lent at a desk (it was back on the shelf)
    library.checkout(barcode, desk_patron, "MAIN")
    late = publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": card}, at=t0)
    note = wait_for(lambda: db("library").conflicts.find_one({"_id": conflict_id(kiosk_id, late)}))
    assert (note["kind"], note["status"]) == ("stale_checkout", "open")
    listed = library.conflicts("open", None, 200, {"location": kiosk_id})["conflicts"]
    assert note["_id"] in [c["conflict_id"] for c in listed]
    assert refused(lambda: library.conflicts("opne")).exc_type == "BadInput"   # not an empty list
    copy = db("library").copies.find_one({"_id": barcode})
    assert copy["loan"]["patron"] == desk_patron                  # the newer fact stands
    # the kiosk's return of that loan arrives, late too: the note is settled, the copy unchanged
    publish_kiosk(uri, kiosk_id, "checkin", {"barcode": barcode}, at=t0 + timedelta(minutes=40))
    wait_for(lambda: db("library").conflicts.find_one({"_id": conflict_id(kiosk_id, late)})["status"] == "resolved")
    assert db("library").copies.find_one({"_id": barcode})["version"] == copy["version"]


# ---- recalls ------------------------------------------------------------------------------
