"""The library service with the real store and broker: catalogue, circulation, holds, blocks,
recalls and loan rules (kiosk events: test_library_kiosks.py)."""
import json
import uuid
from datetime import timedelta

import eventlet
import pytest
from nameko.exceptions import RemoteError

from services.common import clock
from services.common.storage import due_key
from support import bind_probe_queue, drain, wait_for
from support.library import a_patron, a_title, due_tomorrow, library, refused  # noqa: F401 - library is a fixture


def test_catalogue_search_by_chinese_words_with_availability(library):
    record_id, barcodes = a_title(library, copies=("MAIN", "K-001"), title="银河帝国：基地")
    hits = library.search("帝国")
    hit = next(h for h in hits if h["title_id"] == record_id)
    assert {a["location"]: a["available"] for a in hit["availability"]} == {"K-001": 1, "MAIN": 1}
    assert record_id not in [h["title_id"] for h in library.search("帝王")]
    again = library.import_catalogue([{"record_id": record_id, "title": "银河帝国：基地", "copies": [
        {"barcode": barcodes[0], "home_location": "MAIN"}]}])
    assert again["stored"] == 1  # idempotent by record id
    bad = library.import_catalogue([{"record_id": "x y", "title": ""}, {"record_id": "ok-1", "title": "t",
                                                                       "copies": [{"barcode": "Z1", "home_location": "NOWHERE"}]}])
    assert bad["stored"] == 0 and len(bad["rejected"]) == 2
    # a barcode stays on its title: another title claiming it, in the store or earlier in the batch, is rejected
    taken = library.import_catalogue([
        {"record_id": "other-" + record_id, "title": "别的书", "copies": [{"barcode": barcodes[0], "home_location": "MAIN"}]},
        {"record_id": "new-" + record_id, "title": "新书", "copies": [{"barcode": "N-" + record_id, "home_location": "MAIN"}]},
        {"record_id": "dup-" + record_id, "title": "重复", "copies": [{"barcode": "N-" + record_id, "home_location": "MAIN"}]}])
    assert taken["stored"] == 1 and [r["index"] for r in taken["rejected"]] == [0, 2]
    assert "another title" in taken["rejected"][0]["reason"]
    assert library.search("别的书") == [] and library.search("重复") == []
    for junk in ({"text": ["帝国"]}, {"isbn": 9787536692930}, {"text": "帝国", "limit": "20"}):   # were bare errors
        assert refused(lambda: library.search(**junk)).exc_type == "BadInput"


def test_resident_overview_answers_each_part_asked_as_its_own_rpc_does(library, db):
    rid, _ = a_patron(db)
    _, [lent] = a_title(library)
    held, _ = a_title(library, copies=("K-001",))
    library.checkout(lent, rid, "MAIN")
    library.place_hold(rid, held, "MAIN")
    assert library.resident_overview(rid, {"card": {}, "circulation": {}}) == {
        "card": library.get_patrons([rid])[0], "circulation": library.loans_and_holds([rid])[rid]}
    assert library.resident_overview(rid, {"card": {}}) == {"card": library.get_patrons([rid])[0]}  # only that
    assert library.resident_overview("no-card-yet", {"card": {}, "circulation": {}}) == {
        "card": None, "circulation": {"loans": [], "holds": []}}
    unknown = refused(lambda: library.resident_overview(rid, {"card": {}, "loans": {}}))
    assert (unknown.exc_type, unknown.value) == ("BadInput", "unknown part 'loans'; the parts are card, circulation")
    assert refused(lambda: library.resident_overview(rid, {"card": {"limit": 1}})).exc_type == "BadInput"
    assert refused(lambda: library.resident_overview(["x"], {"card": {}})).exc_type == "BadInput"


def test_borrow_anywhere_return_anywhere(library, db):
    rid, _ = a_patron(db)
    _, [barcode] = a_title(library)
    loan = library.checkout(barcode, rid, "MAIN")
    assert loan["status"] == "on_loan" and loan["due"]
    assert refused(lambda: library.checkout(barcode, a_patron(db)[0], "MAIN")).exc_type == "Conflict"
    back = library.checkin(barcode, "K-002")
    assert back["status"] == "available" and back["location"] == "K-002"  # stays where it was returned
    assert db("library").loan_history.find_one({"_id": loan["loan_id"]})["returned_to"] == "K-002"


def test_two_checkouts_of_one_copy_at_the_same_moment_exactly_one_wins(library, db, settings):
    from nameko.standalone.rpc import ClusterRpcProxy

    _, [barcode] = a_title(library)
    patrons = [a_patron(db)[0] for _ in range(6)]

    def borrow(rid):
        try:
            with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=10) as proxy:
                return proxy.library.checkout(barcode, rid, "MAIN")["patron"]
        except RemoteError as exc:
            return exc.exc_type
    outcomes = list(eventlet.GreenPool(6).imap(borrow, patrons))
    winners = [o for o in outcomes if o in patrons]
    assert len(winners) == 1 and set(outcomes) - set(winners) == {"Conflict"}
    assert db("library").copies.find_one({"_id": barcode})["loan"]["patron"] == winners[0]


def test_limits_blocks_and_renewals(library, db):
    rid, _ = a_patron(db, patron_type="child")  # five items for children
    _, barcodes = a_title(library, copies=("MAIN",) * 6)
    for b in barcodes[:5]:
        library.checkout(b, rid, "MAIN")
    err = refused(lambda: library.checkout(barcodes[5], rid, "MAIN"))
    assert err.exc_type == "Conflict" and "limit" in err.value
    assert db("library").copies.find_one({"_id": barcodes[5]})["status"] == "available"  # nothing changed
    too_soon = refused(lambda: library.renew(rid, barcodes[0]))   # lent today: it would move nothing
    assert too_soon.exc_type == "Conflict" and "would not move the due date" in too_soon.value
    assert db("library").copies.find_one({"_id": barcodes[0]})["loan"]["renewals"] == 0
    due_tomorrow(db, barcodes[0])
    renewed = library.renew(rid, barcodes[0])
    assert renewed["renewals"] == 1 and renewed["title"] == "三体 第二部"
    due_tomorrow(db, barcodes[0])
    library.renew(rid, barcodes[0])
    due_tomorrow(db, barcodes[0])
    assert "limit" in refused(lambda: library.renew(rid, barcodes[0])).value

    other, _ = a_patron(db)
    block = library.block_patron(other, "证件挂失", "clerk-1")
    assert "证件挂失" in refused(lambda: library.checkout(barcodes[5], other, "MAIN")).value
    library.unblock_patron(other, block["block_id"])
    assert library.checkout(barcodes[5], other, "MAIN")["patron"] == other


def test_holds_queue_trap_on_return_and_no_renewal_while_held(library, db, settings):
    borrower, _ = a_patron(db)
    first, second = a_patron(db)[0], a_patron(db)[0]
    title_id, [barcode] = a_title(library)
    library.checkout(barcode, borrower, "MAIN")
    h1 = library.place_hold(first, title_id, "B-FL")
    h2 = library.place_hold(second, title_id, "MAIN")
    assert (h1["position"], h2["position"]) == (1, 2)
    assert "waiting" in refused(lambda: library.renew(borrower, barcode)).value
    probe = bind_probe_queue(settings.amqp_uri, "library.events", "cn.library.hold.ready.v1")
    # returned at the first holder's pickup branch: ready on the hold shelf there
    back = library.checkin(barcode, "B-FL")
    assert back["status"] == "on_hold_shelf" and back["hold_for"] == "B-FL"
    [ready] = drain(settings.amqp_uri, probe)
    assert json.loads(ready.body)["data"]["patron"] == first
    assert refused(lambda: library.checkout(barcode, second, "B-FL")).exc_type == "Conflict"
    assert library.loans_and_holds([second])[second]["holds"][0]["position"] == 1
    loan = library.checkout(barcode, first, "B-FL")
    assert loan["patron"] == first
    assert db("library").holds.find_one({"_id": h1["hold_id"]})["status"] == "fulfilled"


def test_a_patron_with_years_of_past_holds_still_cannot_hold_a_title_twice(library, db):
    patron, _ = a_patron(db)
    borrower, _ = a_patron(db)
    title_id, [barcode] = a_title(library)
    library.checkout(barcode, borrower, "MAIN")
    # 250 ended holds of other titles from earlier years (they stay in the store)
    db("library").holds.insert_many([{"_id": f"past-{patron}-{i}", "title_id": f"old-{i}", "patron": patron,
                                      "pickup": "MAIN", "placed_at": "2024-01-01T00:00:00+00:00", "status": "fulfilled",
                                      "queue": None, "queue_key": f"2024-01-01T00:00:00+00:00|{i}"} for i in range(250)])
    first = library.place_hold(patron, title_id, "MAIN")
    assert refused(lambda: library.place_hold(patron, title_id, "MAIN")).exc_type == "Conflict"
    [shown] = library.loans_and_holds([patron])[patron]["holds"]
    assert (shown["hold_id"], shown["position"]) == (first["hold_id"], 1)


def test_ready_hold_expires_and_passes_to_the_next(library, db):
    first, second = a_patron(db)[0], a_patron(db)[0]
    title_id, [barcode] = a_title(library, copies=("MAIN",))
    library.place_hold(first, title_id, "MAIN")   # the copy on the shelf is trapped at once
    library.place_hold(second, title_id, "MAIN")
    assert db("library").copies.find_one({"_id": barcode})["hold"]["patron"] == first
    later = (clock.today() + timedelta(days=30)).isoformat()
    assert library.run_timers_now(later)["expired_holds"] >= 1   # other tests' ready holds expire too
    copy = db("library").copies.find_one({"_id": barcode})
    assert copy["status"] == "on_hold_shelf" and copy["hold"]["patron"] == second


# ---- holds travelling to their pickup location ------------------------------------------

def relayed(db, barcode):
    """The copy's events have been published (so a probe has seen all it will see)."""
    return wait_for(lambda: db("library").copies.find_one({"_id": barcode}).get("outbox_pending") == 0)


def ready_events(settings, probe, hold_id):
    return [json.loads(m.body)["data"] for m in drain(settings.amqp_uri, probe, expect=0, timeout=0.3)
            if json.loads(m.body)["data"]["hold_id"] == hold_id]


def test_a_copy_sent_to_another_pickup_becomes_ready_when_checked_in_there(library, db, settings):
    borrower, holder = a_patron(db)[0], a_patron(db)[0]
    title_id, [barcode] = a_title(library)
    library.checkout(barcode, borrower, "MAIN")
    hold = library.place_hold(holder, title_id, "B-FL")
    probe = bind_probe_queue(settings.amqp_uri, "library.events", "cn.library.hold.ready.v1")
    # returned at the main library: sent on to the holder's branch, not ready yet
    assert library.checkin(barcode, "MAIN")["status"] == "in_transit"
    assert library.checkin(barcode, "B-LH")["status"] == "in_transit"     # scanned on the way
    relayed(db, barcode)
    assert ready_events(settings, probe, hold["hold_id"]) == []
    assert db("library").holds.find_one({"_id": hold["hold_id"]})["status"] == "in_transit"
    # checked in at the pickup branch: ready there, with its shelf expiry, and only now announced
    arrived = library.checkin(barcode, "B-FL")
    assert (arrived["status"], arrived["location"], arrived["ended_loan"]) == ("on_hold_shelf", "B-FL", None)
    stored = db("library").holds.find_one({"_id": hold["hold_id"]})
    expires = (clock.today() + timedelta(days=7)).isoformat()
    assert (stored["status"], stored["expires"]) == ("ready", expires)
    relayed(db, barcode)
    [ready] = ready_events(settings, probe, hold["hold_id"])
    assert (ready["patron"], ready["pickup"], ready["expires"]) == (holder, "B-FL", expires)
    assert db("library").copies.find_one({"_id": barcode})["hold_expires"] == due_key(expires)  # the expiry timer sees it
    assert library.checkout(barcode, holder, "B-FL")["patron"] == holder
    assert db("library").holds.find_one({"_id": hold["hold_id"]})["status"] == "fulfilled"


def test_an_expired_hold_passes_to_a_next_pickup_elsewhere_in_transit(library, db, settings):
    first, second = a_patron(db)[0], a_patron(db)[0]
    title_id, [barcode] = a_title(library, copies=("MAIN",))
    h1 = library.place_hold(first, title_id, "MAIN")         # the copy on the shelf is ready at once
    h2 = library.place_hold(second, title_id, "B-FL")
    probe = bind_probe_queue(settings.amqp_uri, "library.events", "cn.library.hold.ready.v1")
    later = (clock.today() + timedelta(days=30)).isoformat()
    assert library.run_timers_now(later)["expired_holds"] >= 1
    copy = db("library").copies.find_one({"_id": barcode})
    assert (copy["status"], copy["hold"]["hold_id"], copy["hold"]["expires"]) == ("in_transit", h2["hold_id"], None)
    assert "hold_expires" not in copy                          # nothing to expire while it travels
    assert db("library").holds.find_one({"_id": h1["hold_id"]})["status"] == "expired"
    assert db("library").holds.find_one({"_id": h2["hold_id"]})["status"] == "in_transit"
    relayed(db, barcode)
    assert ready_events(settings, probe, h2["hold_id"]) == []
    library.checkin(barcode, "B-FL")
    assert db("library").holds.find_one({"_id": h2["hold_id"]})["status"] == "ready"
    relayed(db, barcode)
    assert len(ready_events(settings, probe, h2["hold_id"])) == 1


# ---- cancelling a hold frees its copy -----------------------------------------------------

def test_cancelling_a_ready_hold_passes_the_copy_to_the_next_or_frees_it(library, db, settings):
    first, second = a_patron(db)[0], a_patron(db)[0]
    title_id, [barcode] = a_title(library, copies=("MAIN",))
    h1 = library.place_hold(first, title_id, "MAIN")
    h2 = library.place_hold(second, title_id, "MAIN")
    probe = bind_probe_queue(settings.amqp_uri, "library.events", "cn.library.hold.ready.v1")
    assert library.cancel_hold(first, h1["hold_id"])["status"] == "cancelled"
    copy = db("library").copies.find_one({"_id": barcode})
    assert (copy["status"], copy["hold"]["patron"]) == ("on_hold_shelf", second)
    assert db("library").holds.find_one({"_id": h2["hold_id"]})["status"] == "ready"
    relayed(db, barcode)
    assert len(ready_events(settings, probe, h2["hold_id"])) == 1
    # nobody else waiting: available on the shelf where it stands (copies float, 通借通还)
    library.cancel_hold(second, h2["hold_id"])
    copy = db("library").copies.find_one({"_id": barcode})
    assert (copy["status"], copy["hold"], copy["location"]) == ("available", None, "MAIN")
    assert library.checkout(barcode, a_patron(db)[0], "MAIN")["status"] == "on_loan"


def test_a_patrons_past_holds_never_hide_a_current_one(library, db):
    """The read for the dashboard used to take a patron's first 100 holds of any status and
    keep the current ones: after 100 fulfilled or cancelled holds, a waiting one vanished."""
    patron = a_patron(db)[0]
    db("library").holds.insert_many([{"_id": f"old-{uuid.uuid4().hex}", "patron": patron, "title_id": "t-gone",
                                      "pickup": "MAIN", "status": status, "queue": None,
                                      "placed_at": "2025-01-01T08:00:00+00:00"}
                                     for status in ["fulfilled", "cancelled", "expired"] * 40])
    title_id, [barcode] = a_title(library, copies=("MAIN",))
    library.checkout(barcode, a_patron(db)[0], "MAIN")    # on loan: the hold waits
    hold = library.place_hold(patron, title_id, "MAIN")
    [shown] = library.loans_and_holds([patron])[patron]["holds"]
    assert (shown["hold_id"], shown["status"], shown["position"]) == (hold["hold_id"], "waiting", 1)


def test_cancelling_a_hold_in_transit_lets_the_copy_be_shelved_where_it_arrives(library, db):
    borrower, holder = a_patron(db)[0], a_patron(db)[0]
    title_id, [barcode] = a_title(library)
    library.checkout(barcode, borrower, "MAIN")
    hold = library.place_hold(holder, title_id, "B-FL")
    assert library.checkin(barcode, "MAIN")["status"] == "in_transit"
    library.cancel_hold(holder, hold["hold_id"])
    copy = db("library").copies.find_one({"_id": barcode})
    assert (copy["status"], copy["hold"]) == ("in_transit", None)  # still on the road, reserved for nobody
    assert "cancelled" in refused(lambda: library.cancel_hold(holder, hold["hold_id"])).value
    back = library.checkin(barcode, "B-FL")
    assert (back["status"], back["location"], back["hold_for"]) == ("available", "B-FL", None)
    assert library.checkout(barcode, holder, "B-FL")["status"] == "on_loan"


# ---- blocks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("stored", ["as registered", "an old array", "null"])
def test_blocking_works_on_patrons_as_registered_and_as_stored_before(library, db, stored):
    shape = {"as registered": {}, "an old array": {"blocks": []}, "null": {"blocks": None}}[stored]
    rid, _ = a_patron(db, **shape)
    _, [barcode] = a_title(library)
    block = library.block_patron(rid, "证件挂失", "clerk-1")
    assert db("library").patrons.find_one({"_id": rid})["blocks"][block["block_id"]]["reason"] == "证件挂失"
    err = refused(lambda: library.checkout(barcode, rid, "MAIN"))
    assert err.exc_type == "Conflict" and "证件挂失" in err.value
    library.unblock_patron(rid, block["block_id"])
    assert db("library").patrons.find_one({"_id": rid})["blocks"] == {}
    assert library.checkout(barcode, rid, "MAIN")["patron"] == rid


def test_block_input_is_checked(library, db):
    rid, _ = a_patron(db)
    assert refused(lambda: library.block_patron(rid, "  ", "clerk-1")).exc_type == "BadInput"
    assert refused(lambda: library.block_patron("nobody", "欠费", "clerk-1")).exc_type == "NotFound"
    assert refused(lambda: library.unblock_patron(rid, "$where")).exc_type == "BadInput"
    assert refused(lambda: library.block_patron(rid, "欠费", None)).exc_type == "BadInput"   # no actor "None"
    assert db("library").patrons.find_one({"_id": rid})["blocks"] == {}
    block = library.block_patron(rid, "证件挂失", "clerk-1")["block_id"]
    other = "0" * 12 if block != "0" * 12 else "1" * 12
    assert refused(lambda: library.unblock_patron(rid, other)).exc_type == "NotFound"   # not a silent success
    assert list(db("library").patrons.find_one({"_id": rid})["blocks"]) == [block]


def test_a_blocked_patron_cannot_renew_or_place_holds(library, db):
    rid, _ = a_patron(db)
    title_id, [barcode, other] = a_title(library, copies=("MAIN", "MAIN"))
    library.checkout(barcode, rid, "MAIN")
    library.block_patron(rid, "损坏图书未赔偿", "clerk-1")
    before = db("library").copies.find_one({"_id": barcode})
    err = refused(lambda: library.renew(rid, barcode))
    assert err.exc_type == "Conflict" and "损坏图书未赔偿" in err.value
    after = db("library").copies.find_one({"_id": barcode})
    assert (after["version"], after["loan"]) == (before["version"], before["loan"])
    err = refused(lambda: library.place_hold(rid, title_id, "MAIN"))
    assert err.exc_type == "Conflict" and "损坏图书未赔偿" in err.value
    assert db("library").holds.find_one({"patron": rid}) is None
    assert db("library").copies.find_one({"_id": other})["status"] == "available"


# ---- lost and claimed returned ------------------------------------------------------------

def test_declare_lost_and_find_it_again(library, db):
    rid, _ = a_patron(db)
    _, [barcode] = a_title(library)
    assert refused(lambda: library.declare_lost(barcode)).exc_type == "Conflict"     # not on loan
    loan = library.checkout(barcode, rid, "MAIN")
    assert refused(lambda: library.declare_lost(barcode, a_patron(db)[0])).exc_type == "Conflict"
    assert library.declare_lost(barcode, rid)["status"] == "lost"
    assert refused(lambda: library.checkout(barcode, a_patron(db)[0], "MAIN")).exc_type == "Conflict"
    assert library.loans_and_holds([rid])[rid]["loans"][0]["status"] == "lost"
    found = library.checkin(barcode, "B-FL")                    # it turns up: the loan ends
    assert (found["status"], found["ended_loan"]) == ("available", loan["loan_id"])
    assert library.loans_and_holds([rid])[rid]["loans"] == []


def test_claim_returned_stops_overdue_and_ends_when_found(library, db):
    rid, _ = a_patron(db)
    _, [barcode] = a_title(library)
    assert refused(lambda: library.claim_returned(barcode, rid)).exc_type == "Conflict"  # not on loan
    library.checkout(barcode, rid, "MAIN")
    assert refused(lambda: library.claim_returned(barcode, a_patron(db)[0])).exc_type == "Conflict"
    assert library.claim_returned(barcode, rid)["status"] == "claimed_returned"
    far = (clock.today() + timedelta(days=365)).isoformat()
    library.run_timers_now(far)
    copy = db("library").copies.find_one({"_id": barcode})
    assert copy["status"] == "claimed_returned" and not copy.get("overdue_raised")
    found = library.checkin(barcode, "MAIN")
    assert found["status"] == "available" and found["ended_loan"]


# ---- late kiosk checkouts are kept for staff ----------------------------------------------

def recall_rule(library, **fields) -> str:
    """A loan rule that recalls, for a patron type of this test's own (rules are shared by the run),
    loaded as an operator does (the service keeps its rules for a few seconds)."""
    kind = "t-" + uuid.uuid4().hex[:8]
    library.put_loan_rules({kind: {"patron_type": kind, **fields}})
    return kind


def test_a_hold_with_no_copy_available_recalls_the_loan_with_the_most_time_left(library, db, settings):
    from datetime import date

    from services.library.policy import LoanRule, open_on, recall_due

    kind = recall_rule(library, recall_days=7, min_loan_days=3)
    first, _ = a_patron(db, patron_type=kind)
    second, _ = a_patron(db, patron_type=kind)
    title_id, [b1, b2] = a_title(library, copies=("MAIN", "MAIN"))
    library.checkout(b1, first, "MAIN")
    library.checkout(b2, second, "MAIN")
    today = clock.today()
    copies = db("library").copies
    copies.update_one({"_id": b1}, {"$set": {"loan.due": (today + timedelta(days=20)).isoformat()}})
    due_of = {b: copies.find_one({"_id": b})["loan"]["due"] for b in (b1, b2)}
    probe = bind_probe_queue(settings.amqp_uri, "library.events", "cn.library.loan.recalled.v1")

    hold = library.place_hold(a_patron(db)[0], title_id, "MAIN")
    assert hold["status"] == "waiting"
    recalled = copies.find_one({"_id": b2})["loan"]                 # most time left: b2
    expected = recall_due(LoanRule(recall_days=7, min_loan_days=3), today, date.fromisoformat(due_of[b2]), today,
                          open_on([0]))                             # MAIN is closed on Mondays
    assert recalled["due"] == expected.isoformat() < due_of[b2] and recalled["recalled_for"] == hold["hold_id"]
    assert copies.find_one({"_id": b1})["loan"]["due"] == due_of[b1]
    [event] = drain(settings.amqp_uri, probe)
    data = json.loads(event.body)["data"]
    assert (data["patron"], data["barcode"], data["due"], data["previous_due"], data["hold_id"]) == (
        second, b2, expected.isoformat(), due_of[b2], hold["hold_id"])
    assert refused(lambda: library.renew(second, b2)).exc_type == "Conflict"   # someone waits: no renewal

    library.place_hold(a_patron(db)[0], title_id, "MAIN")          # the next hold recalls the other loan
    assert copies.find_one({"_id": b1})["loan"]["recalled_at"]
    versions = {b: copies.find_one({"_id": b})["version"] for b in (b1, b2)}
    library.place_hold(a_patron(db)[0], title_id, "MAIN")          # every loan recalled once already
    assert {b: copies.find_one({"_id": b})["version"] for b in (b1, b2)} == versions
    assert len(drain(settings.amqp_uri, probe)) == 1                # b1's recall; none for the third hold


def test_a_recall_never_extends_a_loan_and_rules_without_recalls_recall_nothing(library, db):
    kind = recall_rule(library, recall_days=7)
    soon, _ = a_patron(db, patron_type=kind)
    title_id, [barcode] = a_title(library)
    library.checkout(barcode, soon, "MAIN")
    copies = db("library").copies
    due = (clock.today() + timedelta(days=2)).isoformat()
    copies.update_one({"_id": barcode}, {"$set": {"loan.due": due}})
    library.place_hold(a_patron(db)[0], title_id, "MAIN")
    loan = copies.find_one({"_id": barcode})["loan"]
    assert loan["due"] == due and loan["recalled_at"]              # recalled (told), not extended

    adult, _ = a_patron(db)                                         # the default rules make no recalls
    other_title, [other] = a_title(library, copies=("MAIN", ))
    library.checkout(other, adult, "MAIN")
    before = copies.find_one({"_id": other})
    library.place_hold(a_patron(db)[0], other_title, "MAIN")
    assert copies.find_one({"_id": other})["version"] == before["version"]


def test_a_hold_that_finds_a_copy_on_the_shelf_recalls_nothing(library, db):
    kind = recall_rule(library, recall_days=7)
    borrower, _ = a_patron(db, patron_type=kind)
    title_id, [lent, shelved] = a_title(library, copies=("MAIN", "MAIN"))
    library.checkout(lent, borrower, "MAIN")
    hold = library.place_hold(a_patron(db)[0], title_id, "MAIN")
    assert hold["status"] == "ready" and hold["barcode"] == shelved
    assert not db("library").copies.find_one({"_id": lent})["loan"].get("recalled_at")


# ---- patron types -------------------------------------------------------------------------

def test_staff_set_a_patron_type_the_rules_know_and_it_is_audited(library, db):
    from services.library.policy import LoanRule, due_date, open_on

    rid, _ = a_patron(db)
    db("library").patrons.update_one({"_id": rid}, {"$unset": {"audit": ""}})   # a card made before audits
    assert {"adult", "child", "senior"} <= set(library.patron_types())
    for bad in ("vip", "", None, "*"):
        assert refused(lambda: library.set_patron_type(rid, bad, "clerk-7")).exc_type == "BadInput"
    assert refused(lambda: library.set_patron_type(rid, "child", "")).exc_type == "BadInput"
    assert refused(lambda: library.set_patron_type("nobody", "child", "clerk-7")).exc_type == "NotFound"
    stored = db("library").patrons.find_one({"_id": rid})
    assert stored["patron_type"] == "adult" and not stored.get("audit")   # refusals change nothing

    assert library.set_patron_type(rid, "child", "clerk-7")["patron_type"] == "child"
    [entry] = library.patron_audit(rid)
    assert (entry["what"], entry["before"], entry["after"], entry["by"]) == ("patron_type", "adult", "child",
                                                                              "clerk-7")
    library.set_patron_type(rid, "child", "clerk-7")                # no change, no entry
    assert len(library.patron_audit(rid)) == 1
    # the child rule applies now: 21 days
    _, [barcode] = a_title(library)
    loan = library.checkout(barcode, rid, "MAIN")
    today = clock.today()
    assert loan["due"] == due_date(LoanRule(loan_days=21), today, open_on([0])).isoformat()


def test_an_operator_loads_loan_rules_checked_whole_before_any_is_stored(library, db, settings, tmp_path,
                                                                          monkeypatch, capsys):
    from infra.cli import main as cli
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    kind = "op-" + uuid.uuid4().hex[:8]
    good = tmp_path / "rules.json"
    good.write_text(json.dumps({kind: {"patron_type": kind, "loan_days": 14, "recall_days": 5}}), encoding="utf-8")
    assert cli.main(["loan-rules", "load", str(good)]) == 0
    assert kind in capsys.readouterr().out
    rules = {r["name"]: r for r in library.loan_rules()}
    assert rules[kind]["loan_days"] == 14 and rules[kind]["recall_days"] == 5 and rules["default"]["loan_days"] == 30
    assert kind in library.patron_types()
    # a patron of that type borrows for 14 days
    rid, _ = a_patron(db, patron_type=kind)
    _, [barcode] = a_title(library)
    loan = library.checkout(barcode, rid, "MAIN")
    assert (date_of(loan["due"]) - clock.today()).days in range(14, 18)   # closed days move it
    # one bad rule in a file: nothing of it is stored
    other = "op-" + uuid.uuid4().hex[:8]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({other: {"patron_type": other}, "broken": {"loan_days": "thirty"}}), encoding="utf-8")
    assert cli.main(["loan-rules", "load", str(bad)]) == 1
    assert "loan_days" in capsys.readouterr().err
    assert other not in {r["name"] for r in library.loan_rules()}
    for hostile in ({"x": {"patron_type": {"$ne": None}}}, {"$where": {}}, {"y": {"nope": 1}}, {}):
        assert refused(lambda: library.put_loan_rules(hostile)).exc_type == "BadInput"
    assert cli.main(["loan-rules", "show"]) == 0 and kind in capsys.readouterr().out


def date_of(text):
    from datetime import date
    return date.fromisoformat(text[:10])


def test_a_batch_of_locations_that_is_not_a_list_or_holds_a_bad_one_stores_nothing(library, db):
    code = "K-" + uuid.uuid4().hex[:8]
    good = {"code": code, "kind": "kiosk", "name": "自助图书馆", "committee": "C0101"}
    for bad in (good, [good] * 501, [good, {"code": "", "kind": "moon"}]):
        with pytest.raises(RemoteError) as err:
            library.upsert_locations(bad)
        assert err.value.exc_type == "BadInput"
    assert db("library").locations.find_one({"_id": code}) is None
