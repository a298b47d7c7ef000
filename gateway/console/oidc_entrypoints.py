"""Staff signing in to the console through the district's identity provider (the routes,
``@http``, mixed into ``GatewayService``): the same OpenID Connect flow as the residents'
portal (``gateway/oidc.py``); the identity the ID token names opens a session of the staff
account linked to it (``suite staff link``), or the sign-in page says none is."""
from __future__ import annotations

from nameko.exceptions import RemoteError
from nameko.web.handlers import http

from gateway import oidc
from gateway.console import pages
from gateway.console.session import HOME, SESSION_COOKIE, SESSION_SECONDS, ConsoleSession, Signed

ATTEMPT_COOKIE = "console_oidc"
ATTEMPT_SECONDS = 600
ATTEMPT_PATH = "/console/login/oidc"


class ConsoleOidcEntrypoints(ConsoleSession):
    """Signing in with the provider; ``ConsoleSession`` holds ``console_oidc``."""

    @http("GET", "/console/login/oidc")
    def console_login_oidc(self, request):
        def start():
            if self.console_oidc is None:
                return self._console_oidc_refused(request, 404, "未开通统一身份认证登录：请使用账号和密码登录")
            attempt = oidc.Attempt.new()
            try:
                where = self.console_oidc.authorization_url(attempt, self._console_oidc_redirect(request))
            except oidc.OidcFailed as exc:
                return self._console_oidc_refused(request, 503, str(exc))
            response = pages.redirect(where)
            # Lax, not Strict: it must come back with the provider's redirect, a navigation from its site
            response.set_cookie(ATTEMPT_COOKIE, self.console_keys.sign(attempt.text()), max_age=ATTEMPT_SECONDS,
                                path=ATTEMPT_PATH, secure=self._console_secure(), httponly=True, samesite="Lax")
            return response
        return self._console_guard(start)

    @http("GET", "/console/login/oidc/callback")
    def console_login_oidc_back(self, request):
        def back():
            if self.console_oidc is None:
                return self._console_oidc_refused(request, 404, "未开通统一身份认证登录：请使用账号和密码登录")
            try:
                claims = self.console_oidc.answer(self.console_keys.unsign(request.cookies.get(ATTEMPT_COOKIE)),
                                                  request.args, self._console_oidc_redirect(request))
            except oidc.OidcFailed as exc:
                return self._console_oidc_refused(request, 400, str(exc))
            calls = self._console_calls()
            try:
                opened = calls.call("community", "staff_session_for_identity", claims["iss"], str(claims["sub"]))
                who = calls.call("community", "staff_session_get", opened["session_id"])
            except RemoteError as exc:
                if exc.exc_type in ("NotFound", "Forbidden", "BadInput"):
                    return self._console_oidc_refused(
                        request, 403, "此统一身份账号未关联可用的工作人员账号，请联系管理员（suite staff link）")
                raise
            home = HOME.get(Signed(opened["session_id"], who).role, "/console")
            # a page that moves on by itself: the Strict session cookie is sent with a navigation
            # this site starts, not with the rest of the provider's redirect
            response = pages.html(200, "signed_in.html", who=None, title="登录成功", home=home)
            response.set_cookie(SESSION_COOKIE, self.console_keys.sign(opened["session_id"]),
                                max_age=SESSION_SECONDS, path="/console", secure=self._console_secure(),
                                httponly=True, samesite="Strict")
            response.delete_cookie(ATTEMPT_COOKIE, path=ATTEMPT_PATH, secure=self._console_secure(), httponly=True,
                                   samesite="Lax")
            return response
        return self._console_guard(back)

    def _console_oidc_redirect(self, request) -> str:
        return self.console_oidc.settings.console_redirect_url or request.host_url + "console/login/oidc/callback"

    def _console_oidc_refused(self, request, status: int, why: str):
        response = self._console_login_form(request, status, {"title": why, "detail": None})
        response.delete_cookie(ATTEMPT_COOKIE, path=ATTEMPT_PATH, secure=self._console_secure(), httponly=True,
                               samesite="Lax")
        return response
