"""Pure rules of the community service: jurisdiction routing and the case state machine."""
from datetime import date, datetime, timezone
from typing import get_args

import pytest

from contracts.rpc.community import CASE_ACTIONS, CaseStatus, CaseViewV1
from services.common.errors import BadInput, Conflict, Forbidden
from services.common.storage import due_key
from services.community import calendar_source, cases, jurisdiction
from services.community.workdays import WorkingCalendar

CAL = WorkingCalendar([calendar_source.from_package(2026)])
CLERK_A = cases.Actor("clerk-a", "staff", "C0101")      # the accepting desk's committee
CLERK_H = cases.Actor("clerk-h", "staff", "C0201")      # the handling (residence) committee
STRANGER = cases.Actor("clerk-x", "staff", "C0999")
OWNER = cases.Actor("r1", "resident")
OTHER = cases.Actor("r2", "resident")

MOVER = {"_id": "r1", "name": "王芳", "registered_committee": "C0101", "registered_outside_district": False,
         "residence": {"committee": "C0201", "address": "枫林路88弄", "since": "2020-01-01"}}
OUTSIDER = {"_id": "r3", "name": "李娜", "registered_committee": None, "registered_outside_district": True,
            "residence": {"committee": "C0202", "address": "东安路12号", "since": "2021-01-01"}}


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=timezone.utc)


class TestJurisdiction:
    def test_residence_matter_goes_to_where_they_live(self):
        assert jurisdiction.handling_committee("RESIDENCE", MOVER, "C0101") == "C0201"

    def test_registration_matter_goes_to_where_they_are_registered(self):
        assert jurisdiction.handling_committee("REGISTRATION", MOVER, "C0202") == "C0101"

    def test_accepting_desk_matter_stays_at_the_desk(self):
        assert jurisdiction.handling_committee("ACCEPTING_DESK", MOVER, "C0202") == "C0202"

    def test_registration_matter_for_someone_registered_elsewhere_is_refused_clearly(self):
        with pytest.raises(jurisdiction.OutsideJurisdiction) as err:
            jurisdiction.handling_committee("REGISTRATION", OUTSIDER, "C0202")
        assert "户籍" in str(err.value) and "outside this district" in str(err.value)


def submitted(matter_days: int = 5, now: datetime = at("2026-09-29")) -> dict:
    case, event, _ = cases.new_case(
        case_id="k1", number="D010101-20260929-0001",
        matter={"_id": "ELDERLY_ALLOWANCE", "name": "高龄老人营养补贴申领", "jurisdiction": "RESIDENCE",
                "promised_days": matter_days},
        resident=MOVER, desk={"_id": "D010101", "parent": "C0101"}, handling="C0201", actor=OWNER, now=now,
        materials=["居民身份证"], note=None)
    assert event.TYPE == "cn.community.case.submitted.v1"
    return case


def step(case, action, actor, day="2026-09-30", **kw):
    new, event, extra = cases.apply(case, action, actor, at(day), CAL, **kw)
    return new, event


class TestCaseLife:
    def test_waits_in_the_accepting_committees_queue_then_the_handling_one(self):
        case = submitted()
        assert case["queue"] == "C0101" and case["deadline_key"].startswith("0000")
        accepted, event = step(case, "accept", CLERK_A)
        assert event.TYPE == "cn.community.case.accepted.v1"
        assert accepted["queue"] == "C0201"
        # five working days after 30 September skip the National Day holiday (1-8 Oct 2026)
        assert accepted["deadline"] == "2026-10-13"
        assert accepted["version"] == case["version"] + 1
        assert case["status"] == "submitted"  # the old case is untouched

    def test_full_life_with_an_audit_entry_per_step(self):
        case = submitted()
        case, _ = step(case, "accept", CLERK_A)
        case, _ = step(case, "assign", CLERK_H, assignee="clerk-h2")
        case, _ = step(case, "start", CLERK_H)
        case, event = step(case, "complete", CLERK_H, note="补贴已核发")
        assert case["status"] == "completed" and case["queue"] is None and "watch" not in case
        assert [e["action"] for e in case["trail"]] == ["submit", "accept", "assign", "start", "complete"]
        assert case["trail"][-1] | {"at": None} == {"at": None, "by": "clerk-h", "role": "staff",
                                                    "action": "complete", "from": "in_progress",
                                                    "to": "completed", "note": "补贴已核发"}
        assert event.TYPE == "cn.community.case.completed.v1"

    def test_days_are_the_districts_and_stamps_stay_utc(self):
        """An instant late in the UTC evening is already the next day in the district: a case
        accepted then counts from, and is numbered by, the day the clerk's calendar shows."""
        evening = at("2026-09-29", hour=20)                   # 2026-09-30 04:00 in the district
        case = submitted(now=evening)
        accepted, _, _ = cases.apply(case, "accept", CLERK_A, evening, CAL)
        assert accepted["accepted_on"] == "2026-09-30" and accepted["deadline"] == "2026-10-13"
        assert accepted["trail"][-1]["at"] == "2026-09-29T20:00:00+00:00"
        assert cases.number_scope("D010101", evening) == "D010101-20260930"
        assert cases.number_scope("D010101", at("2026-09-29", hour=15)) == "D010101-20260929"

    def test_supplement_pauses_the_clock_across_a_holiday(self):
        case = submitted(matter_days=10, now=at("2026-09-14"))
        case, _ = step(case, "accept", CLERK_A, day="2026-09-14")
        assert case["deadline"] == "2026-09-28"
        case, _ = step(case, "request_supplement", CLERK_H, day="2026-09-22", missing_materials=["银行卡"])
        assert case["status"] == "supplement_required" and case["paused_remaining"] == 3
        assert "watch" not in case  # the deadline timer leaves a paused case alone
        case, event = step(case, "supplement", OWNER, day="2026-10-08", materials=["银行卡"])
        assert event.TYPE == "cn.community.case.supplemented.v1"
        # three working days after 8 Oct: 9, 10 (a make-up Saturday) and 12 Oct
        assert case["status"] == "accepted" and case["deadline"] == "2026-10-12"
        assert case["materials"] == ["居民身份证", "银行卡"] and case["missing_materials"] == []

    def test_deadline_in_a_year_with_no_schedule_is_flagged_not_guessed(self):
        case = submitted(matter_days=30, now=at("2026-12-10"))
        case, _ = step(case, "accept", CLERK_A, day="2026-12-10")
        assert case["deadline"] is None and "2027" in case["deadline_problem"]
        assert "watch" not in case and cases.deadline_now_known(case, CAL, at("2026-12-11")) is None

    def test_loading_the_missing_year_sets_the_deadline_with_an_audit_entry(self):
        case = submitted(matter_days=30, now=at("2026-12-10"))
        case, _ = step(case, "accept", CLERK_A, day="2026-12-10")
        # an operator's 2027 file: New Year's Day off and (made up for the test) no make-up days
        y2027 = calendar_source.from_json({"year": 2027, "holidays": ["2027-01-01"], "makeup_workdays": [],
                                           "source": "test"})
        fixed = cases.deadline_now_known(case, WorkingCalendar([calendar_source.from_package(2026), y2027]),
                                         at("2026-12-20"))
        # 30 working days after 10 Dec 2026: 15 left in Dec 2026, then Jan 2027 without the 1st
        assert fixed["deadline"] == "2027-01-22" and fixed["deadline_problem"] is None
        assert fixed["watch"] == due_key("2027-01-22") and "awaiting_calendar" not in fixed
        assert fixed["trail"][-1]["action"] == "deadline_set" and fixed["trail"][-1]["by"] == "system"
        assert fixed["version"] == case["version"] + 1 and fixed["status"] == "accepted"

    @pytest.mark.parametrize("action, actor, kwargs", [
        ("start", CLERK_H, {}), ("complete", CLERK_H, {}), ("supplement", OWNER, {}),
        ("assign", CLERK_H, {"assignee": "x"})])
    def test_illegal_transitions_are_refused(self, action, actor, kwargs):
        with pytest.raises(Conflict):
            step(submitted(), action, actor, **kwargs)

    def test_finished_cases_take_no_more_steps(self):
        case, _ = step(submitted(), "accept", CLERK_A)
        case, _ = step(case, "complete", CLERK_H)
        for action, actor in [("withdraw", OWNER), ("reject", CLERK_H), ("complete", CLERK_H)]:
            with pytest.raises(cases.IllegalTransition):
                step(case, action, actor, reason="x")

    @pytest.mark.parametrize("action, actor", [
        ("accept", CLERK_H), ("accept", STRANGER), ("accept", OWNER), ("withdraw", OTHER), ("withdraw", CLERK_A)])
    def test_who_may_act(self, action, actor):
        with pytest.raises(Forbidden):
            step(submitted(), action, actor)

    def test_after_acceptance_only_the_handling_committee_acts(self):
        case, _ = step(submitted(), "accept", CLERK_A)
        with pytest.raises(Forbidden):
            step(case, "complete", CLERK_A)
        with pytest.raises(Forbidden):
            step(case, "start", STRANGER)

    def test_reject_and_transfer_need_reasons(self):
        case, _ = step(submitted(), "accept", CLERK_A)
        with pytest.raises(BadInput):
            step(case, "reject", CLERK_H)
        with pytest.raises(BadInput):
            step(case, "transfer", CLERK_H, to_committee="C0202")
        with pytest.raises(BadInput):
            step(case, "transfer", CLERK_H, to_committee="C0201", reason="same committee")
        with pytest.raises(BadInput):
            step(case, "transfer", CLERK_H, to_committee="NOPE", reason="x", committee_exists=lambda c: False)
        moved, event = step(case, "transfer", CLERK_H, to_committee="C0202", reason="实际居住地在东安")
        assert moved["handling_committee"] == "C0202" and moved["queue"] == "C0202"
        assert event.TYPE == "cn.community.case.transferred.v1"
        with pytest.raises(Forbidden):  # the old committee has handed it on
            step(moved, "complete", CLERK_H)

    def test_resident_withdraws_before_completion(self):
        case, _ = step(submitted(), "accept", CLERK_A)
        case, event = step(case, "withdraw", OWNER)
        assert case["status"] == "withdrawn" and event.TYPE == "cn.community.case.withdrawn.v1"

    def test_visibility(self):
        case = submitted()
        assert cases.can_see(case, OWNER) and cases.can_see(case, CLERK_A) and cases.can_see(case, CLERK_H)
        assert not cases.can_see(case, OTHER) and not cases.can_see(case, STRANGER)
        assert all("by" not in e for e in cases.view(case, OWNER, CAL, date(2026, 9, 29))["trail"])
        assert cases.view(case, CLERK_H, CAL, date(2026, 9, 29))["trail"][0]["by"] == "r1"


class TestOneVocabulary:
    """What a case allows, and whether it is due, is decided here once: the view carries it."""

    def test_the_steps_are_the_contracts_actions_in_its_order(self):
        assert tuple(cases.STEPS) == CASE_ACTIONS
        assert set(cases.STATUS_NAMES) == set(get_args(CaseStatus))

    def test_actions_follow_state_and_who_asks(self):
        case = submitted()
        assert cases.allowed_actions(case, CLERK_A) == ["accept", "reject"]
        assert cases.allowed_actions(case, CLERK_H) == ["reject"]     # accepting is the desk's
        assert cases.allowed_actions(case, OWNER) == ["withdraw"]
        assert cases.allowed_actions(case, STRANGER) == [] and cases.allowed_actions(case, OTHER) == []
        accepted, _ = step(case, "accept", CLERK_A)
        assert cases.allowed_actions(accepted, CLERK_H) == ["start", "request_supplement", "assign", "transfer",
                                                            "complete", "reject"]
        assert cases.allowed_actions(accepted, CLERK_A) == []         # the handling committee's now
        paused, _ = step(accepted, "request_supplement", CLERK_H, missing_materials=["户口簿"])
        assert "supplement" in cases.allowed_actions(paused, OWNER)
        assert cases.allowed_actions(step(paused, "withdraw", OWNER)[0], CLERK_H) == []

    def test_every_action_offered_is_one_apply_accepts_from_that_actor(self):
        args = {"missing_materials": ["户口簿"], "assignee": "clerk-h2", "to_committee": "C0202",
                "reason": "理由"}
        case = submitted()
        for state in [case, step(case, "accept", CLERK_A)[0]]:
            for who in (CLERK_A, CLERK_H, OWNER, OTHER, STRANGER):
                for action in CASE_ACTIONS:
                    offered = action in cases.allowed_actions(state, who)
                    try:
                        cases.apply(state, action, who, at("2026-09-30"), CAL, **args)
                        taken = True
                    except (Forbidden, cases.IllegalTransition):
                        taken = False
                    assert offered == taken, (state["status"], who, action)

    def test_deadline_mark_counts_working_days(self):
        case, _ = step(submitted(), "accept", CLERK_A)      # accepted 2026-09-30, deadline 2026-10-13
        assert case["deadline"] == "2026-10-13"
        assert cases.deadline_mark(case, CAL, date(2026, 10, 9)) is None       # Friday: Monday is between
        assert cases.deadline_mark(case, CAL, date(2026, 10, 12)) == "due_soon"  # the next working day
        assert cases.deadline_mark(case, CAL, date(2026, 10, 13)) == "due_soon"
        assert cases.deadline_mark(case, CAL, date(2026, 10, 14)) == "overdue"
        paused, _ = step(case, "request_supplement", CLERK_H, missing_materials=["户口簿"])
        assert cases.deadline_mark(paused, CAL, date(2026, 10, 14)) is None    # the clock is paused

    def test_deadline_mark_without_the_years_schedule_guesses_nothing(self):
        case, _ = step(submitted(), "accept", CLERK_A)
        no_schedule = WorkingCalendar([])
        assert cases.deadline_mark(case, no_schedule, date(2026, 10, 12)) is None
        assert cases.deadline_mark({**case, "deadline_flag": "due_soon"}, no_schedule, date(2026, 10, 12)) \
            == "due_soon"                                                       # what the timer raised stands
        assert cases.deadline_mark(case, no_schedule, date(2026, 10, 14)) == "overdue"

    def test_the_view_is_the_contracts_case_view(self):
        case, _ = step(submitted(), "accept", CLERK_A)
        for who in (CLERK_H, OWNER):
            shown = cases.view(case, who, CAL, date(2026, 10, 12))
            CaseViewV1.model_validate(shown)
            assert shown["deadline_mark"] == "due_soon" and shown["actions"] == cases.allowed_actions(case, who)
        assert "assignee" not in cases.view(case, OWNER, CAL, date(2026, 10, 12))


class TestDeadlineFlags:
    def test_due_soon_then_overdue_each_once(self):
        case, _ = step(submitted(), "accept", CLERK_A)      # deadline 2026-10-13
        assert cases.deadline_flag(case, CAL, date(2026, 10, 9)) is None
        assert cases.deadline_flag(case, CAL, date(2026, 10, 12)) == "due_soon"
        case, event = cases.flagged(case, "due_soon", at("2026-10-12"))
        assert event.TYPE == "cn.community.case.due_soon.v1"
        assert cases.deadline_flag(case, CAL, date(2026, 10, 13)) is None  # raised already
        assert cases.deadline_flag(case, CAL, date(2026, 10, 14)) == "overdue"
        case, event = cases.flagged(case, "overdue", at("2026-10-14"))
        assert event.TYPE == "cn.community.case.overdue.v1" and "watch" not in case
        assert cases.deadline_flag(case, CAL, date(2026, 10, 20)) is None
