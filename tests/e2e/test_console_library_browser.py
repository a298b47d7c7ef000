"""The librarians' console in a real browser (headless Chromium driven by Playwright,
``tests/support/browser.py``): a kiosk lends a copy offline and its event arrives after the copy
was lent at a desk; a librarian signs in, filters the conflicts down to it, opens it (the
kiosk's event beside the desk loan it collides with, cards masked), resolves it with a note,
sees the resolution in its audit trail and the kiosk's health; axe-core finds nothing serious
or critical on any page."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from gateway.service import GatewayService
from infra.local import demo_data
from services.community import staff
from services.community.service import CommunityService
from services.library.service import LibraryService
from support import load_demo_district, wait_for, web_address
from support.browser import run, serious
from support.library import a_patron, a_title, conflict_id, publish_kiosk

pytestmark = pytest.mark.timeout(300)
SECRET = "console-browser-secret-of-at-least-32-bytes"
TITLE = "document.title"


@pytest.fixture
def console(start_service, service_config, rpc):
    start_service(CommunityService)
    start_service(LibraryService)
    gateway = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0))
    load_demo_district(rpc)
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    return web_address(gateway)


def test_a_librarian_filters_opens_and_resolves_a_conflict(console, rpc, db, kiosk, tmp_path):
    kiosk_id, uri = kiosk
    rpc.library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "枫林路24小时自助图书馆",
                                   "committee": "C0201"}])
    desk_patron, desk_card = a_patron(db)
    _, kiosk_card = a_patron(db)
    _, [barcode] = a_title(rpc.library, copies=(kiosk_id,))
    rpc.library.checkout(barcode, desk_patron, "MAIN")
    late = publish_kiosk(uri, kiosk_id, "checkout", {"barcode": barcode, "card_number": kiosk_card},
                         at=datetime.now(timezone.utc) - timedelta(hours=2))
    cid = conflict_id(kiosk_id, late)
    wait_for(lambda: db("library").conflicts.find_one({"_id": cid, "status": "open"}))
    login, password = f"lib-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:12]}"
    rpc.community.staff_add(login, "王书华", None, staff.hash_password(password), "librarian")

    row = f'tr[data-conflict="{cid}"]'
    seen = run([
        {"goto": console + "/console"},
        {"fill": "#login", "value": login}, {"fill": "#password", "value": password}, {"click": "#sign-in"},
        {"eval": "list_title", "js": TITLE},
        {"eval": "nav", "js": "document.querySelector('nav.nav').innerText"},
        {"axe": "axe_list"},
        {"eval": "kinds", "js": "[...document.querySelectorAll('#f-kind option')].map(o => o.value)"},
        {"eval": "select_kind", "js": "document.querySelector('#f-kind').value = 'stale_checkout'"},
        {"eval": "select_location", "js": f"document.querySelector('#f-location').value = '{kiosk_id}'"},
        {"click": "#filter"},
        {"eval": "filtered_url", "js": "location.search"},
        {"eval": "rows", "js": "document.querySelectorAll('#conflicts tbody tr').length"},
        {"eval": "row_text", "js": f"document.querySelector('{row}').innerText"},
        {"screenshot": str(tmp_path / "conflicts.png")},
        {"click": f"{row} a"},
        {"eval": "detail_title", "js": TITLE},
        {"eval": "event_side", "js": "document.querySelector('#event-side').innerText"},
        {"eval": "loans", "js": "document.querySelector('#loans').innerText"},
        {"eval": "copy_side", "js": "document.querySelector('#copy-side').innerText"},
        {"eval": "detail_html", "js": "document.documentElement.outerHTML"},
        {"axe": "axe_detail"},
        {"eval": "pick", "js": "document.querySelector('#resolve-action').value = 'patron_contacted'"},
        {"fill": "#resolve-note", "value": "已电话联系读者：书在其家中，机器离线时借出，请读者尽快到服务台归还"},
        {"click": "#do-resolve"},
        {"eval": "flash", "js": "document.querySelector('#flash').innerText"},
        {"eval": "status", "js": "document.querySelector('#conflict-status').innerText"},
        {"eval": "trail", "js": "document.querySelector('#trail').innerText"},
        {"eval": "form_gone", "js": "document.querySelector('#resolve') === null"},
        {"axe": "axe_resolved"}, {"screenshot": str(tmp_path / "conflict-resolved.png")},
        {"goto": console + "/console/library/kiosks"},
        {"eval": "kiosks", "js": "document.querySelector('#kiosks').innerText"}, {"axe": "axe_kiosks"},
        {"resize": {"width": 820, "height": 1180}},
        {"goto": console + "/console/library/conflicts?status=resolved&location=" + kiosk_id},
        {"eval": "resolved_rows", "js": f"document.querySelector('{row}') !== null"},
        {"eval": "lang", "js": "document.documentElement.lang"},
    ])
    assert "借还冲突" in seen["list_title"] and "图书馆工作台" in seen["list_title"]
    assert "借还冲突" in seen["nav"] and "案件队列" not in seen["nav"]
    assert seen["kinds"] == ["", "unresolved", "stale_checkout", "implied_return"]
    assert "kind=stale_checkout" in seen["filtered_url"] and f"location={kiosk_id}" in seen["filtered_url"]
    assert seen["rows"] == 1 and barcode in seen["row_text"] and "迟到的借出记录" in seen["row_text"]
    assert barcode in seen["detail_title"]
    masked = kiosk_card[:2] + "*" * 8 + kiosk_card[-4:]
    assert masked in seen["event_side"] and "枫林路24小时自助图书馆" in seen["event_side"]
    assert "借出中" in seen["copy_side"] and "浦东图书馆" in seen["copy_side"]   # lent at the desk, standing there
    assert "此后" in seen["loans"] and "借阅中" in seen["loans"] and desk_card[-4:] in seen["loans"]
    assert kiosk_card not in seen["detail_html"] and desk_card not in seen["detail_html"]
    assert "已处理" in seen["flash"] and seen["status"] == "已处理"
    assert login in seen["trail"] and "已联系读者核实" in seen["trail"] and "书在其家中" in seen["trail"]
    assert seen["form_gone"] is True and seen["resolved_rows"] is True and seen["lang"] == "zh-CN"
    assert "枫林路24小时自助图书馆" in seen["kiosks"] and "在线" in seen["kiosks"]
    for name in ("axe_list", "axe_detail", "axe_resolved", "axe_kiosks"):
        assert serious(seen[name]) == [], (name, seen[name])
    assert seen["console"] == [] and seen["failedRequests"] == []
    stored = db("library").conflicts.find_one({"_id": cid})
    assert stored["status"] == "resolved" and stored["resolved"]["by"] == login
    assert [e["action"] for e in stored["trail"].values()] == ["patron_contacted"]
