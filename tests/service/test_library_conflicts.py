"""Conflicts for staff at the library service: every one reached page by page whatever their
number (no cap), filtered by kind, location and the district's days; one opened with both
sides (the event that could not be applied, the copy's loans around it) and the patrons'
cards masked; resolved once with who, when, what and why; and bad input refused with a clear
error, changing nothing. Many conflicts are recorded by the code kiosks and self-check
machines record them with (``actions.record_conflict``), on the service's own store; an implied
return is made by a real kiosk's event."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.common import clock, outbox
from services.library import actions, kiosks_store
from support import wait_for
from support.library import a_patron, a_title, conflict_id, library, publish_kiosk, refused  # noqa: F401 - a fixture

KINDS = ("unresolved", "stale_checkout", "implied_return")
DAY0 = datetime(2026, 11, 2, 0, 30, tzinfo=clock.DISTRICT_TIME)   # 00:30 in the district: the day before in UTC


@pytest.fixture
def at_kiosk(library):
    kiosk_id = "K" + uuid.uuid4().hex[:8]
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "测试自助图书馆", "committee": "C0101"}])
    return kiosk_id


def record(db, kiosk_id, i, kind, at, card="LC000000012345", barcode=None):
    event = {"id": f"e-{kiosk_id}-{i}", "type": "cn.library.kiosk.checkout.v1", "time": at.isoformat(),
             "data": {"barcode": barcode or f"B-{kiosk_id}-{i}", "card_number": card}}
    actions.record_conflict(db("library"), where=kiosk_id, barcode=event["data"]["barcode"],
                            reason=f"unknown card {card}", event=event, at=at, kind=kind,
                            conflict_id=f"kiosk:{kiosk_id}:{event['id']}")
    return f"kiosk:{kiosk_id}:{event['id']}", kind, at


def stored(db, cid):
    """A conflict as stored, without its outbox (the relay publishes it whenever it likes)."""
    return {k: v for k, v in db("library").conflicts.find_one({"_id": cid}).items() if k not in outbox.FIELDS}


def every_page(library, status="open", size=200, **filters):
    seen, after, pages = [], None, 0
    while True:
        page = library.conflicts(status, after, size, filters)
        assert len(page["conflicts"]) <= size
        seen += page["conflicts"]
        pages += 1
        if not page["next"]:
            return seen, pages
        after = page["next"]


def test_every_conflict_is_reached_page_by_page_and_filters_select_exactly(library, at_kiosk, db):
    # 260 conflicts of one kiosk over three district days, every kind; and some at another kiosk
    seeded = [record(db, at_kiosk, i, KINDS[i % 3], DAY0 + timedelta(days=i % 3, minutes=i)) for i in range(260)]
    other = "K" + uuid.uuid4().hex[:8]
    library.upsert_locations([{"code": other, "kind": "kiosk", "name": "另一台", "committee": "C0101"}])
    for i in range(5):
        record(db, other, i, "stale_checkout", DAY0 + timedelta(minutes=i))
    in_order = [cid for cid, _, at in sorted(seeded, key=lambda s: (s[2], s[0]))]

    mine, pages = every_page(library, location=at_kiosk)
    assert [c["conflict_id"] for c in mine] == in_order and pages == 2      # past 200, oldest first, each once
    mine, pages = every_page(library, size=7, location=at_kiosk)
    assert [c["conflict_id"] for c in mine] == in_order and pages == 38

    # kind and a range of district days (the first day is 2026-11-02 in the district, 11-01 in UTC)
    day2 = DAY0.date() + timedelta(days=1)
    got, _ = every_page(library, size=50, location=at_kiosk, kind="stale_checkout", since=str(day2), until=str(day2))
    expected = [cid for cid, kind, at in sorted(seeded, key=lambda s: (s[2], s[0]))
                if kind == "stale_checkout" and clock.local(at).date() == day2]
    assert [c["conflict_id"] for c in got] == expected and len(expected) == 87
    got, _ = every_page(library, kind="implied_return", since=str(DAY0.date()), until=str(DAY0.date()))
    assert {c["conflict_id"] for c in got if c["place"] == at_kiosk} == {
        cid for cid, kind, at in seeded if kind == "implied_return" and clock.local(at).date() == DAY0.date()}
    assert all(c["kind"] == "implied_return" for c in got)
    assert every_page(library, location=other, kind="implied_return")[0] == []
    # the card is masked wherever a conflict shows it
    assert mine[0]["event"]["data"]["card_number"] == "LC********2345" and "LC000000012345" not in str(mine)

    # resolved ones leave the open pages for the resolved ones, keys and all
    done = library.resolve_conflict(in_order[0], {"action": "void", "note": "读者卡号录入错误，已作废", "by": "lib-1"})
    assert done["status"] == "resolved"
    assert in_order[0] not in [c["conflict_id"] for c in every_page(library, location=at_kiosk)[0]]
    resolved, _ = every_page(library, "resolved", location=at_kiosk)
    assert [c["conflict_id"] for c in resolved] == [in_order[0]]


def test_bad_input_gets_a_clear_error_and_changes_nothing(library, at_kiosk, db):
    cid, _, _ = record(db, at_kiosk, 1, "stale_checkout", clock.now() - timedelta(hours=1))
    before = stored(db, cid)

    def code(call):
        return refused(call).exc_type
    assert code(lambda: library.conflicts("open", None, 20, {"kind": "lost_card"})) == "BadInput"
    assert code(lambda: library.conflicts("open", None, 20, {"colour": "red"})) == "BadInput"
    assert code(lambda: library.conflicts("open", None, 20, {"since": "2026-02-30"})) == "BadInput"
    backwards = {"since": "2026-12-02", "until": "2026-12-01"}
    assert code(lambda: library.conflicts("open", None, 20, backwards)) == "BadInput"
    assert code(lambda: library.conflicts("open", None, 20, {"location": "NOWHERE"})) == "NotFound"
    assert code(lambda: library.conflicts("open", None, 20, {"location": "A|B"})) == "BadInput"
    assert code(lambda: library.conflicts("open", None, "20")) == "BadInput"
    # a cursor of other filters would page through another list as if it were this one
    cursor = library.conflicts("open", None, 1, {"location": at_kiosk})["conflicts"][0]
    assert code(lambda: library.conflicts("open", f"open|stale_checkout|{cursor['at']}", 1, {"location": at_kiosk})) \
        == "BadInput"

    resolution = {"action": "confirmed", "note": "已核实", "by": "lib-1"}
    assert code(lambda: library.resolve_conflict("kiosk:nowhere:none", resolution)) == "NotFound"
    assert code(lambda: library.resolve_conflict(cid, {**resolution, "note": "  "})) == "BadInput"
    assert code(lambda: library.resolve_conflict(cid, {**resolution, "action": "forgive"})) == "BadInput"
    assert code(lambda: library.resolve_conflict(cid, {"action": "confirmed", "note": "已核实"})) == "BadInput"
    assert code(lambda: library.resolve_conflict(cid, "已核实")) == "BadInput"
    assert code(lambda: library.conflict("kiosk:nowhere:none")) == "NotFound"
    assert stored(db, cid) == before

    first = library.resolve_conflict(cid, resolution)
    assert [(e["by"], e["action"], e["note"]) for e in first["trail"]] == [("lib-1", "confirmed", "已核实")]
    assert first["resolved"]["by"] == "lib-1" and first["resolved"]["at"]
    settled = stored(db, cid)
    assert code(lambda: library.resolve_conflict(cid, {**resolution, "note": "再来一次", "by": "lib-2"})) == "Conflict"
    assert stored(db, cid) == settled
    assert library.conflict(cid)["trail"] == first["trail"]


def test_a_conflict_opens_with_both_sides_and_masked_cards(library, at_kiosk, db):
    desk_patron, desk_card = a_patron(db)
    kiosk_patron, kiosk_card = a_patron(db)
    _, [barcode] = a_title(library, copies=(at_kiosk,))
    library.checkout(barcode, desk_patron, "MAIN")
    library.checkin(barcode, "MAIN")
    library.checkout(barcode, desk_patron, "MAIN")           # lent again: the current loan
    [ended] = list(db("library").loan_history.find({"barcode": barcode}))
    # the kiosk lent it offline while the first desk loan ran (its event came after that loan ended)
    lent_at = datetime.fromisoformat(ended["loaned_at"]) + (
        datetime.fromisoformat(ended["returned_at"]) - datetime.fromisoformat(ended["loaned_at"])) / 2
    cid, _, _ = record(db, at_kiosk, 9, "stale_checkout", lent_at, card=kiosk_card, barcode=barcode)

    shown = library.conflict(cid)
    assert shown["event"]["data"]["card_number"] == kiosk_card[:2] + "*" * 8 + kiosk_card[-4:]
    assert shown["title"] == "三体 第二部" and shown["copy"]["status"] == "on_loan"
    sides = [(loan["relation"], loan["current"], loan["same_card"]) for loan in shown["loans"]]
    assert sides == [("during", False, False), ("after", True, False)]
    assert shown["loans"][0]["loan_id"] == ended["_id"]
    assert shown["loans"][0]["card_masked"] == desk_card[:2] + "*" * 8 + desk_card[-4:]
    assert kiosk_card not in str(shown) and desk_card not in str(shown) and desk_patron not in str(shown)


def test_kiosk_health_counts_each_kiosks_open_conflicts(library, at_kiosk, db):
    kiosks_store.seen(db("library"), at_kiosk, clock.now(), 60)
    ids = [record(db, at_kiosk, i, "unresolved", clock.now() - timedelta(minutes=i))[0] for i in range(3)]
    health = {k["kiosk_id"]: k for k in library.kiosk_status()}
    assert health[at_kiosk]["open_conflicts"] == 3 and health[at_kiosk]["status"] == "online"
    library.resolve_conflict(ids[0], {"action": "patron_contacted", "note": "已联系读者", "by": "lib-1"})
    assert {k["kiosk_id"]: k for k in library.kiosk_status()}[at_kiosk]["open_conflicts"] == 2
    assert datetime.fromisoformat(health[at_kiosk]["last_seen"]) <= datetime.now(timezone.utc)


def test_an_implied_return_opens_beside_the_loan_it_closed_and_the_one_it_made(library, db, kiosk):
    kiosk_id, uri = kiosk
    library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "测试自助图书馆", "committee": "C0101"}])
    holder, holder_card = a_patron(db)
    _, kiosk_card = a_patron(db)
    _, [barcode] = a_title(library, copies=(kiosk_id,))
    library.checkout(barcode, holder, "MAIN")
    # the holder's return never reached us; a kiosk lends the copy to another patron later
    lent = publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": kiosk_card})
    cid = conflict_id(kiosk_id, lent)
    wait_for(lambda: db("library").conflicts.find_one({"_id": cid}))
    shown = library.conflict(cid)
    assert (shown["kind"], shown["status"], shown["copy"]["status"]) == ("implied_return", "open", "on_loan")
    closed, made = shown["loans"]
    assert (closed["relation"], closed["implied_return"], closed["same_card"], closed["current"]) == (
        "before", True, False, False)
    assert closed["card_masked"] == holder_card[:2] + "*" * 8 + holder_card[-4:]
    assert (made["relation"], made["same_card"], made["current"]) == ("during", True, True)
    assert holder_card not in str(shown) and kiosk_card not in str(shown)
