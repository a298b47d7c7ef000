"""A guardian through the gateway: their own children only, with assignments and wallets,
in a bounded number of RPCs; wallet and message mutations, threads read and marked read;
learning for any resident, resumed lesson by lesson on another device."""
import uuid

import pytest
import requests

from gateway import auth
from gateway.service import GatewayService
from support import wallet as money
from support.school_data import school  # noqa: F401 - the fixture
from support import web_address

SECRET = "guardian-test-secret-of-at-least-32-bytes"
CHILDREN = "{ me { children { id name classes assignments { title state } wallet { balanceFen frozen recent { kind amountFen } } } } }"


@pytest.fixture
def ask(school, start_service, service_config, settings, rpc):
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0,
                                                      EXPOSE_RPC_COUNT=True))
    tokens = auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience)

    def post(query, who, variables=None, role="guardian"):
        token = auth.mint(tokens, role, who)
        return requests.post(web_address(gw) + "/graphql", json={"query": query, "variables": variables},
                             headers={"Authorization": f"Bearer {token}"}, timeout=15).json()
    return post


def test_a_guardian_sees_only_their_own_children_at_a_bounded_cost(ask, school):
    zhang = school.residents["A"]
    answer = ask(CHILDREN, zhang)
    assert "errors" not in answer, answer
    [child] = answer["data"]["me"]["children"]
    assert child["id"] == school.u1 and child["name"] == "张小明"
    assert child["wallet"] is not None and child["wallet"]["balanceFen"] == 0
    assert answer["extensions"]["rpcCalls"] <= 3   # children, then every wallet in one call
    stranger = ask(CHILDREN, school.residents["stranger"])
    assert stranger["data"]["me"]["children"] == []


def test_top_up_limits_freeze_and_message(ask, school):
    zhang = school.residents["A"]
    top_up = ('mutation($s: ID!, $a: Int!) { topUpWallet(studentId: $s, amountFen: $a) '
              '{ orderId studentId amountFen status createdAt } }')
    order = ask(top_up, zhang, {"s": school.u1, "a": 5000})["data"]["topUpWallet"]
    assert (order["status"], order["amountFen"], order["studentId"]) == ("pending", 5000, school.u1)
    assert ask(CHILDREN, zhang)["data"]["me"]["children"][0]["wallet"]["balanceFen"] == 0   # an order, not money
    status, paid = money.notify(school.elearning_url, money.notice(
        {"order_id": order["orderId"], "amount_fen": order["amountFen"]}))
    assert status == 200 and paid["balance_fen"] == 5000    # the provider's signed notification credits it
    bad = ask(top_up, zhang, {"s": school.u1, "a": -5})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    other = ask(top_up, school.residents["stranger"], {"s": school.u1, "a": 100})
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    limits = 'mutation($s: ID!) { setWalletLimits(studentId: $s, perPaymentFen: 1500, dailyFen: 3000) { status } }'
    assert "errors" not in ask(limits, zhang, {"s": school.u1})
    freeze = 'mutation($s: ID!) { freezeWallet(studentId: $s, frozen: true) { status } }'
    assert ask(freeze, zhang, {"s": school.u1})["data"]["freezeWallet"]["status"] == "frozen"
    wallet = ask(CHILDREN, zhang)["data"]["me"]["children"][0]["wallet"]
    assert wallet["frozen"] is True and wallet["balanceFen"] == 5000
    post = 'mutation($s: ID!) { postMessage(studentId: $s, text: "老师您好，小明今天请假一天。") { id } }'
    thread = ask(post, zhang, {"s": school.u1})["data"]["postMessage"]
    threads = ask("{ me { messageThreads { id subject unread } } }", zhang)["data"]["me"]["messageThreads"]
    assert thread["id"] in [t["id"] for t in threads]
    assert ask(post, school.residents["stranger"], {"s": school.u1})["errors"][0]["extensions"]["code"] == "FORBIDDEN"


THREAD = """query($id: ID!) { me { thread(id: $id) { id subject unread lastReadAt
                                                  messages { text authorRole fromMe seen } } } }"""
MARK_READ = "mutation($id: ID!) { markThreadRead(threadId: $id) { id unread lastReadAt } }"


def codes(answer):
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


def test_a_guardian_reads_and_marks_read_only_threads_about_their_own_children(ask, school, rpc):
    zhang, wang, li = school.residents["A"], school.residents["B"], school.residents["C"]  # li: another pupil's
    post = 'mutation($s: ID!) { postMessage(studentId: $s, text: "老师好，小明的作业本落在家里了。") { id } }'
    thread_id = ask(post, zhang, {"s": school.u1})["data"]["postMessage"]["id"]
    rpc.elearning.post_message({"role": "teacher", "id": school.t1}, "收到，明天带来即可。", thread_id)

    [listed] = ask("{ me { messageThreads { id unread } } }", zhang)["data"]["me"]["messageThreads"]
    assert listed == {"id": thread_id, "unread": True}
    thread = ask(THREAD, zhang, {"id": thread_id})["data"]["me"]["thread"]
    assert thread["unread"] is True and "张小明" in thread["subject"]
    assert thread["messages"] == [
        {"text": "老师好，小明的作业本落在家里了。", "authorRole": "guardian", "fromMe": True, "seen": True},  # replied to
        {"text": "收到，明天带来即可。", "authorRole": "teacher", "fromMe": False, "seen": False}]

    marked = ask(MARK_READ, zhang, {"id": thread_id})["data"]["markThreadRead"]
    assert marked["unread"] is False and marked["lastReadAt"] > thread["lastReadAt"]  # read when writing, then now
    assert ask("{ me { messageThreads { unread } } }", zhang)["data"]["me"]["messageThreads"] == [{"unread": False}]
    after = ask(THREAD, zhang, {"id": thread_id})["data"]["me"]["thread"]
    assert after["unread"] is False and after["messages"][1]["seen"] is True  # the teacher sees it was read
    # the pupil's other guardian reads it too, not having read it yet
    assert ask(THREAD, wang, {"id": thread_id})["data"]["me"]["thread"]["unread"] is True

    # another pupil's guardian, a plain resident and staff are refused, and nothing is marked
    for who, role, code in ((li, "guardian", "FORBIDDEN"), (school.residents["stranger"], "resident", "FORBIDDEN"),
                            ("clerk-1", "staff", "FORBIDDEN")):
        read = ask(THREAD, who, {"id": thread_id}, role=role)
        assert codes(read) == [code] and ((read.get("data") or {}).get("me") or {}).get("thread") is None
        assert codes(ask(MARK_READ, who, {"id": thread_id}, role=role)) == [code]
    receipts = rpc.elearning.thread_messages({"role": "teacher", "id": school.t1}, thread_id)["read_receipts"]
    assert [(r["role"], r["id"]) for r in receipts] == [("guardian", zhang), ("teacher", school.t1)]
    assert codes(ask(THREAD, zhang, {"id": "no-such-thread"})) == ["NOT_FOUND"]
    assert codes(ask(MARK_READ, zhang, {"id": "no-such-thread"})) == ["NOT_FOUND"]


def course(course_id, lessons=("l1", "l2")):
    return {"course_id": course_id, "title": f"课程 {course_id}", "provider": "区社区学院", "subjects": ["数字生活"],
            "credits": 1, "units": [{"title": "第一单元", "lessons": [
                {"id": l, "title": f"第{n}课", "renditions": {"web": {"url": f"https://learn.example/{l}"}}}
                for n, l in enumerate(lessons, 1)]}]}


PROGRESS = ('mutation($c: ID!, $l: ID!, $p: Int, $pc: Int, $at: String!, $ch: String, $done: Boolean) '
            '{ recordProgress(courseId: $c, lessonId: $l, position: $p, percent: $pc, at: $at, channel: $ch, '
            'completed: $done) { applied } }')
LESSONS = "{ me { enrolments { courseId lessons { lessonId position percent completed updatedAt channel } } } }"


def test_progress_per_lesson_lets_another_device_resume(ask, school, rpc):
    learner, other = school.residents["stranger"], school.residents["C"]
    first, second = (f"gw-{uuid.uuid4().hex[:8]}" for _ in range(2))
    rpc.elearning.upsert_courses([course(first), course(second, ("s1",))])
    for cid in (first, second):
        assert "errors" not in ask('mutation($c: ID!) { enrol(courseId: $c) { courseId } }', learner, {"c": cid},
                                   role="resident")

    def report(c, lesson, position, percent, at, channel, done=False):
        answer = ask(PROGRESS, learner, {"c": c, "l": lesson, "p": position, "pc": percent, "ch": channel,
                                         "at": f"2026-11-25T{at}+08:00", "done": done}, role="resident")
        return answer["data"]["recordProgress"]["applied"]
    assert report(first, "l1", 300, 40, "19:30:00", "tv")
    assert report(first, "l1", 420, 55, "21:05:00", "mobile")       # on the phone, later
    assert report(first, "l1", 60, 10, "19:00:00", "web") is False   # an old report arriving late
    assert report(first, "l2", 600, 100, "21:20:00", "mobile", done=True)
    assert report(second, "s1", 30, 5, "08:00:00", "web")

    answer = ask(LESSONS, learner, role="resident")
    assert "errors" not in answer, answer
    by_course = {e["courseId"]: e["lessons"] for e in answer["data"]["me"]["enrolments"]}
    assert by_course[first] == [   # most recent first: what a device resumes
        {"lessonId": "l2", "position": 600, "percent": 100, "completed": True,
         "updatedAt": "2026-11-25T13:20:00+00:00", "channel": "mobile"},
        {"lessonId": "l1", "position": 420, "percent": 55, "completed": False,
         "updatedAt": "2026-11-25T13:05:00+00:00", "channel": "mobile"}]
    assert [l["lessonId"] for l in by_course[second]] == ["s1"]
    two_enrolments = answer["extensions"]["rpcCalls"]

    # someone else enrolled in one course: their own progress only, at the same number of RPCs
    ask('mutation($c: ID!) { enrol(courseId: $c) { courseId } }', other, {"c": first}, role="resident")
    theirs = ask(LESSONS, other, role="resident")
    assert theirs["data"]["me"]["enrolments"] == [{"courseId": first, "lessons": []}]
    assert theirs["extensions"]["rpcCalls"] == two_enrolments == 1  # enrolments with their progress, one call


CERTIFICATE = 'query($c: ID!) { me { certificate(courseId: $c) { number html } } }'


def test_a_learner_gets_the_certificate_of_a_completed_course_only(ask, school, rpc):
    learner = school.residents["stranger"]
    done, started = (f"gw-{uuid.uuid4().hex[:8]}" for _ in range(2))
    rpc.elearning.upsert_courses([course(done, ("d1",)), course(started)])
    for cid in (done, started):
        ask('mutation($c: ID!) { enrol(courseId: $c) { courseId } }', learner, {"c": cid}, role="resident")
    ask(PROGRESS, learner, {"c": done, "l": "d1", "at": "2026-11-25T10:00:00+08:00", "done": True}, role="resident")
    ask(PROGRESS, learner, {"c": started, "l": "l1", "at": "2026-11-25T10:00:00+08:00", "done": True}, role="resident")
    cert = ask(CERTIFICATE, learner, {"c": done}, role="resident")["data"]["me"]["certificate"]
    name = rpc.community.get_residents([learner])[0]["name"]
    assert cert["number"] and "结业证书" in cert["html"] and name in cert["html"] and f"课程 {done}" in cert["html"]
    assert codes(ask(CERTIFICATE, learner, {"c": started}, role="resident")) == ["NOT_FOUND"]  # one lesson of two
    other = school.residents["C"]
    assert codes(ask(CERTIFICATE, other, {"c": done}, role="resident")) == ["NOT_FOUND"]     # not theirs
