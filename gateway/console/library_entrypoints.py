"""The librarians' ``/console/library`` routes (``@http``), mixed into ``GatewayService``:
the conflicts kiosks and self-check machines left (filters, cursor pages), one conflict with
both sides and its resolve form (CSRF-checked, a note required, audited by the library
service), and the kiosks' health. Only librarians' sessions open them (``LIBRARIANS``); patrons
appear by their masked card numbers only."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from nameko.exceptions import RemoteError
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from gateway.calls import Calls
from gateway.console import pages
from gateway.console.forms import (CONFLICT_ACTION_NAMES, CONFLICT_ID, CONFLICT_KIND_NAMES, CONFLICT_STATUS_NAMES,
                                   LOAN_RELATION_NAMES, conflict_filters, resolution_form)
from gateway.console.session import LIBRARIANS, ConsoleSession, Signed
from gateway.fanout import Unavailable

CONFLICTS_PAGE = 25
NAMES = {"kind_names": CONFLICT_KIND_NAMES, "conflict_status_names": CONFLICT_STATUS_NAMES,
         "action_names": CONFLICT_ACTION_NAMES, "relation_names": LOAN_RELATION_NAMES}


def conflict_url(conflict_id: str, **query) -> str:
    return f"/console/library/conflicts/{quote(conflict_id, safe='')}" + (f"?{urlencode(query)}" if query else "")


class LibraryConsoleEntrypoints(ConsoleSession):
    """The librarians' pages."""

    @http("GET", "/console/library")
    def console_library(self, request):
        """The librarians' part of the console begins with the conflicts (a typed address too)."""
        return pages.redirect("/console/library/conflicts")

    @http("GET", "/console/library/")
    def console_library_slash(self, request):
        return pages.redirect("/console/library/conflicts")

    @http("GET", "/console/library/conflicts")
    def console_conflicts(self, request):
        def work(signed: Signed, calls: Calls):
            filters, problem = conflict_filters(request.args)
            after = (request.args.get("after") or "")[:400] or None
            locations = calls.start("library", "list_locations")
            rows, next_cursor, error, status = [], None, None, 200
            if problem:
                error, status = {"title": problem, "detail": None}, 400
            else:
                query = {k: v for k, v in filters.items() if k != "status"}
                try:
                    page = calls.call("library", "conflicts", filters.get("status", "open"), after, CONFLICTS_PAGE,
                                      query)
                    rows, next_cursor = page["conflicts"], page["next"]
                except (RemoteError, Unavailable) as exc:
                    if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                        raise
                    error, status = _conflicts_error(exc), pages.status_of(exc)
            return self._library_page(
                status, "conflicts.html", signed, locations, rows=rows, filters=filters, after=after, error=error,
                next_url=("/console/library/conflicts?" + urlencode({**filters, "after": next_cursor}))
                if next_cursor else None,
                first_url="/console/library/conflicts" + ("?" + urlencode(filters) if filters else ""))
        return self._console_signed(request, work, roles=LIBRARIANS)

    @http("GET", "/console/library/conflicts/<string:conflict_id>")
    def console_conflict(self, request, conflict_id):
        def work(signed: Signed, calls: Calls):
            flash = "已处理，处理记录已存档。" if request.args.get("done") == "resolved" else None
            return self._conflict_page(signed, calls, conflict_id, flash=flash)
        return self._console_signed(request, work, roles=LIBRARIANS)

    @http("POST", "/console/library/conflicts/<string:conflict_id>/resolve")
    def console_resolve_conflict(self, request, conflict_id):
        def work(signed: Signed, calls: Calls):
            if not CONFLICT_ID.match(conflict_id):
                return self._conflict_not_found(signed, calls)
            resolution, problem = resolution_form(self._console_form(request))
            if problem:
                return self._conflict_page(signed, calls, conflict_id, status=400,
                                           error={"title": problem, "detail": None})
            try:
                calls.call("library", "resolve_conflict", conflict_id, {**resolution, "by": signed.who["login"]})
            except (Unavailable, RemoteError) as exc:
                if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                    raise
                title = "此冲突已由他人处理，页面显示的是最新记录" if getattr(exc, "exc_type", "") == "Conflict" \
                    else pages.error_of(exc)["title"]
                return self._conflict_page(signed, self._console_calls(), conflict_id, status=pages.status_of(exc),
                                           error={"title": title, "detail": getattr(exc, "value", None)})
            return pages.redirect(conflict_url(conflict_id, done="resolved"))
        return self._console_signed(request, work, csrf=True, roles=LIBRARIANS)

    @http("GET", "/console/library/kiosks")
    def console_kiosks(self, request):
        def work(signed: Signed, calls: Calls):
            locations = calls.start("library", "list_locations")
            health = {k["kiosk_id"]: k for k in calls.call("library", "kiosk_status")}
            kiosks = [loc for loc in locations.result() if loc["kind"] == "kiosk"]
            known = {loc["code"] for loc in kiosks}
            # every kiosk location, heard from or not; and any kiosk heard from that is no location (yet)
            rows = [{"code": loc["code"], "name": loc["name"], **health.get(loc["code"], {"status": "never"})}
                    for loc in kiosks] + [{"code": k, "name": "", **h} for k, h in sorted(health.items())
                                          if k not in known]
            return self._library_page(200, "kiosks.html", signed, locations, rows=rows)
        return self._console_signed(request, work, roles=LIBRARIANS)

    # ---- pages --------------------------------------------------------------------------

    def _library_page(self, http_status: int, template: str, signed: Signed, locations, **context) -> Response:
        try:
            known = {loc["code"]: loc for loc in locations.result()}
        except (RemoteError, Unavailable):
            known = {}   # the codes are shown instead of the names

        def location_name(code):
            return known[code]["name"] if code in known else (code or "")
        return pages.html(http_status, template, who=signed.who, role=signed.role,
                          csrf=self.console_keys.csrf("session", signed.session_id), locations=known,
                          location_name=location_name, conflict_url=conflict_url, **NAMES, **context)

    def _conflict_not_found(self, signed: Signed, calls: Calls, error: dict | None = None) -> Response:
        return self._library_page(404, "message.html", signed, calls.start("library", "list_locations"),
                                  title="未找到", error=error or {"title": "未找到该冲突记录", "detail": None})

    def _conflict_page(self, signed: Signed, calls: Calls, conflict_id: str, status: int = 200,
                       error: dict | None = None, flash: str | None = None) -> Response:
        if not CONFLICT_ID.match(conflict_id):
            return self._conflict_not_found(signed, calls)
        shown = calls.start("library", "conflict", conflict_id)
        locations = calls.start("library", "list_locations")
        try:
            conflict = shown.result()
        except RemoteError as exc:
            if exc.exc_type == "NotFound":
                return self._conflict_not_found(signed, calls, error)
            raise
        return self._library_page(status, "conflict.html", signed, locations, conflict=conflict, error=error,
                                  flash=flash)


def _conflicts_error(exc) -> dict:
    if isinstance(exc, RemoteError) and exc.exc_type == "NotFound":
        return {"title": "没有这个地点（图书馆、分馆或自助图书馆）", "detail": exc.value}
    if isinstance(exc, RemoteError) and exc.exc_type == "BadInput":
        return {"title": "筛选条件有误", "detail": exc.value}
    return pages.error_of(exc)
