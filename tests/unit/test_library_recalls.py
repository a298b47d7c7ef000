"""Recalls and patron types, pure: a new hold with no copy available recalls the loan with
the most time left, to ``recall_days`` from now but not under the rule's minimum loan period,
never later than it was due, once per loan. No broker, no store."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.library import circulation
from services.library.policy import DEFAULT_RULES, LoanRule, open_on, patron_types, recall_due

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc)   # a Tuesday
TODAY = NOW.date()
RECALLS = LoanRule(recall_days=7, min_loan_days=14)


def a_loan(barcode="B1", loaned=TODAY - timedelta(days=2), due=TODAY + timedelta(days=28), **loan):
    return {"_id": barcode, "title_id": "T1", "status": circulation.ON_LOAN, "location": "MAIN", "version": 3,
            "hold": None, "loan": {"loan_id": f"L-{barcode}", "patron": "p1", "loaned_at": f"{loaned}T08:00:00+00:00",
                                   "location": "MAIN", "due": due.isoformat(), "renewals": 0, **loan}}


@pytest.mark.parametrize("rule, loaned, due, expected", [
    # recall_days from today, when the minimum loan period has passed by then
    (LoanRule(recall_days=7), TODAY - timedelta(days=20), TODAY + timedelta(days=10), TODAY + timedelta(days=7)),
    # the minimum loan period (from the loan day) wins over recall_days
    (RECALLS, TODAY - timedelta(days=2), TODAY + timedelta(days=28), TODAY + timedelta(days=12)),
    # never later than it was due: a loan due soon keeps its date
    (LoanRule(recall_days=7), TODAY - timedelta(days=27), TODAY + timedelta(days=3), TODAY + timedelta(days=3)),
])
def test_recall_due_date(rule, loaned, due, expected):
    assert recall_due(rule, loaned, due, TODAY, open_on()) == expected


def test_recall_due_date_skips_closed_days_and_rules_without_recalls_recall_nothing():
    mondays_closed = open_on(closed_weekdays=[0])
    # today + 6 is a Monday: the next open day
    assert recall_due(LoanRule(recall_days=6), TODAY - timedelta(days=30), TODAY + timedelta(days=20), TODAY,
                      mondays_closed) == TODAY + timedelta(days=7)
    assert recall_due(LoanRule(), TODAY, TODAY + timedelta(days=30), TODAY, open_on()) is None


def test_recall_shortens_the_loan_once_and_keeps_what_it_was():
    copy = a_loan()
    recalled = circulation.recall(copy, RECALLS, now=NOW, is_open=open_on(), hold_id="h1")
    assert recalled["loan"]["due"] == (TODAY + timedelta(days=12)).isoformat()
    assert recalled["loan"]["due_before_recall"] == copy["loan"]["due"] and recalled["loan"]["recalled_for"] == "h1"
    assert recalled["version"] == copy["version"] + 1 and copy["loan"].get("recalled_at") is None  # input untouched
    for bad, code in [(recalled, "recalled"), ({**copy, "status": circulation.AVAILABLE}, "not_on_loan")]:
        with pytest.raises(circulation.Refused) as err:
            circulation.recall(bad, RECALLS, now=NOW, is_open=open_on(), hold_id="h2")
        assert err.value.code == code
    with pytest.raises(circulation.Refused) as err:
        circulation.recall(copy, LoanRule(), now=NOW, is_open=open_on(), hold_id="h2")
    assert err.value.code == "no_recall"


def test_recall_order_puts_the_loan_with_the_most_time_left_first_and_skips_recalled_ones():
    soon, late, later = (a_loan(b, due=TODAY + timedelta(days=d)) for b, d in (("B1", 3), ("B2", 20), ("B3", 25)))
    recalled = a_loan("B4", due=TODAY + timedelta(days=40), recalled_at=NOW.isoformat())
    shelf = {**a_loan("B5"), "status": circulation.AVAILABLE, "loan": None}
    assert [c["_id"] for c in circulation.recall_order([soon, recalled, later, shelf, late])] == ["B3", "B2", "B1"]


def test_patron_types_are_those_the_rules_know():
    assert patron_types(DEFAULT_RULES, "adult") == ("adult", "child", "senior")
    assert "teen" in patron_types(DEFAULT_RULES + (LoanRule(patron_type="teen"),), "adult")


def test_a_checkout_while_a_hold_waits_still_uses_recall_days():
    copy = {**a_loan(), "status": circulation.AVAILABLE, "loan": None}
    lent = circulation.checkout(copy, "p2", circulation.PatronStanding((), 0, 0, 0), RECALLS, location="MAIN",
                                now=NOW, loan_id="L9", is_open=open_on(), holds_waiting=True)
    assert date.fromisoformat(lent["loan"]["due"]) == TODAY + timedelta(days=7)
