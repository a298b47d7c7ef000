"""The kiosk simulation's story and oracle: pure, no broker."""
import random
from datetime import datetime, timedelta, timezone

from infra.kiosk.simulator import (AVAILABLE, ON_LOAN, CopyState, LogicalEvent, oracle, plan,
                                   replay_in_time_order)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
COPIES = {"B1": "K1", "B2": "K1", "B3": "K2"}


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def out(m, kiosk, barcode, card):
    return LogicalEvent(at(m), kiosk, "checkout", {"barcode": barcode, "card_number": card})


def back(m, kiosk, barcode):
    return LogicalEvent(at(m), kiosk, "checkin", {"barcode": barcode})


def test_untouched_copies_stay_on_their_home_shelf():
    assert oracle([], COPIES) == {b: CopyState(AVAILABLE, None, home) for b, home in COPIES.items()}


def test_time_order_wins_over_arrival_order():
    story = [out(1, "K1", "B1", "LC1"), back(2, "K2", "B1"), out(3, "K2", "B1", "LC2"),
             out(4, "K1", "B2", "LC1"), back(5, "K1", "B2")]
    want = {"B1": CopyState(ON_LOAN, "LC2", "K2"), "B2": CopyState(AVAILABLE, None, "K1"),
            "B3": CopyState(AVAILABLE, None, "K2")}
    assert oracle(story, COPIES) == want
    for seed in range(20):                     # any arrival order: the same end
        shuffled = story[:]
        random.Random(seed).shuffle(shuffled)
        assert oracle(shuffled, COPIES) == want
    assert replay_in_time_order(story, COPIES)[1:] == (5, 0)


def test_conflicts_and_repeats_change_nothing():
    story = [out(1, "K1", "B1", "LC1"), out(2, "K1", "B1", "LC2"),   # on loan to someone else
             out(3, "K1", "B1", "LC1"),                              # already theirs
             out(4, "K1", "NOPE", "LC1"),                            # unknown copy
             LogicalEvent(at(5), "K1", "heartbeat", {"interval_seconds": 60})]
    final, applied, conflicts = replay_in_time_order(story, COPIES)
    assert final["B1"] == CopyState(ON_LOAN, "LC1", "K1")
    assert (applied, conflicts) == (1, 2)


def test_a_planned_story_is_consistent_and_repeatable():
    kiosks, cards = ["K1", "K2", "K3"], ["LC1", "LC2", "LC3"]
    copies = {f"B{i}": kiosks[i % 3] for i in range(9)}
    story = plan(random.Random(7), kiosks, cards, copies, 300, T0)
    assert story == plan(random.Random(7), kiosks, cards, copies, 300, T0)
    assert [e.at for e in story] == sorted(e.at for e in story) and len({e.at for e in story}) == 300
    kinds = {e.kind for e in story}
    assert kinds == {"checkout", "checkin", "heartbeat"}
    # told in time order, every event of the story changes a copy: no conflict, nothing ignored
    final, applied, conflicts = replay_in_time_order(story, copies)
    assert conflicts == 0 and applied == sum(e.kind != "heartbeat" for e in story)
    # a copy is borrowed only where it stands
    where = dict(copies)
    for e in story:
        if e.kind == "checkout":
            assert where[e.data["barcode"]] == e.kiosk
        if e.kind in ("checkout", "checkin"):
            where[e.data["barcode"]] = e.kiosk
    assert {b: s.location for b, s in final.items()} == where


def test_every_loan_and_return_is_accounted_once():
    from infra.kiosk.simulator import Report, account, completed_loans
    story = [out(1, "K1", "B1", "LC1"), back(2, "K2", "B1"), LogicalEvent(at(3), "K1", "heartbeat", {}),
             out(4, "K1", "B2", "LC1")]
    report = Report(kiosk_ids=["K1", "K2"], events=story, oracle={}, patrons={}, ids=["e1", "e2", "e3", "e4"])
    copies = [{"_id": "B1", "inbox": ["kiosk:K1:e1", "late:kiosk:K2:e2"]}, {"_id": "B2", "inbox": []}]
    kept = [{"_id": "kiosk:K1:e4", "kind": "stale_checkout"}, {"_id": "kiosk:K1:e1", "kind": "implied_return"}]
    assert account(report, copies, kept) == (set(), [])                 # a heartbeat is not counted
    assert account(report, copies, kept[1:]) == ({"kiosk:K1:e4"}, [])   # one taken nowhere
    doubled = [*kept, {"_id": "kiosk:K2:e2", "kind": "unresolved"}]
    assert account(report, copies, doubled) == (set(), ["kiosk:K2:e2"])  # one taken twice
    assert completed_loans(story) == [("B1", "LC1", at(1))]              # B2's loan has not ended
