"""The staff console in a real browser: headless Chromium (Debian's ``chromium``, driven by
Playwright: ``tests/support/browser.py``) signs in, opens a case, completes it and sees it leave
the queue, on a desktop and on a tablet held upright; axe-core finds nothing that keeps a
clerk out."""
import uuid

import pytest

from gateway.service import GatewayService
from services.community import staff
from services.community.service import CommunityService
from support import id_number, load_demo_district, web_address
from support.browser import run, serious

pytestmark = pytest.mark.timeout(300)
SECRET = "console-browser-secret-of-at-least-32-bytes"
TITLE = "document.title"


@pytest.fixture
def console(start_service, service_config, rpc):
    community = start_service(CommunityService)
    gateway = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0))
    load_demo_district(rpc)
    return {"community": community, "base": web_address(gateway)}


def test_clerk_signs_in_opens_a_case_completes_it_and_it_leaves_the_queue(console, rpc, tmp_path):
    login, password = f"clerk-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:12]}"
    rpc.community.staff_add(login, "李静", "C0201", staff.hash_password(password))
    resident = rpc.community.register_resident({"id_number": id_number(), "name": "王芳",
                                                "registered_committee": "C0101", "residence_committee": "C0201",
                                                "address": "枫林路88弄3号502室"})
    desk = {"id": "desk-clerk", "role": "staff", "committee": "C0201"}
    case = rpc.community.submit_case(desk, {"resident_id": resident["resident_id"], "matter_code": "ELDERLY_ALLOWANCE",
                                            "materials": ["居民身份证", "银行卡"]})
    case = rpc.community.act_on_case(desk, {"case_id": case["case_id"], "action": "accept"})
    base = console["base"]
    row = f'tr[data-case="{case["case_id"]}"]'
    seen = run([
        {"goto": base + "/console"},   # not signed in: sent to the sign-in page
        {"eval": "login_title", "js": TITLE}, {"axe": "axe_login"},
        {"fill": "#login", "value": login}, {"fill": "#password", "value": password}, {"click": "#sign-in"},
        {"eval": "queue_title", "js": TITLE},
        {"eval": "header", "js": "document.querySelector('header').innerText"},
        {"cookies": "cookies"}, {"axe": "axe_queue"}, {"screenshot": str(tmp_path / "queue-before.png")},
        {"click": f"text={case['number']}"},
        {"eval": "case_title", "js": TITLE},
        {"eval": "status", "js": "document.querySelector('#case-status').innerText"},
        {"eval": "case_text", "js": "document.body.innerText"}, {"axe": "axe_case"},
        {"screenshot": str(tmp_path / "case-desktop.png")},
        {"fill": "#form-complete [name=note]", "value": "补贴已发放"}, {"click": "#do-complete"},
        {"eval": "after_title", "js": TITLE},
        {"eval": "flash", "js": "document.querySelector('#flash').innerText"},
        {"eval": "row_left", "js": f"document.querySelector('{row}') === null"},
        {"eval": "lang", "js": "document.documentElement.lang"},
        {"screenshot": str(tmp_path / "queue-after.png")},
        {"resize": {"width": 820, "height": 1180}},   # a tablet held upright: one column, no sideways scrolling
        {"goto": base + f"/console/cases/{case['case_id']}"},
        {"eval": "done_status", "js": "document.querySelector('#case-status').innerText"},
        {"eval": "trail", "js": "document.querySelector('#trail').innerText"},
        {"eval": "fits", "js": "document.documentElement.scrollWidth <= window.innerWidth + 1"},
        {"screenshot": str(tmp_path / "case-tablet.png")},
        # the desk: a resident who came in, a new case accepted for them
        {"goto": base + f"/console/residents/{resident['resident_id']}/apply"}, {"select": "#matter-choice",
                                                                                 "value": "ELDERLY_ALLOWANCE"},
        {"click": "#choose-matter"}, {"axe": "axe_intake"}, {"click": "#material-1"}, {"click": "#submit-intake"},
        {"eval": "intake_flash", "js": "document.querySelector('#flash').innerText"},
        {"click": "#logout"},
        {"eval": "out_title", "js": TITLE}, {"cookies": "cookies_after"},
    ])
    assert "工作人员登录" in seen["login_title"] and "案件队列" in seen["queue_title"]
    assert "李静" in seen["header"]
    [cookie] = [c for c in seen["cookies"] if c["name"] == "console_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert case["number"] in seen["case_title"] and seen["status"] == "已受理"
    assert "办理记录" in seen["case_text"] and "高龄老人营养补贴申领" in seen["case_text"]
    assert "案件队列" in seen["after_title"] and case["number"] in seen["flash"] and "案件已办结" in seen["flash"]
    assert seen["row_left"] is True and seen["lang"] == "zh-CN"
    assert seen["done_status"] == "已办结" and "补贴已发放" in seen["trail"] and seen["fits"] is True
    assert "工作人员登录" in seen["out_title"]
    assert not [c for c in seen["cookies_after"] if c["name"] == "console_session"]
    assert "申请已在窗口登记" in seen["intake_flash"]
    for name in ("axe_login", "axe_queue", "axe_case", "axe_intake"):
        assert serious(seen[name]) == [], (name, seen[name])
    assert seen["console"] == [] and seen["failedRequests"] == [] and seen["outside"] == []
    assert rpc.community.get_case(desk, case["case_id"])["status"] == "completed"
    for shot in ("queue-before.png", "case-desktop.png", "queue-after.png", "case-tablet.png"):
        assert (tmp_path / shot).stat().st_size > 5000
