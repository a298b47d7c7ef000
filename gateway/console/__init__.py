"""The staff console: server-rendered pages (jinja2, autoescaped, zh-CN) under ``/console``
for committee clerks (cases, residents) and under ``/console/library`` for librarians
(conflicts, the kiosks' health); a session's account role decides which pages open, each
checked before any other call. Its entrypoints (``entrypoints.ConsoleEntrypoints``,
``library_entrypoints.LibraryConsoleEntrypoints``) are mixed into ``GatewayService`` (which
gives ``self.community`` and ``self.library``, ``RpcProxy``s, ``self.config`` and the
``Authenticator`` whose key signs the cookies).

- Sign-in checks a staff account's password in the community service (``staff_verify``) and
  opens a server-side session there (``staff_session_open``); the cookie carries the session
  id signed with HMAC-SHA256 (a key derived from the gateway's JWT key), so a forged cookie is
  refused before any RPC, and signing out deletes the session, so a replayed cookie fails.
- Every form carries a CSRF token (an HMAC of the session id; on the sign-in form, of a
  short-lived pre-sign-in cookie) that every POST checks (403 otherwise).
- Cookies: ``HttpOnly; SameSite=Strict; Path=/console`` and ``Secure`` when
  ``CONSOLE_SECURE_COOKIES`` is set (nameko config or environment).
- Pages load no script and no external asset: one stylesheet served here, a strict CSP.

Modules: ``keys`` (signing cookies and CSRF tokens), ``session`` (signing in and out, the
signed-in clerk, every page's guard), ``pages`` (rendering, headers, error pages), ``forms``
(the case actions' and conflicts' forms and what a request may carry), ``entrypoints`` (the
clerks' ``@http`` routes), ``library_entrypoints`` (the librarians').
"""
