"""The staff console (/console) through a real gateway and community service, as a browser
would use it with plain HTTP: sign-in, cookies, CSRF, the queue, a case's actions, look-up."""
import re
import uuid
from datetime import timedelta

import pytest
import requests
from nameko.exceptions import RemoteError

from gateway import auth
from gateway.console.forms import FORMS
from gateway.service import GatewayService
from services.common import clock
from services.community import staff
from services.community.service import CommunityService
from support import id_number, load_demo_district, web_address

SECRET = "console-test-secret-of-at-least-32-bytes"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Desk:
    """A browser at a clerk's desk: one cookie jar, no automatic redirects."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def get(self, path, **kwargs):
        return self.http.get(self.base + path, allow_redirects=False, timeout=15, **kwargs)

    def post(self, path, data, **kwargs):
        return self.http.post(self.base + path, data=data, allow_redirects=False, timeout=15, **kwargs)

    def csrf(self, path="/console") -> str:
        page = self.get(path)
        assert page.status_code == 200, page.text
        return CSRF.search(page.text).group(1)

    def sign_in(self, login, password):
        token = self.csrf("/console/login")
        return self.post("/console/login", {"csrf": token, "login": login, "password": password})

    def cookie(self, name="console_session"):
        return self.http.cookies.get(name, path="/console")


def start_console(start_service, service_config, rpc, **config):
    containers = {"community": start_service(CommunityService)}
    containers["gateway"] = start_service(GatewayService, service_config(
        "gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=2.0, **config))
    load_demo_district(rpc)
    return containers


@pytest.fixture
def console(start_service, service_config, rpc):
    containers = start_console(start_service, service_config, rpc)
    base = web_address(containers["gateway"])
    desk = lambda: Desk(base)  # noqa: E731
    desk.base, desk.containers = base, containers
    return desk


@pytest.fixture
def clerk(rpc):
    """``clerk(committee)`` adds a staff account; returns (login, password, name)."""
    def add(committee="C0201", name="李静"):
        login, password = f"clerk-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
        rpc.community.staff_add(login, name, committee, staff.hash_password(password))
        return login, password, name
    return add


@pytest.fixture
def new_case(rpc):
    """``new_case(committee)``: a resident living there and a case at that committee's desk."""
    def make(committee="C0201", matter="ELDERLY_ALLOWANCE", accept=False):
        number = id_number()
        resident = rpc.community.register_resident({
            "id_number": number, "name": "王芳", "residence_committee": committee, "registered_committee": "C0101",
            "address": "枫林路88弄3号502室"})
        desk_clerk = {"id": "desk-clerk", "role": "staff", "committee": committee}
        case = rpc.community.submit_case(desk_clerk, {"resident_id": resident["resident_id"], "matter_code": matter,
                                                     "materials": ["居民身份证"]})
        if accept:
            case = rpc.community.act_on_case(desk_clerk, {"case_id": case["case_id"], "action": "accept"})
        case["id_number"] = number
        return case
    return make


def test_sign_in_refuses_a_wrong_password_and_sets_a_safe_cookie(console, clerk):
    login, password, name = clerk()
    desk = console()
    page = desk.get("/console/login")
    assert page.status_code == 200 and "工作人员登录" in page.text and 'lang="zh-CN"' in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"

    wrong = desk.sign_in(login, password + "x")
    assert wrong.status_code == 401 and "账号或密码错误" in wrong.text
    assert desk.cookie() is None
    assert desk.sign_in("no-such-clerk", password).status_code == 401

    right = desk.sign_in(login, password)
    assert right.status_code == 303 and right.headers["Location"].endswith("/console")
    set_cookie = next(c for c in right.raw.headers.getlist("Set-Cookie") if c.startswith("console_session="))
    flags = [f.strip().lower() for f in set_cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/console" in flags
    assert "secure" not in flags  # not configured: plain HTTP on this machine

    queue = desk.get("/console")
    assert queue.status_code == 200 and name in queue.text and "联洋第一居委会" in queue.text
    assert "案件队列" in queue.text
    # signed in already: the sign-in page sends the clerk to the queue
    assert desk.get("/console/login").status_code == 303


def test_secure_cookies_when_configured(start_service, service_config, rpc, clerk):
    gateway = start_console(start_service, service_config, rpc, CONSOLE_SECURE_COOKIES=True)["gateway"]
    login, password, _ = clerk()
    desk = Desk(web_address(gateway))
    page = desk.get("/console/login")
    login_cookie = next(c for c in page.raw.headers.getlist("Set-Cookie") if c.startswith("console_login="))
    assert "secure" in [f.strip().lower() for f in login_cookie.split(";")]
    # a browser sends Secure cookies over HTTPS only; here we hand it over as a TLS proxy would
    answer = requests.post(desk.base + "/console/login", allow_redirects=False, timeout=15,
                           data={"csrf": CSRF.search(page.text).group(1), "login": login, "password": password},
                           headers={"Cookie": login_cookie.split(";")[0]})
    assert answer.status_code == 303
    set_cookie = next(c for c in answer.raw.headers.getlist("Set-Cookie") if c.startswith("console_session="))
    assert "secure" in [f.strip().lower() for f in set_cookie.split(";")]


def test_forms_without_the_right_csrf_token_are_refused(console, clerk, new_case, rpc):
    login, password, _ = clerk()
    case = new_case()
    desk = console()
    assert desk.sign_in(login, password).status_code == 303
    token = desk.csrf()
    act = f"/console/cases/{case['case_id']}/accept"
    altered = ("y" if token[0] == "x" else "x") + token[1:]   # one character off, never the token itself
    for data in ({"expected_version": 1}, {"expected_version": 1, "csrf": altered},
                 {"expected_version": 1, "csrf": ""}):
        refused = desk.post(act, data)
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert desk.post("/console/logout", {}).status_code == 403
    assert desk.post("/console/residents", {"id_number": case["id_number"]}).status_code == 403
    # another clerk's token does not fit this session
    login2, password2, _ = clerk()
    other = console()
    other.sign_in(login2, password2)
    assert desk.post(act, {"expected_version": 1, "csrf": other.csrf()}).status_code == 403
    actor = {"id": login, "role": "staff", "committee": "C0201"}
    assert rpc.community.get_case(actor, case["case_id"])["status"] == "submitted"
    # the sign-in form has its own token, tied to a cookie of the sign-in page
    fresh = console()
    assert fresh.post("/console/login", {"login": login, "password": password}).status_code == 403
    fresh.get("/console/login")
    assert fresh.post("/console/login", {"login": login, "password": password, "csrf": token}).status_code == 403
    # with the right token it works
    assert desk.post(act, {"expected_version": 1, "csrf": token}).status_code == 303


def test_sign_out_revokes_the_session_so_a_replayed_cookie_fails(console, clerk, new_case, rpc):
    login, password, _ = clerk()
    case = new_case()
    desk = console()
    desk.sign_in(login, password)
    token, cookie = desk.csrf(), desk.cookie()
    out = desk.post("/console/logout", {"csrf": token})
    assert out.status_code == 303 and out.headers["Location"].endswith("/console/login")
    assert desk.cookie() is None

    replay = console()
    replay.http.cookies.set("console_session", cookie, path="/console")
    answer = replay.get("/console")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/login")
    replay.http.cookies.set("console_session", cookie, path="/console")
    step = replay.post(f"/console/cases/{case['case_id']}/accept", {"csrf": token, "expected_version": 1})
    assert step.status_code == 303 and step.headers["Location"].endswith("/console/login")
    actor = {"id": login, "role": "staff", "committee": "C0201"}
    assert rpc.community.get_case(actor, case["case_id"])["status"] == "submitted"
    session_id = cookie.rpartition(".")[0]
    with pytest.raises(Exception, match="NotFound"):
        rpc.community.staff_session_get(session_id)


def test_forged_cookie_goes_to_sign_in_before_any_rpc_and_a_service_down_is_a_page(console, clerk):
    login, password, _ = clerk()
    desk = console()
    desk.sign_in(login, password)
    real = desk.cookie()
    session_id, _, signature = real.rpartition(".")
    forgeries = [f"{session_id}.{'A' * len(signature)}", session_id, "nonsense",
                 f"{'B' * len(session_id)}.{signature}"]
    console.containers["community"].stop()  # any RPC now fails: a redirect proves none was made
    for forged in forgeries:
        other = console()
        other.http.cookies.set("console_session", forged, path="/console")
        answer = other.get("/console")
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/login"), forged
    down = desk.get("/console")
    assert down.status_code == 503 and "服务暂时不可用" in down.text
    assert "Traceback" not in down.text


def test_queue_shows_own_committee_by_deadline_with_overdue_marked(console, clerk, new_case, db):
    login, password, _ = clerk("C0201")
    mine_waiting = new_case("C0201")
    mine_overdue = new_case("C0201", accept=True)
    mine_later = new_case("C0201", matter="RESIDENCE_PERMIT", accept=True)
    theirs = new_case("C0202")
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    db("community").cases.update_one({"_id": mine_overdue["case_id"]}, {"$set": {"deadline": yesterday}})
    desk = console()
    desk.sign_in(login, password)
    queue = desk.get("/console").text
    for case in (mine_waiting, mine_overdue, mine_later):
        assert case["case_id"] in queue and case["number"] in queue
    assert theirs["case_id"] not in queue and theirs["number"] not in queue
    row = re.search(r'<tr class="([^"]*)" data-case="%s">(.*?)</tr>' % mine_overdue["case_id"], queue, re.S)
    assert row.group(1) == "overdue" and "已超期" in row.group(2)
    # waiting for acceptance first, then by deadline
    assert queue.index(mine_waiting["number"]) < queue.index(mine_overdue["number"]) < queue.index(
        mine_later["number"])
    only_accepted = desk.get("/console", params={"status": "accepted"}).text
    assert mine_waiting["number"] not in only_accepted and mine_later["number"] in only_accepted
    by_matter = desk.get("/console", params={"matter": "RESIDENCE_PERMIT"}).text
    assert mine_later["number"] in by_matter and mine_overdue["number"] not in by_matter
    # another committee's case cannot be opened either
    assert desk.get(f"/console/cases/{theirs['case_id']}").status_code == 404


def test_console_graphql_and_rpc_say_the_same_of_a_case(console, clerk, new_case, db, rpc, settings):
    """The community service decides what a case allows and whether it is due; the console's
    forms and badges and the GraphQL fields show exactly what its RPC view says."""
    login, password, _ = clerk("C0201")
    due = new_case("C0201", accept=True)
    late = new_case("C0201", matter="RESIDENCE_PERMIT", accept=True)
    waiting = new_case("C0201")
    today = clock.today()
    db("community").cases.update_one({"_id": due["case_id"]}, {"$set": {"deadline": today.isoformat()}})
    db("community").cases.update_one({"_id": late["case_id"]},
                                     {"$set": {"deadline": (today - timedelta(days=3)).isoformat()}})
    desk = console()
    desk.sign_in(login, password)
    actor = {"id": login, "role": "staff", "committee": "C0201"}
    token = auth.mint(auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience), "staff", login,
                      committee="C0201")
    queue = desk.get("/console").text
    marks = {}
    for case, mark in ((due, "due_soon"), (late, "overdue"), (waiting, None)):
        said = rpc.community.get_case(actor, case["case_id"])
        assert said["deadline_mark"] == mark and said["actions"], said
        asked = requests.post(desk.base + "/graphql", headers={"Authorization": f"Bearer {token}"}, timeout=15,
                              json={"query": "query($id: ID!) { case(id: $id) { actions deadlineMark } }",
                                    "variables": {"id": case["case_id"]}}).json()["data"]["case"]
        assert [a.lower() for a in asked["actions"]] == said["actions"]
        assert (asked["deadlineMark"] or "").lower() == (mark or "")
        page = desk.get(f"/console/cases/{case['case_id']}").text
        assert set(re.findall(r'id="form-([a-z_]+)"', page)) == set(said["actions"]) & set(FORMS)
        assert ("即将到期" in page, "已超期" in page) == (mark == "due_soon", mark == "overdue")
        marks[case["case_id"]] = re.search(r'<tr class="([^"]*)" data-case="%s">' % case["case_id"], queue).group(1)
    assert marks == {due["case_id"]: "due_soon", late["case_id"]: "overdue", waiting["case_id"]: ""}


def test_queue_pages_with_a_cursor(console, clerk, new_case):
    login, password, _ = clerk("C0102")
    made = [new_case("C0102") for _ in range(22)]
    desk = console()
    desk.sign_in(login, password)
    first = desk.get("/console").text
    href = re.search(r'<a href="([^"]+)" id="next-page">', first).group(1).replace("&amp;", "&")
    second = desk.get(href).text
    on_first = {c["number"] for c in made if c["number"] in first}
    on_second = {c["number"] for c in made if c["number"] in second}
    assert len(on_first) == 20 and len(on_second) == 2 and not on_first & on_second
    assert 'id="next-page"' not in second


def test_clerk_accepts_and_completes_a_case_with_the_forms(console, clerk, new_case, rpc):
    login, password, name = clerk("C0201")
    case = new_case("C0201")
    desk = console()
    desk.sign_in(login, password)
    detail = desk.get(f"/console/cases/{case['case_id']}")
    assert detail.status_code == 200 and "办理记录" in detail.text and "提交申请" in detail.text
    assert 'id="form-accept"' in detail.text and 'id="form-complete"' not in detail.text
    token = CSRF.search(detail.text).group(1)

    accepted = desk.post(f"/console/cases/{case['case_id']}/accept", {"csrf": token, "expected_version": 1,
                                                                     "note": "材料齐全"})
    assert accepted.status_code == 303
    page = desk.get(accepted.headers["Location"]).text
    assert "案件已受理" in page and "已受理" in page and "材料齐全" in page and login in page
    assert 'id="form-complete"' in page and 'id="form-reject"' in page

    stale = desk.post(f"/console/cases/{case['case_id']}/complete", {"csrf": token, "expected_version": 1})
    assert stale.status_code == 409 and "案件已被他人修改" in stale.text and 'value="2"' in stale.text
    no_reason = desk.post(f"/console/cases/{case['case_id']}/reject", {"csrf": token, "expected_version": 2})
    assert no_reason.status_code == 400 and "请填写理由" in no_reason.text

    done = desk.post(f"/console/cases/{case['case_id']}/complete", {"csrf": token, "expected_version": 2})
    assert done.status_code == 303 and "done=complete" in done.headers["Location"]
    queue = desk.get(done.headers["Location"].split(console.base, 1)[-1]).text
    assert "案件已办结" in queue and f'data-case="{case["case_id"]}"' not in queue
    actor = {"id": login, "role": "staff", "committee": "C0201"}
    finished = rpc.community.get_case(actor, case["case_id"])
    assert finished["status"] == "completed" and finished["trail"][-1]["by"] == login
    closed = desk.get(f"/console/cases/{case['case_id']}").text
    assert "已办结" in closed and 'id="no-actions"' in closed


def test_resident_look_up_shows_only_the_masked_id_number(console, clerk, new_case, rpc):
    login, password, _ = clerk("C0201")
    case = new_case("C0201")
    number = case["id_number"]
    desk = console()
    desk.sign_in(login, password)
    token = desk.csrf("/console/residents")
    found = desk.post("/console/residents", {"csrf": token, "id_number": number})
    assert found.status_code == 200 and "王芳" in found.text
    assert number[:3] + "*" * 11 + number[-4:] in found.text
    assert number not in found.text and number[:6] not in found.text
    assert case["number"] in found.text and "人户分离" in found.text
    by_query = desk.get("/console/residents", params={"id_number": number})
    assert by_query.status_code == 200 and number not in by_query.text and number[-4:] in by_query.text
    unknown = desk.post("/console/residents", {"csrf": token, "id_number": id_number()})
    assert unknown.status_code == 404 and "未找到" in unknown.text
    bad = desk.post("/console/residents", {"csrf": token, "id_number": "<script>1</script>"})
    assert bad.status_code == 400 and "<script>1" not in bad.text
    # the resident can see that this clerk looked them up, twice
    log = rpc.community.get_access_log({"id": case["resident_id"], "role": "resident"}, case["resident_id"])
    assert [(e["by"], e["purpose"]) for e in log] == [(login, "lookup")] * 2


def test_a_move_recorded_at_the_desk_takes_effect_and_bad_ones_change_nothing(console, clerk, rpc, db):
    from services.common import clock
    login, password, _ = clerk("C0101")
    number = id_number()
    rid = rpc.community.register_resident({"id_number": number, "name": "沈洁", "registered_committee": "C0101",
                                           "residence_committee": "C0101", "address": "崂山路1号"})["resident_id"]
    desk = console()
    desk.sign_in(login, password)
    token = desk.csrf("/console/residents")
    found = desk.post("/console/residents", {"csrf": token, "id_number": number})
    assert 'id="record-move"' in found.text and f"/console/residents/{rid}/move" in found.text
    today = clock.today()
    before = db("community").residents.find_one({"_id": rid})
    for bad, status, says in (
            ({"committee": "C9999", "address": "某路1号", "moved_on": today.isoformat()}, 400, "C9999"),
            ({"committee": "C0301", "address": "新丰村一组1号", "moved_on": (today.replace(year=today.year + 1)).isoformat()},
             400, "未能办理"),
            ({"committee": "C0301", "address": "", "moved_on": today.isoformat()}, 400, "详细地址")):
        refused = desk.post(f"/console/residents/{rid}/move", {"csrf": token, **bad})
        assert refused.status_code == status and says in refused.text and number not in refused.text, bad
    assert desk.post(f"/console/residents/{rid}/move", {"committee": "C0301", "address": "新丰村一组1号",
                                                         "moved_on": today.isoformat()}).status_code == 403   # no CSRF
    assert db("community").residents.find_one({"_id": rid})["residence"] == before["residence"]   # nothing changed

    moved = desk.post(f"/console/residents/{rid}/move", {"csrf": token, "committee": "C0301",
                                                          "address": "新丰村一组1号", "moved_on": today.isoformat()})
    assert moved.status_code == 200 and "迁居已登记" in moved.text and "新丰村村委会" in moved.text
    history = rpc.community.my_residence({"id": rid, "role": "resident"}, rid)
    assert history["residence_committee"] == "C0301" and history["moves"][0]["declared_by_role"] == "staff"
    assert history["moves"][0]["confirmed_by"] == "staff"   # a resident reads the role, not the login


def test_pages_escape_what_people_typed(console, clerk, rpc):
    login, password, _ = clerk("C0201")
    resident = rpc.community.register_resident({"id_number": id_number(), "name": "李",   # names are letters
                                                "residence_committee": "C0201", "address": "枫林路1号"})
    case = rpc.community.submit_case({"id": "desk-clerk", "role": "staff", "committee": "C0201"},
                                     {"resident_id": resident["resident_id"], "matter_code": "ELDERLY_ALLOWANCE",
                                      "note": "<script>alert(1)</script>", "materials": ["<b>李</b>"]})
    desk = console()
    desk.sign_in(login, password)
    page = desk.get(f"/console/cases/{case['case_id']}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>李</b>" not in page and "&lt;b&gt;李&lt;/b&gt;" in page


def test_staff_add_cli_prints_a_password_that_signs_in(console, monkeypatch, capsys, settings):
    from infra.cli import main as cli

    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    login = f"cli-{uuid.uuid4().hex[:8]}"
    assert cli.main(["staff", "add", login, "--committee", "C0201", "--name", "赵敏"]) == 0
    password = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(password) >= 16 and " " not in password
    assert cli.main(["staff", "add", login, "--committee", "C0201", "--name", "赵敏"]) == 1
    assert "exists already" in capsys.readouterr().err
    assert cli.main(["staff", "add", "Bad Login", "--committee", "C0201", "--name", "x"]) == 2
    desk = console()
    assert desk.sign_in(login, password).status_code == 303
    assert "赵敏" in desk.get("/console").text


def test_each_action_form_reaches_the_service(console, clerk, new_case, rpc):
    login, password, _ = clerk("C0201")
    colleague, _, colleague_name = clerk("C0201", name="陈晨")
    case, other = new_case("C0201", accept=True), new_case("C0201")
    desk = console()
    desk.sign_in(login, password)
    token = desk.csrf()
    actor = {"id": login, "role": "staff", "committee": "C0201"}

    def act(case_id, action, **fields):
        version = rpc.community.get_case(actor, case_id)["version"]
        return desk.post(f"/console/cases/{case_id}/{action}", {"csrf": token, "expected_version": version, **fields})

    assert act(case["case_id"], "start").status_code == 303
    assert act(case["case_id"], "request_supplement").status_code == 400  # names no material
    assert act(case["case_id"], "request_supplement", missing_materials="银行卡\n户口簿").status_code == 303
    page = desk.get(f"/console/cases/{case['case_id']}").text
    assert "待补正" in page and "银行卡、户口簿" in page and colleague_name in page  # the assign form lists colleagues
    assert act(case["case_id"], "assign", assignee=colleague).status_code == 303
    assert rpc.community.get_case(actor, case["case_id"])["assignee"] == colleague
    assert act(case["case_id"], "transfer", to_committee="C0202").status_code == 400  # no reason
    moved = act(case["case_id"], "transfer", to_committee="C0202", reason="居民已搬至东安新村")
    assert moved.status_code == 303 and "done=transfer" in moved.headers["Location"]
    assert rpc.community.get_case(actor, case["case_id"])["handling_committee"] == "C0202"
    assert f'data-case="{case["case_id"]}"' not in desk.get("/console").text

    refused = act(other["case_id"], "complete")  # not accepted yet: the service says no
    assert refused.status_code == 409 and "当前状态不允许此操作" in refused.text
    rejected = act(other["case_id"], "reject", reason="不属于本区受理范围")
    assert rejected.status_code == 303
    assert rpc.community.get_case(actor, other["case_id"])["status"] == "rejected"
    assert desk.post(f"/console/cases/{other['case_id']}/withdraw", {"csrf": token, "expected_version": 1}
                     ).status_code == 404  # not a clerk's action
    assert act(other["case_id"], "complete", expected_version="x").status_code in (400, 409)


def test_disabling_an_account_ends_its_sessions(console, clerk, rpc):
    login, password, _ = clerk("C0201")
    desk = console()
    desk.sign_in(login, password)
    assert desk.get("/console").status_code == 200
    rpc.community.staff_set_active(login, False)
    assert desk.get("/console").status_code == 303
    assert console().sign_in(login, password).status_code == 401
    rpc.community.staff_set_active(login, True)
    assert console().sign_in(login, password).status_code == 303
    with pytest.raises(RemoteError) as err:   # "false" read as true kept the account on
        rpc.community.staff_set_active(login, "false")
    assert err.value.exc_type == "BadInput"


def test_password_hashes_are_salted_scrypt_and_bounded():
    first, second = staff.hash_password("correct horse"), staff.hash_password("correct horse")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert staff.check_password("correct horse", first) and not staff.check_password("correct hors", first)
    for bad in ("plain", "scrypt$1048576$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
                "md5$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"):
        with pytest.raises(Exception, match="hash record"):
            staff.parse_hash(bad)


def test_expired_sessions_are_refused_and_purged(console, clerk, rpc, db):
    from nameko.exceptions import RemoteError
    from nameko.testing.services import worker_factory

    login, _, _ = clerk("C0201")
    sessions = db("community").staff_sessions
    past = {"$set": {"expires_at": "2020-01-01T00:00:00.000000Z"}}
    presented, forgotten = rpc.community.staff_session_open(login), rpc.community.staff_session_open(login)
    assert sessions.find_one({"_id": staff.session_key(presented)})["login"] == login
    assert sessions.find_one({"_id": presented}) is None  # only its hash is stored
    for session_id in (presented, forgotten):
        sessions.update_one({"_id": staff.session_key(session_id)}, past)
    with pytest.raises(RemoteError, match="NotFound"):
        rpc.community.staff_session_get(presented)
    assert sessions.find_one({"_id": staff.session_key(presented)}) is None
    worker_factory(CommunityService, db=db("community")).purge_staff_sessions()
    assert sessions.find_one({"_id": staff.session_key(forgotten)}) is None
