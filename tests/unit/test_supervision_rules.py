"""Electronic supervision's pure rules (services/community/supervision.py): scope, the counts'
shape, 督办 and its answer, ratings, without a broker or a store."""
from datetime import date, datetime, timezone

import pytest

from services.common.errors import BadInput, Conflict, Forbidden
from services.community import supervision
from services.community.cases import Actor, can_see

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)
TODAY = date(2026, 12, 7)
PLACES = [{"_id": "SD1", "kind": "subdistrict", "name": "甲街道"}, {"_id": "SD2", "kind": "subdistrict", "name": "乙镇"},
          {"_id": "C1", "kind": "committee", "name": "一居", "parent": "SD1"},
          {"_id": "C2", "kind": "committee", "name": "二居", "parent": "SD1"},
          {"_id": "C3", "kind": "committee", "name": "三村", "parent": "SD2"}]
SUPERVISOR = Actor("sup", "supervisor", subdistrict="SD1")
CLERK = Actor("clerk", "staff", committee="C1")


def case(status="accepted", handling="C1", **more):
    return {"_id": "k1", "status": status, "handling_committee": handling, "accepting_committee": handling,
            "resident_id": "r1", "trail": [], "version": 3, **more}


def test_counts_per_committee_add_up_per_subdistrict_and_keep_to_the_scope():
    rows = [{"committee": "C1", "flag": "overdue", "n": 2}, {"committee": "C2", "flag": "due_soon", "n": 1},
            {"committee": "SD1", "flag": "overdue", "n": 1}, {"committee": "C3", "flag": "due_soon", "n": 4},
            {"committee": "C9", "flag": "overdue", "n": 7}]   # a place no longer known: in no sub-district
    shown = supervision.counts(rows, PLACES, None)
    assert [(s["code"], s["due_soon"], s["overdue"]) for s in shown] == [("SD1", 1, 3), ("SD2", 4, 0)]
    assert [c["code"] for c in shown[0]["committees"]] == ["SD1", "C1", "C2"]   # the centre first
    assert shown[0]["committees"][0]["name"] == "甲街道社区事务受理服务中心"
    assert [s["code"] for s in supervision.counts(rows, PLACES, "SD2")] == ["SD2"]


def test_scope_a_centre_and_a_supervisor_see_their_subdistrict_a_clerk_their_committee():
    places = {p["_id"]: p for p in PLACES}
    assert supervision.subdistricts_of(["C1", "SD2"], places) == {"SD1", "SD2"}
    assert can_see(case(), SUPERVISOR, {"SD1"}) and not can_see(case(), SUPERVISOR, {"SD2"})
    assert can_see(case(), Actor("d", "supervisor"), set())          # the district's supervisor
    assert can_see(case(), Actor("c", "centre", subdistrict="SD1"), {"SD1"})
    assert not can_see(case(handling="C3"), CLERK)
    assert supervision.reaches_place(SUPERVISOR, "C2", {"SD1"}) and not supervision.reaches_place(CLERK, "C2", {"SD1"})


def test_an_urge_is_kept_on_the_case_with_who_when_and_the_reply_day():
    new, urge = supervision.urge(case(), SUPERVISOR, NOW, TODAY, " 请加快 ", "2026-12-09")
    assert (urge["by"], urge["note"], urge["reply_by"], urge["answer"]) == ("sup", "请加快", "2026-12-09", None)
    assert new["version"] == 4 and new["urges"] == [urge]
    assert new["trail"][-1]["action"] == "urge" and new["trail"][-1]["urge_id"] == urge["urge_id"]
    answered, done = supervision.answer(new, CLERK, NOW, urge["urge_id"], "已办结")
    assert (done["answer"], done["answered_by"]) == ("已办结", "clerk") and new["urges"][0]["answer"] is None
    with pytest.raises(Conflict):
        supervision.answer(answered, CLERK, NOW, urge["urge_id"], "again")
    with pytest.raises(BadInput):
        supervision.answer(new, CLERK, NOW, "nope", "x")
    with pytest.raises(Forbidden):
        supervision.answer(new, Actor("c2", "staff", committee="C2"), NOW, urge["urge_id"], "x")


@pytest.mark.parametrize("who, status, note, day, refused", [
    (CLERK, "accepted", "请加快", "2026-12-09", Forbidden),
    (SUPERVISOR, "completed", "请加快", "2026-12-09", Conflict),
    (SUPERVISOR, "accepted", "请加快", "2026-12-06", BadInput),      # yesterday
    (SUPERVISOR, "accepted", "请加快", "12/09/2026", BadInput),
    (SUPERVISOR, "accepted", "", "2026-12-09", BadInput),
    (SUPERVISOR, "accepted", "x" * 501, "2026-12-09", BadInput),
    (SUPERVISOR, "accepted", "a\x00b", "2026-12-09", BadInput),
])
def test_bad_urges_are_refused(who, status, note, day, refused):
    with pytest.raises(refused):
        supervision.urge(case(status), who, NOW, TODAY, note, day)


def test_a_rating_once_by_the_resident_of_a_closed_case_from_1_to_5():
    me = Actor("r1", "resident")
    rated = supervision.rate(case("completed"), me, NOW, 5, "很好")
    assert rated["rating"]["score"] == 5 and rated["trail"][-1]["action"] == "rate"
    for closed_case, who, score, refused in ((case("accepted"), me, 5, Conflict), (rated, me, 4, Conflict),
                                             (case("completed"), Actor("r2", "resident"), 5, Forbidden),
                                             (case("withdrawn"), me, 5, Conflict),
                                             (case("completed"), me, 6, BadInput), (case("completed"), me, True, BadInput),
                                             (case("completed"), me, "5", BadInput)):
        with pytest.raises(refused):
            supervision.rate(closed_case, who, NOW, score, "")
