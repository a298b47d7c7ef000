"""The loan policy's pure rules: which rule applies (patron type × material × location),
due dates off closed days, renewal limits, fines. No broker, no store."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.library import circulation
from services.library.policy import ANY, DEFAULT_RULES, LoanRule, due_date, fine_cents, open_on, rule_for

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in Beijing
ALWAYS_OPEN = open_on()


@pytest.mark.parametrize("patron, material, kind, expected", [
    ("adult", "book", "library", dict(loan_days=30, item_limit=10, renewals=2)),       # the catch-all
    ("child", "book", "library", dict(loan_days=21, item_limit=5, block_overdue_items=2)),
    ("senior", "book", "branch", dict(loan_days=45)),
    ("adult", "periodical", "library", dict(loan_days=7, renewals=0)),
    ("adult", "av", "library", dict(loan_days=14, renewals=1)),
    ("adult", "av", "kiosk", dict(loan_days=30, renewals=2)),   # av and kiosk tie: the later (kiosk) rule wins
])
def test_default_rules_by_patron_material_and_location(patron, material, kind, expected):
    rule = rule_for(DEFAULT_RULES, patron, material, kind)
    assert {k: getattr(rule, k) for k in expected} == expected


def test_the_most_specific_rule_wins_and_later_overrides_break_ties():
    rules = DEFAULT_RULES + (
        LoanRule(patron_type="child", material_type="av", loan_days=3),
        LoanRule(patron_type="child", location_kind="kiosk", loan_days=9),
        LoanRule(patron_type="child", location_kind="kiosk", loan_days=10),   # an operator's later override
        LoanRule(patron_type="child", material_type="av", location_kind="kiosk", loan_days=1),
    )
    assert rule_for(rules, "child", "av", "kiosk").loan_days == 1
    assert rule_for(rules, "child", "av", "library").loan_days == 3
    assert rule_for(rules, "child", "book", "kiosk").loan_days == 10
    assert rule_for(rules, "adult", "book", "kiosk").loan_days == 30
    assert LoanRule(patron_type="child", material_type=ANY).specificity() == 1


def test_no_matching_rule_is_an_error_not_a_guess():
    with pytest.raises(LookupError, match="staff/book/library"):
        rule_for((LoanRule(patron_type="child"),), "staff", "book", "library")


def test_due_date_on_a_closed_day_moves_to_the_next_open_day():
    closed_mondays = open_on(closed_weekdays=[0])
    rule = LoanRule(loan_days=28)                       # 2026-03-02 + 28 = Monday 2026-03-30
    assert due_date(rule, date(2026, 3, 2), closed_mondays) == date(2026, 3, 31)
    assert due_date(rule, date(2026, 3, 2), ALWAYS_OPEN) == date(2026, 3, 30)


def test_due_date_on_a_closed_day_moves_to_the_previous_open_day_when_the_rule_says():
    rule = LoanRule(loan_days=28, due_on_closed_day="previous")
    closed = open_on(closed_weekdays=[0, 6], closed_dates=["2026-03-28"])   # Sat 28, Sun 29, Mon 30
    assert due_date(rule, date(2026, 3, 2), closed) == date(2026, 3, 27)


def test_due_date_never_moves_back_to_the_loan_day_or_before():
    # a periodical lent the day before an eight-day closure: no open day between the loan and
    # the due date, so the next open day after the closure
    rule = LoanRule(loan_days=7, due_on_closed_day="previous")
    spring_festival = open_on(closed_dates=[f"2026-02-{d:02d}" for d in range(16, 24)])
    assert due_date(rule, date(2026, 2, 15), spring_festival) == date(2026, 2, 24)
    assert due_date(LoanRule(loan_days=1, due_on_closed_day="previous"), date(2026, 3, 2),
                    open_on(closed_weekdays=[1])) == date(2026, 3, 4)


def test_a_location_that_is_never_open_is_an_error():
    with pytest.raises(ValueError, match="never open"):
        due_date(LoanRule(), date(2026, 3, 2), lambda d: False)


def test_dated_closures_count_like_closed_weekdays():
    spring_festival = open_on(closed_dates=[f"2026-02-{d:02d}" for d in range(16, 24)])
    assert due_date(LoanRule(loan_days=14), date(2026, 2, 2), spring_festival) == date(2026, 2, 24)


def test_fines_are_off_by_default():
    rule = LoanRule()
    assert rule.fine_cents_per_day == 0
    assert fine_cents(rule, date(2026, 3, 1), date(2026, 6, 1)) == 0


def test_fines_when_on_count_late_days_up_to_the_cap():
    rule = LoanRule(fine_cents_per_day=10, fine_cap_cents=500)
    assert fine_cents(rule, date(2026, 3, 10), date(2026, 3, 10)) == 0    # on time
    assert fine_cents(rule, date(2026, 3, 10), date(2026, 3, 9)) == 0     # early
    assert fine_cents(rule, date(2026, 3, 10), date(2026, 3, 13)) == 30
    assert fine_cents(rule, date(2026, 3, 10), date(2026, 9, 1)) == 500   # capped
    assert fine_cents(LoanRule(fine_cents_per_day=10), date(2026, 3, 10), date(2026, 9, 1)) == 1750


def test_a_late_return_carries_its_fine_when_fines_are_on():
    copy = on_loan(due="2026-02-25")
    _, ended = circulation.checkin(copy, location="MAIN", now=NOW, rule=LoanRule(fine_cents_per_day=20),
                                   first_hold=None)
    assert ended["fine_cents"] == 5 * 20
    _, free = circulation.checkin(copy, location="MAIN", now=NOW, rule=LoanRule(), first_hold=None)
    assert free["fine_cents"] == 0


def on_loan(patron="p1", due="2026-03-20", renewals=0):
    return {"_id": "B1", "title_id": "T1", "status": circulation.ON_LOAN, "location": "MAIN", "version": 3,
            "hold": None, "loan": {"loan_id": "L1", "patron": patron, "loaned_at": "2026-02-20T02:00:00+00:00",
                                   "location": "MAIN", "due": due, "renewals": renewals, "fulfilled_hold": None}}


def test_renewal_extends_from_today_until_the_limit():
    rule = LoanRule(loan_days=30, renewals=2)
    once = circulation.renew(on_loan(), "p1", rule, now=NOW, holds_waiting=False, is_open=ALWAYS_OPEN)
    assert (once["loan"]["renewals"], once["loan"]["due"], once["version"]) == (1, "2026-04-01", 4)
    later = NOW + timedelta(days=25)
    twice = circulation.renew(once, "p1", rule, now=later, holds_waiting=False, is_open=ALWAYS_OPEN)
    assert twice["loan"]["due"] == "2026-04-26"
    with pytest.raises(circulation.Refused) as refused:
        circulation.renew(twice, "p1", rule, now=later + timedelta(days=25), holds_waiting=False,
                          is_open=ALWAYS_OPEN)
    assert refused.value.code == "renewal_limit" and "limit is 2" in str(refused.value)


def test_a_renewal_that_would_not_move_the_due_date_is_refused_and_spends_nothing():
    rule = LoanRule(loan_days=30, renewals=2)
    fresh = on_loan(due="2026-04-01")   # lent today for 30 days: a renewal today gives that very day
    with pytest.raises(circulation.Refused) as refused:
        circulation.renew(fresh, "p1", rule, now=NOW, holds_waiting=False, is_open=ALWAYS_OPEN)
    assert refused.value.code == "too_soon" and "2026-04-01" in str(refused.value)
    assert fresh["loan"]["renewals"] == 0


def test_no_renewal_for_periodicals_while_others_wait_or_for_someone_else():
    periodical = rule_for(DEFAULT_RULES, "adult", "periodical", "library")
    refusals = [
        lambda: circulation.renew(on_loan(), "p1", periodical, now=NOW, holds_waiting=False, is_open=ALWAYS_OPEN),
        lambda: circulation.renew(on_loan(), "p1", LoanRule(), now=NOW, holds_waiting=True, is_open=ALWAYS_OPEN),
        lambda: circulation.renew(on_loan(), "p2", LoanRule(), now=NOW, holds_waiting=False, is_open=ALWAYS_OPEN),
    ]
    codes = []
    for call in refusals:
        with pytest.raises(circulation.Refused) as refused:
            call()
        codes.append(refused.value.code)
    assert codes == ["renewal_limit", "held", "not_yours"]


def test_a_blocked_patron_cannot_renew():
    with pytest.raises(circulation.Refused) as refused:
        circulation.renew(on_loan(), "p1", LoanRule(), now=NOW, holds_waiting=False, is_open=ALWAYS_OPEN,
                          blocks=("证件挂失",))
    assert refused.value.code == "blocked" and "证件挂失" in str(refused.value)


def test_a_waiting_hold_shortens_the_loan_when_the_rule_recalls():
    copy = {"_id": "B1", "title_id": "T1", "status": circulation.AVAILABLE, "location": "MAIN", "version": 1,
            "hold": None, "loan": None}
    good = circulation.PatronStanding((), 0, 0, 0)
    rule = LoanRule(loan_days=30, recall_days=7)
    lent = circulation.checkout(copy, "p1", good, rule, location="MAIN", now=NOW, loan_id="L", is_open=ALWAYS_OPEN,
                                holds_waiting=True)
    assert lent["loan"]["due"] == "2026-03-09"
    plain = circulation.checkout(copy, "p1", good, rule, location="MAIN", now=NOW, loan_id="L", is_open=ALWAYS_OPEN,
                                 holds_waiting=False)
    assert plain["loan"]["due"] == "2026-04-01"


@pytest.mark.parametrize("standing, code", [
    (circulation.PatronStanding(("欠费",), 0, 0, 0), "blocked"),
    (circulation.PatronStanding((), 0, 3, 5), "overdue"),        # three overdue items
    (circulation.PatronStanding((), 0, 1, 31), "overdue"),       # one item overdue past 30 days
    (circulation.PatronStanding((), 10, 0, 0), "limit"),
    (circulation.PatronStanding((), 9, 2, 30), None),
])
def test_standing_refusals(standing, code):
    refusal = circulation.standing_refusal(standing, LoanRule())
    assert (refusal.code if refusal else None) == code


def test_one_instant_gives_one_due_date_however_its_time_zone_is_written():
    copy = {"_id": "B1", "title_id": "T1", "status": circulation.AVAILABLE, "location": "MAIN", "version": 1,
            "hold": None, "loan": None}
    rule = LoanRule(loan_days=30)
    due = []
    for written in ("2026-03-01T20:30:00+00:00", "2026-03-02T04:30:00+08:00", "2026-03-01T20:30:00Z"):
        lent = circulation.checkout(copy, "p1", circulation.PatronStanding((), 0, 0, 0), rule, location="MAIN",
                                    now=datetime.fromisoformat(written), loan_id="L", is_open=ALWAYS_OPEN,
                                    holds_waiting=False)
        due.append(lent["loan"]["due"])
    assert due == ["2026-04-01"] * 3   # 30 days from 2 March, the district's day of that instant
