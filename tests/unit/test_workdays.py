"""Working days and case deadlines against the real 2025/2026 State Council schedules."""
from __future__ import annotations

import json
from datetime import date, timedelta

import chinese_calendar
import pytest

from services.community.calendar_source import (
    YearNotInPackage,
    from_document,
    from_json,
    from_package,
    package_years,
    to_document,
)
from services.community.workdays import (
    WorkingCalendar,
    YearNotLoaded,
    YearSchedule,
    deadline_for,
    due_status,
    remaining_days,
    resume_deadline,
)

# Not the real 2027 notice (unpublished when this was written): just enough of a year
# to show that an operator file lets deadlines run into it.
OPERATOR_2027 = {
    "year": 2027,
    "holidays": ["2027-01-01", "2027-01-02", "2027-01-03"],
    "makeup_workdays": ["2027-02-20"],
    "source": "test fixture standing in for 国务院办公厅关于2027年部分节假日安排的通知",
}


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar([from_package(2025), from_package(2026)])


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --- the calendar itself ----------------------------------------------------------

def test_national_day_2026_is_off_and_its_makeup_weekend_days_are_worked(cal):
    assert not any(cal.is_working_day(d) for d in days(date(2026, 10, 1), date(2026, 10, 7)))
    assert cal.is_working_day(date(2026, 9, 20))  # Sunday, 调休
    assert cal.is_working_day(date(2026, 10, 10))  # Saturday, 调休
    assert cal.is_working_day(date(2026, 10, 8))
    assert not cal.is_working_day(date(2026, 10, 11))  # the Sunday after stays off
    assert not cal.is_working_day(date(2026, 10, 17))  # an ordinary Saturday


@pytest.mark.parametrize("year", package_years())
def test_calendar_agrees_with_the_package_on_every_day(year):
    cal = WorkingCalendar([from_package(year)])
    wrong = [d for d in days(date(year, 1, 1), date(year, 12, 31))
             if cal.is_working_day(d) != chinese_calendar.is_workday(d)]
    assert wrong == []


def test_five_working_days_from_the_eve_of_national_day_skip_the_holiday(cal):
    # 10-08 Thu, 10-09 Fri, 10-10 Sat (调休), 10-12 Mon, 10-13 Tue.
    assert deadline_for(cal, date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert chinese_calendar.find_workday(5, date(2026, 9, 30)) == date(2026, 10, 13)


def test_working_days_across_the_2026_spring_festival(cal):
    # Off 02-15..02-23; Saturdays 02-14 and 02-28 are worked.
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert cal.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert cal.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)


def test_spring_festival_2025_block_and_makeup_days(cal):
    assert not any(cal.is_working_day(d) for d in days(date(2025, 1, 28), date(2025, 2, 4)))
    assert cal.is_working_day(date(2025, 1, 26))  # Sunday, 调休
    assert cal.is_working_day(date(2025, 2, 8))  # Saturday, 调休
    # Accepted Friday 2025-01-24: 01-26 Sun, 01-27 Mon, then 02-05.
    assert deadline_for(cal, date(2025, 1, 24), 3) == date(2025, 2, 5)


def test_deadline_across_the_year_end_when_both_years_are_loaded(cal):
    # 2025-12-31 Wed; 2026-01-01..03 off; 01-04 Sun is worked.
    assert cal.add_working_days(date(2025, 12, 30), 2) == date(2026, 1, 4)


def test_counting_edges(cal):
    start = date(2026, 3, 10)
    assert cal.add_working_days(start, 0) == start
    assert cal.working_days_between(start, start) == 0
    assert cal.working_days_between(date(2026, 3, 17), start) == 0
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_days(start, -1)
    with pytest.raises(ValueError, match="integer"):
        cal.add_working_days(start, 1.5)  # type: ignore[arg-type]


def test_add_and_between_are_inverse_over_2026(cal):
    start = date(2025, 12, 31)
    for n in range(1, 240):
        assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


def test_years_and_duplicate_years(cal):
    assert cal.years == (2025, 2026)
    with pytest.raises(ValueError, match="2026"):
        WorkingCalendar([from_package(2026), from_package(2026)])


# --- case deadlines -----------------------------------------------------------------

def test_remaining_days(cal):
    deadline = date(2026, 10, 13)
    assert remaining_days(cal, date(2026, 9, 30), deadline) == 5
    assert remaining_days(cal, date(2026, 10, 9), deadline) == 3  # 10-10, 10-12, 10-13
    assert remaining_days(cal, deadline, deadline) == 0
    assert remaining_days(cal, date(2026, 10, 20), deadline) == 0


def test_supplement_pause_across_mid_autumn_and_national_day(cal):
    # Accepted Mon 2026-09-14, 10 working days: 09-15..18, 09-20 (Sun, 调休), 09-21..24,
    # then 09-25..27 Mid-autumn off, so 09-28.
    deadline = deadline_for(cal, date(2026, 9, 14), 10)
    assert deadline == date(2026, 9, 28)
    # Supplement requested Tue 09-22: 09-23, 09-24, 09-28 are left.
    remaining = remaining_days(cal, date(2026, 9, 22), deadline)
    assert remaining == 3
    # Resumed Thu 10-08 after National Day: 10-09 Fri, 10-10 Sat (调休), 10-12 Mon.
    resumed = resume_deadline(cal, date(2026, 10, 8), remaining)
    assert resumed == date(2026, 10, 12)
    assert chinese_calendar.find_workday(3, date(2026, 10, 8)) == resumed


def test_resume_with_nothing_left_is_due_the_next_working_day(cal):
    assert resume_deadline(cal, date(2026, 9, 30), 0) == date(2026, 10, 8)
    with pytest.raises(ValueError):
        resume_deadline(cal, date(2026, 9, 30), -1)


@pytest.mark.parametrize(("today", "deadline", "status"), [
    (date(2026, 3, 13), date(2026, 3, 13), "due_soon"),  # due today (Friday)
    (date(2026, 3, 13), date(2026, 3, 16), "due_soon"),  # Friday, due Monday
    (date(2026, 3, 13), date(2026, 3, 14), "due_soon"),  # due on the Saturday in between
    (date(2026, 3, 13), date(2026, 3, 17), "ok"),
    (date(2026, 3, 14), date(2026, 3, 16), "due_soon"),  # on the weekend, due Monday
    (date(2026, 3, 17), date(2026, 3, 16), "overdue"),
    (date(2026, 9, 30), date(2026, 10, 8), "due_soon"),  # National Day in between
    (date(2026, 10, 9), date(2026, 10, 10), "due_soon"),  # Friday, Saturday is worked
    (date(2026, 10, 9), date(2026, 10, 12), "ok"),  # ...so Monday is two days away
])
def test_due_status(cal, today, deadline, status):
    assert due_status(cal, today, deadline) == status


# --- years not loaded ---------------------------------------------------------------

def test_deadline_into_an_unloaded_year_raises_naming_it():
    only_2026 = WorkingCalendar([from_package(2026)])
    with pytest.raises(YearNotLoaded, match="2027") as caught:
        deadline_for(only_2026, date(2026, 12, 24), 10)
    assert caught.value.year == 2027
    with pytest.raises(YearNotLoaded, match="2025"):
        only_2026.is_working_day(date(2025, 6, 3))


def test_deadline_into_2027_once_an_operator_file_is_loaded():
    cal = WorkingCalendar([from_package(2026), from_json(OPERATOR_2027)])
    # 12-25, 12-28..31, 2027-01-01 off, 01-04..08.
    assert deadline_for(cal, date(2026, 12, 24), 10) == date(2027, 1, 8)
    assert cal.is_working_day(date(2027, 2, 20))  # Saturday made a working day


def test_package_years_end_before_2027():
    years = package_years()
    assert years == list(range(2004, years[-1] + 1))
    assert 2026 in years and 2027 not in years
    with pytest.raises(YearNotInPackage, match="2027") as caught:
        from_package(2027)
    assert isinstance(caught.value, ValueError) and caught.value.year == 2027


def test_package_schedule_for_2026():
    s = from_package(2026)
    assert s.makeup_workdays == {date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
                                 date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)}
    assert date(2026, 10, 1) in s.holidays and date(2026, 12, 31) not in s.holidays
    assert s.source.startswith("chinesecalendar ")


def test_notice_reaching_into_december_goes_to_the_earlier_year():
    # The 2008 New Year notice: 2007-12-29 (Sat) worked, 12-30..2008-01-01 off.
    assert date(2007, 12, 29) in from_package(2007).makeup_workdays
    assert date(2007, 12, 31) in from_package(2007).holidays
    assert date(2008, 1, 1) in from_package(2008).holidays


# --- operator files and stored documents -----------------------------------------------

def operator(**changes) -> dict:
    return {**OPERATOR_2027, **changes}


def test_from_json_reads_an_operator_file():
    s = from_json(json.loads(json.dumps(OPERATOR_2027, ensure_ascii=False)))
    assert s.year == 2027
    assert s.holidays == {date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}
    assert s.makeup_workdays == {date(2027, 2, 20)}
    assert s.source == OPERATOR_2027["source"]


@pytest.mark.parametrize(("bad", "message"), [
    (operator(holidays=["2027-1-01"]), "holidays: '2027-1-01'"),
    (operator(holidays=["2027/01/01"]), "holidays: '2027/01/01'"),
    (operator(holidays=["20270101"]), "holidays: '20270101'"),
    (operator(holidays=["2027-02-30"]), "'2027-02-30' is not a real date"),
    (operator(holidays=[20270101]), "holidays: 20270101"),
    (operator(holidays=["2026-12-31", "2027-01-01"]), "holidays 2026-12-31 outside 2027"),
    (operator(makeup_workdays=["2027-01-04"]), "2027-01-04 not on a Saturday or Sunday"),
    (operator(makeup_workdays=["2027-01-02"]), "2027-01-02 both a holiday and a make-up"),
    (operator(holidays=["2027-01-01", "2027-01-01"]), "2027-01-01 listed twice"),
    (operator(holidays=[]), "holidays for 2027 is empty"),
    (operator(holidays="2027-01-01"), "holidays must be a list"),
    (operator(year="2027"), "year must be an integer"),
    (operator(year=True), "year must be an integer"),
    (operator(source=" "), "source must name"),
    (operator(note="from the website"), "unknown key.*note"),
    ({k: v for k, v in OPERATOR_2027.items() if k != "makeup_workdays"}, "missing makeup_workdays"),
    (["2027-01-01"], "JSON object"),
])
def test_from_json_refuses_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        from_json(bad)


def test_year_schedule_validates_itself():
    with pytest.raises(ValueError, match="outside 2026"):
        YearSchedule(2026, frozenset({date(2025, 10, 1)}), frozenset(), "x")
    with pytest.raises(ValueError, match="Saturday or Sunday"):
        YearSchedule(2026, frozenset(), frozenset({date(2026, 10, 9)}), "x")
    with pytest.raises(ValueError, match="both"):
        YearSchedule(2026, frozenset({date(2026, 10, 10)}), frozenset({date(2026, 10, 10)}), "x")


@pytest.mark.parametrize("year", [2025, 2026])
def test_document_round_trip(year):
    s = from_package(year)
    doc = to_document(s)
    assert doc["_id"] == year
    assert doc["holidays"] == sorted(doc["holidays"])
    assert all(isinstance(v, str) for v in doc["holidays"] + doc["makeup_workdays"])
    assert json.loads(json.dumps(doc)) == doc  # plain strings and ints only
    assert from_document(doc) == s
    assert from_document({**doc, "loaded_at": "2026-11-20T09:00:00Z"}) == s


def test_from_document_refuses_a_damaged_document():
    doc = to_document(from_package(2026))
    with pytest.raises(ValueError, match="missing source"):
        from_document({k: v for k, v in doc.items() if k != "source"})
    with pytest.raises(ValueError, match="not a YYYY-MM-DD"):
        from_document({**doc, "holidays": [{"date": "2026-10-01"}]})
