"""The staff console: server-rendered pages (jinja2, autoescaped, zh-CN) under ``/console``
for committee clerks. Mixed into ``GatewayService`` (which gives ``self.community``, an
``RpcProxy``, ``self.config`` and the ``Authenticator`` whose key signs the cookies).

- Sign-in checks a staff account's password in the community service (``staff_verify``) and
  opens a server-side session there (``staff_session_open``); the cookie carries the session
  id signed with HMAC-SHA256 (a key derived from the gateway's JWT key), so a forged cookie is
  refused before any RPC, and signing out deletes the session, so a replayed cookie fails.
- Every form carries a CSRF token (an HMAC of the session id; on the sign-in form, of a
  short-lived pre-sign-in cookie) that every POST checks (403 otherwise).
- Cookies: ``HttpOnly; SameSite=Strict; Path=/console`` and ``Secure`` when
  ``CONSOLE_SECURE_COOKIES`` is set (nameko config or environment).
- Pages load no script and no external asset: one stylesheet served here, a strict CSP.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from nameko.exceptions import RemoteError
from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from contracts.rpc.community import CASE_STATUS_NAMES, OPEN_CASE_STATUSES
from gateway import auth
from gateway.calls import Calls
from gateway.fanout import Unavailable
from services.common import config as suite_config

log = logging.getLogger(__name__)

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
SESSION_SECONDS = 8 * 3600
LOGIN_FORM_SECONDS = 1800
PAGE_SIZE = 20
MAX_FORM = 64 * 1024

HERE = Path(__file__).parent
PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates" / "console"),
                           autoescape=True, trim_blocks=True, lstrip_blocks=True)
CSS = (HERE / "static" / "console.css").read_bytes()

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

TRAIL_NAMES = {"submit": "提交申请", "accept": "受理", "start": "开始办理", "request_supplement": "要求补正",
               "supplement": "补正材料", "assign": "指派", "transfer": "转办", "complete": "办结",
               "reject": "不予受理", "withdraw": "撤回", "due_soon": "即将到期提醒", "overdue": "超期提醒",
               "deadline_set": "期限确定"}
ROLE_NAMES = {"staff": "工作人员", "admin": "管理员", "system": "系统", "resident": "居民", "guardian": "监护人"}


@dataclass(frozen=True)
class Form:
    label: str
    fields: tuple[str, ...]      # beyond the note
    leaves_queue: bool = False   # after it the case is gone from this clerk's queue
    danger: bool = False


# The forms a clerk has for the case actions. Which of them a case offers is the community
# service's decision (the case view's ``actions``); the page shows those it has a form for.
FORMS: dict[str, Form] = {
    "accept": Form("受理", ()),
    "start": Form("开始办理", ()),
    "complete": Form("办结", (), leaves_queue=True),
    "request_supplement": Form("要求补正", ("missing_materials",)),
    "assign": Form("指派给同事", ("assignee",)),
    "transfer": Form("转办其他社区", ("to_committee", "reason"), leaves_queue=True),
    "reject": Form("不予受理", ("reason",), leaves_queue=True, danger=True),
}
DONE = {"accept": "案件已受理，办理期限开始计算。", "start": "案件已开始办理。", "request_supplement": "已通知居民补正材料，期限暂停计算。",
        "assign": "案件已指派。", "transfer": "案件已转办。", "complete": "案件已办结。", "reject": "已作出不予受理决定。"}

CASE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CASE_NUMBER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MATTER_CODE = re.compile(r"^[A-Z0-9_]{1,64}$")
ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
CODE_TITLES = {
    "BadInput": "填写的内容有误，未能办理",
    "Conflict": "操作未完成：案件已被他人修改，或当前状态不允许此操作。页面显示的是最新状态，请核对后重试",
    "Forbidden": "无权执行此操作",
    "NotFound": "未找到该记录（或不属于本社区）",
}


# ---- signing -----------------------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class ConsoleKeys:
    """Keys derived from the gateway's JWT key, one per purpose."""

    def __init__(self, key: str):
        master = key.encode("utf-8")
        self._cookie = hmac.new(master, b"console-cookie-v1", hashlib.sha256).digest()
        self._csrf = hmac.new(master, b"console-csrf-v1", hashlib.sha256).digest()

    def sign(self, value: str) -> str:
        return f"{value}.{_b64(hmac.new(self._cookie, value.encode(), hashlib.sha256).digest())}"

    def unsign(self, signed: str | None) -> str | None:
        """The value of a cookie we signed; None when absent, malformed or forged."""
        if not signed or len(signed) > 300 or "." not in signed:
            return None
        value, _, _ = signed.rpartition(".")
        return value if value and hmac.compare_digest(self.sign(value), signed) else None

    def csrf(self, scope: str, value: str) -> str:
        return _b64(hmac.new(self._csrf, f"{scope}|{value}".encode(), hashlib.sha256).digest())

    def csrf_ok(self, scope: str, value: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(scope, value), str(token))


class ConsoleSecurity(DependencyProvider):
    """Gives workers the ``ConsoleKeys`` of the key the gateway's ``Authenticator`` holds."""

    keys: ConsoleKeys | None = None

    def get_dependency(self, worker_ctx):
        if self.keys is None:
            found = next((d for d in self.container.dependencies if isinstance(d, auth.Authenticator)
                          and getattr(d, "tokens", None)), None)
            tokens = found.tokens if found else auth.token_config(suite_config.load())
            self.keys = ConsoleKeys(tokens.key)
        return self.keys


# ---- pages -------------------------------------------------------------------------------

def _when(value: str | None) -> str:
    """``2026-03-02T10:15:00.1+08:00`` → ``2026-03-02 10:15``."""
    if not value:
        return ""
    return str(value)[:16].replace("T", " ")


PAGES.filters["when"] = _when


def _html(http_status: int, template: str, **context) -> Response:
    body = PAGES.get_template(template).render(status_names=CASE_STATUS_NAMES, trail_names=TRAIL_NAMES,
                                               role_names=ROLE_NAMES, **context)
    return Response(body, status=http_status, content_type="text/html; charset=utf-8", headers=HEADERS)


def _redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location, **HEADERS})


def _items(text: str) -> list[str]:
    """Materials typed one a line (or separated by commas or 、)."""
    return [p.strip() for p in re.split(r"[\n,，、;；]+", text or "") if p.strip()][:30]


def _error(exc: BaseException) -> dict:
    if isinstance(exc, Unavailable):
        return {"title": "服务暂时不可用，请稍后再试", "detail": str(exc)}
    if isinstance(exc, RemoteError):
        title = CODE_TITLES.get(exc.exc_type)
        if title:
            return {"title": title, "detail": exc.value}
    log.error("console: unexpected error", exc_info=exc)
    return {"title": "系统出错，请稍后再试或联系管理员", "detail": None}


def _status_of(exc: BaseException) -> int:
    if isinstance(exc, Unavailable):
        return 503
    if isinstance(exc, RemoteError):
        return {"BadInput": 400, "Conflict": 409, "Forbidden": 403, "NotFound": 404}.get(exc.exc_type, 500)
    return 500


@dataclass
class Signed:
    session_id: str
    who: dict

    @property
    def actor(self) -> dict:
        return {"id": self.who["login"], "role": "staff", "committee": self.who["committee"]}


class ConsoleEntrypoints:
    """The ``/console`` pages (see the module's docstring)."""

    console_keys = ConsoleSecurity()

    # ---- sign in and out ------------------------------------------------------------

    @http("GET", "/console/login")
    def console_login_page(self, request):
        return self._console_guard(lambda: self._console_login_form(request))

    @http("POST", "/console/login")
    def console_login(self, request):
        return self._console_guard(lambda: self._console_sign_in(request))

    @http("POST", "/console/logout")
    def console_logout(self, request):
        def work():
            session_id = self.console_keys.unsign(request.cookies.get(SESSION_COOKIE))
            if session_id is None:
                return self._console_to_login(clear=True)
            if not self.console_keys.csrf_ok("session", session_id, self._console_form(request).get("csrf")):
                return self._console_csrf_refused()
            try:
                self._console_calls().call("community", "staff_session_close", session_id)
            except (Unavailable, RemoteError) as exc:
                return _html(503, "message.html", title="退出未完成", error=_error(exc), who=None)
            return self._console_to_login(clear=True)
        return self._console_guard(work)

    # ---- the queue --------------------------------------------------------------------

    @http("GET", "/console")
    def console_queue(self, request):
        def work(signed: Signed, calls: Calls):
            args = request.args
            status = args.get("status") if args.get("status") in OPEN_CASE_STATUSES else None
            matter = args.get("matter") if MATTER_CODE.match(args.get("matter") or "") else None
            after = (args.get("after") or "")[:200] or None
            page = calls.start("community", "staff_queue", signed.actor, None, status, matter, after, PAGE_SIZE)
            matters = calls.start("community", "list_matters", True)
            places = self._console_places(calls)
            page = page.result()
            rows = page["cases"]
            filters = {k: v for k, v in (("status", status), ("matter", matter)) if v}
            flash = None
            if args.get("done") in DONE:
                number = args.get("case") if CASE_NUMBER.match(args.get("case") or "") else ""
                flash = f"{number} {DONE[args['done']]}".strip()
            return self._console_page(
                200, "queue.html", signed, places, rows=rows, status=status, matter=matter,
                matters=matters.result(), open_statuses=OPEN_CASE_STATUSES, after=after, flash=flash,
                next_url=("/console?" + urlencode({**filters, "after": page["next"]})) if page["next"] else None,
                first_url="/console" + ("?" + urlencode(filters) if filters else ""),
                counts={"overdue": sum(r["deadline_mark"] == "overdue" for r in rows),
                        "due_soon": sum(r["deadline_mark"] == "due_soon" for r in rows)})
        return self._console_signed(request, work)

    # ---- one case -----------------------------------------------------------------------

    @http("GET", "/console/cases/<string:case_id>")
    def console_case(self, request, case_id):
        def work(signed: Signed, calls: Calls):
            if not CASE_ID.match(case_id):
                return self._console_not_found(signed, calls)
            done = request.args.get("done")
            return self._console_case_page(signed, calls, case_id, flash=DONE.get(done))
        return self._console_signed(request, work)

    @http("POST", "/console/cases/<string:case_id>/<string:action>")
    def console_act(self, request, case_id, action):
        def work(signed: Signed, calls: Calls):
            step = FORMS.get(action)
            if step is None or not CASE_ID.match(case_id):
                return self._console_not_found(signed, calls)
            form = self._console_form(request)
            request_body, problem = self._console_action_request(case_id, action, step, form)
            if problem:
                return self._console_case_page(signed, calls, case_id, status=400,
                                               error={"title": problem, "detail": None}, form_action=action)
            try:
                case = calls.call("community", "act_on_case", signed.actor, request_body)
            except (Unavailable, RemoteError) as exc:
                if isinstance(exc, RemoteError) and exc.exc_type not in CODE_TITLES:
                    raise
                fresh = Calls({"community": self.community}, calls.timeout)  # reload the case as it is now
                return self._console_case_page(signed, fresh, case_id, status=_status_of(exc), error=_error(exc),
                                               form_action=action)
            if step.leaves_queue:
                return _redirect("/console?" + urlencode({"done": action, "case": case["number"]}))
            return _redirect(f"/console/cases/{case_id}?done={action}")
        return self._console_signed(request, work, csrf=True)

    # ---- residents ----------------------------------------------------------------------

    @http("GET", "/console/residents")
    def console_residents(self, request):
        def work(signed: Signed, calls: Calls):
            return self._console_resident_page(signed, calls, request.args.get("id_number"))
        return self._console_signed(request, work)

    @http("POST", "/console/residents")
    def console_residents_post(self, request):
        def work(signed: Signed, calls: Calls):
            return self._console_resident_page(signed, calls, self._console_form(request).get("id_number"))
        return self._console_signed(request, work, csrf=True)

    @http("GET", "/console/static/console.css")
    def console_css(self, request):
        return Response(CSS, status=200, content_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})

    # ---- helpers ------------------------------------------------------------------------

    def _console_calls(self) -> Calls:
        return Calls({"community": self.community}, float(self.config.get("RPC_TIMEOUT", 5.0)))

    def _console_secure(self) -> bool:
        return suite_config.flag(suite_config.option(self.config, "CONSOLE_SECURE_COOKIES", ""), False)

    def _console_guard(self, work) -> Response:
        """Whatever goes wrong becomes a page, never a trace."""
        try:
            return work()
        except RequestEntityTooLarge:
            return _html(413, "message.html", title="提交的内容过大", who=None,
                         error={"title": "提交的内容过大", "detail": None})
        except (Unavailable, RemoteError, Exception) as exc:  # noqa: BLE001
            return _html(_status_of(exc), "message.html", title="暂时无法打开", who=None, error=_error(exc))

    def _console_form(self, request):
        request.max_content_length = MAX_FORM
        return request.form

    def _console_signed(self, request, work, csrf: bool = False) -> Response:
        """Run ``work(signed, calls)`` for a live session, else send the browser to sign in;
        with ``csrf`` the form's token must match the session's (403 otherwise)."""
        def run():
            raw = request.cookies.get(SESSION_COOKIE)
            session_id = self.console_keys.unsign(raw)
            if session_id is None:  # absent or forged: no RPC at all
                return self._console_to_login(clear=raw is not None)
            if csrf and not self.console_keys.csrf_ok("session", session_id, self._console_form(request).get("csrf")):
                return self._console_csrf_refused()
            calls = self._console_calls()
            try:
                who = calls.call("community", "staff_session_get", session_id)
            except RemoteError as exc:
                if exc.exc_type == "NotFound":  # signed out, expired or disabled
                    return self._console_to_login(clear=True)
                raise
            return work(Signed(session_id, who), calls)
        return self._console_guard(run)

    def _console_to_login(self, clear: bool) -> Response:
        response = _redirect("/console/login")
        if clear:
            response.delete_cookie(SESSION_COOKIE, path="/console", secure=self._console_secure(), httponly=True,
                                   samesite="Strict")
        return response

    def _console_csrf_refused(self) -> Response:
        return _html(403, "message.html", title="请求被拒绝", who=None,
                     error={"title": "请求被拒绝：表单已失效或来源不明（CSRF 校验未通过）。请返回页面刷新后重试。", "detail": None})

    def _console_login_form(self, request, status: int = 200, error: dict | None = None,
                            login: str = "") -> Response:
        raw = request.cookies.get(SESSION_COOKIE)
        if error is None and self.console_keys.unsign(raw):
            try:
                self._console_calls().call("community", "staff_session_get", self.console_keys.unsign(raw))
                return _redirect("/console")
            except (RemoteError, Unavailable):
                pass  # not a live session: sign in again
        nonce = secrets.token_urlsafe(24)
        response = _html(status, "login.html", who=None, error=error, login=login,
                         csrf=self.console_keys.csrf("login", nonce))
        response.set_cookie(LOGIN_COOKIE, self.console_keys.sign(nonce), max_age=LOGIN_FORM_SECONDS,
                            path="/console/login", secure=self._console_secure(), httponly=True, samesite="Strict")
        return response

    def _console_sign_in(self, request) -> Response:
        form = self._console_form(request)
        nonce = self.console_keys.unsign(request.cookies.get(LOGIN_COOKIE))
        if nonce is None or not self.console_keys.csrf_ok("login", nonce, form.get("csrf")):
            return self._console_csrf_refused()
        login, password = (form.get("login") or "").strip().lower()[:64], form.get("password") or ""
        calls = self._console_calls()
        try:
            who = calls.call("community", "staff_verify", login, password)
            session_id = calls.call("community", "staff_session_open", who["login"])
        except RemoteError as exc:
            if exc.exc_type in ("Forbidden", "BadInput"):
                return self._console_login_form(request, 401, {"title": "账号或密码错误", "detail": None}, login)
            raise
        old = self.console_keys.unsign(request.cookies.get(SESSION_COOKIE))
        if old:  # a session left open in this browser ends now
            try:
                calls.call("community", "staff_session_close", old)
            except (RemoteError, Unavailable):
                pass
        response = _redirect("/console")
        response.set_cookie(SESSION_COOKIE, self.console_keys.sign(session_id), max_age=SESSION_SECONDS,
                            path="/console", secure=self._console_secure(), httponly=True, samesite="Strict")
        response.delete_cookie(LOGIN_COOKIE, path="/console/login", secure=self._console_secure(), httponly=True,
                               samesite="Strict")
        return response

    def _console_places(self, calls: Calls):
        return calls.start("community", "list_places")

    def _console_page(self, http_status: int, template: str, signed: Signed, places, **context) -> Response:
        names = {p["code"]: p for p in places.result()}

        def place_name(code):
            return names[code]["name"] if code in names else (code or "")
        return _html(http_status, template, who=signed.who, csrf=self.console_keys.csrf("session", signed.session_id),
                     place_name=place_name, places=names, committee_name=place_name(signed.who["committee"]),
                     **context)

    def _console_not_found(self, signed: Signed, calls: Calls) -> Response:
        return self._console_page(404, "message.html", signed, self._console_places(calls), title="未找到",
                                  error={"title": "未找到该案件（或不属于本社区）", "detail": None})

    def _console_case_page(self, signed: Signed, calls: Calls, case_id: str, status: int = 200,
                           error: dict | None = None, flash: str | None = None,
                           form_action: str | None = None) -> Response:
        case = calls.start("community", "get_case", signed.actor, case_id)
        places = self._console_places(calls)
        colleagues = calls.start("community", "staff_list", signed.who["committee"])
        try:
            case = case.result()
        except RemoteError as exc:
            if exc.exc_type == "NotFound":
                if error:  # e.g. transferred away meanwhile: say what happened to the step
                    return self._console_page(status, "message.html", signed, places, title="未找到", error=error)
                return self._console_not_found(signed, calls)
            raise
        forms = [(name, FORMS[name]) for name in case["actions"] if name in FORMS]
        try:
            staff = colleagues.result()
        except (RemoteError, Unavailable):
            staff = []  # the assign form then takes a typed login
        return self._console_page(
            status, "case.html", signed, places, case=case, actions=forms, colleagues=staff, error=error,
            flash=flash, form_action=form_action,
            committees=[p for p in places.result() if p["kind"] == "committee"
                        and p["code"] != case["handling_committee"]])

    @staticmethod
    def _console_action_request(case_id: str, action: str, step: Form, form) -> tuple[dict, str | None]:
        """The ``act_on_case`` request from a form, or the zh-CN reason it cannot be sent."""
        try:
            version = int(form.get("expected_version", ""))
        except ValueError:
            return {}, "页面已过期：缺少案件版本号，请刷新后重试"
        body = {"case_id": case_id, "action": action, "expected_version": version}
        note = (form.get("note") or "").strip()
        if note:
            body["note"] = note[:2000]
        reason = (form.get("reason") or "").strip()[:2000]
        if "reason" in step.fields:
            if not reason:
                return {}, "请填写理由（不予受理、转办均须说明理由）"
            body["reason"] = reason
        if "missing_materials" in step.fields:
            missing = _items(form.get("missing_materials"))
            if not missing:
                return {}, "请填写需要居民补正的材料（每行一项）"
            body["missing_materials"] = [m[:100] for m in missing]
        if "assignee" in step.fields:
            assignee = (form.get("assignee_other") or form.get("assignee") or "").strip()[:64]
            if not assignee:
                return {}, "请选择或填写要指派的同事"
            body["assignee"] = assignee
        if "to_committee" in step.fields:
            target = (form.get("to_committee") or "").strip()[:32]
            if not target:
                return {}, "请选择接收转办的社区"
            body["to_committee"] = target
        return body, None

    def _console_resident_page(self, signed: Signed, calls: Calls, id_number: str | None) -> Response:
        places = self._console_places(calls)
        resident, found_cases, error, status = None, [], None, 200
        id_number = (id_number or "").strip().upper()
        if id_number:
            if not ID_NUMBER.match(id_number):
                error, status = {"title": "身份证号格式不正确（应为18位）", "detail": None}, 400
            else:
                try:
                    resident = calls.call("community", "find_resident", id_number, signed.actor)
                    found_cases = calls.call("community", "get_cases_for_residents", signed.actor,
                                             [resident["resident_id"]]).get(resident["resident_id"], [])
                except RemoteError as exc:
                    if exc.exc_type == "NotFound":
                        error, status = {"title": "未找到持该身份证号的居民", "detail": None}, 404
                    elif exc.exc_type == "BadInput":
                        error, status = {"title": "身份证号无效（校验位或出生日期不正确）", "detail": None}, 400
                    else:
                        raise
        # the number typed is never echoed back: only the masked one is shown
        return self._console_page(status, "residents.html", signed, places, resident=resident,
                                  cases=found_cases, error=error, searched=bool(id_number))
