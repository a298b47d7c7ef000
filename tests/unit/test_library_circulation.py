"""Circulation and holds rules on one copy, pure: checkout refusals, return anywhere, trapping
for the first hold in line, arrival at the pickup location, holds passing on when they expire
or are cancelled; patrons' blocks; late kiosk events. No broker, no store."""
from datetime import datetime, timedelta, timezone

import pytest

from services.library import circulation, kiosks, patrons
from services.library.policy import LoanRule, open_on

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc)
RULE = LoanRule(hold_shelf_days=7)
GOOD = circulation.PatronStanding((), 0, 0, 0)


def a_copy(status=circulation.AVAILABLE, location="MAIN", **fields):
    return {"_id": "B1", "title_id": "T1", "status": status, "location": location, "version": 5, "hold": None,
            "loan": None, **fields}


def a_hold(hold_id="h1", patron="p1", pickup="MAIN"):
    return {"_id": hold_id, "patron": patron, "pickup": pickup, "title_id": "T1"}


def lend(copy, patron="p9"):
    return circulation.checkout(copy, patron, GOOD, RULE, location=copy["location"], now=NOW - timedelta(days=3),
                                loan_id="L1", is_open=open_on(), holds_waiting=False)


def refused(call) -> str:
    with pytest.raises(circulation.Refused) as err:
        call()
    return err.value.code


# ---- checkout and return anywhere -------------------------------------------------------

def test_checkout_refusals_name_the_reason_and_leave_the_copy_alone():
    on_loan = lend(a_copy())
    before = dict(on_loan)
    def out(copy, patron="p1"):
        return lambda: circulation.checkout(copy, patron, GOOD, RULE, location="MAIN", now=NOW, loan_id="L2",
                                            is_open=open_on(), holds_waiting=False)
    assert refused(out(on_loan)) == "on_loan"
    assert refused(out(on_loan, "p9")) == "already_yours"
    assert on_loan == before
    trapped = circulation.trap_available(a_copy(), a_hold(patron="p2"), now=NOW, rule=RULE)
    assert refused(out(trapped)) == "held"
    for status in (circulation.IN_TRANSIT, circulation.LOST, circulation.CLAIMED_RETURNED):
        assert refused(out(a_copy(status=status))) == "unavailable"


def test_the_holder_collects_a_ready_copy_and_the_loan_names_the_hold():
    trapped = circulation.trap_available(a_copy(), a_hold(patron="p2"), now=NOW, rule=RULE)
    lent = circulation.checkout(trapped, "p2", GOOD, RULE, location="MAIN", now=NOW, loan_id="L2",
                                is_open=open_on(), holds_waiting=False)
    assert (lent["status"], lent["hold"], lent["loan"]["fulfilled_hold"]) == (circulation.ON_LOAN, None, "h1")


def test_a_copy_returned_anywhere_stays_there():
    back, ended = circulation.checkin(lend(a_copy()), location="K-002", now=NOW, rule=RULE, first_hold=None)
    assert (back["status"], back["location"], back["loan"]) == (circulation.AVAILABLE, "K-002", None)
    assert (ended["loan_id"], ended["returned_to"]) == ("L1", "K-002")
    assert back["checked_in_at"] == NOW.isoformat()


def test_a_return_traps_the_copy_for_the_first_hold_in_line():
    at_pickup, _ = circulation.checkin(lend(a_copy()), location="B-FL", now=NOW, rule=RULE,
                                       first_hold=a_hold(pickup="B-FL"))
    assert at_pickup["status"] == circulation.ON_HOLD_SHELF
    assert (at_pickup["hold"]["hold_id"], at_pickup["hold"]["expires"]) == ("h1", "2026-03-10")
    elsewhere, _ = circulation.checkin(lend(a_copy()), location="MAIN", now=NOW, rule=RULE,
                                       first_hold=a_hold(pickup="B-FL"))
    assert elsewhere["status"] == circulation.IN_TRANSIT and elsewhere["location"] == "MAIN"
    assert (elsewhere["hold"]["ready_since"], elsewhere["hold"]["expires"]) == (None, None)
    assert not circulation.hold_became_ready(lend(a_copy()), elsewhere)
    assert circulation.hold_became_ready(lend(a_copy()), at_pickup)


# ---- arrival at the pickup location -----------------------------------------------------

def in_transit_to(pickup="B-FL", hold_id="h1"):
    return circulation.trap_available(a_copy(), a_hold(hold_id=hold_id, pickup=pickup), now=NOW, rule=RULE)


def test_a_copy_checked_in_at_its_pickup_location_is_ready_there():
    travelling = in_transit_to("B-FL")
    later = NOW + timedelta(days=2)
    arrived, ended = circulation.checkin(travelling, location="B-FL", now=later, rule=RULE, first_hold=None)
    assert ended is None
    assert (arrived["status"], arrived["location"]) == (circulation.ON_HOLD_SHELF, "B-FL")
    assert arrived["hold"]["ready_since"] == later.isoformat()
    assert arrived["hold"]["expires"] == "2026-03-12"          # the shelf expiry starts on arrival
    assert circulation.hold_became_ready(travelling, arrived)
    assert arrived["version"] == travelling["version"] + 1


def test_a_copy_checked_in_on_the_way_travels_on():
    on_the_way, _ = circulation.checkin(in_transit_to("B-FL"), location="B-LH", now=NOW, rule=RULE,
                                        first_hold=a_hold(hold_id="someone-else"))
    assert (on_the_way["status"], on_the_way["location"]) == (circulation.IN_TRANSIT, "B-LH")
    assert on_the_way["hold"]["hold_id"] == "h1"             # still the same hold's
    assert not circulation.hold_became_ready(in_transit_to("B-FL"), on_the_way)


def test_arrive_refuses_a_copy_that_is_not_travelling_for_a_hold():
    assert refused(lambda: circulation.arrive(a_copy(), location="MAIN", now=NOW, rule=RULE)) == "not_in_transit"
    ready = circulation.arrive(in_transit_to("B-FL"), location="B-FL", now=NOW, rule=RULE)
    assert ready["status"] == circulation.ON_HOLD_SHELF


def test_a_rescan_on_the_hold_shelf_does_not_make_it_ready_again():
    ready = circulation.trap_available(a_copy(), a_hold(), now=NOW, rule=RULE)
    again, _ = circulation.checkin(ready, location="MAIN", now=NOW + timedelta(days=1), rule=RULE, first_hold=None)
    assert again["hold"] == ready["hold"] and not circulation.hold_became_ready(ready, again)


# ---- holds passing on: expiry and cancellation -----------------------------------------

def ready_at_main():
    return circulation.trap_available(a_copy(), a_hold(), now=NOW, rule=RULE)


def test_a_hold_expires_only_after_its_shelf_date():
    ready = ready_at_main()
    on_the_day = NOW + timedelta(days=7)
    assert refused(lambda: circulation.expire_hold(ready, now=on_the_day, next_hold=None, rule=RULE)) == "not_expired"
    freed = circulation.expire_hold(ready, now=on_the_day + timedelta(days=1), next_hold=None, rule=RULE)
    assert (freed["status"], freed["hold"], freed["location"]) == (circulation.AVAILABLE, None, "MAIN")


def test_an_expired_hold_passes_to_the_next_here_ready_with_a_new_expiry():
    later = NOW + timedelta(days=8)
    new = circulation.expire_hold(ready_at_main(), now=later, next_hold=a_hold("h2", "p2", "MAIN"), rule=RULE)
    assert new["status"] == circulation.ON_HOLD_SHELF
    assert (new["hold"]["hold_id"], new["hold"]["expires"]) == ("h2", "2026-03-18")
    assert circulation.hold_became_ready(ready_at_main(), new)


def test_an_expired_hold_passes_to_a_next_pickup_elsewhere_in_transit_without_expiry():
    later = NOW + timedelta(days=8)
    new = circulation.expire_hold(ready_at_main(), now=later, next_hold=a_hold("h2", "p2", "B-FL"), rule=RULE)
    assert new["status"] == circulation.IN_TRANSIT
    assert (new["hold"]["hold_id"], new["hold"]["pickup"], new["hold"]["expires"]) == ("h2", "B-FL", None)
    assert not circulation.hold_became_ready(ready_at_main(), new)


def test_a_cancelled_ready_hold_frees_the_copy_where_it_stands():
    freed = circulation.pass_on(ready_at_main(), now=NOW, next_hold=None, rule=RULE)
    assert (freed["status"], freed["hold"], freed["location"]) == (circulation.AVAILABLE, None, "MAIN")


def test_a_cancelled_hold_in_transit_is_readdressed_to_the_next_pickup():
    new = circulation.pass_on(in_transit_to("B-FL"), now=NOW, next_hold=a_hold("h2", "p2", "MAIN"), rule=RULE)
    # on the road even though the next pickup is where it was last scanned: ready once checked in there
    assert (new["status"], new["hold"]["hold_id"], new["hold"]["pickup"]) == (circulation.IN_TRANSIT, "h2", "MAIN")
    arrived, _ = circulation.checkin(new, location="MAIN", now=NOW, rule=RULE, first_hold=None)
    assert arrived["status"] == circulation.ON_HOLD_SHELF and arrived["hold"]["hold_id"] == "h2"


def test_a_cancelled_hold_in_transit_with_nobody_waiting_is_shelved_where_it_is_received():
    new = circulation.pass_on(in_transit_to("B-FL"), now=NOW, next_hold=None, rule=RULE)
    assert (new["status"], new["hold"]) == (circulation.IN_TRANSIT, None)
    assert not circulation.is_trapped(new)
    received, ended = circulation.checkin(new, location="B-FL", now=NOW, rule=RULE, first_hold=None)
    assert (received["status"], received["location"], ended) == (circulation.AVAILABLE, "B-FL", None)
    # or, received while someone new waits: trapped for them like any return
    trapped, _ = circulation.checkin(new, location="B-FL", now=NOW, rule=RULE, first_hold=a_hold("h3", "p3", "B-FL"))
    assert trapped["status"] == circulation.ON_HOLD_SHELF and trapped["hold"]["hold_id"] == "h3"


def test_only_a_copy_set_aside_for_a_hold_passes_on():
    assert refused(lambda: circulation.pass_on(a_copy(), now=NOW, next_hold=None, rule=RULE)) == "not_held"
    assert refused(lambda: circulation.pass_on(lend(a_copy()), now=NOW, next_hold=None, rule=RULE)) == "not_held"


# ---- lost and claimed returned ----------------------------------------------------------

def test_lost_and_claimed_returned_need_a_loan_and_end_with_a_return():
    lent = lend(a_copy())
    assert refused(lambda: circulation.declare_lost(a_copy(), None)) == "not_on_loan"
    assert refused(lambda: circulation.declare_lost(lent, "someone-else")) == "not_on_loan"
    assert refused(lambda: circulation.claim_returned(lent, "someone-else")) == "not_yours"
    lost = circulation.declare_lost(lent, None)
    claimed = circulation.claim_returned(lent, "p9")
    assert (lost["status"], claimed["status"]) == (circulation.LOST, circulation.CLAIMED_RETURNED)
    assert not circulation.is_overdue(claimed, NOW.date() + timedelta(days=365))
    for copy in (lost, claimed):
        back, ended = circulation.checkin(copy, location="MAIN", now=NOW, rule=RULE, first_hold=None)
        assert back["status"] == circulation.AVAILABLE and ended["loan_id"] == "L1"


# ---- patrons' blocks --------------------------------------------------------------------

def test_new_patrons_have_blocks_as_a_map():
    doc = patrons.patron_from_registration({"resident_id": "r1", "name": "张三", "residence_committee": "C0101"},
                                           patrons.card_number(1))
    assert doc["blocks"] == {}


def test_card_numbers_carry_a_check_digit_that_catches_a_mistyped_digit():
    card = patrons.card_number(4_271)
    assert card == "LC00000004271" + patrons.luhn_digit("00000004271") and patrons.valid_card_number(card)
    assert len({patrons.card_number(n) for n in range(1, 5001)}) == 5000
    for i in range(2, 14):                      # any one digit changed is caught
        wrong = card[:i] + str((int(card[i]) + 1) % 10) + card[i + 1:]
        assert not patrons.valid_card_number(wrong)
    assert patrons.luhn_digit("7992739871") == "3"   # the textbook example
    with pytest.raises(ValueError):
        patrons.card_number(0)


@pytest.mark.parametrize("stored, reasons", [
    ({}, ()),
    (None, ()),
    ([], ()),                                                       # made before blocks were a map
    (["证件挂失"], ("证件挂失",)),
    ([{"reason": "欠费", "kind": "manual"}], ("欠费",)),
    ({"b1": {"reason": "证件挂失", "kind": "manual"}, "b2": {"reason": "损坏图书"}}, ("证件挂失", "损坏图书")),
])
def test_block_reasons_read_maps_and_old_lists(stored, reasons):
    assert patrons.block_reasons(stored) == reasons
    assert isinstance(patrons.blocks_map(stored), dict)


def test_a_block_refuses_with_its_reasons():
    refusal = circulation.block_refusal(("证件挂失", "欠费"), "placing holds")
    assert refusal.code == "blocked" and str(refusal) == "placing holds is blocked: 证件挂失; 欠费"
    assert circulation.block_refusal((), "placing holds") is None


# ---- late kiosk events ------------------------------------------------------------------

def test_a_late_checkout_is_explained_only_by_a_later_check_in():
    t0 = NOW - timedelta(hours=3)
    assert kiosks.is_stale(t0, NOW.isoformat())
    assert kiosks.checked_in_since(t0, (t0 + timedelta(minutes=30)).isoformat())
    assert not kiosks.checked_in_since(t0, (t0 - timedelta(minutes=30)).isoformat())
    assert not kiosks.checked_in_since(t0, None)


def test_check_in_time_only_moves_forward():
    late = dict(lend(a_copy()), checked_in_at=(NOW + timedelta(hours=1)).isoformat())
    back, _ = circulation.checkin(late, location="MAIN", now=NOW, rule=RULE, first_hold=None)
    assert back["checked_in_at"] == (NOW + timedelta(hours=1)).isoformat()
