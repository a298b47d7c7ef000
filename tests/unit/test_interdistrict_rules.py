"""Cases across districts, free of I/O: who handles, the forwarded state and its clock, the
replies both ways, and who may speak on ``interdistrict.in``."""
from datetime import datetime, timezone

import pytest

from contracts.events.interdistrict import CaseForwardedV1, CaseRepliedV1
from services.common.config import linked_districts
from services.community import calendar_source, cases, interdistrict, jurisdiction
from services.community.workdays import WorkingCalendar

CAL = WorkingCalendar([calendar_source.from_package(2026)])
CLERK = cases.Actor("clerk-a", "staff", "C0202")
HERE, THERE = "310115", "310104"
AWAY = {"_id": "r9", "name": "陈静", "id_number": "110101199003070019", "registered_committee": None,
        "registered_outside_district": True, "registered_district": THERE, "registered_place": "C0101",
        "residence": {"committee": "C0202", "address": "张杨路500号", "since": "2021-01-01"}}
MATTER = {"_id": "HOUSEHOLD_CERTIFICATE", "name": "户籍证明开具", "jurisdiction": "REGISTRATION", "promised_days": 5}
DESK = {"_id": "D020201", "parent": "C0202"}


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00").replace(tzinfo=timezone.utc)


def forwarded(day="2026-09-29") -> dict:
    case, _, _ = cases.new_case(case_id="c1", number="N-1", matter=MATTER, resident=AWAY, desk=DESK,
                                handling="C0101", actor=CLERK, now=at(day), materials=["身份证"], note=None,
                                handling_district=THERE)
    new, event, _ = cases.apply(case, "accept", CLERK, at(day), CAL)
    assert event is CaseForwardedV1
    return new


def test_a_registration_matter_goes_to_a_linked_district_only():
    assert jurisdiction.handling_district("REGISTRATION", AWAY, {THERE}) == THERE
    assert jurisdiction.handling_committee("REGISTRATION", AWAY, "C0202", linked={THERE}) == "C0101"
    assert jurisdiction.handling_district("RESIDENCE", AWAY, {THERE}) is None
    with pytest.raises(jurisdiction.OutsideJurisdiction, match="未与本区联通"):
        jurisdiction.handling_committee("REGISTRATION", AWAY, "C0202", linked={"310199"})


def test_forwarded_waits_for_an_answer_within_its_own_limit_then_the_other_clock_runs():
    case = forwarded()   # a Tuesday before the National Day holidays
    assert case["status"] == "forwarded" and case["queue"] == "C0202" and cases.allowed_actions(case, CLERK) == []
    assert case["deadline"] == "2026-10-08" and case["watch"]   # two working days (the holidays between), watched here
    assert cases.deadline_flag(case, CAL, datetime(2026, 10, 9).date()) == "overdue"
    reply = {"from_district": THERE, "seq": 2, "reply": "accepted", "deadline": "2026-10-16", "remote_case_number": "X-1"}
    accepted, event, _ = cases.remote_reply(case, reply, at("2026-09-30"))
    assert (accepted["status"], accepted["deadline"], accepted["remote_case_number"]) == ("accepted", "2026-10-16", "X-1")
    assert "watch" not in accepted and cases.deadline_mark(accepted, CAL, datetime(2026, 11, 1).date()) is None
    assert event.TYPE == "cn.community.case.accepted.v1" and accepted["trail"][-1]["district"] == THERE
    assert cases.remote_reply(accepted, reply, at("2026-09-30")) is None             # a copy
    assert cases.remote_reply(accepted, {**reply, "seq": 1}, at("2026-09-30")) is None   # late
    asked, _, _ = cases.remote_reply(accepted, {**reply, "seq": 3, "reply": "needs_materials",
                                                "missing_materials": ["户口簿"]}, at("2026-10-09"))
    assert cases.allowed_actions(asked, CLERK) == ["supplement"]   # handed in at the accepting desk
    handed, event, extra = cases.apply(asked, "supplement", CLERK, at("2026-10-09"), CAL, materials=["户口簿"])
    assert event.TYPE == "cn.interdistrict.case.supplemented.v1" and handed["status"] == "accepted"
    assert handed["trail"][-1]["district"] == THERE and cases.allowed_actions(handed, CLERK) == []
    assert interdistrict.supplemented_data(handed, HERE, extra)["materials"] == ["户口簿"]
    done, _, _ = cases.remote_reply(accepted, {**reply, "seq": 5, "reply": "done"}, at("2026-10-09"))
    assert done["status"] == "completed" and done["queue"] is None
    assert cases.remote_reply(done, {**reply, "seq": 6, "reply": "refused"}, at("2026-10-09")) is None


def test_the_handling_district_replies_status_changes_only():
    data = interdistrict.forwarded_data(forwarded(), AWAY, HERE, "D020201")
    CaseForwardedV1.model_validate(data)
    matter, resident, origin = interdistrict.copy_parts(data)
    assert interdistrict.is_foreign(resident["_id"]) and origin["origin_case"] == "c1"
    copy, _, _ = cases.new_case(case_id=interdistrict.copy_id(HERE, "c1"), number="B-1", matter=matter,
                                resident=resident, desk={"_id": "D010101", "parent": "C0101"}, handling="C0101",
                                actor=cases.Actor("system", "system"), now=at("2026-09-29"), materials=[],
                                note=None, origin=origin)
    clerk_b = cases.Actor("clerk-b", "staff", "C0101")
    accepted, _, _ = cases.apply(copy, "accept", clerk_b, at("2026-09-29"), CAL)
    reply = interdistrict.reply_for(copy, accepted, THERE)
    CaseRepliedV1.model_validate(reply)
    assert (reply["reply"], reply["seq"], reply["to_district"], reply["case_id"]) == ("accepted", 2, HERE, "c1")
    started, _, _ = cases.apply(accepted, "start", clerk_b, at("2026-09-29"), CAL)
    assert interdistrict.reply_for(accepted, started, THERE) is None
    asked, _, _ = cases.apply(started, "request_supplement", clerk_b, at("2026-09-29"), CAL, missing_materials=["户口簿"])
    assert interdistrict.reply_for(started, asked, THERE)["missing_materials"] == ["户口簿"]
    assigned, _, _ = cases.apply(asked, "assign", clerk_b, at("2026-09-29"), CAL, assignee="clerk-c")
    assert interdistrict.reply_for(asked, assigned, THERE) is None


@pytest.mark.parametrize("data, key, problem", [
    ({"from_district": THERE, "to_district": HERE}, THERE, None),
    ({"from_district": "310199", "to_district": HERE}, "310199", "is not linked"),
    ({"from_district": THERE, "to_district": HERE}, "310199", "routing key"),
    ({"from_district": THERE, "to_district": "310101"}, THERE, "meant for district"),
])
def test_who_may_speak_on_interdistrict_in(data, key, problem):
    found = interdistrict.sender_problem(data, key, HERE, {THERE: "amqp://x"})
    assert (found is None) if problem is None else (problem in found)


def test_linked_districts_from_configuration():
    assert linked_districts("310104=amqp://u:p@h/b, 310105=amqps://h2/c") == {
        "310104": "amqp://u:p@h/b", "310105": "amqps://h2/c"}
    assert linked_districts("") == {}
    for bad in ("310104", "31010=amqp://h", "310104=http://h"):
        with pytest.raises(SystemExit, match="LINKED_DISTRICTS"):
            linked_districts(bad)
