"""The librarians' console pages through a real gateway, community and library service, as a
browser uses them with plain HTTP: a librarian signs in to the conflicts, filters and pages
them, opens one with its two sides, resolves it with a note (CSRF-checked, audited), sees the
kiosks' health; a committee clerk is refused the library's pages and a librarian the clerks'
(cases, residents), changing nothing."""
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from test_console import CSRF, Desk, start_console  # noqa: F401 - shared with the clerks' console tests

from services.common import clock, outbox
from services.community import staff
from services.library import actions, kiosks_store
from services.library.service import LibraryService
from support import web_address


@pytest.fixture
def site(start_service, service_config, rpc, db):
    start_service(LibraryService)
    containers = start_console(start_service, service_config, rpc)
    from infra.local import demo_data
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    kiosk = "K" + uuid.uuid4().hex[:8]
    rpc.library.upsert_locations([{"code": kiosk, "kind": "kiosk", "name": "测试自助图书馆", "committee": "C0101"}])
    kiosks_store.seen(db("library"), kiosk, clock.now(), 60)

    def account(role):
        login, password = f"{role[:3]}-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
        rpc.community.staff_add(login, "王书华" if role == "librarian" else "李静",
                                None if role == "librarian" else "C0201", staff.hash_password(password), role)
        desk = Desk(web_address(containers["gateway"]))
        assert desk.sign_in(login, password).status_code == 303
        desk.login = login
        return desk
    ids = []
    for i in range(30):
        at = clock.now() - timedelta(hours=30 - i)
        event = {"id": f"e{i}", "type": "cn.library.kiosk.checkout.v1", "time": at.isoformat(),
                 "data": {"barcode": f"B{kiosk}{i}", "card_number": "LC000000077777"}}
        actions.record_conflict(db("library"), where=kiosk, barcode=f"B{kiosk}{i}",
                                reason="unknown card LC000000077777", event=event, at=at,
                                kind=("unresolved", "stale_checkout")[i % 2], conflict_id=f"kiosk:{kiosk}:e{i}")
        ids.append(f"kiosk:{kiosk}:e{i}")
    return account, kiosk, ids


def stored(db, cid):
    return {k: v for k, v in db("library").conflicts.find_one({"_id": cid}).items() if k not in outbox.FIELDS}


def test_a_librarian_filters_pages_opens_and_resolves_with_a_note(site, db):
    account, kiosk, ids = site
    desk = account("librarian")
    assert desk.get("/console").headers["Location"] == "/console/library/conflicts"   # their own first page
    for typed in ("/console/library", "/console/library/"):                             # as the README names it
        assert desk.get(typed).headers["Location"] == "/console/library/conflicts"
    first = desk.get(f"/console/library/conflicts?location={kiosk}")
    assert first.status_code == 200 and "借还冲突" in first.text and "图书馆工作台" in first.text
    assert first.text.count('data-conflict="') == 25 and "LC********7777" in first.text
    assert "LC000000077777" not in first.text
    link = first.text.split('" id="next-page"')[0].rsplit('href="', 1)[1].replace("&amp;", "&")
    second = desk.get(link)
    assert second.status_code == 200 and second.text.count('data-conflict="') == 5
    assert 'id="next-page"' not in second.text
    stale = desk.get(f"/console/library/conflicts?location={kiosk}&kind=stale_checkout")
    assert stale.text.count('data-conflict="') == 15
    assert desk.get("/console/library/conflicts?kind=lost").status_code == 400
    assert desk.get("/console/library/conflicts?since=2026-12-02&until=2026-12-01").status_code == 400
    assert desk.get("/console/library/conflicts?location=NOWHERE").status_code == 404

    target = ids[3]
    path = f"/console/library/conflicts/{quote(target, safe='')}"
    page = desk.get(path)
    assert page.status_code == 200 and 'id="event-side"' in page.text and "LC********7777" in page.text
    token = CSRF.search(page.text).group(1)
    before = stored(db, target)
    assert desk.post(path + "/resolve", {"csrf": token, "action": "void", "note": "  "}).status_code == 400
    assert desk.post(path + "/resolve", {"csrf": token, "action": "", "note": "作废"}).status_code == 400
    assert desk.post(path + "/resolve", {"csrf": "forged", "action": "void", "note": "作废"}).status_code == 403
    assert stored(db, target) == before
    done = desk.post(path + "/resolve", {"csrf": token, "action": "void", "note": "卡号无效，记录作废"})
    assert done.status_code == 303 and done.headers["Location"].endswith("?done=resolved")
    shown = desk.get(done.headers["Location"])
    assert "已处理，处理记录已存档" in shown.text and "卡号无效，记录作废" in shown.text and desk.login in shown.text
    assert 'id="resolve"' not in shown.text
    again = desk.post(path + "/resolve", {"csrf": token, "action": "confirmed", "note": "再来一次"})
    assert again.status_code == 409 and "已由他人处理" in again.text
    settled = stored(db, target)
    assert settled["resolved"]["by"] == desk.login and len(settled["trail"]) == 1

    kiosks = desk.get("/console/library/kiosks")
    assert kiosks.status_code == 200 and f'data-kiosk="{kiosk}"' in kiosks.text and "29 条" in kiosks.text


def test_clerks_and_librarians_each_reach_only_their_own_pages(site, db):
    account, kiosk, ids = site
    clerk, librarian = account("staff"), account("librarian")
    target = ids[0]
    path = f"/console/library/conflicts/{quote(target, safe='')}"
    before = stored(db, target)
    for page in ("/console/library/conflicts", path, "/console/library/kiosks"):
        refused = clerk.get(page)
        assert refused.status_code == 403 and "LC********7777" not in refused.text and kiosk not in refused.text
    token = CSRF.search(clerk.get("/console").text).group(1)
    assert clerk.post(path + "/resolve", {"csrf": token, "action": "void", "note": "作废"}).status_code == 403
    assert stored(db, target) == before

    # the refusal comes before any look-up: no resident, no case is read for a librarian
    token = CSRF.search(librarian.get("/console/library/conflicts").text).group(1)
    for page in ("/console/residents", "/console/cases/c-any", "/console/moves", "/console/living-here",
                 "/console/registered-here", "/console/inbox"):
        assert librarian.get(page).status_code == 403
    assert librarian.post("/console/residents", {"csrf": token, "id_number": "110101199003074514"}).status_code == 403
    assert librarian.post("/console/cases/c-any/accept", {"csrf": token, "expected_version": "1"}).status_code == 403
    assert librarian.post("/console/moves/r-any/confirm", {"csrf": token, "move_id": "m"}).status_code == 403
    assert librarian.post("/console/inbox/n-any/read", {"csrf": token}).status_code == 403
