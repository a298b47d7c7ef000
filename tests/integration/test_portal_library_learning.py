"""The portal's 图书馆 and 学习 pages with every service running on the real broker and store:
a resident sees their card, loans and holds with their place in the queue, renews, searches
the catalogue and places a hold, finds the kiosk of their committee; sees their courses and
where they left off, today's TV guide, joins a course. Refusals (a renewal the rules refuse,
another patron's loan, a form without its CSRF token) are pages that say why. In Chromium at a
phone's size, axe-core finds no serious or critical violation on these pages."""
import html
import re
import uuid

import pytest
import requests

from infra.local import demo_data
from services.elearning.service import ElearningService
from services.library.service import LibraryService
from services.common import clock
from support import id_number, wait_for
from support.browser import PHONE, run, serious
from support.library import a_digital_resource, due_tomorrow, epub
from support.portal import CODE, csrf_of, start_portal

SECRET = "portal-library-secret-of-at-least-32-bytes"
pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def portal(start_service, service_config, rpc, tmp_path):
    portal = start_portal(start_service, service_config, rpc, tmp_path, SECRET, LibraryService, ElearningService)
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    return portal


@pytest.fixture
def reader(portal, rpc, db):
    """A resident of 龙华一村 with a card, a loan due tomorrow and one waiting in a queue, and a
    course begun on the TV; signed in."""
    phone = "133" + f"{uuid.uuid4().int % 10 ** 8:08d}"
    me = rpc.community.register_resident({"id_number": id_number(), "name": "蒋文", "phone": phone,
                                          "registered_committee": "C0101", "residence_committee": "C0101",
                                          "address": "龙华路11号"})["resident_id"]
    other = rpc.community.register_resident({"id_number": id_number(), "name": "韩梅", "registered_committee": "C0101",
                                             "residence_committee": "C0101", "address": "龙华路12号"})["resident_id"]
    wait_for(lambda: len(rpc.library.get_patrons([me, other])) == 2)
    tag = uuid.uuid4().hex[:8]
    rpc.library.import_catalogue([
        {"record_id": f"{tag}-a", "title": f"活着 {tag}", "authors": ["余华"],
         "copies": [{"barcode": f"{tag}-a1", "home_location": "MAIN"}]},
        {"record_id": f"{tag}-b", "title": f"平凡的世界 {tag}", "authors": ["路遥"],
         "copies": [{"barcode": f"{tag}-b1", "home_location": "MAIN"}]}])
    rpc.library.checkout(f"{tag}-a1", me, "MAIN")
    due_tomorrow(db, f"{tag}-a1")
    rpc.library.checkout(f"{tag}-b1", other, "MAIN")
    rpc.elearning.upsert_courses([{"course_id": f"c-{tag}", "title": f"智能手机入门 {tag}", "provider": "区社区学院",
                                   "subjects": ["数字生活"], "credits": 2, "units": [{"title": "第一单元", "lessons": [
                                       {"id": "l1", "title": "认识手机", "renditions": {
                                           "web": {"url": "https://learn.example/l1"},
                                           "tv": {"channel": "区教育频道", "minutes": 30,
                                                  "starts_at": f"{clock.today().isoformat()}T19:00"}}}]}]},
                                  {"course_id": f"d-{tag}", "title": f"家庭急救 {tag}", "provider": "区红十字会",
                                   "subjects": ["健康"], "credits": 1, "units": [{"title": "一", "lessons": [
                                       {"id": "m1", "title": "心肺复苏", "renditions": {
                                           "web": {"url": "https://learn.example/m1"}}}]}]}])
    rpc.elearning.enrol(me, f"c-{tag}")
    browser, _ = portal.sign_in(phone)
    return {"browser": browser, "tag": tag, "me": me, "other": other, "phone": phone}


def test_library_card_loans_renewal_search_and_hold(portal, reader, rpc):
    browser, tag = reader["browser"], reader["tag"]
    page = browser.get(portal.base + "/library", timeout=10)
    assert f"活着 {tag}" in page.text and "应还日期" in page.text and "崂山路24小时自助图书馆" in page.text
    assert "就在您的居住地" in page.text
    assert "还没有借阅记录" in page.text
    renewed = browser.post(portal.base + "/library/renew", data={"csrf": csrf_of(page), "barcode": f"{tag}-a1"},
                           timeout=10)
    assert renewed.status_code == 200 and "已续借" in renewed.text and "已续借1次" in renewed.text
    not_mine = browser.post(portal.base + "/library/renew", data={"csrf": csrf_of(page), "barcode": f"{tag}-b1"},
                            timeout=10)
    assert not_mine.status_code in (400, 404, 409) and "未能续借" in not_mine.text
    no_csrf = browser.post(portal.base + "/library/renew", data={"barcode": f"{tag}-a1"}, timeout=10)
    assert no_csrf.status_code == 403

    found = browser.get(portal.base + "/library/search", params={"q": f"平凡的世界 {tag}"}, timeout=10)
    assert f"平凡的世界 {tag}" in found.text and "路遥" in found.text
    held = browser.post(portal.base + "/library/hold", timeout=10,
                        data={"csrf": csrf_of(found), "title_id": f"{tag}-b", "pickup": "MAIN"})
    assert held.status_code == 200 and "已预约" in held.text and "排队中" in held.text
    twice = browser.post(portal.base + "/library/hold", timeout=10,
                         data={"csrf": csrf_of(found), "title_id": f"{tag}-b", "pickup": "MAIN"})
    assert twice.status_code in (400, 409) and "未能预约" in twice.text
    mine = browser.get(portal.base + "/library", timeout=10)
    assert mine.text.count(f"平凡的世界 {tag}") == 1   # one hold, not two
    rpc.library.checkin(f"{tag}-a1", "K-001", "kiosk")   # returned at a kiosk: in my history
    history = browser.get(portal.base + "/library", timeout=10).text.split("借阅历史")[1].split("附近的")[0]
    assert f"活着 {tag}" in history and f"平凡的世界 {tag}" not in history


def test_digital_shelf_borrow_read_with_a_range_return_and_queue(portal, reader, rpc):
    browser, tag = reader["browser"], reader["tag"]
    book = epub()
    ebook = a_digital_resource(rpc.library, title=f"数字图书 {tag}", data=book)["resource_id"]
    rpc.library.borrow_digital(reader["other"], ebook)   # the one licence copy is out
    found = browser.get(portal.base + "/library/search", params={"q": f"数字图书 {tag}"}, timeout=10)
    assert "电子书 · 按复本借阅 · 可借 0/1" in found.text and "排队借阅" in found.text
    busy = browser.post(portal.base + "/library/digital", timeout=10,
                        data={"csrf": csrf_of(found), "resource_id": ebook, "action": "borrow"})
    assert busy.status_code == 409 and "place a hold" in busy.text
    queued = browser.post(portal.base + "/library/digital", timeout=10,
                          data={"csrf": csrf_of(found), "resource_id": ebook, "action": "hold"})
    assert queued.status_code == 200 and "已排队" in queued.text and "前面还有 0 人" in queued.text
    rpc.library.return_digital(reader["other"], ebook)   # handed on to me
    shelf = browser.get(portal.base + "/library", timeout=10)
    assert f"数字图书 {tag}" in shelf.text and "到期自动归还" in shelf.text
    opened = browser.post(portal.base + "/library/digital", timeout=10,
                          data={"csrf": csrf_of(shelf), "resource_id": ebook, "action": "open"})
    assert opened.status_code == 200 and "仅供您本人使用" in opened.text
    url = html.unescape(re.search(r'id="read" href="([^"]+)"', opened.text).group(1))
    part = requests.get(url, headers={"Range": "bytes=0-57"}, timeout=10)
    assert part.status_code == 206 and part.content == book[:58] and b"application/epub+zip" in part.content
    back = browser.post(portal.base + "/library/digital", timeout=10,
                        data={"csrf": csrf_of(shelf), "resource_id": ebook, "action": "return"})
    assert back.status_code == 200 and "已归还" in back.text and f"数字图书 {tag}" not in back.text
    assert requests.get(url, timeout=10).status_code == 403   # returned: the link reads no more
    video = a_digital_resource(rpc.library, {"model": "open"}, title=f"科普视频 {tag}", name="v.mp4",
                               content_type="video/mp4", data=b"\x00\x00\x00\x18ftypisom" + bytes(64))
    page = browser.get(portal.base + "/library/search", params={"q": f"科普视频 {tag}"}, timeout=10)
    played = browser.post(portal.base + "/library/digital", timeout=10,
                          data={"csrf": csrf_of(page), "resource_id": video["resource_id"], "action": "open"})
    assert played.status_code == 200 and "<video" in played.text
    assert "media-src http://" in played.headers["Content-Security-Policy"]


def test_learning_courses_progress_tv_guide_and_joining(portal, reader, rpc):
    browser, tag = reader["browser"], reader["tag"]
    rpc.elearning.record_progress(reader["me"], {"course_id": f"c-{tag}", "lesson_id": "l1", "position": 300,
                                                 "percent": 40, "at": "2026-11-25T20:00:00+08:00", "channel": "tv"})
    page = browser.get(portal.base + "/learning", timeout=10)
    assert f"智能手机入门 {tag}" in page.text and "上次学到 l1（40%" in page.text
    assert f"家庭急救 {tag}" in page.text   # not joined yet: offered
    # the TV guide's times are the district's wall clock: shown as given, not taken for UTC
    assert f"{clock.today().isoformat()} 19:00 · 区教育频道" in page.text
    joined = browser.post(portal.base + "/learning/enrol", data={"csrf": csrf_of(page), "course_id": f"d-{tag}"},
                          timeout=10)
    assert joined.status_code == 200 and "已报名" in joined.text
    course = browser.get(portal.base + f"/learning/courses/d-{tag}", timeout=10)
    assert "心肺复苏" in course.text and 'href="https://learn.example/m1"' in course.text
    assert browser.get(portal.base + "/learning/courses/nope-none", timeout=10).status_code == 404


SILENT_MP3 = (b"\xff\xfb\x90\x64" + bytes(413)) * 40   # MPEG-1 layer III frames of silence, about a second


def test_library_and_learning_pages_in_a_phone_browser(portal, reader, later, rpc):
    later(seconds=61)   # a new code may be texted a minute after the last
    ebook = a_digital_resource(rpc.library, title=f"数字图书 {reader['tag']}")["resource_id"]
    rpc.library.borrow_digital(reader["me"], ebook)
    a_digital_resource(rpc.library, {"model": "unlimited"}, title=f"有声书 {reader['tag']}", data=SILENT_MP3,
                       name="a.mp3", content_type="audio/mpeg")
    seen = run([
        {"goto": portal.base + "/login"},
        {"fill": "#phone", "value": reader["phone"]}, {"click": "#send-code"},
        {"fillFrom": "#code", "file": str(portal.outbox), "regex": CODE}, {"click": "#sign-in"},
        {"click": "nav a[href='/library']"}, {"eval": "library", "js": "document.querySelector('main').innerText"},
        {"axe": "axe_library"},
        {"click": "#renew-1"}, {"eval": "renewed", "js": "document.querySelector('#done').innerText"},
        {"fill": "#q", "value": f"平凡的世界 {reader['tag']}"}, {"click": "#search"}, {"axe": "axe_search"},
        {"click": "#hold-1"}, {"eval": "held", "js": "document.querySelector('#holds').innerText"},
        {"eval": "shelf", "js": "document.querySelector('#digital').innerText"},
        {"click": "#dopen-1"}, {"axe": "axe_open"}, {"eval": "link", "js": "document.querySelector('#read').href"},
        {"goto": portal.base + f"/library/search?q=有声书 {reader['tag']}"}, {"axe": "axe_digital_search"},
        {"click": "#open-1"}, {"until": "document.querySelector('#player').readyState >= 1"},
        {"eval": "duration", "js": "document.querySelector('#player').duration"},
        {"goto": portal.base + "/library"},
        {"click": "nav a[href='/learning']"}, {"axe": "axe_learning"},
        {"click": f"button[aria-label='报名《家庭急救 {reader['tag']}》']"}, {"eval": "joined", "js": "document.querySelector('#enrolments').innerText"},
        {"click": "#enrolments li:first-child a"}, {"axe": "axe_course"},
        {"eval": "fits", "js": "document.documentElement.scrollWidth <= window.innerWidth + 1"},
    ], viewport=PHONE, mobile=True)
    assert f"活着 {reader['tag']}" in seen["library"] and "已续借" in seen["renewed"]
    assert "排队中" in seen["held"] and f"家庭急救 {reader['tag']}" in seen["joined"]
    assert f"数字图书 {reader['tag']}" in seen["shelf"] and "/digital/v1/" in seen["link"]
    assert 0.5 < seen["duration"] < 2   # Chromium read the audio's metadata through the signed link's ranges
    assert seen["fits"] is True
    for name in ("axe_library", "axe_search", "axe_open", "axe_digital_search", "axe_learning", "axe_course"):
        assert serious(seen[name]) == [], (name, seen[name])
    assert seen["console"] == [] and seen["failedRequests"] == []
