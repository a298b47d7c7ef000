"""Teachers and pupils at the e-schoolbag's pages (``/school``): their sessions, cookies and
CSRF, signing in by a school sign-in code or (teachers) through the district's identity
provider, and asking the elearning service as the signed-in person. Mixed into the portal's
entrypoints (the service class gives ``self.elearning``, ``self.config``, the portal's keys
and its identity provider).

The e-schoolbag's sessions live in the elearning service (``school_access``), apart from the
residents' portal sessions; the cookie carries the session id signed with keys of the
``school`` family, so that no portal or console cookie is taken for it. Every page asks the
service again who the session is: a pupil whose guardian withdrew consent is signed out.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from nameko.exceptions import RemoteError
from werkzeug.wrappers import Response

from gateway import oidc
from gateway.calls import Calls
from gateway.console.keys import ConsoleSecurity
from gateway.portal import pages
from gateway.portal.session import zh

SCHOOL_COOKIE = "school_session"
SCHOOL_LOGIN_COOKIE = "school_login"
SCHOOL_OIDC_COOKIE = "school_oidc"
SCHOOL_SESSION_SECONDS = 8 * 3600
REFUSALS = {"BadInput": 400, "RateLimited": 429, "Forbidden": 403, "NotFound": 404, "Conflict": 409}


@dataclass
class Schooled:
    """Who a live e-schoolbag session is: a teacher or a pupil (roster sourcedIds)."""
    session_id: str
    role: str            # teacher | pupil
    user_id: str
    name: str
    guardian: str | None = None   # the resident who opened their child's view

    @property
    def viewer(self) -> dict:
        return {"role": self.role, "id": self.user_id}


class SchoolRefused(Exception):
    """The elearning service refused: the HTTP status and the words for the page."""

    def __init__(self, status: int, words: str):
        super().__init__(words)
        self.status = status


class SchoolSession:
    school_keys = ConsoleSecurity("school")

    def _school_call(self, method: str, *args):
        """Call the elearning service; its refusals become ``SchoolRefused``."""
        try:
            return Calls.configured({"elearning": self.elearning}, self.config).call("elearning", method, *args)
        except RemoteError as exc:
            if exc.exc_type in REFUSALS:
                raise SchoolRefused(REFUSALS[exc.exc_type], zh(exc.value or "")) from None
            raise

    def _school_page(self, request, status: int, template: str, who: Schooled | None, **context) -> Response:
        csrf = context.pop("csrf", None) or (self.school_keys.csrf("session", who.session_id) if who else None)
        return pages.html(status, template, request, signed=None, school=who, csrf=csrf, **context)

    def _school_problem(self, request, status: int, title: str, detail: str | None) -> Response:
        return pages.html(status, "school_message.html", request, signed=None, school=None, title=title,
                          problem={"title": title, "detail": detail})

    def _school_guard(self, request, work) -> Response:
        def run():
            try:
                return work()
            except SchoolRefused as exc:
                titles = {403: "无权查看", 404: "没有找到", 429: "尝试过多", 409: "未能办理"}
                return self._school_problem(request, exc.status, titles.get(exc.status, "填写的内容有误"), str(exc))
        return self._portal_guard(request, run)

    def _school_signed(self, request, work, csrf: bool = False, role: str | None = None) -> Response:
        """Run ``work(who)`` for a live session (of ``role`` if given), else to the sign-in page."""
        def run():
            raw = request.cookies.get(SCHOOL_COOKIE)
            session_id = self.school_keys.unsign(raw)
            if session_id is None:   # absent or forged: no RPC at all
                return self._school_to_login(clear=raw is not None)
            if csrf and not self.school_keys.csrf_ok("session", session_id, self._portal_form(request).get("csrf")):
                return self._portal_csrf_refused(request)
            try:
                found = self._school_call("school_session_get", session_id)
            except SchoolRefused as exc:
                if exc.status == 404:
                    return self._school_to_login(clear=True)
                raise
            who = Schooled(session_id, found["role"], found["user_id"], found["name"], found.get("guardian"))
            if role and who.role != role:
                return self._school_problem(request, 403, "无权查看", "这个页面只对" +
                                            ("老师" if role == "teacher" else "学生") + "开放。")
            return work(who)
        return self._school_guard(request, run)

    def _school_to_login(self, clear: bool) -> Response:
        response = pages.redirect("/school/login")
        if clear:
            self._portal_forget(response, SCHOOL_COOKIE)
        return response

    def _school_signed_in(self, request, opened: dict, response: Response) -> Response:
        old = self.school_keys.unsign(request.cookies.get(SCHOOL_COOKIE))
        if old:   # whoever was signed in on this terminal is signed out now
            try:
                self._school_call("school_session_close", old)
            except SchoolRefused:
                pass
        self._portal_cookie(response, SCHOOL_COOKIE, self.school_keys.sign(opened["session_id"]),
                            SCHOOL_SESSION_SECONDS)
        self._portal_forget(response, SCHOOL_LOGIN_COOKIE, "/school/login")
        return response

    # ---- by code -----------------------------------------------------------------------------

    def _school_login_form(self, request, status: int = 200, problem: str | None = None) -> Response:
        nonce = secrets.token_urlsafe(24)
        response = pages.html(status, "school_login.html", request, signed=None, school=None,
                              oidc=self.portal_oidc is not None, csrf=self.school_keys.csrf("login", nonce),
                              problem={"title": problem, "detail": None} if problem else None)
        self._portal_cookie(response, SCHOOL_LOGIN_COOKIE, self.school_keys.sign(nonce), 1800, "/school/login")
        return response

    def _school_check_code(self, request) -> Response:
        nonce = self.school_keys.unsign(request.cookies.get(SCHOOL_LOGIN_COOKIE))
        form = self._portal_form(request)
        if nonce is None or not self.school_keys.csrf_ok("login", nonce, form.get("csrf")):
            return self._portal_csrf_refused(request)
        try:
            opened = self._school_call("school_code_signin", (form.get("code") or "")[:32],
                                       request.remote_addr or "-")
        except SchoolRefused as exc:
            return self._school_login_form(request, exc.status, str(exc))
        return self._school_signed_in(request, opened, pages.redirect("/school"))

    # ---- teachers through the identity provider -------------------------------------------------

    def _school_oidc_start(self, request) -> Response:
        if self.portal_oidc is None:
            return self._school_problem(request, 404, "未开通统一身份认证登录", "请使用学校发放的登录码。")
        attempt = oidc.Attempt.new()
        try:
            where = self.portal_oidc.authorization_url(attempt, self._school_oidc_redirect(request))
        except oidc.OidcFailed as exc:
            return self._school_problem(request, 503, "暂时无法使用统一身份认证", str(exc))
        response = pages.redirect(where)
        response.set_cookie(SCHOOL_OIDC_COOKIE, self.school_keys.sign(attempt.text()), max_age=600,
                            path="/school/login/oidc", secure=self._portal_secure(), httponly=True, samesite="Lax")
        return response

    def _school_oidc_back(self, request) -> Response:
        if self.portal_oidc is None:
            return self._school_problem(request, 404, "未开通统一身份认证登录", "请使用学校发放的登录码。")
        try:
            claims = self.portal_oidc.answer(self.school_keys.unsign(request.cookies.get(SCHOOL_OIDC_COOKIE)),
                                             request.args, self._school_oidc_redirect(request))
        except oidc.OidcFailed as exc:
            return self._school_problem(request, 400, "登录未完成", str(exc))
        try:
            opened = self._school_call("teacher_signin_identity", self.portal_oidc.settings.issuer, str(claims["sub"]))
        except SchoolRefused:
            return self._school_problem(request, 403, "此身份未关联教师",
                                        "请学校管理员用 suite school link 把您的统一身份关联到花名册中的教师。")
        # a page that moves on by itself: the Strict cookie is not sent along the provider's redirect
        response = pages.html(200, "signed_in.html", request, signed=None, next_page="/school")
        response = self._school_signed_in(request, opened, response)
        self._portal_forget(response, SCHOOL_OIDC_COOKIE, "/school/login/oidc")
        return response

    def _school_oidc_redirect(self, request) -> str:
        return request.host_url + "school/login/oidc/callback"
