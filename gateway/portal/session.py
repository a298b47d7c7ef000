"""Signing in and out of the portal, the guard every page runs in, and asking the gateway's
GraphQL as the signed-in resident. Mixed into the portal's entrypoints; the service class
gives ``self.community`` (an ``RpcProxy``), ``self.config``, ``self.authenticate`` and
``self._run_graphql``."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from nameko.exceptions import RemoteError
from nameko.extensions import DependencyProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from gateway import auth, oidc
from gateway.calls import Calls
from gateway.console.keys import ConsoleSecurity, gateway_tokens
from gateway.errors import format_error
from gateway.fanout import Unavailable
from gateway.portal import pages
from services.common import config as suite_config

log = logging.getLogger(__name__)

SESSION_COOKIE = "portal_session"
LOGIN_COOKIE = "portal_login"
OIDC_COOKIE = "portal_oidc"
OIDC_SECONDS = 600
SESSION_SECONDS = 12 * 3600        # the cookie's life; the session itself also ends when idle
LOGIN_FORM_SECONDS = 1800
TOKEN_SECONDS = 120                # a JWT minted for one page's GraphQL
MAX_FORM = 16 * 1024
SIGN_IN_CODES = {"BadInput": 400, "RateLimited": 429, "StoreUnavailable": 503}


def zh(words: str) -> str:
    """The Chinese of a service's bilingual refusal ("中文 (English)"): the portal's pages are zh-CN."""
    head, _, _ = words.partition(" (")
    return head if any("\u4e00" <= ch <= "\u9fff" for ch in head) else words


class PortalTokens(DependencyProvider):
    """Gives workers ``mint(resident_id)``: a short-lived resident JWT of the gateway's key."""

    def get_dependency(self, worker_ctx):
        tokens = gateway_tokens(self.container)
        return lambda resident_id: auth.mint(tokens, "resident", resident_id, lifetime=TOKEN_SECONDS)


@dataclass
class Signed:
    session_id: str
    resident_id: str


class Refused(Exception):
    """A GraphQL answer with errors: the first one's code and words."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class PortalSession:
    """Sessions, cookies, CSRF and GraphQL for the portal's pages."""

    portal_keys = ConsoleSecurity("portal")
    portal_token = PortalTokens()
    portal_oidc = oidc.Oidc()

    def _portal_calls(self) -> Calls:
        return Calls.configured({"community": self.community}, self.config)

    def _portal_secure(self) -> bool:
        return suite_config.flag(suite_config.option(self.config, "CONSOLE_SECURE_COOKIES", ""), False)

    def _portal_cookie(self, response: Response, name: str, value: str, max_age: int, path: str = "/") -> None:
        response.set_cookie(name, value, max_age=max_age, path=path, secure=self._portal_secure(), httponly=True,
                            samesite="Strict")

    def _portal_forget(self, response: Response, name: str, path: str = "/") -> None:
        response.delete_cookie(name, path=path, secure=self._portal_secure(), httponly=True, samesite="Strict")

    # ---- every page -------------------------------------------------------------------------

    def _portal_guard(self, request, work) -> Response:
        """Whatever goes wrong becomes a page that says what to do, never a trace."""
        try:
            return work()
        except RequestEntityTooLarge:
            return self._portal_problem(request, 413, "提交的内容过大", None)
        except Refused as exc:
            status, title, detail = pages.ERRORS.get(exc.code, pages.FALLBACK)
            return self._portal_problem(request, status, title, detail if exc.code != "BAD_USER_INPUT" else str(exc))
        except Unavailable:
            return self._portal_problem(request, 503, *pages.ERRORS["UNAVAILABLE"][1:])
        except Exception:  # noqa: BLE001 - the resident gets a page; the operator the log
            log.exception("portal: unexpected error")
            return self._portal_problem(request, *pages.FALLBACK)

    def _portal_problem(self, request, status: int, title: str, detail: str | None) -> Response:
        return pages.html(status, "message.html", request, title=title, problem={"title": title, "detail": detail},
                          signed=None)

    def _portal_form(self, request):
        if request.max_content_length is None:   # an upload's route sets a larger limit first
            request.max_content_length = MAX_FORM
        return request.form

    def _portal_signed(self, request, work, csrf: bool = False) -> Response:
        """Run ``work(signed)`` for a live session, else send the browser to sign in; with
        ``csrf`` the form's token must match the session's (403 otherwise)."""
        def run():
            raw = request.cookies.get(SESSION_COOKIE)
            session_id = self.portal_keys.unsign(raw)
            if session_id is None:   # absent or forged: no RPC at all
                return self._portal_to_login(request, clear=raw is not None)
            if csrf and not self.portal_keys.csrf_ok("session", session_id, self._portal_form(request).get("csrf")):
                return self._portal_csrf_refused(request)
            try:
                who = self._portal_calls().call("community", "resident_session_get", session_id)
            except RemoteError as exc:
                if exc.exc_type == "NotFound":   # signed out, idle too long or expired
                    return self._portal_to_login(request, clear=True)
                raise
            return work(Signed(session_id, who["resident_id"]))
        return self._portal_guard(request, run)

    def _portal_live(self, request) -> bool:
        """Whether the browser holds a live session (the sign-in page sends it home then)."""
        session_id = self.portal_keys.unsign(request.cookies.get(SESSION_COOKIE))
        if session_id is None:
            return False
        try:
            self._portal_calls().call("community", "resident_session_get", session_id)
            return True
        except RemoteError as exc:
            if exc.exc_type == "NotFound":
                return False
            raise

    def _portal_page(self, request, status: int, template: str, signed: Signed | None, **context) -> Response:
        csrf = self.portal_keys.csrf("session", signed.session_id) if signed else None
        return pages.html(status, template, request, signed=signed, csrf=csrf, **context)

    def _portal_ask(self, signed: Signed, query: str, variables: dict | None = None) -> dict:
        """Ask the gateway's GraphQL as the resident (a JWT minted for this one question)."""
        principal = self.authenticate("Bearer " + self.portal_token(signed.resident_id))
        outcome = self._run_graphql(principal, {"query": query, "variables": variables}, "POST",
                                    f"portal:{signed.resident_id}")
        if outcome.errors:
            first = format_error(outcome.errors[0])   # the code and words /graphql would answer
            raise Refused(first["extensions"]["code"], first["message"])
        return outcome.data

    def _portal_to_login(self, request, clear: bool) -> Response:
        response = pages.redirect("/login")
        if clear:
            self._portal_forget(response, SESSION_COOKIE)
        return response

    def _portal_csrf_refused(self, request) -> Response:
        return self._portal_problem(request, 403, "请求被拒绝",
                                    "表单已失效或来源不明（CSRF 校验未通过）。请返回页面刷新后重试。")

    # ---- signing in and out -----------------------------------------------------------------

    def _portal_login_form(self, request, status: int = 200, problem: str | None = None, phone: str = "",
                           step: str = "phone", sent: dict | None = None) -> Response:
        """The sign-in page (``step``: phone, then code), with a fresh pre-sign-in nonce."""
        nonce = secrets.token_urlsafe(24)
        response = pages.html(status, "login.html", request, signed=None, step=step, phone=phone, sent=sent,
                              oidc=self.portal_oidc is not None,
                              problem={"title": problem, "detail": None} if problem else None,
                              csrf=self.portal_keys.csrf("login", nonce))
        self._portal_cookie(response, LOGIN_COOKIE, self.portal_keys.sign(nonce), LOGIN_FORM_SECONDS, "/login")
        if SESSION_COOKIE in request.cookies:   # whatever it held is no live session now
            self._portal_forget(response, SESSION_COOKIE)
        return response

    def _portal_login_csrf_ok(self, request) -> bool:
        nonce = self.portal_keys.unsign(request.cookies.get(LOGIN_COOKIE))
        return nonce is not None and self.portal_keys.csrf_ok("login", nonce, self._portal_form(request).get("csrf"))

    def _portal_send_code(self, request) -> Response:
        if not self._portal_login_csrf_ok(request):
            return self._portal_csrf_refused(request)
        phone = (self._portal_form(request).get("phone") or "").strip()[:32]
        try:
            sent = self._portal_calls().call("community", "signin_code_send", phone, request.remote_addr or "-")
        except RemoteError as exc:
            if exc.exc_type in SIGN_IN_CODES:
                return self._portal_login_form(request, SIGN_IN_CODES[exc.exc_type], zh(exc.value), phone)
            raise
        return self._portal_login_form(request, 200, None, phone, step="code", sent=sent)

    def _portal_check_code(self, request) -> Response:
        if not self._portal_login_csrf_ok(request):
            return self._portal_csrf_refused(request)
        form = self._portal_form(request)
        phone, code = (form.get("phone") or "").strip()[:32], (form.get("code") or "").strip()[:16]
        calls = self._portal_calls()
        try:
            signed = calls.call("community", "signin_code_verify", phone, code)
        except RemoteError as exc:
            if exc.exc_type in SIGN_IN_CODES:
                return self._portal_login_form(request, SIGN_IN_CODES[exc.exc_type], zh(exc.value), phone,
                                               step="code")
            raise
        return self._portal_signed_in(request, signed, calls, pages.redirect("/"))

    def _portal_signed_in(self, request, signed: dict, calls: Calls, response: Response) -> Response:
        """The answer to a sign-in that proved who is there: ``response`` with the session's
        cookie, or the page saying what to do when that person is no one resident of ours."""
        if signed["resident_id"] is None:
            return pages.html(200, "not_registered.html", request, signed=None, why=signed["why"])
        old = self.portal_keys.unsign(request.cookies.get(SESSION_COOKIE))
        if old:   # a session left open in this browser ends now
            try:
                calls.call("community", "resident_session_close", old)
            except (RemoteError, Unavailable):
                pass
        self._portal_cookie(response, SESSION_COOKIE, self.portal_keys.sign(signed["session_id"]), SESSION_SECONDS)
        self._portal_forget(response, LOGIN_COOKIE, "/login")
        return response

    # ---- through the district's identity provider (OpenID Connect) ------------------------

    def _portal_oidc_start(self, request) -> Response:
        if self.portal_oidc is None:
            return self._portal_problem(request, 404, "未开通统一身份认证登录", "请使用手机验证码登录。")
        attempt = oidc.Attempt.new()
        try:
            where = self.portal_oidc.authorization_url(attempt, self._portal_oidc_redirect(request))
        except oidc.OidcFailed as exc:
            return self._portal_problem(request, 503, "暂时无法使用统一身份认证", str(exc))
        response = pages.redirect(where)
        # Lax, not Strict: it must come back with the provider's redirect, a navigation from its site
        response.set_cookie(OIDC_COOKIE, self.portal_keys.sign(attempt.text()), max_age=OIDC_SECONDS,
                            path="/login/oidc", secure=self._portal_secure(), httponly=True, samesite="Lax")
        return response

    def _portal_oidc_back(self, request) -> Response:
        if self.portal_oidc is None:
            return self._portal_problem(request, 404, "未开通统一身份认证登录", "请使用手机验证码登录。")
        try:
            claims = self.portal_oidc.answer(self.portal_keys.unsign(request.cookies.get(OIDC_COOKIE)), request.args,
                                             self._portal_oidc_redirect(request))
        except oidc.OidcFailed as exc:
            return self._portal_problem(request, 400, "登录未完成", str(exc))
        id_number = claims.get(self.portal_oidc.settings.id_number_claim)
        phone = claims.get("phone_number") if claims.get("phone_number_verified") else None
        calls = self._portal_calls()
        signed = calls.call("community", "signin_identity", id_number if isinstance(id_number, str) else None,
                            phone if isinstance(phone, str) else None)
        # a page that moves on by itself: the session cookie (SameSite=Strict) is sent with a
        # navigation this site starts, not with the rest of the provider's redirect
        response = pages.html(200, "signed_in.html", request, signed=None)
        response = self._portal_signed_in(request, signed, calls, response)
        self._portal_forget(response, OIDC_COOKIE, "/login/oidc")
        return response

    def _portal_oidc_redirect(self, request) -> str:
        return self.portal_oidc.settings.redirect_url or request.host_url + "login/oidc/callback"

    def _portal_sign_out(self, request, everywhere: bool) -> Response:
        def work(signed: Signed):
            rpc = "resident_sessions_close_all" if everywhere else "resident_session_close"
            self._portal_calls().call("community", rpc, signed.session_id)
            response = pages.redirect("/login")
            self._portal_forget(response, SESSION_COOKIE)
            return response
        return self._portal_signed(request, work, csrf=True)
