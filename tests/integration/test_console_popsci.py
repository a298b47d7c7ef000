"""Popular science from the provider's upload to the resident's TV guide, through the pages:
an editor's console (the pending queue, publish or reject with a reason, CSRF-checked, a
video placed on TV, usage), a clerk kept out of it, and the resident's 学习 page listing the
published items and the TV guide's popular-science slot, which plays from the library. In
Chromium at a phone's size, axe-core finds no serious or critical violation on the editor's
pages nor on the resident's 学习 page with them."""
import re
import uuid

import pytest
import requests

from services.common import clock
from services.community import staff
from services.elearning.service import ElearningService
from services.library.service import LibraryService
from support import id_number, wait_for, web_address
from support.browser import PHONE, run, serious
from support.library import MP4, a_provider, popsci_upload
from support.portal import CODE, console_clerk, csrf_of, start_portal

SECRET = "portal-popsci-secret-of-at-least-32-bytes"
pytestmark = pytest.mark.timeout(300)


def test_an_editor_reviews_publishes_and_places_on_tv_and_a_resident_finds_and_plays_it(
        start_service, service_config, rpc, tmp_path):
    door = web_address(start_service(LibraryService))   # the providers' door is on the library's port
    portal = start_portal(start_service, service_config, rpc, tmp_path, SECRET, ElearningService)
    tag = uuid.uuid4().hex[:8]
    provider, key = a_provider(rpc.library, "上海科技馆")
    video = popsci_upload(door, provider, key, {
        "kind": "video", "title": f"深海探秘 {tag}", "subjects": ["海洋"], "audience": ["elderly"],
        "licence": {"model": "open"}, "tv_minutes": 25}, ("深海.mp4", MP4, "video/mp4")).json()["item_id"]
    doubtful = popsci_upload(door, provider, key, {
        "kind": "exhibition", "title": f"无名展 {tag}", "subjects": ["海洋"], "audience": ["children"],
        "starts_on": "2026-12-10", "ends_on": "2026-12-20", "place": "某处"}).json()["item_id"]

    login, password = f"editor-{uuid.uuid4().hex[:6]}", f"pw-{uuid.uuid4().hex}"
    rpc.community.staff_add(login, "沈编辑", None, staff.hash_password(password), "editor")
    editor = requests.Session()
    form = editor.get(portal.base + "/console/login", timeout=10)
    home = editor.post(portal.base + "/console/login", data={"login": login, "password": password,
                                                             "csrf": csrf_of(form)}, timeout=10)
    assert home.status_code == 200 and home.url.endswith("/console/popsci"), home.url
    assert f"深海探秘 {tag}" in home.text and f"无名展 {tag}" in home.text and "有电视版本 25 分钟" in home.text
    preview = editor.get(portal.base + f"/console/popsci/{video}/preview", allow_redirects=False, timeout=10)
    assert preview.status_code == 303 and "/popsci/v1/preview/" in preview.headers["Location"]
    seen = requests.get(preview.headers["Location"], headers={"Range": "bytes=0-7"}, timeout=10)
    assert seen.status_code == 206 and seen.content == MP4[:8]   # pending: only the editor's link reads it
    clerk = console_clerk(portal.base, rpc, "C0101")
    assert clerk.get(portal.base + "/console/popsci", timeout=10).status_code == 403
    assert clerk.get(portal.base + f"/console/popsci/{video}/preview", allow_redirects=False,
                     timeout=10).status_code == 403
    assert clerk.post(portal.base + f"/console/popsci/{video}/review", timeout=10,
                      data={"csrf": csrf_of(clerk.get(portal.base + "/console", timeout=10)),
                            "decision": "publish"}).status_code == 403
    no_csrf = editor.post(portal.base + f"/console/popsci/{video}/review", data={"decision": "publish"}, timeout=10)
    assert no_csrf.status_code == 403
    no_reason = editor.post(portal.base + f"/console/popsci/{doubtful}/review", timeout=10,
                            data={"csrf": csrf_of(home), "decision": "reject"})
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    assert doubtful not in {i["item_id"] for i in rpc.library.popular_science()}
    rejected = editor.post(portal.base + f"/console/popsci/{doubtful}/review", timeout=10,
                           data={"csrf": csrf_of(home), "decision": "reject", "reason": "地点不明确"})
    assert rejected.status_code == 200 and "已退回" in rejected.text and f"无名展 {tag}" not in rejected.text
    published = editor.post(portal.base + f"/console/popsci/{video}/review", timeout=10,
                            data={"csrf": csrf_of(home), "decision": "publish"})
    assert published.status_code == 200 and "已发布" in published.text

    today = clock.today().isoformat()
    shelf = editor.get(portal.base + "/console/popsci/published", timeout=10)
    assert f"深海探秘 {tag}" in shelf.text
    bad_time = editor.post(portal.base + f"/console/popsci/{video}/tv", timeout=10,
                           data={"csrf": csrf_of(shelf), "channel": "区教育频道", "starts_at": "明天"})
    assert bad_time.status_code == 400
    placed = editor.post(portal.base + f"/console/popsci/{video}/tv", timeout=10,
                         data={"csrf": csrf_of(shelf), "channel": "区教育频道", "starts_at": f"{today}T20:15"})
    assert placed.status_code == 200 and "已排入电视课表" in placed.text and f"{today} 20:15 · 区教育频道" in placed.text
    wait_for(lambda: any(s.get("resource_id") == video for s in rpc.elearning.tv_guide(today)), timeout=15)

    # the resident: the 学习 page lists it and shows it on today's TV guide; it plays from the library
    phone = "135" + f"{uuid.uuid4().int % 10 ** 8:08d}"
    rpc.community.register_resident({"id_number": id_number(), "name": "陆平", "phone": phone,
                                     "registered_committee": "C0101", "residence_committee": "C0101",
                                     "address": "龙华路15号"})
    browser, _ = portal.sign_in(phone)
    learning = browser.get(portal.base + "/learning", timeout=10)
    popsci_part = learning.text.split('id="popsci"')[1].split("</ul>")[0]
    assert f"深海探秘 {tag}" in popsci_part and "上海科技馆" in popsci_part and "老年人" in popsci_part
    guide = learning.text.split('id="tv-guide"')[1].split("</ul>")[0]
    assert f"{today} 20:15 · 区教育频道" in guide and f"科普·上海科技馆：深海探秘 {tag}" in guide
    found = browser.get(portal.base + "/library/search", params={"q": f"深海探秘 {tag}"}, timeout=10)
    assert "上海科技馆" in found.text and "视频 · 公开" in found.text   # in the catalogue, by its licence
    opened = browser.post(portal.base + "/library/digital", timeout=10,
                          data={"csrf": csrf_of(learning), "resource_id": video, "action": "open"})
    assert opened.status_code == 200 and "<video" in opened.text
    url = re.search(r'src="(http[^"]+/digital/v1/[^"]+)"', opened.text).group(1).replace("&amp;", "&")
    assert requests.get(url, headers={"Range": "bytes=0-7"}, timeout=10).status_code == 206

    usage = editor.get(portal.base + "/console/popsci/usage", timeout=10)
    row = usage.text.split(f'data-provider="{provider}"')[1].split("</tr>")[0]
    assert re.findall(r'data-label="[^"]+">(\d+)<', row) == ["1", "0", "0", "1", "1"]   # published, pending...

    phone2 = "136" + f"{uuid.uuid4().int % 10 ** 8:08d}"   # another resident, signed in by the browser
    rpc.community.register_resident({"id_number": id_number(), "name": "陆安", "phone": phone2,
                                     "registered_committee": "C0101", "residence_committee": "C0101",
                                     "address": "龙华路16号"})
    seen = run([
        {"goto": portal.base + "/login"},
        {"fill": "#phone", "value": phone2}, {"click": "#send-code"},
        {"fillFrom": "#code", "file": str(portal.outbox), "regex": CODE}, {"click": "#sign-in"},
        {"goto": portal.base + "/learning"}, {"axe": "axe_learning"},
        {"eval": "learning", "js": "document.querySelector('#popsci').innerText + document.querySelector('#tv-guide').innerText"},
        {"goto": portal.base + "/console/login"},
        {"fill": "#login", "value": login}, {"fill": "#password", "value": password}, {"click": "#sign-in"},
        {"axe": "axe_queue"},
        {"goto": portal.base + "/console/popsci/published"}, {"axe": "axe_published"},
        {"goto": portal.base + "/console/popsci/usage"}, {"axe": "axe_usage"},
        {"eval": "fits", "js": "document.documentElement.scrollWidth <= window.innerWidth + 1"},
    ], viewport=PHONE, mobile=True)
    assert f"深海探秘 {tag}" in seen["learning"] and "播放" in seen["learning"]
    for name in ("axe_learning", "axe_queue", "axe_published", "axe_usage"):
        assert serious(seen[name]) == [], (name, seen[name])
    assert seen["fits"] is True and seen["console"] == [] and seen["failedRequests"] == []
