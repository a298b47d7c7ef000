"""人户分离 in a real browser (headless Chromium driven by Playwright, ``tests/support/browser.py``):
a resident on a phone declares a new residence in the portal (我的居住地), a clerk of the new
residence committee confirms it in the console and finds the resident in "living here,
registered elsewhere" and the notice in the inbox; a clerk of the registration committee finds
them in "registered here, living elsewhere" without their address. axe-core finds no serious or
critical violation on any page."""
import uuid

import pytest

from services.common import clock
from services.community import staff
from support import id_number, wait_for
from support.browser import run, serious
from support.portal import CODE, start_portal

pytestmark = pytest.mark.timeout(300)
SECRET = "moves-browser-secret-of-at-least-32-bytes"
TEXT = "document.querySelector('main').innerText"


@pytest.fixture
def suite(start_service, service_config, rpc, tmp_path):
    return start_portal(start_service, service_config, rpc, tmp_path, SECRET)


def clerk(rpc, committee):
    login, password = f"clerk-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:12]}"
    rpc.community.staff_add(login, "刘洋", committee, staff.hash_password(password))
    return login, password


def sign_in(base, login, password):
    return [{"goto": base + "/console/login"}, {"fill": "#login", "value": login},
            {"fill": "#password", "value": password}, {"click": "#sign-in"}]


def test_declare_in_the_portal_confirm_in_the_console_both_committees_see_it(suite, rpc, tmp_path):
    base, today = suite.base, clock.today().isoformat()
    lease = tmp_path / "租赁合同.pdf"
    lease.write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    phone = "137" + f"{uuid.uuid4().int % 10 ** 8:08d}"
    me = rpc.community.register_resident({"id_number": id_number(), "name": "周敏", "phone": phone,
                                          "registered_committee": "C0101", "residence_committee": "C0101",
                                          "address": "龙华路5号"})["resident_id"]
    portal = run([
        {"goto": base + "/login"}, {"fill": "#phone", "value": phone}, {"click": "#send-code"},
        {"fillFrom": "#code", "file": str(suite.outbox), "regex": CODE}, {"click": "#sign-in"},
        {"click": "nav a[href='/me']"}, {"click": "#my-residence"}, {"eval": "before", "js": TEXT},
        {"axe": "axe_residence"},
        {"select": "#committee", "value": "C0201"}, {"fill": "#address", "value": "枫林路66号1202室"},
        {"fill": "#moved_on", "value": "2000-01-01"}, {"click": "#declare"},   # before the residence began
        {"eval": "refused", "js": TEXT}, {"axe": "axe_refused"},
        {"fill": "#moved_on", "value": today}, {"click": "#declare"},
        {"eval": "declared", "js": TEXT}, {"axe": "axe_declared"},
        {"upload": "#proof-file", "files": str(lease)}, {"click": "#upload-proof"},
        {"eval": "proof", "js": TEXT}, {"axe": "axe_proof"},
        {"eval": "fits", "js": "document.documentElement.scrollWidth <= window.innerWidth + 1"},
    ], viewport={"width": 390, "height": 844}, mobile=True)
    assert "error" not in portal, portal.get("error")
    assert "梅园一村居委会" in portal["before"] and "申报新的居住地" in portal["before"]
    assert "申报未能提交" in portal["refused"] and "枫林路66号1202室" not in portal["declared"].split("待确认")[0]
    assert "等待该社区确认" in portal["declared"] and "联洋第一居委会" in portal["declared"]
    assert "证明文件已上传" in portal["proof"] and "租赁合同.pdf" in portal["proof"]
    assert portal["fits"] is True
    wait_for(lambda: rpc.community.committee_notices({"id": "x", "role": "staff", "committee": "C0201"}))

    here, away = clerk(rpc, "C0201"), clerk(rpc, "C0101")
    console = run([
        *sign_in(base, *here),
        {"click": "nav >> text=居住地申报"}, {"eval": "moves", "js": TEXT}, {"axe": "axe_moves"},
        {"click": f"#confirm-{me}"}, {"eval": "confirmed", "js": TEXT},
        {"click": "nav >> text=居住在本社区"}, {"eval": "living_here", "js": TEXT}, {"axe": "axe_living_here"},
        {"click": "nav >> text=通知"}, {"eval": "inbox", "js": TEXT}, {"axe": "axe_inbox"},
        {"click": "[data-kind='move_declared'] button"}, {"eval": "inbox_after", "js": TEXT},
        {"click": "#logout"}, {"waitFor": "#login"},   # signed out: on the sign-in page
        *sign_in(base, *away)[1:],
        {"click": "nav >> text=户籍在本社区"}, {"eval": "registered_here", "js": TEXT},
        {"axe": "axe_registered_here"},
        {"click": "nav >> text=通知"}, {"eval": "away_inbox", "js": TEXT},
    ])
    assert "error" not in console, console.get("error")
    assert "周敏" in console["moves"] and "枫林路66号1202室" in console["moves"] and "租赁合同.pdf" in console["moves"]
    assert "已确认" in console["confirmed"] and "周敏" not in console["confirmed"]
    assert "周敏" in console["living_here"] and "枫林路66号1202室" in console["living_here"]
    assert "居住地申报待确认：周敏" in console["inbox"]
    assert "已读" in console["inbox_after"]
    assert "周敏" in console["registered_here"] and "联洋第一居委会" in console["registered_here"]
    assert "枫林路66号" not in console["registered_here"]   # the registration side sees no address
    assert "迁出本社区：周敏" in console["away_inbox"]   # the old residence, here also the registration
    for seen in (portal, console):
        for name in [k for k in seen if k.startswith("axe_")]:
            assert serious(seen[name]) == [], (name, seen[name])
        assert seen["failedRequests"] == [] and seen["outside"] == []
    # the refused declaration's page is answered 400, which Chromium logs; nothing else
    assert portal["console"] == ["Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"]
    assert console["console"] == []
