"""Kiosk events applied a batch at a time (``kiosk_batch``) on the real store: the same end
state as one event at a time, each copy's events in order of their time whatever order they
came in, a batch delivered again changes nothing (also when its process died before the loan
history was written), and one event that fails or is refused leaves the rest applied."""
import random
import uuid
from datetime import datetime, timedelta, timezone

from services.common import clock, outbox
from services.common.inbox import validate_event
from services.library import copies_store, kiosk_batch, kiosk_events
from support import drain, wait_for
from support.library import a_patron, a_title, library, publish_kiosk  # noqa: F401 - a fixture

KIOSK_TYPES = ("cn.library.kiosk.checkout.v1", "cn.library.kiosk.checkin.v1", "cn.library.kiosk.heartbeat.v1")


def _event(kiosk_id: str, kind: str, data: dict, at: datetime, seq: int) -> dict:
    body = {"specversion": "1.0", "id": uuid.uuid4().hex, "source": f"/kiosks/{kiosk_id}",
            "type": f"cn.library.kiosk.{kind}.v1", "time": at.isoformat(), "sequence": seq, "data": data}
    event = validate_event(body, KIOSK_TYPES)
    event[kiosk_events.RECEIVED] = clock.now().isoformat()
    return event


def _story(kiosk_id: str, barcodes: list[str], cards: list[str]) -> list[dict]:
    """Per copy: lent, returned, lent to another; one copy's return told twice."""
    t0 = datetime.now(timezone.utc) - timedelta(hours=2)
    out, seq = [], 0
    for n, barcode in enumerate(barcodes):
        for step, (kind, card) in enumerate((("checkout", cards[0]), ("checkin", None), ("checkout", cards[1]))):
            seq += 1
            data = {"barcode": barcode, **({"card_number": card} if card else {})}
            out.append(_event(kiosk_id, kind, data, t0 + timedelta(minutes=10 * step + n), seq))
    out.append(dict(out[1]))   # the same return again
    return out


def _state(db, barcode: str) -> tuple:
    c = db("library").copies.find_one({"_id": barcode})
    history = db("library").loan_history.count_documents({"barcode": barcode})
    return (c["status"], (c.get("loan") or {}).get("patron"), c["version"], c["location"], len(c.get("inbox") or []),
            history)


def test_a_batch_ends_as_one_at_a_time_in_order_once_and_again_changes_nothing(library, db, monkeypatch):
    kiosk_id = "KB" + uuid.uuid4().hex[:6]
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "批量", "committee": "C0101"}])
    cards = [a_patron(db)[1], a_patron(db)[1]]
    patrons = [db("library").patrons.find_one({"card_number": c})["_id"] for c in cards]
    _, one = a_title(library, copies=(kiosk_id,) * 4)
    _, batch = a_title(library, copies=(kiosk_id,) * 4)

    for event in _story(kiosk_id, one, cards):    # one at a time, in order of their time
        kiosk_events.apply(db("library"), event)
    story = _story(kiosk_id, batch, cards)
    shuffled = random.Random(7).sample(story, len(story))    # came in any order: applied in order of time
    lib = db("library")
    one_at_a_time = []
    monkeypatch.setattr(kiosk_events, "apply", lambda d, e, apply=kiosk_events.apply: one_at_a_time.append(e) or apply(d, e))
    # written as another process's: the library service runs in this one, and its relay would take them at once
    monkeypatch.setattr(outbox, "THIS_PROCESS", "another-process")
    outcomes = kiosk_batch.apply(lib, shuffled)
    assert one_at_a_time == []   # all in memory (the duplicate too: its first is in the batch)
    assert sorted(outcomes) == ["applied"] * 12 + ["duplicate"]
    written = lib.copies.find_one({"_id": batch[0]})["outbox"].values()   # before any relay took them
    assert sorted(e["type"].rsplit(".", 2)[-2] for e in written) == ["checked_in", "checked_out", "checked_out"]
    for a, b in zip(one, batch):
        assert _state(db, a) == _state(db, b)
        assert _state(db, b)[:3] == ("on_loan", patrons[1], 4)

    # delivered again, after a process died between the copies' write and the loan history's
    before = {b: _state(db, b) for b in batch}
    gone = list(lib.loan_history.find({"barcode": batch[0]}))
    lib.loan_history.delete_many({"barcode": batch[0]})
    lib.copies.update_one({"_id": batch[0]}, {"$set": {f"{copies_store.PENDING_HISTORY}.{h['loan_id']}": {
        k: v for k, v in h.items() if k not in ("_id", "barcode", "title_id")} for h in gone},
        "$inc": {copies_store.PENDING_HISTORY_COUNT: len(gone)}})
    again = kiosk_batch.apply(lib, shuffled)
    assert again == ["duplicate"] * len(shuffled)
    assert {b: _state(db, b) for b in batch} == before
    assert not lib.copies.find_one({"_id": batch[0]}).get(copies_store.PENDING_HISTORY)


def test_one_failing_event_leaves_the_rest_of_its_batch_applied(library, db):
    kiosk_id, nowhere = "KB" + uuid.uuid4().hex[:6], "KX" + uuid.uuid4().hex[:6]
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "批量", "committee": "C0101"}])
    card = a_patron(db)[1]
    _, [b1, b2] = a_title(library, copies=(kiosk_id, kiosk_id))
    at = datetime.now(timezone.utc) - timedelta(minutes=5)
    events = [_event(kiosk_id, "checkout", {"barcode": b1, "card_number": card}, at, 1),
              _event(nowhere, "checkout", {"barcode": b2, "card_number": card}, at, 1),   # no such location
              _event(kiosk_id, "checkout", {"barcode": b2, "card_number": card}, at, 2)]
    outcomes = kiosk_batch.apply(db("library"), events)
    assert outcomes[0] == outcomes[2] == "applied"
    assert "unknown library location" in str(outcomes[1])
    assert db("library").copies.find_one({"_id": b2})["version"] == 2


def test_a_refused_message_in_a_burst_is_dead_lettered_with_its_reason_and_the_rest_applied(
        library, db, kiosk, settings):
    kiosk_id, uri = kiosk
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "批量", "committee": "C0101"}])
    card = a_patron(db)[1]
    _, barcodes = a_title(library, copies=(kiosk_id,) * 3)
    for n, barcode in enumerate(barcodes):
        publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": card}, seq=2 * n + 1)
        if n == 1:
            publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode}, seq=2 * n + 2)   # no card
    wait_for(lambda: all(db("library").copies.find_one({"_id": b})["status"] == "on_loan" for b in barcodes))
    reasons = []   # (what earlier tests left there may come first)
    wait_for(lambda: reasons.extend(m.headers["x-dead-letter-reason"] for m in drain(
        settings.amqp_uri, "dlq.library", expect=0, timeout=0.2)) or any("card_number" in r for r in reasons))
