"""The residents' portal over HTTP, with the gateway and the community service running on the
real broker and store: signing in by a texted code, the pages a resident reads, and every
hostile request (a forged or replayed session, a replayed code, a post without its CSRF
token, another resident's case) answered with a page that says so and changing nothing."""
import re
import uuid

import pytest
import requests

from support import id_number, wait_for
from support.portal import console_clerk, csrf_of, start_portal

SECRET = "portal-test-secret-of-at-least-32-bytes"
CLERK = {"id": "clerk-fl", "role": "staff", "committee": "C0201"}


@pytest.fixture
def portal(start_service, service_config, rpc, tmp_path):
    return start_portal(start_service, service_config, rpc, tmp_path, SECRET)


def resident(rpc, phone, name="林晓"):
    return rpc.community.register_resident({
        "id_number": id_number(), "name": name, "phone": phone, "registered_committee": "C0101",
        "residence_committee": "C0201", "address": "枫林路66号"})["resident_id"]


def new_phone():
    return "137" + f"{uuid.uuid4().int % 10 ** 8:08d}"


def test_a_resident_signs_in_reads_cases_and_notices_and_signs_out(portal, rpc):
    phone = new_phone()
    me = resident(rpc, phone)
    case = rpc.community.submit_case({"id": me, "role": "resident"}, {"resident_id": me,
                                                                      "matter_code": "ELDERLY_ALLOWANCE"})
    rpc.community.act_on_case(CLERK, {"case_id": case["case_id"], "action": "accept"})
    notice = wait_for(lambda: rpc.community.get_notices({"id": me, "role": "resident"}, me))[0]

    browser, home = portal.sign_in(phone)
    assert home.url == portal.base + "/" and "林晓，您好" in home.text and "未读 1 条" in home.text
    cookie = next(c for c in browser.cookies if c.name == "portal_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/"

    cases = browser.get(portal.base + "/cases", timeout=10)
    assert case["number"] in cases.text and "已受理" in cases.text
    detail = browser.get(portal.base + f"/cases/{case['case_id']}", timeout=10)
    assert "高龄老人营养补贴申领" in detail.text and "办理进度" in detail.text and "受理" in detail.text

    listed = browser.get(portal.base + "/notices", timeout=10)
    assert "未读（1）" in listed.text and notice["notice_id"] in listed.text
    opened = browser.get(portal.base + f"/notices/{notice['notice_id']}", timeout=10)
    assert opened.status_code == 200 and notice["title"] in opened.text
    assert rpc.community.get_notices({"id": me, "role": "resident"}, me)[0]["read"] is True
    assert "未读（0）" in browser.get(portal.base + "/notices", timeout=10).text

    mine = browser.get(portal.base + "/me", timeout=10)
    assert "林晓" in mine.text and phone not in mine.text and phone[:3] + "****" + phone[-4:] in mine.text
    out = browser.post(portal.base + "/logout", data={"csrf": csrf_of(mine)}, timeout=10)
    assert out.url == portal.base + "/login"
    assert browser.get(portal.base + "/cases", timeout=10).url == portal.base + "/login"


def test_apply_online_from_the_catalogue(portal, rpc, db):
    phone = new_phone()
    me = resident(rpc, phone)
    browser, _ = portal.sign_in(phone)
    elderly = browser.get(portal.base + "/matters?audience=elderly", timeout=10)
    assert "高龄老人营养补贴申领" in elderly.text and "居住证办理" not in elderly.text
    page = browser.get(portal.base + "/matters/ELDERLY_ALLOWANCE", timeout=10)
    assert "银行卡" in page.text and "10个工作日" in page.text
    applied = browser.post(portal.base + "/matters/ELDERLY_ALLOWANCE/apply",
                           data={"csrf": csrf_of(page), "note": "请尽快办理"}, timeout=10)
    assert applied.status_code == 200 and "已提交" in applied.text
    [case] = db("community").cases.find({"resident_id": me})
    assert case["matter_code"] == "ELDERLY_ALLOWANCE" and case["trail"][0]["note"] == "请尽快办理"
    assert case["accepting_desk"] == "D020101" and case["number"] in applied.text   # the desk of the residence
    cases = browser.get(portal.base + "/cases", timeout=10)
    assert "高龄老人营养补贴申领" in cases.text and "已提交" in cases.text
    assert browser.get(portal.base + "/matters/KIOSK_FAULT", timeout=10).status_code == 404   # internal


def test_a_number_in_no_record_gets_a_page_saying_what_to_do(portal):
    _, done = portal.sign_in(new_phone())
    assert done.status_code == 200 and "尚未找到您的居民信息" in done.text and "受理点" in done.text
    assert not [c for c in done.cookies if c.name == "portal_session"]


def test_hostile_requests_get_a_page_and_change_nothing(portal, rpc, db, later):
    phone, other_phone = new_phone(), new_phone()
    me, other = resident(rpc, phone), resident(rpc, other_phone, "何静")
    theirs = rpc.community.submit_case({"id": other, "role": "resident"},
                                       {"resident_id": other, "matter_code": "ELDERLY_ALLOWANCE"})
    browser, _ = portal.sign_in(phone)

    # another resident's case in the URL: not found, as if it did not exist
    seen = browser.get(portal.base + f"/cases/{theirs['case_id']}", timeout=10)
    assert seen.status_code == 404 and "何静" not in seen.text and theirs["number"] not in seen.text
    assert browser.get(portal.base + "/cases/..%2F..%2Fetc", timeout=10).status_code == 404

    # a post without (or with a wrong) CSRF token
    before = db("community").cases.count_documents({"resident_id": me})
    for token in (None, "forged", csrf_of(requests.get(portal.base + "/login", timeout=10))):   # a sign-in form's
        data = {"note": "x"} | ({"csrf": token} if token else {})
        refused = browser.post(portal.base + "/matters/ELDERLY_ALLOWANCE/apply", data=data, timeout=10)
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert db("community").cases.count_documents({"resident_id": me}) == before

    # a forged session cookie: sent to sign in, no page of anyone's
    forged = requests.Session()
    forged.cookies.set("portal_session", "abc.def", path="/")
    assert forged.get(portal.base + "/cases", timeout=10).url == portal.base + "/login"
    signed_value = next(c.value for c in browser.cookies if c.name == "portal_session")
    tampered = requests.Session()
    tampered.cookies.set("portal_session", signed_value[:-2] + ("AA" if not signed_value.endswith("AA") else "BB"),
                         path="/")
    assert tampered.get(portal.base + "/me", timeout=10).url == portal.base + "/login"

    # a replayed code: good once
    browser2 = requests.Session()
    page = browser2.get(portal.base + "/login", timeout=10)
    sent = browser2.post(portal.base + "/login", data={"phone": other_phone, "csrf": csrf_of(page)}, timeout=10)
    code = portal.code_to(other_phone)
    first = browser2.post(portal.base + "/login/code", data={"phone": other_phone, "code": code,
                                                             "csrf": csrf_of(sent)}, timeout=10)
    assert "何静，您好" in first.text
    page = requests.get(portal.base + "/login", timeout=10)
    replay = requests.post(portal.base + "/login/code", data={"phone": other_phone, "code": code, "csrf": csrf_of(page)},
                           cookies=page.cookies, timeout=10)
    assert replay.status_code == 400 and "重新获取" in replay.text and "portal_session" not in replay.cookies

    # a session signed out everywhere is refused everywhere, even with its cookie replayed
    mine = browser.get(portal.base + "/me", timeout=10)
    later(seconds=61)                          # a new code may be texted a minute after the last
    other_browser, _ = portal.sign_in(phone)   # a second device of mine
    browser.post(portal.base + "/logout/everywhere", data={"csrf": csrf_of(mine)}, timeout=10)
    for device in (browser, other_browser):
        assert device.get(portal.base + "/", timeout=10).url == portal.base + "/login"
    replayed = requests.Session()
    replayed.cookies.set("portal_session", signed_value, path="/")
    assert replayed.get(portal.base + "/", timeout=10).url == portal.base + "/login"


def test_bad_sign_in_input_gets_the_form_again_with_why(portal):
    browser = requests.Session()
    page = browser.get(portal.base + "/login", timeout=10)
    bad = browser.post(portal.base + "/login", data={"phone": "12345", "csrf": csrf_of(page)}, timeout=10)
    assert bad.status_code == 400 and "11位手机号码" in bad.text and 'id="phone-form"' in bad.text
    assert "mainland mobile" not in bad.text   # a zh-CN page: the service's English half is left out
    no_csrf = browser.post(portal.base + "/login", data={"phone": new_phone()}, timeout=10)
    assert no_csrf.status_code == 403
    big = browser.post(portal.base + "/login", data={"phone": "1" * 40_000, "csrf": csrf_of(page)}, timeout=10)
    assert big.status_code == 413
    assert not portal.outbox.exists()   # nothing was texted


def test_pages_load_nothing_from_elsewhere_and_the_elder_mode_is_remembered(portal, rpc):
    phone = new_phone()
    resident(rpc, phone)
    browser, home = portal.sign_in(phone)
    assert "script" not in home.text.lower() and "http" not in re.sub(r'href="/[^"]*"', "", home.text)
    assert home.headers["Content-Security-Policy"].startswith("default-src 'none'")
    toggled = browser.get(portal.base + "/elder?on=1&back=/cases", timeout=10)
    assert toggled.url == portal.base + "/cases" and '<html lang="zh-CN" class="elder">' in toggled.text
    assert browser.get(portal.base + "/elder?on=1&back=//evil.example/x", timeout=10).url == portal.base + "/"
    assert '<html lang="zh-CN" class="elder">' in browser.get(portal.base + "/me", timeout=10).text
    browser.get(portal.base + "/elder?on=0", timeout=10)
    assert '<html lang="zh-CN" class="standard">' in browser.get(portal.base + "/me", timeout=10).text


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_a_resident_hands_in_a_file_and_the_clerk_downloads_it(portal, rpc):
    phone = new_phone()
    me = resident(rpc, phone)
    case = rpc.community.submit_case({"id": me, "role": "resident"}, {"resident_id": me,
                                                                      "matter_code": "RESIDENCE_PERMIT"})
    browser, _ = portal.sign_in(phone)
    page = browser.get(portal.base + f"/cases/{case['case_id']}", timeout=10)
    assert 'id="upload-form"' in page.text and "还没有上传材料" in page.text
    url = portal.base + f"/cases/{case['case_id']}/files"
    sent = browser.post(url, data={"csrf": csrf_of(page)}, timeout=10,
                        files={"file": ("租赁合同.pdf", PDF, "application/pdf")})
    assert sent.status_code == 200 and "文件已上传" in sent.text and "租赁合同.pdf" in sent.text

    # refused, each with a page, nothing stored
    mislabelled = browser.post(url, data={"csrf": csrf_of(page)}, timeout=10,
                               files={"file": ("photo.png", PDF, "image/png")})
    assert mislabelled.status_code == 400 and "文件未能上传" in mislabelled.text
    huge = browser.post(url, data={"csrf": csrf_of(page)}, timeout=30,
                        files={"file": ("big.pdf", PDF + b"0" * (11 * 1024 * 1024), "application/pdf")})
    assert huge.status_code == 413
    no_csrf = browser.post(url, timeout=10, files={"file": ("b.pdf", PDF, "application/pdf")})
    assert no_csrf.status_code == 403
    other_phone = new_phone()
    other = resident(rpc, other_phone, "冯洁")
    theirs = rpc.community.submit_case({"id": other, "role": "resident"},
                                       {"resident_id": other, "matter_code": "RESIDENCE_PERMIT"})
    into_theirs = browser.post(portal.base + f"/cases/{theirs['case_id']}/files", data={"csrf": csrf_of(page)},
                               timeout=10, files={"file": ("c.pdf", PDF, "application/pdf")})
    assert into_theirs.status_code == 404
    assert [f["name"] for f in rpc.community.list_materials({"id": me, "role": "resident"}, case["case_id"])] == \
        ["租赁合同.pdf"]
    assert rpc.community.list_materials({"id": other, "role": "resident"}, theirs["case_id"]) == []

    # the clerk of the residence committee downloads it from the console
    clerk = console_clerk(portal.base, rpc, "C0201")
    seen = clerk.get(portal.base + f"/console/cases/{case['case_id']}", timeout=10)
    link = re.search(r'href="(/console/cases/[^"]+/files/[0-9a-f]{24})"', seen.text).group(1)
    got = clerk.get(portal.base + link, timeout=10)
    assert got.status_code == 200 and got.content == PDF and got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;") and "UTF-8''" in got.headers[
        "Content-Disposition"]
    assert browser.get(portal.base + link, timeout=10).url.endswith("/console/login")   # not the resident's door


def test_a_resident_rates_a_closed_case_once_on_its_page(portal, rpc, db):
    phone = new_phone()
    me = resident(rpc, phone)
    case_id = rpc.community.submit_case({"id": me, "role": "resident"}, {"resident_id": me,
                                                                         "matter_code": "ELDERLY_ALLOWANCE"})["case_id"]
    browser, _ = portal.sign_in(phone)
    page = browser.get(portal.base + f"/cases/{case_id}", timeout=10)
    assert 'id="rating-form"' not in page.text   # open: nothing to rate yet
    open_rating = browser.post(portal.base + f"/cases/{case_id}/rating",
                               data={"csrf": csrf_of(page), "score": "5"}, timeout=10)
    assert open_rating.status_code == 409 and "rating" not in db("community").cases.find_one({"_id": case_id})
    for action in ("accept", "complete"):
        rpc.community.act_on_case(CLERK, {"case_id": case_id, "action": action})
    page = browser.get(portal.base + f"/cases/{case_id}", timeout=10)
    assert 'id="rating-form"' in page.text
    for bad in ({"score": "6"}, {"score": "0"}, {"score": ""}, {"score": "4", "comment": "长" * 501}):
        assert browser.post(portal.base + f"/cases/{case_id}/rating", data={"csrf": csrf_of(page), **bad},
                            timeout=10).status_code == 400, bad
    assert browser.post(portal.base + f"/cases/{case_id}/rating", data={"score": "5"}, timeout=10).status_code == 403
    assert "rating" not in db("community").cases.find_one({"_id": case_id})
    rated = browser.post(portal.base + f"/cases/{case_id}/rating",
                         data={"csrf": csrf_of(page), "score": "4", "comment": "工作人员很耐心"}, timeout=10)
    assert rated.status_code == 200 and "感谢您的评价" in rated.text and "工作人员很耐心" in rated.text
    assert db("community").cases.find_one({"_id": case_id})["rating"]["score"] == 4
    again = browser.post(portal.base + f"/cases/{case_id}/rating", data={"csrf": csrf_of(page), "score": "1"},
                         timeout=10)
    assert again.status_code == 409 and db("community").cases.find_one({"_id": case_id})["rating"]["score"] == 4


def test_a_declaration_withdrawn_in_the_portal_and_returned_in_the_console(portal, rpc):
    from services.common import clock
    phone = new_phone()
    rid = resident(rpc, phone)
    browser, _ = portal.sign_in(phone)
    page = browser.get(portal.base + "/residence", timeout=10)
    declare = {"csrf": csrf_of(page), "committee": "C0202", "address": "东安路3号", "moved_on": clock.today().isoformat()}
    assert "等待该社区确认" in browser.post(portal.base + "/residence", data=declare, timeout=10).text
    withdrawn = browser.post(portal.base + "/residence/withdraw", data={"csrf": csrf_of(page)}, timeout=10)
    assert "申报已撤回" in withdrawn.text and "本人撤回的申报" in withdrawn.text and 'id="declare-form"' in withdrawn.text
    assert browser.post(portal.base + "/residence/withdraw", data={"csrf": csrf_of(page)}, timeout=10).status_code == 409
    declared = browser.post(portal.base + "/residence", data=declare, timeout=10)
    # proof of residence: a mislabelled file is refused with nothing kept, a lease is taken
    move_field = re.search(r'name="move_id" value="([0-9a-f]+)"', declared.text).group(1)
    proof = {"csrf": csrf_of(declared), "move_id": move_field}
    wrong = browser.post(portal.base + "/residence/proof", data=proof, timeout=10,
                         files={"file": ("租约.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "application/pdf")})
    assert wrong.status_code == 400 and "文件未能上传" in wrong.text
    taken = browser.post(portal.base + "/residence/proof", data=proof, timeout=10,
                         files={"file": ("租赁合同.pdf", PDF, "application/pdf")})
    assert "证明文件已上传" in taken.text and "租赁合同.pdf" in taken.text and "租约.pdf" not in taken.text
    assert browser.post(portal.base + "/residence/proof", data={"move_id": move_field}, timeout=10,
                        files={"file": ("b.pdf", PDF, "application/pdf")}).status_code == 403   # no CSRF token

    clerk = console_clerk(portal.base, rpc, "C0202", "吴静")
    moves = clerk.get(portal.base + "/console/moves", timeout=10)
    row = moves.text.split(f'data-resident="{rid}"')[1].split("</tr>")[0]   # this resident's row
    move_id = re.search(r'name="move_id" value="([0-9a-f]+)"', row).group(1)
    link = re.search(r'href="(/console/moves/[0-9a-f]+/proofs/[0-9a-f]+)"', row).group(1)
    got = clerk.get(portal.base + link, timeout=10)
    assert got.content == PDF and got.headers["Content-Disposition"].startswith("attachment;")
    other = console_clerk(portal.base, rpc, "C0201", "郑洁")   # another committee's clerk: as if there were none
    assert other.get(portal.base + link, timeout=10).status_code == 404
    no_reason = clerk.post(portal.base + f"/console/moves/{rid}/return", timeout=10,
                           data={"csrf": csrf_of(moves), "move_id": move_id, "reason": ""})
    assert no_reason.status_code == 400 and "退回的原因" in no_reason.text
    returned = clerk.post(portal.base + f"/console/moves/{rid}/return", timeout=10,
                          data={"csrf": csrf_of(moves), "move_id": move_id, "reason": "该地址不在本社区"})
    assert "申报已退回" in returned.text
    seen = browser.get(portal.base + "/residence", timeout=10)
    assert "社区退回的申报" in seen.text and "该地址不在本社区" in seen.text and 'id="declare-form"' in seen.text
