"""What a guardian should hear about their child reaches their notice inbox in community:
a low wallet balance, a refused payment, a teacher's message, an assignment for the
child's class — once each, to each guardian. A learner hears that they completed a course."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
from kombu import Connection

from infra import school_terminals
from support.school_data import register, school  # noqa: F401 - the fixture
from support import bind_probe_queue, drain, wait_for


def notices_of(rpc, resident_id):
    return rpc.community.get_notices({"id": resident_id, "role": "resident"}, resident_id)


def test_wallet_and_teacher_facts_become_guardian_notices(school, rpc):
    zhang = school.residents["A"]
    key = school_terminals.add_terminal(rpc, "canteen-1", school.school, "canteen")
    rpc.elearning.wallet_staff_top_up({"role": "teacher", "id": school.t1}, school.u1, 2500, "现金充值（测试）",
                                      "pay-notice-1")
    rpc.elearning.wallet_charge(*school_terminals.signed_charge("canteen-1", key, school.u1, 1000, "txn-1"))  # 15.00 left
    rpc.elearning.wallet_freeze(zhang, school.u1)
    rpc.elearning.wallet_charge(*school_terminals.signed_charge("canteen-1", key, school.u1, 500, "txn-2"))  # frozen
    rpc.elearning.post_message({"role": "teacher", "id": school.t1}, "小明今天表现很好。", student_id=school.u1)

    wanted = {"wallet_low_balance", "wallet_limit_refused", "teacher_message"}
    got = wait_for(lambda: (lambda n: n if wanted <= {x["kind"] for x in n} else None)(notices_of(rpc, zhang)))
    low = next(n for n in got if n["kind"] == "wallet_low_balance")
    assert "15.00" in low["body"] and "张伟" in low["body"]
    refused = next(n for n in got if n["kind"] == "wallet_limit_refused")
    assert "钱包已冻结" in refused["body"]
    eventlet.sleep(0.5)
    assert sorted(n["kind"] for n in notices_of(rpc, zhang)) == sorted(wanted)   # once each
    assert notices_of(rpc, school.residents["stranger"]) == []


def kinds(rpc, resident_id, kind):
    return [n for n in notices_of(rpc, resident_id) if n["kind"] == kind]


def republish(amqp_uri, message):
    """The very same envelope again, as a redelivery or a replay would send it."""
    with Connection(amqp_uri) as conn:
        conn.Producer().publish(json.dumps(message.payload), exchange="elearning.events",
                                routing_key=message.payload["type"], content_type="application/json")


def test_assignment_reaches_each_guardian_of_the_class_once(school, rpc, settings, db):
    zhang, wang, li = school.residents["A"], school.residents["B"], school.residents["C"]
    published = bind_probe_queue(settings.amqp_uri, "elearning.events", "cn.elearning.assignment.published.v1")
    alerts = bind_probe_queue(settings.amqp_uri, "elearning.events", "cn.elearning.guardian_alert.v1")
    due = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    # 三年级数学 (c2): only 小明 (u1), whose guardians are 张伟 and 王芳; 李强's child is in c1 only
    rpc.elearning.publish_assignment(school.t1, school.c2, "口算练习<第3页>", "完成第3页全部口算题。", due.isoformat())

    got = {rid: wait_for(lambda rid=rid: kinds(rpc, rid, "assignment_published")) for rid in (zhang, wang)}
    for rid, name in ((zhang, "张伟"), (wang, "王芳")):
        [notice] = got[rid]
        assert notice["title"] == "新作业通知"
        assert name in notice["body"] and "小明" in notice["body"] and "三年级数学" in notice["body"]
        assert "《口算练习&lt;第3页&gt;》" in notice["body"]              # autoescaped
        local_due = due.astimezone(timezone(timedelta(hours=8)))
        assert f"{local_due.month}月{local_due.day}日 18:00" in notice["body"]  # due in Beijing time
        assert "完成第3页" not in notice["body"]                           # the body stays in the schoolbag
    assert "小红" not in got[zhang][0]["body"]                              # only their own child

    # the very same facts again: the published assignment, and one guardian's alert
    [fact] = drain(settings.amqp_uri, published)
    sent = drain(settings.amqp_uri, alerts, expect=2)
    assert sorted(m.payload["data"]["resident_id"] for m in sent) == sorted([zhang, wang])
    republish(settings.amqp_uri, fact)
    republish(settings.amqp_uri, sent[0])
    # a marker behind them on the same queues: a second assignment, to 李强's child's class (c1)
    rpc.elearning.publish_assignment(school.t1, school.c1, "朗读课文", "", due.isoformat())
    wait_for(lambda: kinds(rpc, li, "assignment_published"))
    for rid in (zhang, wang):  # 小明 is in c1 too
        wait_for(lambda rid=rid: len(kinds(rpc, rid, "assignment_published")) == 2)
    eventlet.sleep(0.5)
    for rid in (zhang, wang):
        assert len(kinds(rpc, rid, "assignment_published")) == 2            # nothing added by the replays
    [for_li] = kinds(rpc, li, "assignment_published")
    assert "小红" in for_li["body"] and "小明" not in for_li["body"] and "朗读课文" in for_li["body"]
    assert db("elearning").guardian_alerts.find_one({"_id": fact.payload["id"]})["outbox_pending"] == 0
    assert notices_of(rpc, school.residents["stranger"]) == []


def test_completing_a_course_worth_no_credits_tells_the_learner(school, rpc):
    _, learner = register(rpc, "赵敏")
    cid = "c-" + uuid.uuid4().hex[:8]
    rpc.elearning.upsert_courses([{
        "course_id": cid, "title": "社区急救常识<入门>", "provider": "区社区学院", "subjects": ["健康"], "credits": 0,
        "units": [{"title": "第一单元", "lessons": [{"id": "l1", "title": "心肺复苏",
                                                     "renditions": {"web": {"url": "https://learn.example/l1"}}}]}]}])
    rpc.elearning.enrol(learner, cid)
    now = datetime.now(timezone.utc).isoformat()
    assert rpc.elearning.record_progress(learner, {"course_id": cid, "lesson_id": "l1", "completed": True,
                                                   "at": now})["course_completed"] is True
    [notice] = wait_for(lambda: kinds(rpc, learner, "course_completed"))
    assert notice["title"] == "课程结业通知"
    assert "赵敏" in notice["body"] and "《社区急救常识&lt;入门&gt;》" in notice["body"] and "结业证书" in notice["body"]
    # reported again from another device: still one completion, one notice, and no credits notice
    assert rpc.elearning.record_progress(learner, {"course_id": cid, "lesson_id": "l1", "completed": True,
                                                   "at": now, "channel": "mobile"})["course_completed"] is False
    eventlet.sleep(0.5)
    assert [n["kind"] for n in notices_of(rpc, learner)] == ["course_completed"]
