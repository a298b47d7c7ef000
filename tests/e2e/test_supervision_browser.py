"""Electronic supervision in a real browser (headless Chromium, ``tests/support/browser.py``): a
supervisor signs in to the red and yellow counts, opens the committee with a red case, opens
the case and urges it; the committee's clerk signs in, finds the 督办 in the inbox, answers it on
the case page; the supervisor opens a report (its chart drawn by the vendored Chart.js beside its
table) and downloads it as XLSX; axe-core finds nothing serious or critical on any of those pages."""
import base64
import io
import uuid

import openpyxl

import pytest

from gateway.service import GatewayService
from services.common import clock
from services.common.storage import due_key
from services.community import staff
from services.community.service import CommunityService
from support import id_number, load_demo_district, web_address
from support.browser import run, serious

pytestmark = pytest.mark.timeout(300)
SECRET = "supervision-browser-secret-of-at-least-32-bytes"
TITLE = "document.title"
TEXT = "document.body.innerText"


def test_a_supervisor_urges_a_red_case_and_the_clerk_answers(start_service, service_config, rpc, db):
    start_service(CommunityService)
    base = web_address(start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0)))
    load_demo_district(rpc)

    def account(role, committee=None, subdistrict=None, name="李静"):
        login, password = f"{role[:3]}-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:12]}"
        rpc.community.staff_add(login, name, committee, staff.hash_password(password), role, subdistrict)
        return login, password
    supervisor, clerk = account("supervisor", subdistrict="SD02", name="周监察"), account("staff", committee="C0201")
    centre = account("centre", subdistrict="SD02", name="吴敏")   # 花木街道's acceptance centre
    desk = {"id": clerk[0], "role": "staff", "committee": "C0201"}
    rid = rpc.community.register_resident({"id_number": id_number(), "name": "王芳", "residence_committee": "C0201",
                                           "address": "枫林路88弄3号502室"})["resident_id"]
    case = rpc.community.submit_case(desk, {"resident_id": rid, "matter_code": "ELDERLY_ALLOWANCE"})
    rpc.community.act_on_case(desk, {"case_id": case["case_id"], "action": "accept"})
    db("community").cases.update_one({"_id": case["case_id"]}, {"$set": {"deadline": "2026-10-09",
                                                                         "watch": due_key("2026-10-09")}})
    rpc.community.check_deadlines_now("2026-10-12")   # past its deadline: red
    today = clock.today().isoformat()

    def sign_in(login, password):
        return [{"goto": base + "/console/login"}, {"fill": "#login", "value": login},
                {"fill": "#password", "value": password}, {"click": "#sign-in"}]
    # one browser (one Chromium start): the supervisor, then, signed out, the clerk
    seen = run(sign_in(*supervisor) + [
        {"eval": "counts_title", "js": TITLE},
        {"eval": "red", "js": "document.querySelector('tr[data-committee=\"C0201\"] .n-overdue').innerText"},
        {"axe": "axe_counts"},
        {"click": "tr[data-committee=\"C0201\"] a"},
        {"eval": "cases_text", "js": TEXT}, {"axe": "axe_cases"},
        {"click": f"text={case['number']}"},
        {"eval": "case_text", "js": TEXT}, {"axe": "axe_case"},
        {"fill": "#urge-note", "value": "已超期，请于今日说明办理进度"}, {"fill": "#urge-reply-by", "value": today},
        {"click": "#do-urge"},
        {"eval": "urged_flash", "js": "document.querySelector('#flash').innerText"},
        {"eval": "urged", "js": "document.querySelector('#urges-title').parentElement.innerText"},
        {"axe": "axe_urged"},
        {"click": "a[href=\"/console/reports\"]"},
        {"eval": "reports", "js": TEXT}, {"axe": "axe_reports"},
        {"click": "li[data-report=\"cases\"] a"},
        {"until": "document.querySelector('#report-chart').getAttribute('data-drawn') === 'yes'"},
        {"eval": "chart", "js": "(() => { const c = document.querySelector('#report-chart'); "
                                "return {width: c.width, height: c.height, drawn: c.getAttribute('data-drawn'), "
                                "painted: c.toDataURL().length}; })()"},
        {"eval": "report_rows", "js": "document.querySelectorAll('#report-table tbody tr').length"},
        {"axe": "axe_report"},
        {"download": "#download-xlsx", "as": "xlsx"},
        {"click": "#logout"},
    ] + sign_in(*clerk) + [
        {"goto": base + "/console/inbox"},
        {"eval": "inbox", "js": TEXT}, {"axe": "axe_inbox"},
        {"click": f"article[data-kind=\"case_urged\"] a[href=\"/console/cases/{case['case_id']}\"]"},
        {"eval": "answer_form", "js": "document.querySelector('form[id^=\"form-answer-\"]') !== null"},
        {"axe": "axe_clerk_case"},
        {"fill": "form[id^=\"form-answer-\"] textarea", "value": "已联系居民补齐材料，明日办结"},
        {"click": "form[id^=\"form-answer-\"] button"},
        {"eval": "answered_flash", "js": "document.querySelector('#flash').innerText"},
        {"eval": "answered", "js": "document.querySelector('#urges-title').parentElement.innerText"},
        {"click": "#logout"},
    ] + sign_in(*centre) + [   # the sub-district's centre: its red and yellow, its reports
        {"goto": base + "/console/supervision"},
        {"eval": "centre_red", "js": "document.querySelector('tr[data-committee=\"C0201\"] .n-overdue').innerText"},
        {"axe": "axe_centre_counts"},
        {"goto": base + "/console/reports/cases"},
        {"until": "document.querySelector('#report-chart').getAttribute('data-drawn') === 'yes'"},
        {"eval": "centre_report", "js": TEXT}, {"axe": "axe_centre_report"},
        {"download": "#download-xlsx", "as": "centre_xlsx"},
    ])
    assert "红黄牌监察" in seen["counts_title"] and int(seen["red"]) >= 1
    assert case["number"] in seen["cases_text"] and "红牌" in seen["cases_text"]
    assert "发出督办" in seen["case_text"] and "办理操作" not in seen["case_text"]
    assert "督办已发出" in seen["urged_flash"] and "已超期，请于今日说明办理进度" in seen["urged"]
    assert "等待办理社区答复" in seen["urged"]
    assert "督办" in seen["inbox"] and case["number"] in seen["inbox"] and seen["answer_form"] is True
    assert "督办已答复" in seen["answered_flash"] and "已联系居民补齐材料，明日办结" in seen["answered"]
    assert "案件量" in seen["reports"] and seen["chart"]["drawn"] == "yes" and seen["chart"]["width"] > 0
    blank = 2 * seen["chart"]["width"] * seen["chart"]["height"] // 1000   # a blank canvas's PNG is tiny
    assert seen["chart"]["painted"] > min(blank, 3000) and seen["report_rows"] >= 1
    assert seen["xlsx"]["name"].endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(seen["xlsx"]["base64"]))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert "案件量" in rows[0][0] and rows[1][:2] == ("月份", "办理单位")
    assert any(row[1] == "联洋第一居委会" and row[3] >= 1 for row in rows[2:])   # the case submitted here
    assert int(seen["centre_red"]) >= 1 and "案件量" in seen["centre_report"]
    centre_rows = list(openpyxl.load_workbook(io.BytesIO(base64.b64decode(seen["centre_xlsx"]["base64"]))).active
                       .iter_rows(values_only=True))
    assert any(row[1] == "联洋第一居委会" and row[3] >= 1 for row in centre_rows[2:])
    assert len([name for name in seen if name.startswith("axe_")]) == 10   # every page was checked
    for name, violations in seen.items():
        if name.startswith("axe_"):
            assert serious(violations) == [], (name, violations)
    assert seen["console"] == [] and seen["failedRequests"] == [] and seen["outside"] == []
    stored = db("community").cases.find_one({"_id": case["case_id"]})
    assert stored["urges"][0]["answer"] == "已联系居民补齐材料，明日办结" and stored["status"] == "accepted"
