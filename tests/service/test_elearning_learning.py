"""Lifelong learning with the real store and broker: courses, progress from any channel,
credits awarded exactly once."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from nameko.exceptions import RemoteError

from services.common import clock
from services.elearning.service import ElearningService
from support import bind_probe_queue, drain


def course(course_id, credits=2):
    return {"course_id": course_id, "title": "智能手机入门（老年班）", "provider": "区社区学院", "subjects": ["数字生活"],
            "credits": credits, "units": [{"title": "第一单元", "lessons": [
                {"id": "l1", "title": "开机与设置", "renditions": {
                    "tv": {"channel": "区有线4频道", "starts_at": "2026-12-01T19:00", "minutes": 30},
                    "web": {"url": "https://learn.example/l1"}}},
                {"id": "l2", "title": "微信视频通话", "renditions": {"mobile": {"url": "https://learn.example/l2"}}}]}]}


@pytest.fixture
def elearning(start_service, rpc):
    start_service(ElearningService)
    return rpc.elearning


def at(minutes):
    return (datetime(2026, 11, 25, 10, tzinfo=timezone.utc) + timedelta(minutes=minutes)).isoformat()


def test_progress_resumes_across_devices_and_never_goes_backwards(elearning):
    cid, rid = "c-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    elearning.upsert_courses([course(cid)])
    elearning.enrol(rid, cid)
    assert elearning.record_progress(rid, {"course_id": cid, "lesson_id": "l1", "position": 300, "percent": 50,
                                           "at": at(10), "channel": "tv"})["applied"]
    late = elearning.record_progress(rid, {"course_id": cid, "lesson_id": "l1", "position": 60, "percent": 10,
                                           "at": at(5), "channel": "mobile"})
    assert late["applied"] is False
    view = elearning.learning_for_residents([rid])[rid]["enrolments"][0]
    assert view["last_activity"] == at(10).replace("+00:00", "+00:00")
    with pytest.raises(RemoteError) as err:
        elearning.record_progress(rid, {"course_id": cid, "lesson_id": "nope", "at": at(11)})
    assert err.value.exc_type == "BadInput"
    with pytest.raises(RemoteError) as err:
        elearning.record_progress(rid, {"course_id": cid, "lesson_id": "l1", "percent": 150, "at": at(11)})
    assert err.value.exc_type == "BadInput"


def test_each_enrolment_shows_its_own_lessons_only(elearning):
    # progress of several enrolments is read in one go (a range over "<resident>|"); what another
    # learner's ids share of that prefix, or another course's lessons, is not mixed in
    c1, c2, rid = "c-" + uuid.uuid4().hex[:8], "c-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    elearning.upsert_courses([course(c1), course(c2, credits=1)])
    for learner in (rid, f"{rid}|{c2}"):
        elearning.enrol(learner, c1)
    elearning.enrol(rid, c2)
    elearning.record_progress(rid, {"course_id": c1, "lesson_id": "l1", "percent": 40, "at": at(1)})
    elearning.record_progress(rid, {"course_id": c2, "lesson_id": "l2", "percent": 70, "at": at(2), "channel": "tv"})
    elearning.record_progress(f"{rid}|{c2}", {"course_id": c1, "lesson_id": "l2", "percent": 90, "at": at(3)})
    mine = {e["course_id"]: e for e in elearning.learning_for_residents([rid])[rid]["enrolments"]}
    assert [(p["lesson_id"], p["percent"]) for p in mine[c1]["lessons"]] == [("l1", 40)]
    assert [(p["lesson_id"], p["percent"], p["channel"]) for p in mine[c2]["lessons"]] == [("l2", 70, "tv")]
    assert mine[c1]["last_activity"] == at(1) and mine[c2]["last_activity"] == at(2)


def test_completion_awards_credits_exactly_once(elearning, settings, db):
    cid, rid = "c-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    elearning.upsert_courses([course(cid, credits=3)])
    elearning.enrol(rid, cid)
    probe = bind_probe_queue(settings.amqp_uri, "elearning.events", "cn.elearning.credits.awarded.v1")
    elearning.record_progress(rid, {"course_id": cid, "lesson_id": "l1", "completed": True, "at": at(1)})
    done = elearning.record_progress(rid, {"course_id": cid, "lesson_id": "l2", "completed": True, "at": at(2),
                                           "channel": "mobile"})
    assert done["course_completed"] is True
    again = elearning.record_progress(rid, {"course_id": cid, "lesson_id": "l2", "completed": True, "at": at(3)})
    assert again["course_completed"] is False
    statement = elearning.credit_statement(rid)
    assert statement["total"] == 3 and len(statement["entries"]) == 1
    [awarded] = drain(settings.amqp_uri, probe)
    assert json.loads(awarded.body)["data"]["amount"] == 3
    assert elearning.learning_for_residents([rid])[rid]["credits"] == 3


def test_course_search_and_tv_guide(elearning):
    cid = "c-" + uuid.uuid4().hex[:8]
    elearning.upsert_courses([course(cid)])
    assert cid in [c["course_id"] for c in elearning.search_courses(subject="数字生活")]
    assert cid in [c["course_id"] for c in elearning.search_courses(channel="tv")]
    guide = elearning.tv_guide("2026-12-01")
    assert any(s["course_id"] == cid and s["starts_at"] == "2026-12-01T19:00" for s in guide)
    elearning.upsert_courses([course(cid)])
    assert next(c for c in elearning.search_courses(subject="数字生活") if c["course_id"] == cid)["version"] == 2


def test_the_tv_guide_follows_a_lesson_moved_and_shows_courses_published_before_slots_were_kept(elearning, db):
    from services.common.storage import MIGRATIONS
    from services.elearning import courses

    cid, day = "c-" + uuid.uuid4().hex[:8], "2031-03-0" + str(uuid.uuid4().int % 9 + 1)   # a day of its own
    moved = course(cid)
    moved["units"][0]["lessons"][0]["renditions"]["tv"]["starts_at"] = f"{day}T19:00"
    elearning.upsert_courses([moved])
    moved["units"][0]["lessons"][0]["renditions"]["tv"]["starts_at"] = f"{day}T20:30"
    moved["title"] = "智能手机入门（第二期）"
    elearning.upsert_courses([moved])
    guide = elearning.tv_guide(day)
    assert [(s["course_id"], s["starts_at"], s["course_title"]) for s in guide] == [
        (cid, f"{day}T20:30", "智能手机入门（第二期）")]

    store_db = db("elearning")
    store_db[courses.TV_SLOTS].delete_many({"course_id": cid})   # as an earlier version left it
    store_db[MIGRATIONS].delete_one({"_id": "tv_slots"})
    assert elearning.tv_guide(day) == []
    assert courses.build_tv_slots(store_db) >= 1
    assert [s["starts_at"] for s in elearning.tv_guide(day)] == [f"{day}T20:30"]
    assert courses.build_tv_slots(store_db) is None
    for bad in ("", "2031", "2031-03", "2031-02-30", "2031-03-01T19"):   # a range of keys: a day, exactly
        with pytest.raises(RemoteError) as err:
            elearning.tv_guide(bad)
        assert err.value.exc_type == "BadInput"


def test_a_new_version_does_not_change_under_enrolled_learners(elearning):
    cid, early, late = "c-" + uuid.uuid4().hex[:8], uuid.uuid4().hex, uuid.uuid4().hex
    elearning.upsert_courses([course(cid)])
    elearning.enrol(early, cid)
    revised = course(cid)
    revised["units"][0]["lessons"] = [revised["units"][0]["lessons"][0]]  # v2 drops lesson l2
    elearning.upsert_courses([revised])
    elearning.enrol(late, cid)
    # the early learner still has lesson l2 (v1); the late one does not (v2)
    assert elearning.record_progress(early, {"course_id": cid, "lesson_id": "l2", "percent": 10, "at": at(1)})["applied"]
    with pytest.raises(RemoteError):
        elearning.record_progress(late, {"course_id": cid, "lesson_id": "l2", "percent": 10, "at": at(1)})
    done = elearning.record_progress(late, {"course_id": cid, "lesson_id": "l1", "completed": True, "at": at(2)})
    assert done["course_completed"] is True  # v2 has one lesson


def test_completion_certificate_only_after_completion_and_escaped(elearning):
    cid, rid = "c-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    elearning.upsert_courses([course(cid, credits=2)])
    elearning.enrol(rid, cid)
    with pytest.raises(RemoteError) as err:
        elearning.completion_certificate(rid, cid, "王秀兰")
    assert err.value.exc_type == "NotFound"
    for lesson in ("l1", "l2"):
        elearning.record_progress(rid, {"course_id": cid, "lesson_id": lesson, "completed": True, "at": at(5)})
    cert = elearning.completion_certificate(rid, cid, "王秀兰<script>")
    assert "结业证书" in cert["html"] and "智能手机入门" in cert["html"] and "2 学分" in cert["html"]
    assert "<script>" not in cert["html"] and "&lt;script&gt;" in cert["html"]
    assert cert["number"] == elearning.completion_certificate(rid, cid, "王秀兰")["number"]


def test_learner_records_export_and_erasure_only_when_enabled(start_service, service_config, rpc, db):
    import hashlib

    import requests

    from infra.xapi_clients import add_client
    from support import web_address

    container = start_service(ElearningService, service_config("elearning", LEARNER_ERASURE="true"))
    elearning = rpc.elearning
    cid, rid = "c-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    elearning.upsert_courses([course(cid, credits=2)])
    elearning.enrol(rid, cid)
    for lesson in ("l1", "l2"):
        elearning.record_progress(rid, {"course_id": cid, "lesson_id": lesson, "completed": True, "at": at(1)})
    key, secret = add_client(rpc, "erasure-test-" + uuid.uuid4().hex[:6]).split(":", 1)
    statement = {"actor": {"account": {"homePage": "https://suite.local/residents", "name": rid}},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                 "object": {"id": "https://example.org/video/1"}}
    data = b"\x00\xffcertificate scan"
    sha = hashlib.sha256(data).hexdigest()
    statement["attachments"] = [{"usageType": "http://id.tincanapi.com/attachment/certificate",
                                 "display": {"zh-CN": "证书"}, "contentType": "image/png", "length": len(data),
                                 "sha2": sha}]
    body = (b"--b\r\nContent-Type: application/json\r\n\r\n" + json.dumps(statement).encode()
            + f"\r\n--b\r\nX-Experience-API-Hash: {sha}\r\n\r\n".encode() + data + b"\r\n--b--\r\n")
    posted = requests.post(web_address(container) + "/xapi/statements", data=body, auth=(key, secret), timeout=10,
                           headers={"X-Experience-API-Version": "1.0.3", "Content-Type": "multipart/mixed; boundary=b"})
    assert posted.status_code == 200, posted.text
    [sid] = posted.json()
    assert db("elearning").xapi_attachments.find_one({"_id": f"{sid}|{sha}"})
    profile = requests.put(web_address(container) + "/xapi/agents/profile", data=b'{"theme":"large"}',
                           auth=(key, secret), timeout=10,
                           params={"agent": json.dumps(statement["actor"]), "profileId": "preferences"},
                           headers={"X-Experience-API-Version": "2.0.0", "Content-Type": "application/json"})
    assert profile.status_code == 204, profile.text
    records = elearning.export_learner(rid)
    assert len(records["enrolments"]) == 1 and len(records["progress"]) == 2
    assert len(records["xapi_statements"]) == 1
    assert [d["doc_id"] for d in records["xapi_documents"]] == ["preferences"]   # agent profiles are theirs too
    assert [e["amount"] for e in records["credit_ledger"]] == [2]
    with pytest.raises(RemoteError) as err:
        elearning.erase_learner(rid, "", "operator:test")
    assert err.value.exc_type == "BadInput"  # no verified request named
    done = elearning.erase_learner(rid, "REQ-2026-0042", "operator:test")
    assert done["counts"]["enrolments"] == 1 and done["counts"]["progress"] == 2
    after = elearning.export_learner(rid)
    assert after["enrolments"] == [] and after["progress"] == [] and after["credit_ledger"] == []
    assert after["xapi_statements"] == [] and done["counts"]["xapi_statements"] == 1
    assert after["xapi_documents"] == [] and done["counts"]["xapi_documents"] == 1
    assert db("elearning").xapi_attachments.find_one({"_id": f"{sid}|{sha}"}) is None
    assert db("elearning").xapi_statement_keys.find_one({"s": sid}) is None     # no index row left behind
    kept = list(db("elearning").credit_ledger.find({"resident_id": done["pseudonym"]}))
    assert [e["amount"] for e in kept] == [2]  # the ledger still adds up, without the person
    # nothing the service keeps names the learner any more: no id, no field, no pending event
    store = db("elearning")
    # the embedded store lists a GridFS bucket's files as ``<bucket>_files``, a name it cannot read back
    for name in [n[:-6] + ".files" if n.endswith("_files") else n for n in store.list_collection_names()]:
        for doc in store[name].find({}):
            assert rid not in json.dumps(doc, default=str, ensure_ascii=False), (name, doc["_id"])
    with pytest.raises(RemoteError) as err:
        elearning.completion_certificate(rid, cid, "王秀兰")
    assert err.value.exc_type == "NotFound"
    # the same person enrolling again starts afresh, and is awarded again on completion
    elearning.enrol(rid, cid)
    for lesson in ("l1", "l2"):
        again = elearning.record_progress(rid, {"course_id": cid, "lesson_id": lesson, "completed": True, "at": at(9)})
    assert again["course_completed"] is True and elearning.credit_statement(rid)["total"] == 2
    assert elearning.completion_certificate(rid, cid, "王秀兰")["number"]


def test_erasure_is_off_by_default(elearning):
    with pytest.raises(RemoteError) as err:
        elearning.erase_learner(uuid.uuid4().hex, "REQ-1", "operator:test")
    assert err.value.exc_type == "Forbidden"


def test_a_correction_is_a_new_entry_never_an_edit(elearning):
    cid, rid = "c-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    elearning.upsert_courses([course(cid, credits=3)])
    elearning.enrol(rid, cid)
    for lesson in ("l1", "l2"):
        elearning.record_progress(rid, {"course_id": cid, "lesson_id": lesson, "completed": True, "at": at(1)})
    before = elearning.credit_statement(rid)["entries"]
    elearning.correct_credits(rid, -1, "课程学分核定为2分", "operator:admin")
    after = elearning.credit_statement(rid)
    assert after["total"] == 2 and after["entries"][0] == before[0] and len(after["entries"]) == 2
    for bad in (0, 1.5, True, "1"):
        with pytest.raises(RemoteError) as err:
            elearning.correct_credits(rid, bad, "x", "operator:admin")
        assert err.value.exc_type == "BadInput"


def test_completion_rules_are_checked_and_a_bad_one_stores_nothing(elearning, db):
    good, bad_ids = "c-" + uuid.uuid4().hex[:8], ["c-" + uuid.uuid4().hex[:8] for _ in range(5)]
    for completion, cid in zip(({"share": 0}, {"share": "half"}, {"share": 1.5}, {"required_lessons": ["l9"]},
                                {"share": 0.5, "extra": True}), bad_ids):
        with pytest.raises(RemoteError) as err:
            elearning.upsert_courses([course(good), {**course(cid), "completion": completion}])
        assert err.value.exc_type == "BadInput" and "completion" in err.value.value
    courses = db("elearning").courses
    assert courses.find_one({"_id": good}) is None and all(courses.find_one({"_id": c}) is None for c in bad_ids)

    # half the lessons, rounded up, and the required one among them
    rid = uuid.uuid4().hex
    elearning.upsert_courses([{**course(good, credits=1), "completion": {"share": 0.5, "required_lessons": ["l2"]}}])
    elearning.enrol(rid, good)
    assert elearning.record_progress(rid, {"course_id": good, "lesson_id": "l1", "completed": True,
                                           "at": at(1)})["course_completed"] is False   # l2 is required
    assert elearning.record_progress(rid, {"course_id": good, "lesson_id": "l2", "percent": 90,
                                           "at": at(2)})["course_completed"] is False   # a report, not a completion
    assert elearning.record_progress(rid, {"course_id": good, "lesson_id": "l2", "completed": True,
                                           "at": at(3)})["course_completed"] is True


def test_search_by_channel_filters_before_the_limit(elearning):
    provider = "provider-" + uuid.uuid4().hex[:8]
    web_only = [course("c-" + uuid.uuid4().hex[:8]) for _ in range(3)]
    for c in web_only:
        c["units"][0]["lessons"] = [{"id": "l1", "title": "网页课", "renditions": {"web": {"url": "https://x"}}}]
    with_tv = [course("c-" + uuid.uuid4().hex[:8]) for _ in range(2)]
    elearning.upsert_courses([{**c, "provider": provider} for c in [*web_only, *with_tv]])

    def ids(found):
        return sorted(c["course_id"] for c in found)
    found = elearning.search_courses(provider=provider, channel="tv", limit=2)
    assert ids(found) == ids(with_tv)                     # published after three web-only courses
    assert ids(elearning.search_courses(provider=provider, channel="mobile", limit=5)) == ids(with_tv)
    assert len(elearning.search_courses(provider=provider, channel="web", limit=4)) == 4
    assert elearning.search_courses(provider=provider, channel="radio") == []
    assert found[0]["channels"] == ["mobile", "tv", "web"]
    assert elearning.search_courses(provider=provider, channel="tv", limit=1)[0]["course_id"] in ids(with_tv)


def test_last_activity_compares_moments_across_utc_offsets(elearning, db):
    cid, rid = "c-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    elearning.upsert_courses([course(cid)])
    elearning.enrol(rid, cid)
    beijing = timezone(timedelta(hours=8))
    # 10:30 in Beijing is 02:30 UTC: earlier than 03:00 UTC, though its text sorts later
    elearning.record_progress(rid, {"course_id": cid, "lesson_id": "l1", "percent": 20,
                                    "at": datetime(2026, 11, 25, 10, 30, tzinfo=beijing).isoformat()})
    elearning.record_progress(rid, {"course_id": cid, "lesson_id": "l2", "percent": 20,
                                    "at": datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc).isoformat()})
    view = elearning.learning_for_residents([rid])[rid]["enrolments"][0]
    assert datetime.fromisoformat(view["last_activity"]) == datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
    stored = db("elearning").progress.find_one({"_id": f"{rid}|{cid}|l1"})
    assert stored["at"] == "2026-11-25T02:30:00+00:00"   # kept in UTC


def test_a_course_whose_id_begins_with_a_date_is_found_and_revised(elearning):
    # schools name courses by term ("2026-09-01-math"): the embedded store once took such ids for dates
    cid = "2026-09-01-" + uuid.uuid4().hex[:8]
    elearning.upsert_courses([course(cid)])
    revised = course(cid)
    revised["title"] = "智能手机入门（第二期）"
    elearning.upsert_courses([revised])
    rid = uuid.uuid4().hex
    elearning.enrol(rid, cid)
    view = elearning.learning_for_residents([rid])[rid]["enrolments"][0]
    assert (view["course_id"], view["course_title"]) == (cid, "智能手机入门（第二期）")


def test_a_batch_of_courses_that_is_not_a_list_or_holds_a_bad_course_stores_nothing(elearning, db):
    good = "c-" + uuid.uuid4().hex[:8]
    for bad in ("c-1", {"course_id": good}, [course(good)] * 501, [course(good), {"course_id": "x", "units": "none"}]):
        with pytest.raises(RemoteError) as err:
            elearning.upsert_courses(bad)
        assert err.value.exc_type == "BadInput"
    assert db("elearning").courses.find_one({"_id": good}) is None


def test_course_search_reads_key_rows_kept_by_each_publish_and_built_for_courses_published_before(elearning, db):
    from services.common.storage import MIGRATIONS
    from services.elearning import courses

    subject, cid = "专题-" + uuid.uuid4().hex[:8], "c-" + uuid.uuid4().hex[:8]
    first = course(cid)
    first["subjects"] = [subject]
    elearning.upsert_courses([first])
    assert [c["course_id"] for c in elearning.search_courses(subject=subject)] == [cid]
    moved = {**first, "subjects": ["其他-" + subject]}                      # a new version changes its subject
    elearning.upsert_courses([moved])
    assert elearning.search_courses(subject=subject) == []
    assert [c["course_id"] for c in elearning.search_courses(subject="其他-" + subject, channel="tv")] == [cid]

    store_db = db("elearning")
    store_db[courses.COURSE_KEYS].delete_many({"_id": {"$regex": f"\\|{cid}$"}})   # as an earlier version left it
    store_db[MIGRATIONS].delete_one({"_id": "course_keys"})
    assert elearning.search_courses(subject="其他-" + subject) == []
    assert courses.build_course_keys(store_db) >= 1
    assert [c["course_id"] for c in elearning.search_courses(subject="其他-" + subject)] == [cid]
    assert courses.build_course_keys(store_db) is None
    assert len(elearning.search_courses(limit=0)) == 1 and len(elearning.search_courses(limit=51)) <= 50
    for bad in ({"limit": "5"}, {"limit": 2.5}, {"limit": True}, {"subject": ["a"]}):
        with pytest.raises(RemoteError) as err:
            elearning.search_courses(**bad)
        assert err.value.exc_type == "BadInput"


def test_a_report_dated_ahead_of_the_clock_is_refused_and_does_not_freeze_progress(elearning):
    # a TV box whose clock says 2036 would otherwise make every true report count as older
    cid, rid = "c-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    elearning.upsert_courses([course(cid)])
    elearning.enrol(rid, cid)
    ahead = (clock.now() + timedelta(days=1)).isoformat()
    with pytest.raises(RemoteError) as err:
        elearning.record_progress(rid, {"course_id": cid, "lesson_id": "l1", "percent": 90, "at": ahead})
    assert err.value.exc_type == "BadInput" and "clock" in str(err.value.value)
    now = clock.now().isoformat()
    assert elearning.record_progress(rid, {"course_id": cid, "lesson_id": "l1", "percent": 30, "at": now})["applied"]
    [lesson] = elearning.learning_for_residents([rid])[rid]["enrolments"][0]["lessons"]
    assert lesson["percent"] == 30


def test_no_id_is_not_a_learner_called_none(elearning, db):
    cid = "c-" + uuid.uuid4().hex[:8]
    elearning.upsert_courses([course(cid)])
    calls = [lambda: elearning.enrol(None, cid), lambda: elearning.enrol("", cid),
             lambda: elearning.record_progress(None, {"course_id": cid, "lesson_id": "l1", "at": at(1)}),
             lambda: elearning.correct_credits(None, 1, "核定", "operator:admin"),
             lambda: elearning.correct_credits(uuid.uuid4().hex, 1, "核定", None),
             lambda: elearning.erase_learner(uuid.uuid4().hex, None, "operator:admin")]
    for call in calls:
        with pytest.raises(RemoteError) as err:
            call()
        assert err.value.exc_type == "BadInput"
    assert db("elearning").enrolments.find_one({"resident_id": "None"}) is None
