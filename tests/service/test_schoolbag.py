"""The e-schoolbag pilots with the real store and broker: a OneRoster roster imported (guardians
matched to community residents), assignments published, submitted and marked, guardians'
view of their children, home-school message threads with read receipts, and who may do what."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError

from infra.imports.roster import import_roster
from services.common import clock
from support.school_data import school  # noqa: F401 - the fixture
from support import CommandRecorder, bind_probe_queue, drain

def expect(exc_type, call, *args, **kwargs):
    with pytest.raises(RemoteError) as err:
        call(*args, **kwargs)
    assert err.value.exc_type == exc_type, err.value
    return str(err.value.value)


def later(**delta) -> str:
    return (clock.now() + timedelta(**delta)).isoformat()


def teacher(tid):
    return {"role": "teacher", "id": tid}


def guardian(rid):
    return {"role": "guardian", "id": rid}


# --- the roster ----------------------------------------------------------------------------

def test_roster_import_links_guardians_and_reports_rejections(school, rpc, db):
    imported, rejected = school.result
    # rows: 2 orgs + 1 session + 3 classes + 8 users + 7 enrollments; links: u1-g1 (both sides), u1-g2, u2-g3
    assert imported == 2 + 1 + 3 + 8 + 7 + 3
    reasons = dict(((where, reason) for where, reason in rejected))
    assert [where for where, _ in rejected] == ["10 of users.csv", "10 of users.csv", "11 of users.csv",
                                                "9 of enrollments.csv", "10 of enrollments.csv"]
    assert "guardians must be registered residents" in rejected[0][1]
    assert f"link {school.u3} - {school.g4} not made" in rejected[1][1]
    assert "administrator" in reasons["11 of users.csv"]
    assert reasons["9 of enrollments.csv"] == f"unknown class nope-{school.c1}"
    assert reasons["10 of enrollments.csv"] == f"user {school.u3} is a student, not a teacher"

    store = db("elearning")
    pupil = store.roster_users.find_one({"_id": school.u1})
    assert (pupil["name"], pupil["grade"], pupil["role"]) == ("张小明", "03", "student")
    assert set(pupil["guardians"]) == {school.residents["A"], school.residents["B"]}
    assert school.pupil_id_numbers[0] not in json.dumps(pupil, default=str)   # minors: no ID number kept
    assert not {"identifier", "email", "phone", "id_number"} & set(pupil)
    assert store.roster_users.find_one({"_id": school.g4}) is None
    # the wallet was told of each link (who may top up)
    assert {g["guardian_id"] for g in store.wallet_guardians.find({"student_id": school.u1})} == {
        school.residents["A"], school.residents["B"]}

    # the same files again: idempotent by sourcedId
    def users():
        # (the embedded store reads back a boolean written by $set into an existing document as 0/1)
        return sorted(json.dumps(_plain(d), default=str, sort_keys=True) for d in store.roster_users.find(
            {"_id": {"$in": list(school.ids.values())}}))
    before = users()
    again = import_roster(rpc, school.path)
    assert again == school.result
    assert users() == before


def _plain(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_a_delta_file_removes_enrollments_and_guardians(school, rpc, db, tmp_path_factory):
    elearning = rpc.elearning
    assert elearning.children_for_guardians([school.residents["C"]])[school.residents["C"]]["children"]
    assert db("elearning").wallet_guardians.find_one({"student_id": school.u2})
    delta = tmp_path_factory.mktemp("delta")
    (delta / "enrollments.csv").write_text(
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role\n"
        f"{school.e2},tobedeleted,2026-10-01,{school.c2},{school.school},{school.t1},teacher\n", encoding="utf-8")
    (delta / "users.csv").write_text(
        "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,givenName,familyName\n"
        f"{school.g3},tobedeleted,2026-10-01,,,,,\n", encoding="utf-8")
    assert import_roster(rpc, delta) == (2, [])
    assert list(db("elearning").wallet_guardians.find({"student_id": school.u2})) == []
    expect("Forbidden", elearning.publish_assignment, school.t1, school.c2, "口算", "", later(days=1))
    assert elearning.children_for_guardians([school.residents["C"]])[school.residents["C"]]["children"] == []
    expect("Forbidden", elearning.post_message, guardian(school.residents["C"]), "你好", student_id=school.u2)


# --- assignments ---------------------------------------------------------------------------

def test_publish_submit_mark_and_the_guardians_view(school, rpc, db, settings):
    elearning = rpc.elearning
    probe = bind_probe_queue(settings.amqp_uri, "elearning.events", "cn.elearning.assignment.published.v1")
    due = later(days=2)
    a = elearning.publish_assignment(school.t1, school.c1, "古诗背诵", "背诵《静夜思》并录音", due)
    assert (a["class_id"], a["title"], a["class_title"]) == (school.c1, "古诗背诵", "三年级(2)班")
    [published] = drain(settings.amqp_uri, probe)
    event = json.loads(published.body)
    assert event["type"] == "cn.elearning.assignment.published.v1"
    assert event["data"]["assignment_id"] == a["assignment_id"] and event["data"]["teacher_id"] == school.t1

    # only a teacher of that class; bad input is refused and stores nothing
    store = db("elearning").schoolbag_assignments
    expect("Forbidden", elearning.publish_assignment, school.t2, school.c1, "x", "", due)
    expect("Forbidden", elearning.publish_assignment, "nobody", school.c1, "x", "", due)
    expect("NotFound", elearning.publish_assignment, school.t1, "no-such-class", "x", "", due)
    assert "time zone" in expect("BadInput", elearning.publish_assignment, school.t1, school.c1, "x", "",
                                 "2026-12-01T10:00")
    assert "already past" in expect("BadInput", elearning.publish_assignment, school.t1, school.c1, "x", "",
                                    later(hours=-1))
    expect("BadInput", elearning.publish_assignment, school.t1, school.c1, "  ", "", due)
    assert [d["_id"] for d in store.find({"class_id": school.c1})] == [a["assignment_id"]]

    # pupils submit from the terminal; a resubmission before marking replaces
    s1 = elearning.submit_assignment(school.u1, a["assignment_id"], "床前明月光", ["file:rec-1.m4a"])
    assert (s1["state"], s1["late"], s1["version"]) == ("submitted", False, 1)
    s1 = elearning.submit_assignment(school.u1, a["assignment_id"], "床前明月光，疑是地上霜", ["file:rec-2.m4a"])
    assert (s1["version"], s1["attachments"], s1["text"]) == (2, ["file:rec-2.m4a"], "床前明月光，疑是地上霜")
    expect("Forbidden", elearning.submit_assignment, school.u3, a["assignment_id"], "x", [])
    expect("NotFound", elearning.submit_assignment, school.u1, "no-such-assignment", "x", [])
    expect("BadInput", elearning.submit_assignment, school.u1, a["assignment_id"], "", [])
    expect("BadInput", elearning.submit_assignment, school.u1, a["assignment_id"], "x", "not-a-list")
    subs = db("elearning").schoolbag_submissions
    assert [d["_id"] for d in subs.find({"assignment_id": a["assignment_id"]})] == [s1["submission_id"]]

    # teachers mark (only of that class); a marked submission is no longer replaced
    expect("Forbidden", elearning.mark_submission, school.t2, s1["submission_id"], "优", "")
    expect("BadInput", elearning.mark_submission, school.t1, s1["submission_id"], True, "")
    marked = elearning.mark_submission(school.t1, s1["submission_id"], "优", "背得很熟练")
    assert (marked["state"], marked["mark"], marked["comment"]) == ("marked", "优", "背得很熟练")
    expect("Conflict", elearning.submit_assignment, school.u1, a["assignment_id"], "again", [])

    # late: past the due time (moved into the past directly in the store)
    b = elearning.publish_assignment(school.t1, school.c2, "口算练习", "第12页", later(days=1))
    store.update_one({"_id": b["assignment_id"]}, {"$set": {"due_at": later(minutes=-5)}})
    late = elearning.submit_assignment(school.u1, b["assignment_id"], "做完了", [])
    assert late["late"] is True

    view = elearning.submissions_for_assignment(school.t1, a["assignment_id"])
    assert {p["student_id"]: (p["submission"] or {}).get("state") for p in view["pupils"]} == {
        school.u1: "marked", school.u2: None}
    expect("Forbidden", elearning.submissions_for_assignment, school.t2, a["assignment_id"])

    # guardians: one call for all, each sees only their own children
    A, C, stranger = school.residents["A"], school.residents["C"], school.residents["stranger"]
    seen = elearning.children_for_guardians([A, C, stranger])
    assert seen[stranger] == {"children": []}
    [child] = seen[A]["children"]
    assert (child["student_id"], child["name"], child["grade"]) == (school.u1, "张小明", "03")
    assert {c["class_id"] for c in child["classes"]} == {school.c1, school.c2}
    states = {x["title"]: (x["state"], (x["submission"] or {}).get("mark"), (x["submission"] or {}).get("late"))
              for x in child["assignments"]}
    assert states == {"古诗背诵": ("marked", "优", False), "口算练习": ("submitted", None, True)}
    assert all(x["due_at"] for x in child["assignments"])
    [other] = seen[C]["children"]
    assert other["student_id"] == school.u2
    assert {x["title"]: x["state"] for x in other["assignments"]} == {"古诗背诵": "not_submitted"}
    assert [x["title"] for x in elearning.assignments_for_student(school.u2)] == ["古诗背诵"]
    expect("BadInput", elearning.children_for_guardians, "not-a-list")


# --- home-school messages -------------------------------------------------------------------

def test_threads_messages_and_read_receipts(school, rpc, db, settings):
    elearning = rpc.elearning
    A, B, C = (guardian(school.residents[k]) for k in "ABC")
    t1, t2 = teacher(school.t1), teacher(school.t2)
    probe = bind_probe_queue(settings.amqp_uri, "elearning.events", "cn.elearning.message.posted.v1")

    first = elearning.post_message(A, "王老师好，小明这周感冒了，请假两天。", student_id=school.u1)
    assert first["new_thread"] is True
    thread_id = first["thread_id"]
    [posted] = drain(settings.amqp_uri, probe)
    data = json.loads(posted.body)["data"]
    assert (data["thread_id"], data["author_role"], data["class_id"]) == (thread_id, "guardian", school.c1)
    assert "text" not in data

    # who may not: another pupil's guardian, a teacher of another class
    expect("Forbidden", elearning.post_message, C, "?", student_id=school.u1)
    expect("Forbidden", elearning.post_message, C, "?", thread_id=thread_id)
    expect("Forbidden", elearning.post_message, t2, "?", thread_id=thread_id)
    expect("Forbidden", elearning.post_message, t2, "?", student_id=school.u1)
    expect("Forbidden", elearning.mark_read, C, thread_id)
    expect("Forbidden", elearning.thread_messages, t2, thread_id)
    # bad input: a clear error and nothing stored
    expect("BadInput", elearning.post_message, A, "   ", thread_id=thread_id)
    expect("BadInput", elearning.post_message, A, "x", thread_id=thread_id, student_id=school.u1)
    expect("BadInput", elearning.post_message, {"role": "principal", "id": "x"}, "x", thread_id=thread_id)
    expect("NotFound", elearning.post_message, A, "x", thread_id="no-such-thread")
    assert db("elearning").schoolbag_messages.find_one({"thread_id": thread_id, "text": "x"}) is None
    assert [t["thread_id"] for t in elearning.threads_for(C)] == []
    assert [t["thread_id"] for t in elearning.threads_for(t2)] == []

    # the class teacher sees it unread, reads it, answers; the other guardian sees it too
    assert elearning.threads_for(t1)[0]["student_name"] == "（待监护人同意）"   # under 14: named with consent only
    elearning.guardian_consent(A["id"], school.u1, True)
    [mine] = elearning.threads_for(t1)
    assert (mine["thread_id"], mine["unread"], mine["student_name"], mine["class_title"]) == (
        thread_id, True, "张小明", "三年级(2)班")
    read = elearning.mark_read(t1, thread_id)
    assert elearning.threads_for(t1)[0]["unread"] is False
    assert elearning.threads_for(t1)[0]["last_read_at"] == read["read_at"]
    elearning.post_message(t1, "收到，祝早日康复。", thread_id=thread_id)
    [for_a] = elearning.threads_for(A)
    assert (for_a["unread"], for_a["message_count"]) == (True, 2)
    assert elearning.threads_for(B)[0]["unread"] is True

    thread = elearning.thread_messages(A, thread_id)
    assert [m["text"] for m in thread["messages"]] == ["王老师好，小明这周感冒了，请假两天。", "收到，祝早日康复。"]
    assert thread["messages"][0]["read_by"] == [{"role": "teacher", "id": school.t1}]
    assert thread["messages"][1]["read_by"] == []
    assert thread["messages"][1]["author"]["name"] == "王老师"
    elearning.mark_read(B, thread_id)
    receipts = {(r["role"], r["id"]) for r in elearning.thread_messages(t1, thread_id)["read_receipts"]}
    assert receipts == {("guardian", A["id"]), ("guardian", B["id"]), ("teacher", school.t1)}

    # each message is its own document; the thread keeps per-reader read times in a map
    stored = db("elearning")
    assert len(list(stored.schoolbag_messages.find({"thread_id": thread_id}))) == 2
    doc = stored.schoolbag_threads.find_one({"_id": thread_id})
    assert isinstance(doc["reads"], dict) and len(doc["reads"]) == 3

    # a teacher starts a thread about a pupil in two of their classes: the homeroom unless named
    started = elearning.post_message(t1, "小明数学进步很大。", student_id=school.u1, class_id=school.c2)
    assert started["new_thread"] is True
    assert {t["class_id"] for t in elearning.threads_for(A)} == {school.c1, school.c2}


# --- a resident's overview (the gateway's `me`) --------------------------------------------

def test_resident_overview_answers_each_part_asked_as_its_own_rpc_does(school, rpc):
    elearning = rpc.elearning
    A = school.residents["A"]
    elearning.post_message(guardian(A), "王老师好。", student_id=school.u1)
    elearning.wallet_staff_top_up({"role": "teacher", "id": school.t1}, school.u1, 500, "现金充值（测试）",
                                  f"pay-{school.u1}")
    elearning.upsert_courses([{"course_id": f"c-{school.u1}", "title": "家庭教育", "provider": "区社区学院",
                               "units": [{"title": "一", "lessons": [{"id": "l1", "title": "第一课"}]}]}])
    elearning.enrol(A, f"c-{school.u1}")
    everything = {"learning": {}, "children": {"wallet_movements": 5}, "threads": {}}
    assert elearning.resident_overview(guardian(A), A, everything) == {
        "learning": elearning.learning_for_residents([A])[A],
        "children": elearning.children_for_guardians([A], 5)[A]["children"],
        "threads": elearning.threads_for(guardian(A))}
    [child] = elearning.resident_overview(guardian(A), A, {"children": {}})["children"]
    assert child["student_id"] == school.u1 and "wallet" not in child     # wallets only when asked
    assert elearning.resident_overview(guardian(A), A, {"children": {"wallet_movements": 1}})[
        "children"][0]["wallet"]["balance_fen"] == 500


def test_the_overviews_children_and_threads_read_the_guardians_roster_once(school, rpc, settings):
    """The dashboard asks both parts: the threads reuse the guardian's records, pupils and
    classes that the children read (``schoolbag.RosterReads``), and answer the same."""
    from pymongo import MongoClient

    from services.elearning import schoolbag

    A = school.residents["A"]
    rpc.elearning.post_message(guardian(A), "王老师好。", student_id=school.u1)
    driver = CommandRecorder(recording=True)
    client = MongoClient(settings.mongo_uri, event_listeners=[driver])

    def roster_finds():
        return [c["find"] for name, c in driver.commands
                if name == "find" and c["find"] in (schoolbag.USERS, schoolbag.CLASSES)]
    try:
        db = client[settings.database_name("elearning")]
        alone = schoolbag.threads_for(db, guardian(A))
        read_alone = roster_finds()
        reads = schoolbag.RosterReads(db)
        children = schoolbag.children_for_guardians(db, [A], clock.now(), reads)[A]["children"]
        driver.clear()
        assert schoolbag.threads_for(db, guardian(A), reads) == alone and alone
        assert roster_finds() == [] and len(read_alone) == 3
        assert [c["student_id"] for c in children] == [school.u1]
    finally:
        client.close()


def test_a_part_of_the_overview_that_fails_its_check_fails_alone_and_bad_requests_are_refused(school, rpc):
    elearning = rpc.elearning
    A = school.residents["A"]
    principal = {"role": "principal", "id": "x"}
    seen = elearning.resident_overview(principal, A, {"learning": {}, "children": {}, "threads": {}})
    assert seen["learning"] == {"enrolments": [], "credits": 0} and len(seen["children"]) == 1
    assert set(seen["errors"]) == {"threads"} and "threads" not in seen
    alone = expect("BadInput", elearning.threads_for, principal)
    assert (seen["errors"]["threads"]["exc_type"], seen["errors"]["threads"]["value"]) == ("BadInput", alone)
    # a part not asked is not computed: no error for threads nobody asked for
    assert set(elearning.resident_overview(principal, A, {"learning": {}})) == {"learning"}

    assert expect("BadInput", elearning.resident_overview, guardian(A), A, {"wallet": {}}) == (
        "unknown part 'wallet'; the parts are learning, children, threads")
    assert "children.wallet_movements" in expect("BadInput", elearning.resident_overview, guardian(A), A,
                                                 {"children": {"wallet_movements": 51}})
    expect("BadInput", elearning.resident_overview, guardian(A), "", {"learning": {}})
