"""Guardians in the portal: a child's assignments and marks, the terminal wallet (balance and
payments, limits, freezing, a top-up that is an order to pay and never money), and messages
with the class teacher; a resident who is nobody's guardian, another's child, a form without
its CSRF token and a bad amount each get a page and change nothing. At a phone's size in
Chromium, axe-core finds no serious or critical violation on these pages."""
import uuid

import pytest

from services.common import clock
from services.elearning.service import ElearningService
from support import wallet as money
from support.browser import PHONE, run, serious
from support.portal import CODE, csrf_of, start_portal
from support.school_data import make_school

SECRET = "portal-family-secret-of-at-least-32-bytes"
DESK = {"id": "desk-1", "role": "staff", "committee": "C0101"}
pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def family(start_service, service_config, rpc, tmp_path, db):
    portal = start_portal(start_service, service_config, rpc, tmp_path, SECRET, ElearningService)
    (tmp_path / "roster").mkdir()
    school = make_school(rpc, tmp_path / "roster")
    phones = {}
    for who in ("A", "stranger"):   # the roster's residents share one number: each signs in with their own
        phones[who] = "131" + f"{uuid.uuid4().int % 10 ** 8:08d}"
        rpc.community.change_phone(DESK, {"resident_id": school.residents[who], "phone": phones[who]})
    rpc.elearning.publish_assignment(school.t1, school.c1, "口算练习第三页", "完成第三页",
                                     f"{clock.today().isoformat()}T20:00:00+08:00")
    money.staff_top_up(rpc.elearning, school.t1, school.u1, 5000)
    yield portal, school, phones
    assert money.check_ledgers(db("elearning")) >= 1


def test_a_guardian_follows_a_child_and_manages_the_school_card(family, rpc):
    portal, school, phones = family
    browser, _ = portal.sign_in(phones["A"])
    listed = browser.get(portal.base + "/family", timeout=10)
    assert "张小明" in listed.text and "50.00 元" in listed.text and "待完成作业 1 项" in listed.text
    child = browser.get(portal.base + f"/family/{school.u1}", timeout=10)
    assert "口算练习第三页" in child.text and "未提交" in child.text
    url = portal.base + f"/family/{school.u1}"

    ordered = browser.post(url + "/top-up", data={"csrf": csrf_of(child), "amount": "20"}, timeout=10)
    assert ordered.status_code == 200 and "充值订单" in ordered.text and "20.00 元" in ordered.text
    assert 'id="balance">50.00 元' in ordered.text          # an order to pay, not money
    limited = browser.post(url + "/limits", data={"csrf": csrf_of(child), "per_payment": "15", "daily": "30.5"},
                           timeout=10)
    assert "限额已更新" in limited.text and "15.00 / 30.50" in limited.text
    frozen = browser.post(url + "/freeze", data={"csrf": csrf_of(child), "frozen": "1"}, timeout=10)
    assert "已冻结" in frozen.text and "解冻校园卡" in frozen.text
    sent = browser.post(url + "/message", data={"csrf": csrf_of(child), "text": "老师您好，小明明天请假。"}, timeout=10)
    assert "消息已发送" in sent.text
    [thread] = [t for t in rpc.elearning.threads_for({"role": "guardian", "id": school.residents["A"]})]
    page = browser.get(portal.base + f"/family/threads/{thread['thread_id']}", timeout=10)
    assert "小明明天请假" in page.text
    replied = browser.post(portal.base + f"/family/threads/{thread['thread_id']}/reply",
                           data={"csrf": csrf_of(page), "text": "谢谢老师"}, timeout=10)
    assert "消息已发送" in replied.text and "谢谢老师" in replied.text

    # refused, each with a page, nothing changed
    bad = browser.post(url + "/top-up", data={"csrf": csrf_of(child), "amount": "abc"}, timeout=10)
    assert bad.status_code == 400 and "金额" in bad.text
    assert browser.post(url + "/freeze", data={"frozen": "0"}, timeout=10).status_code == 403
    wallet = rpc.elearning.wallet_for_students([school.u1])[school.u1]
    assert wallet["balance_fen"] == 5000 and wallet["frozen"] is True


def test_someone_elses_child_is_no_child_of_theirs(family, rpc):
    portal, school, phones = family
    browser, _ = portal.sign_in(phones["stranger"])
    assert "没有在试点学校就读的孩子" in browser.get(portal.base + "/family", timeout=10).text
    assert browser.get(portal.base + f"/family/{school.u1}", timeout=10).status_code == 404
    page = browser.get(portal.base + "/me", timeout=10)   # a page with this session's CSRF token
    for step, data in (("top-up", {"amount": "10"}), ("freeze", {"frozen": "1"}), ("message", {"text": "你好"})):
        refused = browser.post(portal.base + f"/family/{school.u1}/{step}", data={"csrf": csrf_of(page), **data},
                               timeout=10)
        assert refused.status_code == 404 and "只能查看本人作为监护人登记的孩子" in refused.text
    wallet = rpc.elearning.wallet_for_students([school.u1])[school.u1]
    assert wallet["frozen"] is False and rpc.elearning.threads_for({"role": "guardian", "id": school.residents[
        "stranger"]}) == []


def test_the_family_pages_in_a_phone_browser(family, later):
    portal, school, phones = family
    seen = run([
        {"goto": portal.base + "/login"},
        {"fill": "#phone", "value": phones["A"]}, {"click": "#send-code"},
        {"fillFrom": "#code", "file": str(portal.outbox), "regex": CODE}, {"click": "#sign-in"},
        {"goto": portal.base + "/family"}, {"axe": "axe_family"},
        {"click": f"[data-child='{school.u1}'] a"}, {"axe": "axe_child"},
        {"eval": "fits", "js": "document.documentElement.scrollWidth <= window.innerWidth + 1"},
        {"click": "#elder-toggle"}, {"axe": "axe_child_elder"},   # and in the elder-friendly mode
        {"goto": portal.base + "/family"}, {"axe": "axe_family_elder"},
        {"eval": "elder", "js": "document.documentElement.className"},
    ], viewport=PHONE, mobile=True)
    assert seen["fits"] is True and seen["elder"] == "elder"
    for name in [k for k in seen if k.startswith("axe_")]:
        assert serious(seen[name]) == [], (name, seen[name])
    assert seen["console"] == [] and seen["failedRequests"] == [] and seen["outside"] == []
