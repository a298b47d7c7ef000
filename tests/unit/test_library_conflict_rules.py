"""Conflicts as staff read them, free of I/O: the range a page's filters stand for (district
days, one key per combination of filters, cursors of other filters refused), masked cards, the
loans on the other side of an event, the audit trail and the console's filters."""
from datetime import datetime, timezone

import pytest

from contracts.rpc.library import ConflictFiltersV1
from gateway.console.forms import conflict_filters, resolution_form
from services.common.errors import BadInput
from services.library import conflicts


def conflict(status="open", kind="stale_checkout", where="K-001", at="2026-12-06T16:00:00+00:00", **extra):
    return {"_id": f"kiosk:{where}:e1", "status": status, "kind": kind, "kiosk_id": where, "at": at,
            "barcode": "B1", "reason": "unknown card LC000000012345",
            "event": {"id": "e1", "type": "cn.library.kiosk.checkout.v1", "time": at,
                      "data": {"barcode": "B1", "card_number": "LC000000012345", "location": "MAIN"}}, **extra}


def in_range(r: conflicts.PageRange, c: dict) -> bool:
    key = conflicts.keys(c)[r.field]
    return r.low <= key < r.high


def test_a_page_is_one_range_of_the_key_its_filters_have():
    day = ConflictFiltersV1(since="2026-12-07", until="2026-12-07")
    r = conflicts.page_range("open", day)
    assert r.field == "page_key"
    # the district's 2026-12-07 runs from 16:00 UTC the day before to 16:00 UTC that day
    assert in_range(r, conflict(at="2026-12-06T16:00:00+00:00"))
    assert in_range(r, conflict(at="2026-12-07T15:59:59.9+00:00"))
    assert not in_range(r, conflict(at="2026-12-06T15:59:59.999+00:00"))
    assert not in_range(r, conflict(at="2026-12-07T16:00:00+00:00"))
    assert not in_range(r, conflict(status="resolved"))
    both = conflicts.page_range("open", ConflictFiltersV1(kind="stale_checkout", location="K-001"))
    assert both.field == "kind_place_key" and in_range(both, conflict())
    assert not in_range(both, conflict(kind="implied_return")) and not in_range(both, conflict(where="K-0011"))
    assert conflicts.page_range("resolved", ConflictFiltersV1(kind="unresolved")).field == "kind_key"
    assert conflicts.page_range("open", ConflictFiltersV1(location="MAIN")).field == "place_key"


def test_a_self_check_machine_stands_where_its_location_is():
    machine = conflict(where="sip2:sc-main")
    assert conflicts.place(machine) == "MAIN"
    assert in_range(conflicts.page_range("open", ConflictFiltersV1(location="MAIN")), machine)


def test_refused_ranges_and_cursors():
    with pytest.raises(BadInput):
        conflicts.page_range("open", ConflictFiltersV1(since="2026-12-08", until="2026-12-07"))
    r = conflicts.page_range("open", ConflictFiltersV1(location="K-001"))
    assert r.query(None) == {"place_key": {"$gte": "open|K-001|", "$lt": "open|K-001|\uffff"}}
    cursor = conflicts.keys(conflict())["place_key"]
    assert r.query(cursor) == {"place_key": {"$gt": cursor, "$lt": "open|K-001|\uffff"}}
    for other in (conflicts.keys(conflict())["page_key"], "resolved|K-001|x", "open|K-002|x", ""):
        with pytest.raises(BadInput):
            r.query(other)


def test_cards_are_masked_wherever_a_conflict_shows_them():
    assert conflicts.mask_card("LC000000012345") == "LC********2345"
    assert conflicts.mask_card("NOCARD") == "******" and conflicts.mask_card(None) is None
    shown = conflicts.view(conflict())
    assert shown["event"]["data"]["card_number"] == "LC********2345"
    assert shown["reason"] == "unknown card LC********2345" and "LC000000012345" not in str(shown)


def test_the_loans_around_an_event_and_which_is_the_same_card():
    cards = {"p1": "LC000000000001", "p2": "LC000000000002"}
    loans = [{"loan_id": f"l{i}", "patron": "p1" if i % 2 else "p2", "loaned_at": f"2026-12-0{i}T00:00:00+00:00",
              "returned_at": f"2026-12-0{i}T12:00:00+00:00"} for i in range(1, 8)]
    sides = [conflicts.loan_side(loan, cards, "LC000000000001") for loan in loans]
    sides.append(conflicts.loan_side({"loan_id": "now", "patron": "p2", "loaned_at": "2026-12-09T00:00:00+00:00"},
                                     cards, "LC000000000001", current=True))
    around = conflicts.around("2026-12-04T06:00:00+00:00", sides)
    assert [(s["loan_id"], s["relation"]) for s in around] == [
        ("l2", "before"), ("l3", "before"), ("l4", "during"), ("l5", "after"), ("l6", "after")]
    assert [s["same_card"] for s in around] == [False, True, False, True, False]
    assert around[2]["card_masked"] == "LC********0002" and "p1" not in str(around)
    assert [s["relation"] for s in conflicts.around("2026-12-09T06:00:00+00:00", sides)][-1] == "during"


def test_the_audit_trail_reads_old_lines_and_new_entries_in_time_order():
    entry = conflicts.trail_entry(datetime(2026, 12, 7, 3, tzinfo=timezone.utc), "lib-1", "void", "作废")
    [(key, value)] = entry.items()
    old = conflict(audit=["2026-12-06T01:00:00+00:00 system: a later check-in ended this loan"],
                   trail={key.split(".", 1)[1]: value})
    assert [(e["by"], e["action"], e["note"]) for e in conflicts.trail_view(old)] == [
        ("system", None, "a later check-in ended this loan"), ("lib-1", "void", "作废")]


def test_the_consoles_filters_refuse_what_the_page_never_offers():
    assert conflict_filters({"status": "resolved", "kind": "", "location": "K-001"}) == (
        {"status": "resolved", "location": "K-001"}, None)
    for bad in ({"status": "closed"}, {"kind": "lost"}, {"location": "K 1"}, {"since": "7/12/2026"}):
        assert conflict_filters(bad)[1], bad
    assert resolution_form({"action": "void", "note": " 作废 "}) == ({"action": "void", "note": "作废"}, None)
    assert resolution_form({"action": "void", "note": "  "})[1] and resolution_form({"action": "x", "note": "y"})[1]
