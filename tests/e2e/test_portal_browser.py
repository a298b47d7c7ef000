"""The residents' portal in a real browser at a phone's size (390 x 844): headless Chromium
(Debian's ``chromium`` driven by Playwright, ``tests/support/browser.py``) signs in with the
code the file sender wrote, reads a case's timeline and a notice, finds a matter by user group
and applies online, turns the elder-friendly mode on and signs out; axe-core finds no serious
or critical violation on any page, in either mode, and nothing is loaded from elsewhere."""
import uuid

import pytest

from gateway.service import GatewayService
from services.community.service import CommunityService
from support import id_number, load_demo_district, wait_for
from support.browser import run, serious
from support.portal import CODE, start_portal

pytestmark = pytest.mark.timeout(300)
SECRET = "portal-browser-secret-of-at-least-32-bytes"
PHONE = {"width": 390, "height": 844}
TEXT = "document.querySelector('main').innerText"


@pytest.fixture
def portal(start_service, service_config, rpc, tmp_path):
    return start_portal(start_service, service_config, rpc, tmp_path, SECRET)


def test_a_resident_on_a_phone_signs_in_follows_a_case_reads_a_notice_and_applies(portal, rpc, tmp_path):
    phone = "136" + f"{uuid.uuid4().int % 10 ** 8:08d}"
    me = rpc.community.register_resident({"id_number": id_number(), "name": "孙丽", "phone": phone,
                                          "registered_committee": "C0101", "residence_committee": "C0201",
                                          "address": "枫林路12号"})["resident_id"]
    case = rpc.community.submit_case({"id": me, "role": "resident"}, {"resident_id": me,
                                                                      "matter_code": "RESIDENCE_PERMIT"})
    clerk = {"id": "clerk-fl", "role": "staff", "committee": "C0201"}
    rpc.community.act_on_case(clerk, {"case_id": case["case_id"], "action": "accept"})
    rpc.community.act_on_case(clerk, {"case_id": case["case_id"], "action": "request_supplement",
                                      "missing_materials": ["近期免冠照片"], "note": "请补交照片"})
    wait_for(lambda: len(rpc.community.get_notices({"id": me, "role": "resident"}, me)) >= 2)
    base = portal.base
    steps = [
        {"goto": base + "/"},   # not signed in: the sign-in page
        {"axe": "axe_login"},
        {"fill": "#phone", "value": phone}, {"click": "#send-code"},
        {"eval": "sent", "js": "document.querySelector('#sent').innerText"}, {"axe": "axe_code"},
        {"fillFrom": "#code", "file": str(portal.outbox), "regex": CODE}, {"click": "#sign-in"},
        {"eval": "home", "js": TEXT}, {"axe": "axe_home"}, {"cookies": "cookies"},
        {"screenshot": str(tmp_path / "home.png")},
        {"click": "text=我的办件"}, {"eval": "cases", "js": TEXT}, {"axe": "axe_cases"},
        {"click": f"[data-case='{case['case_id']}'] a"},
        {"eval": "case", "js": TEXT}, {"axe": "axe_case"},
        {"eval": "fits", "js": "document.documentElement.scrollWidth <= window.innerWidth + 1"},
        {"click": "nav >> text=消息"}, {"eval": "notices", "js": TEXT}, {"axe": "axe_notices"},
        {"click": "#unread-list li:first-child a"}, {"eval": "notice", "js": TEXT}, {"axe": "axe_notice"},
        {"click": "nav >> text=消息"}, {"eval": "notices_after", "js": TEXT},
        {"click": "nav >> text=办事"}, {"axe": "axe_matters"},
        {"click": "text=老年人"}, {"eval": "elderly", "js": TEXT},
        {"click": "text=高龄老人营养补贴申领"}, {"eval": "matter", "js": TEXT}, {"axe": "axe_matter"},
        {"fill": "#note", "value": "腿脚不便，希望上门核实"}, {"click": "#apply"},
        {"eval": "applied", "js": TEXT},
        {"click": "#elder-toggle"},   # the elder-friendly mode, on the page we are on
        {"eval": "elder", "js": "document.documentElement.className"},
        {"eval": "elder_font", "js": "getComputedStyle(document.body).fontSize"},
        {"axe": "axe_case_elder"}, {"screenshot": str(tmp_path / "case-elder.png")},
        {"click": "nav >> text=首页"}, {"axe": "axe_home_elder"},
        {"eval": "elder_fits", "js": "document.documentElement.scrollWidth <= window.innerWidth + 1"},
        {"click": "nav a[href='/me']"}, {"eval": "me", "js": TEXT}, {"axe": "axe_me_elder"},
        {"click": "#logout"}, {"eval": "after", "js": "document.title"}, {"cookies": "cookies_after"},
    ]
    seen = run(steps, viewport=PHONE, mobile=True)
    assert phone[:3] + "****" + phone[-4:] in seen["sent"]
    assert "孙丽，您好" in seen["home"] and "未读 2 条" in seen["home"]
    [cookie] = [c for c in seen["cookies"] if c["name"] == "portal_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert case["number"] in seen["cases"] and "待补正" in seen["cases"]
    assert "需要补正材料" in seen["case"] and "近期免冠照片" in seen["case"] and "请补交照片" in seen["case"]
    assert seen["fits"] is True
    assert "未读（2）" in seen["notices"] and "未读（1）" in seen["notices_after"]
    assert "高龄老人营养补贴申领" in seen["elderly"] and "居住证办理" not in seen["elderly"]
    assert "银行卡" in seen["matter"] and "10个工作日" in seen["matter"]
    assert "已提交" in seen["applied"] and "高龄老人营养补贴申领" in seen["applied"]
    assert seen["elder"] == "elder" and float(seen["elder_font"].rstrip("px")) >= 22 and seen["elder_fits"] is True
    assert "联洋第一居委会" in seen["me"] and "人户分离" in seen["me"] and "12号" not in seen["me"]
    assert "登录" in seen["after"] and not [c for c in seen["cookies_after"] if c["name"] == "portal_session"]
    for name in [k for k in seen if k.startswith("axe_")]:
        assert serious(seen[name]) == [], (name, seen[name])
    assert seen["console"] == [] and seen["failedRequests"] == []
    assert (tmp_path / "home.png").stat().st_size > 5000


def test_a_resident_signs_in_through_the_district_identity_provider(start_service, service_config, rpc):
    """The other way in: the portal's button leads to a real OpenID Connect provider
    (oidc-provider), whose sign-in and consent pages send the browser back signed in."""
    from support.oidc import provider
    start_service(CommunityService)
    load_demo_district(rpc)
    number = id_number()
    rpc.community.register_resident({"id_number": number, "name": "钱敏", "registered_committee": "C0101",
                                     "residence_committee": "C0101", "address": "龙华路8号"})
    config = service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0, OIDC_CLIENT_ID="portal",
                            OIDC_CLIENT_SECRET="portal-secret", OIDC_SCOPES="openid profile identity")
    base = "http://" + config["WEB_SERVER_ADDRESS"]
    clients = [{"client_id": "portal", "client_secret": "portal-secret",
                "redirect_uris": [base + "/login/oidc/callback"]}]
    with provider(clients, {"qian": {"name": "钱敏", "id_number": number}}) as issuer:
        start_service(GatewayService, {**config, "OIDC_ISSUER": issuer})
        seen = run([
            {"goto": base + "/login"}, {"axe": "axe_login"},
            {"click": "#oidc"},                                  # to the provider's own sign-in page
            {"fill": "input[name=login]", "value": "qian"}, {"fill": "input[name=password]", "value": "x"},
            {"click": "button[type=submit]"},                    # sign in there
            {"click": "button[type=submit]"},                    # consent
            {"until": "location.pathname === '/' && !!document.querySelector('#greeting')"},
            {"eval": "home", "js": TEXT}, {"axe": "axe_home"}, {"cookies": "cookies"},
        ], viewport=PHONE, mobile=True)
    assert "钱敏，您好" in seen["home"]
    assert [c for c in seen["cookies"] if c["name"] == "portal_session" and c["httpOnly"]]
    assert not [c for c in seen["cookies"] if c["name"] == "portal_oidc"]
    for name in ("axe_login", "axe_home"):
        assert serious(seen[name]) == [], (name, seen[name])
