"""The reports' rules without a broker or a store: who reaches which rows, what a case carries for
the reports (its month in the district's time, handed on across sub-districts, closed on time or
late, the days it took, its rating), the period a report takes, the median, and CSV cells that a
spreadsheet would take for formulas."""
import pytest

from gateway.console import report_files
from services.common import report_tables
from services.common.errors import BadInput, Forbidden
from services.community import reports
from services.community.cases import Actor

PLACES = [{"_id": "SD1", "kind": "subdistrict", "name": "甲街道"}, {"_id": "SD2", "kind": "subdistrict", "name": "乙镇"},
          {"_id": "C11", "kind": "committee", "name": "甲一", "parent": "SD1"},
          {"_id": "C21", "kind": "committee", "name": "乙一", "parent": "SD2"}]
PARENT = {"C11": "SD1", "C21": "SD2", "SD1": "SD1", "SD2": "SD2"}


def test_scope_by_role():
    assert reports.scope(Actor("s", "supervisor"), PLACES, None) == (None, {"SD1": "SD1", "SD2": "SD2"})
    assert reports.scope(Actor("s", "supervisor"), PLACES, "SD2") == ("SD2", {"SD2": "SD2", "C21": "SD2"})
    assert reports.scope(Actor("s", "supervisor", subdistrict="SD1"), PLACES, None)[0] == "SD1"
    assert reports.scope(Actor("c", "centre", subdistrict="SD1"), PLACES, "SD1")[0] == "SD1"
    with pytest.raises(Forbidden):
        reports.scope(Actor("s", "supervisor", subdistrict="SD1"), PLACES, "SD2")   # another sub-district
    with pytest.raises(Forbidden):
        reports.scope(Actor("k", "staff", committee="C11"), PLACES, None)           # a committee's clerk
    with pytest.raises(BadInput):
        reports.scope(Actor("s", "supervisor"), PLACES, "SD9")


def case(**fields):
    base = {"submitted_at": "2026-03-31T17:30:00+00:00", "handling_committee": "C21", "accepting_committee": "C11",
            "matter_code": "M", "status": "accepted", "deadline": "2026-04-10",
            "trail": [{"at": "2026-03-31T17:30:00+00:00", "action": "submit"}]}
    return reports.with_figures({**base, **fields}, PARENT.get)


def test_what_a_case_carries_for_the_reports():
    handed = case()   # 1 April 01:30 in the district; accepted in SD1, handled in SD2
    assert handed["report_month"] == "2026-04" and handed["g_cases_d"] == "2026-04|SD2|M|1"
    assert handed["g_cases_s"] == "SD2|2026-04|C21|M|1" and "g_closed_d" not in handed
    assert case(accepting_committee="C21")["g_cases_d"].endswith("|0")
    late = case(status="completed", trail=[{"at": "2026-03-31T17:30:00+00:00", "action": "submit"},
                                           {"at": "2026-04-12T02:00:00+00:00", "action": "complete"}])
    assert (late["on_time"], late["handling_days"]) == ("no", 11)
    assert late["g_closed_s"] == "SD2|2026-04|C21|no|11"
    rated = reports.with_figures({**late, "rating": {"score": 4}}, PARENT.get)
    assert rated["g_rated_d"] == "2026-04|SD2|4" and rated["closed_at"] == late["closed_at"]


def test_period_and_median():
    assert report_tables.period("2026-01", "2026-03") == ("2026-01", "2026-03")
    for since, until in (("2026-13", "2026-12"), ("2026-05", "2026-01"), ("2020-01", "2026-01"), ("x", None)):
        with pytest.raises(BadInput):
            report_tables.period(since, until)
    assert report_tables.utc_bounds("2026-04", "2026-04") == ("2026-03-31T16", "2026-04-30T16")
    assert report_tables.median({0: 2, 3: 1}) == 0 and report_tables.median({1: 1, 4: 1}) == 2.5
    assert report_tables.median({}) is None


def test_csv_cells_are_never_formulas():
    table = report_tables.table("x", "标题", [("a", "名称"), ("b", "数")], [{"a": "=HYPERLINK(1)", "b": -3}],
                                {"kind": "bar", "labels": [], "series": []})
    text = report_files.as_csv(table).decode("utf-8-sig")
    assert text.splitlines() == ["名称,数", "'=HYPERLINK(1),-3"]
