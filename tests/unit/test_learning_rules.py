"""The pure rules of lifelong learning, without broker or store: progress merging (newest
wins, a late older report never moves a learner back, completion is sticky), completion
rules, and the credit bank's entries (exactly once per completion, corrections as new
entries, totals, what erasure leaves)."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from contracts.rpc.elearning import CourseV1
from services.elearning import credit_rules, progress

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
BEIJING = timezone(timedelta(hours=8))


def report(minutes, **fields):
    return {"position": 0, "percent": 0, "completed": False, "channel": "web", "at": T0 + timedelta(minutes=minutes),
            **fields}


# ---- progress merging -------------------------------------------------------------------------------

def test_the_first_report_is_stored_in_utc():
    first = progress.merged(None, report(0, position=90, percent=30, channel="tv",
                                         at=datetime(2026, 11, 25, 18, 0, tzinfo=BEIJING)))
    assert first == {"position": 90, "percent": 30, "completed": False, "at": "2026-11-25T10:00:00+00:00",
                     "channel": "tv"}


def test_the_newest_report_wins_from_any_channel():
    current = progress.merged(None, report(0, position=90, percent=30, channel="tv"))
    newer = progress.merged(current, report(5, position=200, percent=60, channel="mobile"))
    assert (newer["position"], newer["percent"], newer["channel"]) == (200, 60, "mobile")
    # a newer report further back in the lesson (the learner rewound) still wins: newest, not furthest
    rewound = progress.merged(newer, report(6, position=10, percent=5, channel="web"))
    assert (rewound["position"], rewound["percent"]) == (10, 5)


def test_an_older_report_arriving_late_changes_nothing():
    current = progress.merged(None, report(10, position=300, percent=50))
    assert progress.merged(current, report(5, position=60, percent=10)) is None
    assert progress.merged(current, report(10, position=60, percent=10)) is None   # same moment: kept
    # the same moment written with another offset is the same moment, not a newer one
    same = report(0, at=(T0 + timedelta(minutes=10)).astimezone(BEIJING))
    assert progress.merged(current, same) is None


def test_completion_is_sticky_and_a_late_completion_still_counts():
    done = progress.merged(None, report(0, completed=True, percent=40))
    assert done["completed"] is True and done["percent"] == 100
    later = progress.merged(done, report(5, percent=20, position=30))
    assert later["completed"] is True and later["percent"] == 100 and later["position"] == 30
    current = progress.merged(None, report(10, percent=50))
    late_completion = progress.merged(current, report(5, completed=True))
    assert late_completion["completed"] is True and late_completion["at"] == current["at"]


def test_percent_is_clamped():
    assert progress.merged(None, report(0, percent=150))["percent"] == 100
    assert progress.merged(None, report(0, percent=-3))["percent"] == 0


def test_last_activity_compares_moments_not_text():
    records = [{"at": "2026-11-25T10:30:00+08:00"}, {"at": "2026-11-25T03:00:00+00:00"}]
    assert progress.last_activity(records) == "2026-11-25T03:00:00+00:00"
    assert progress.last_activity([]) is None


# ---- completion rules ---------------------------------------------------------------------------------

LESSONS = {"l1", "l2", "l3"}


@pytest.mark.parametrize("rule,done,reached", [
    (None, {"l1", "l2"}, False),
    (None, LESSONS, True),
    ({"share": 0.5}, {"l1"}, False),                          # half of 3 is 2 lessons, rounded up
    ({"share": 0.5}, {"l1", "l3"}, True),
    ({"share": 1 / 3}, {"l2"}, True),
    ({"share": 0.5, "required_lessons": ["l3"]}, {"l1", "l2"}, False),
    ({"share": 0.5, "required_lessons": ["l3"]}, {"l1", "l3"}, True),
    ({"share": 0.5}, {"l1", "elsewhere"}, False),             # lessons of no version of this course
    ({"share": 0}, set(), False),                             # stored before rules were checked: all lessons
    ({"share": 0}, {"l1"}, False),
    ({"share": "half"}, LESSONS, True),
])
def test_completion_rule(rule, done, reached):
    assert credit_rules.completion_reached(rule, LESSONS, done) is reached


def test_a_course_without_lessons_is_never_completed():
    assert credit_rules.completion_reached({"share": 1.0}, set(), set()) is False


def course(**overrides):
    return {"course_id": "c1", "title": "太极拳", "provider": "区老年大学", "credits": 2,
            "units": [{"title": "一", "lessons": [{"id": "l1", "title": "起势"}, {"id": "l2", "title": "收势"}]}],
            **overrides}


@pytest.mark.parametrize("completion,why", [
    ({"share": 0}, "greater than 0"),
    ({"share": -0.5}, "greater than 0"),
    ({"share": 1.01}, "less than or equal to 1"),
    ({"share": "0.5"}, "valid number"),
    ({"share": float("nan")}, ""),
    ({"required_lessons": ["l9"]}, "does not have: l9"),
    ({"share": 0.5, "minimum_score": 60}, "Extra inputs"),
    ("all", "valid dictionary"),
])
def test_bad_completion_rules_are_refused_with_a_reason(completion, why):
    with pytest.raises(ValidationError) as err:
        CourseV1.model_validate(course(completion=completion))
    assert why in str(err.value)


def test_a_good_completion_rule_is_kept_as_given_and_defaults_to_every_lesson():
    rule = CourseV1.model_validate(course(completion={"share": 0.5, "required_lessons": ["l2"]})).completion
    assert rule.model_dump() == {"share": 0.5, "required_lessons": ["l2"]}
    assert CourseV1.model_validate(course()).completion.model_dump() == {"share": 1.0, "required_lessons": []}


# ---- credit entries ---------------------------------------------------------------------------------------

COURSE = {"_id": "c1", "title": "太极拳", "provider": "区老年大学", "credits": 2}


def test_one_completion_has_one_entry_id_however_often_it_is_reported():
    first = credit_rules.completion_entry("r1", COURSE, T0)
    again = credit_rules.completion_entry("r1", COURSE, T0 + timedelta(hours=1))
    assert first["_id"] == again["_id"] == credit_rules.completion_entry_id("r1", "c1")
    assert credit_rules.completion_entry("r2", COURSE, T0)["_id"] != first["_id"]
    assert credit_rules.completion_entry("r1", {**COURSE, "_id": "c2"}, T0)["_id"] != first["_id"]
    assert (first["amount"], first["kind"], first["source"], first["at"]) == (2, "completion", "区老年大学", T0.isoformat())


def test_corrections_are_new_entries_each_with_its_own_id():
    a = credit_rules.correction_entry("r1", -1, "核定为1学分", "operator:admin", T0)
    b = credit_rules.correction_entry("r1", -1, "核定为1学分", "operator:admin", T0)
    assert a["_id"] != b["_id"] and a["kind"] == "correction" and a["amount"] == -1
    assert credit_rules.correction_entry("r1", -1000, "x", "operator:admin", T0)["amount"] == -1000
    for bad in (0, 1.5, True, "1", None, 1001, -1001, 2 ** 63):   # a typo of 10**6 was kept; 2**63 overflowed the store
        with pytest.raises(ValueError):
            credit_rules.correction_entry("r1", bad, "x", "operator:admin", T0)
    for reason in ("", "   ", "x" * 501, None):
        with pytest.raises(ValueError):
            credit_rules.correction_entry("r1", 1, reason, "operator:admin", T0)


def test_totals_add_completions_and_corrections():
    entries = [credit_rules.completion_entry("r1", COURSE, T0),
               credit_rules.completion_entry("r1", {**COURSE, "_id": "c2", "credits": 3}, T0),
               credit_rules.correction_entry("r1", -1, "核定", "operator:admin", T0)]
    assert credit_rules.total(entries) == 4
    assert credit_rules.total([]) == 0


def test_an_erased_entry_keeps_the_amount_and_nothing_of_the_learner():
    completion = {**credit_rules.completion_entry("r-5f3a", COURSE, T0),
                  "outbox": {"e1": {"data": {"resident_id": "r-5f3a"}}}, "outbox_pending": 1}
    correction = credit_rules.correction_entry("r-5f3a", -1, "r-5f3a asked for it", "operator:admin", T0)
    erased = [credit_rules.erased_entry(e, "erased:abc", f"erased|erased:abc|{i}")
              for i, e in enumerate((completion, correction))]
    assert "r-5f3a" not in json.dumps(erased, ensure_ascii=False)
    assert [e["_id"] for e in erased] == ["erased|erased:abc|0", "erased|erased:abc|1"]
    assert all(e["resident_id"] == "erased:abc" for e in erased)
    assert credit_rules.total(erased) == credit_rules.total([completion, correction]) == 1
    assert (erased[0]["course_id"], erased[0]["at"], erased[1]["by"]) == ("c1", T0.isoformat(), "operator:admin")
