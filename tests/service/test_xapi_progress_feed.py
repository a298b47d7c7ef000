"""Statements feeding lesson progress over real HTTP with the real store and broker: a
resident's statements about a suite lesson record progress and completion and award the
credits once, against the course version enrolled in; statements about anything else are
stored and feed nothing."""
import uuid
from datetime import datetime, timedelta, timezone

from services.common import clock
from services.elearning import progress
from services.elearning.xapi import progress_feed
from support.lrs import EXPERIENCED
from support.lrs import container, lrs  # noqa: F401 - the fixtures


def course(course_id, credits=2):
    return {"course_id": course_id, "title": "智能手机入门", "provider": "区社区学院", "subjects": ["数字生活"],
            "credits": credits, "units": [{"title": "第一单元", "lessons": [
                {"id": "l1", "title": "开机与设置", "renditions": {"web": {"url": "https://learn.example/l1"}}},
                {"id": "l2", "title": "微信视频通话", "renditions": {"web": {"url": "https://learn.example/l2"}}}]}]}


def lesson_statement(rid, cid, lesson, verb, at, **result):
    s = {"id": str(uuid.uuid4()), "actor": progress_feed.resident_agent(rid), "verb": {"id": verb},
         "object": {"objectType": "Activity", "id": progress_feed.lesson_activity_id(cid, lesson)},
         "timestamp": at.isoformat()}
    if result:
        s["result"] = result
    return s


def test_statements_feed_lesson_progress_and_completion_awards_credits_once(lrs, rpc, db):
    cid, rid = "c-" + uuid.uuid4().hex[:8], "r-" + uuid.uuid4().hex[:8]
    rpc.elearning.upsert_courses([course(cid, credits=3)])
    rpc.elearning.enrol(rid, cid)
    t0 = datetime(2026, 11, 25, 10, tzinfo=timezone.utc)
    progress_doc = db("elearning")["progress"]

    r = lrs.post(lesson_statement(rid, cid, "l1", "http://adlnet.gov/expapi/verbs/progressed", t0 + timedelta(minutes=5),
                                  extensions={progress_feed.EXT_PROGRESS: 40, progress_feed.EXT_TIME: 120.5}),
                 version="2.0.0")
    assert r.status_code == 200
    p = progress_doc.find_one({"_id": progress.progress_id(rid, cid, "l1")})
    assert (p["percent"], p["position"], p["completed"], p["channel"]) == (40, 120, False, "xapi")
    assert datetime.fromisoformat(p["at"]) == t0 + timedelta(minutes=5)
    # an older report (another device, sent late) does not move the learner back
    lrs.post(lesson_statement(rid, cid, "l1", "http://adlnet.gov/expapi/verbs/progressed", t0,
                              score={"scaled": 0.1}))
    assert progress_doc.find_one({"_id": progress.progress_id(rid, cid, "l1")})["percent"] == 40

    lrs.post(lesson_statement(rid, cid, "l1", "http://adlnet.gov/expapi/verbs/completed", t0 + timedelta(minutes=30)))
    assert rpc.elearning.credit_statement(rid)["total"] == 0        # one lesson of two
    lrs.post(lesson_statement(rid, cid, "l2", "http://adlnet.gov/expapi/verbs/passed", t0 + timedelta(minutes=50),
                              score={"scaled": 0.9}))
    statement_of_credits = rpc.elearning.credit_statement(rid)
    assert statement_of_credits["total"] == 3 and len(statement_of_credits["entries"]) == 1
    # the same completion reported again (a retry, another device): no second award
    lrs.post(lesson_statement(rid, cid, "l2", "http://adlnet.gov/expapi/verbs/completed", t0 + timedelta(minutes=55)))
    assert rpc.elearning.credit_statement(rid)["total"] == 3
    view = rpc.elearning.learning_for_residents([rid])[rid]["enrolments"][0]
    assert view["completed"] is True and view["lessons_completed"] == 2


def test_statements_about_anything_else_are_stored_and_feed_nothing(lrs, rpc, db):
    cid, rid, stranger = "c-" + uuid.uuid4().hex[:8], "r-" + uuid.uuid4().hex[:8], "r-" + uuid.uuid4().hex[:8]
    rpc.elearning.upsert_courses([course(cid)])
    rpc.elearning.enrol(rid, cid)
    at = clock.now()
    others = [
        lesson_statement(rid, cid, "l1", EXPERIENCED, at),                                  # a verb that reports nothing
        lesson_statement(rid, cid, "nope", "http://adlnet.gov/expapi/verbs/completed", at),  # no such lesson
        lesson_statement(stranger, cid, "l1", "http://adlnet.gov/expapi/verbs/completed", at),  # not enrolled
        {**lesson_statement(rid, cid, "l1", "http://adlnet.gov/expapi/verbs/completed", at),
         "actor": {"objectType": "Agent", "account": {"homePage": "https://elsewhere.example", "name": rid}}},
    ]
    r = lrs.post(others)
    assert r.status_code == 200 and len(r.json()) == 4
    assert all(lrs.get(statementId=s["id"]).status_code == 200 for s in others)
    assert db("elearning")["progress"].find_one({"_id": progress.progress_id(rid, cid, "l1")}) is None
    assert rpc.elearning.credit_statement(rid)["total"] == 0


def test_statements_complete_against_the_course_version_the_learner_enrolled_in(lrs, rpc):
    cid, early, late = "c-" + uuid.uuid4().hex[:8], "r-" + uuid.uuid4().hex[:8], "r-" + uuid.uuid4().hex[:8]
    rpc.elearning.upsert_courses([course(cid)])
    rpc.elearning.enrol(early, cid)                           # v1: lessons l1 and l2
    revised = course(cid)
    revised["units"][0]["lessons"] = revised["units"][0]["lessons"][:1]
    rpc.elearning.upsert_courses([revised])                   # v2: lesson l1 alone
    rpc.elearning.enrol(late, cid)
    at = datetime(2026, 11, 25, 10, tzinfo=timezone.utc)
    completed = "http://adlnet.gov/expapi/verbs/completed"
    assert lrs.post([lesson_statement(early, cid, "l1", completed, at),
                     lesson_statement(late, cid, "l1", completed, at)]).status_code == 200
    assert rpc.elearning.credit_statement(early)["total"] == 0   # v1 still needs l2 (as the RPC path says)
    assert rpc.elearning.credit_statement(late)["total"] == 2
    lrs.post(lesson_statement(early, cid, "l2", completed, at + timedelta(minutes=1)))
    assert rpc.elearning.credit_statement(early)["total"] == 2
