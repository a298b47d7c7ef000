"""The residents' portal: server-rendered pages (jinja2, autoescaped, zh-CN, mobile first, no
script needed) at ``/`` on the gateway. Its entrypoints (``entrypoints.PortalEntrypoints``) are
mixed into ``GatewayService``.

- Signing in: a phone number and a texted code, checked by the community service
  (``signin_code_send``, ``signin_code_verify``), which opens a portal session there; the
  cookie carries the session id signed (keys of the ``portal`` family, apart from the
  console's). A number in no record, or shared, gets a page saying what to do.
- Every page asks the gateway's own GraphQL schema, as the resident, with a JWT minted for
  that one request (two minutes): the portal holds no business rule and sees no more than
  any client of the resident's would.
- Every form carries a CSRF token (an HMAC of the session id; before sign-in, of a short-lived
  pre-sign-in cookie). Cookies: ``HttpOnly; SameSite=Strict`` (``Secure`` with
  ``CONSOLE_SECURE_COOKIES``). The elder-friendly mode (适老化: large type, high contrast) is a
  plain preference cookie.

Modules: ``pages`` (rendering, headers, names), ``session`` (cookies, CSRF, signing in and out,
asking GraphQL as the resident), ``entrypoints`` (the ``@http`` routes).
"""
