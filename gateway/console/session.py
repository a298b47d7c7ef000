"""Signing in and out of the console, and the guard every page runs in: the session cookie
(a community-service session id, signed), the CSRF check of every POST, the clerk a live
session stands for. Mixed into the console's entrypoints."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from nameko.exceptions import RemoteError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from gateway import oidc
from gateway.calls import Calls
from gateway.console import pages
from gateway.console.keys import ConsoleSecurity
from gateway.fanout import Unavailable
from services.common import config as suite_config

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
SESSION_SECONDS = 8 * 3600
LOGIN_FORM_SECONDS = 1800
MAX_FORM = 64 * 1024


# who may open a page (a staff account's role): the case pages are also a sub-district centre's
# (its own queue, the cases it handles, its inbox); the residents' records and lists are the committees'
CLERKS, LIBRARIANS, SUPERVISORS, CENTRES = ("staff",), ("librarian",), ("supervisor",), ("centre",)
EDITORS = ("editor",)   # popular science: the review queue, TV placements, usage
CASE_DESKS = CLERKS + CENTRES
HOME = {"staff": "/console", "centre": "/console", "librarian": "/console/library/conflicts",
        "supervisor": "/console/supervision", "editor": "/console/popsci"}


@dataclass
class Signed:
    session_id: str
    who: dict

    @property
    def role(self) -> str:
        return self.who.get("role") or "staff"   # sessions of accounts made before roles: clerks

    @property
    def actor(self) -> dict:
        """The clerk, supervisor or editor as the services check them (librarians' pages never ask)."""
        role = self.role if self.role in ("supervisor", "centre", "editor") else "staff"
        return {"id": self.who["login"], "role": role, "committee": self.who.get("committee"),
                **({"subdistrict": self.who["subdistrict"]} if self.who.get("subdistrict") else {})}


class ConsoleSession:
    """Sessions, cookies and CSRF for the ``/console`` pages (see ``gateway/console/__init__.py``)."""

    console_keys = ConsoleSecurity()
    console_oidc = oidc.Oidc()   # the district's identity provider, when one is configured

    def _console_calls(self) -> Calls:
        return Calls.configured({"community": self.community, "library": self.library,
                                 "elearning": self.elearning}, self.config)

    def _console_secure(self) -> bool:
        return suite_config.flag(suite_config.option(self.config, "CONSOLE_SECURE_COOKIES", ""), False)

    def _console_guard(self, work) -> Response:
        """Whatever goes wrong becomes a page, never a trace."""
        try:
            return work()
        except RequestEntityTooLarge:
            return pages.html(413, "message.html", title="提交的内容过大", who=None,
                              error={"title": "提交的内容过大", "detail": None})
        except (Unavailable, RemoteError, Exception) as exc:  # noqa: BLE001
            return pages.html(pages.status_of(exc), "message.html", title="暂时无法打开", who=None,
                              error=pages.error_of(exc))

    def _console_form(self, request):
        request.max_content_length = MAX_FORM
        return request.form

    def _console_signed(self, request, work, csrf: bool = False, roles: tuple[str, ...] = CLERKS) -> Response:
        """Run ``work(signed, calls)`` for a live session of one of ``roles``, else send the
        browser to sign in; another role's session gets 403 before any other RPC (a librarian
        never reaches a resident's case); with ``csrf`` the form's token must match the
        session's (403 otherwise)."""
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
            signed = Signed(session_id, who)
            if signed.role not in roles:
                return self._console_other_role(signed)
            return work(signed, calls)
        return self._console_guard(run)

    def _console_other_role(self, signed: Signed) -> Response:
        return pages.html(403, "message.html", title="无权访问", who=signed.who, role=signed.role,
                          csrf=self.console_keys.csrf("session", signed.session_id),
                          error={"title": "无权访问：此页面不属于您的岗位（社区工作人员、监察人员、图书馆员与科普编辑各有其页面）。",
                                 "detail": None})

    def _console_to_login(self, clear: bool) -> Response:
        response = pages.redirect("/console/login")
        if clear:
            response.delete_cookie(SESSION_COOKIE, path="/console", secure=self._console_secure(), httponly=True,
                                   samesite="Strict")
        return response

    def _console_csrf_refused(self) -> Response:
        return pages.html(403, "message.html", title="请求被拒绝", who=None,
                          error={"title": "请求被拒绝：表单已失效或来源不明（CSRF 校验未通过）。请返回页面刷新后重试。",
                                 "detail": None})

    def _console_login_form(self, request, status: int = 200, error: dict | None = None,
                            login: str = "") -> Response:
        raw = request.cookies.get(SESSION_COOKIE)
        if error is None and self.console_keys.unsign(raw):
            try:
                who = self._console_calls().call("community", "staff_session_get", self.console_keys.unsign(raw))
                return pages.redirect(HOME.get(Signed("", who).role, "/console"))
            except (RemoteError, Unavailable):
                pass  # not a live session: sign in again
        nonce = secrets.token_urlsafe(24)
        response = pages.html(status, "login.html", who=None, error=error, login=login,
                              csrf=self.console_keys.csrf("login", nonce),
                              oidc=self.console_oidc is not None)
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
        response = pages.redirect(HOME.get(Signed(session_id, who).role, "/console"))
        response.set_cookie(SESSION_COOKIE, self.console_keys.sign(session_id), max_age=SESSION_SECONDS,
                            path="/console", secure=self._console_secure(), httponly=True, samesite="Strict")
        response.delete_cookie(LOGIN_COOKIE, path="/console/login", secure=self._console_secure(), httponly=True,
                               samesite="Strict")
        return response

    def _console_sign_out(self, request) -> Response:
        session_id = self.console_keys.unsign(request.cookies.get(SESSION_COOKIE))
        if session_id is None:
            return self._console_to_login(clear=True)
        if not self.console_keys.csrf_ok("session", session_id, self._console_form(request).get("csrf")):
            return self._console_csrf_refused()
        try:
            self._console_calls().call("community", "staff_session_close", session_id)
        except (Unavailable, RemoteError) as exc:
            return pages.html(503, "message.html", title="退出未完成", error=pages.error_of(exc), who=None)
        return self._console_to_login(clear=True)
