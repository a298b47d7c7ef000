"""The clerks' 人户分离 routes (``@http``), mixed into ``GatewayService``: the declarations of a
new residence in the clerk's committee and the form that confirms one (CSRF-checked), the two
lists ("living here, registered elsewhere" and "registered here, living elsewhere", masked as
the community service answers them) and the committee's inbox with its read state."""
from __future__ import annotations

from urllib.parse import urlencode

from nameko.exceptions import RemoteError
from nameko.web.handlers import http

from gateway.calls import Calls
from gateway.console import pages
from gateway.console.forms import CASE_ID, NOTICE_ID
from gateway.console.session import CASE_DESKS, ConsoleSession, Signed
from gateway.fanout import Unavailable

LIST_PAGE = 50
LISTS = {"living-here": ("living_here", "居住在本社区、户籍在外的居民"),
         "registered-here": ("registered_here", "户籍在本社区、居住在外的居民")}
NOTICE_KINDS = {"move_declared": "居住地申报", "moved_in": "迁入", "moved_out": "迁出",
                "registered_here_moved": "户籍居民迁居", "case_handed_on": "收受分离案件", "case_forwarded": "外区转来案件",
                "case_urged": "督办"}


class ResidenceConsoleEntrypoints(ConsoleSession):
    """The clerks' pages of moves, the two lists and the inbox."""

    @http("GET", "/console/moves")
    def console_moves(self, request):
        def work(signed: Signed, calls: Calls):
            flash = {"1": "居住地申报已确认，居民的居住地已变更。",
                     "returned": "申报已退回，居民会看到退回的原因，可以重新申报。"}.get(request.args.get("done"))
            return self._console_moves_page(signed, calls, flash=flash)
        return self._console_signed(request, work)

    @http("POST", "/console/moves/<string:resident_id>/confirm")
    def console_confirm_move(self, request, resident_id):
        def work(signed: Signed, calls: Calls):
            if not CASE_ID.match(resident_id):
                return self._console_not_found(signed, calls)
            move_id = (self._console_form(request).get("move_id") or "").strip()[:64]
            if not move_id:
                return self._console_moves_page(signed, calls, status=400,
                                                error={"title": "页面已过期：缺少申报编号，请刷新后重试", "detail": None})
            try:
                calls.call("community", "confirm_move", signed.actor, {"resident_id": resident_id, "move_id": move_id})
            except (Unavailable, RemoteError) as exc:
                if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                    raise
                return self._console_moves_page(signed, self._console_calls(), status=pages.status_of(exc),
                                                error=pages.error_of(exc))
            return pages.redirect("/console/moves?done=1")
        return self._console_signed(request, work, csrf=True)

    @http("GET", "/console/moves/<string:resident_id>/proofs/<string:file_id>")
    def console_move_proof(self, request, resident_id, file_id):
        """A file of proof the resident added to their declaration, for the clerks who confirm it."""
        def work(signed: Signed, calls: Calls):
            return self._console_file(signed, calls, file_id, lambda found: found["resident_id"] == resident_id
                                      and found["move_id"] is not None)
        return self._console_signed(request, work)

    @http("POST", "/console/moves/<string:resident_id>/return")
    def console_return_move(self, request, resident_id):
        """Return (退回) a declaration with a reason the resident reads: they may declare again."""
        def work(signed: Signed, calls: Calls):
            if not CASE_ID.match(resident_id):
                return self._console_not_found(signed, calls)
            form = self._console_form(request)
            move_id, reason = (form.get("move_id") or "").strip()[:64], (form.get("reason") or "").strip()[:200]
            if not move_id or not reason:
                return self._console_moves_page(signed, calls, status=400,
                                                error={"title": "请写明退回的原因（居民会看到）", "detail": None})
            try:
                calls.call("community", "set_aside_move", signed.actor,
                           {"resident_id": resident_id, "move_id": move_id, "reason": reason})
            except (Unavailable, RemoteError) as exc:
                if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                    raise
                return self._console_moves_page(signed, self._console_calls(), status=pages.status_of(exc),
                                                error=pages.error_of(exc))
            return pages.redirect("/console/moves?done=returned")
        return self._console_signed(request, work, csrf=True)

    @http("POST", "/console/residents/<string:resident_id>/move")
    def console_record_move(self, request, resident_id):
        """A move recorded at the desk (the resident present with proof): it takes effect at once,
        declared and confirmed by this clerk in the resident's history; the registration
        committee is told as for a confirmed declaration."""
        def work(signed: Signed, calls: Calls):
            if not CASE_ID.match(resident_id):
                return self._console_not_found(signed, calls)
            form = self._console_form(request)
            typed = {"committee": (form.get("committee") or "").strip()[:32],
                     "address": (form.get("address") or "").strip()[:200],
                     "moved_on": (form.get("moved_on") or "").strip()[:10]}
            try:
                if not all(typed.values()):
                    raise ValueError("请选择新居住地的居委会或村委会，并填写详细地址和起始日期")
                moved = calls.call("community", "change_residence", signed.actor, {
                    "resident_id": resident_id, "residence_committee": typed["committee"],
                    "address": typed["address"], "moved_on": typed["moved_on"]})
            except (ValueError, Unavailable, RemoteError) as exc:
                if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                    raise
                if isinstance(exc, RemoteError) and exc.exc_type == "NotFound":
                    return self._console_not_found(signed, self._console_calls())
                error = {"title": str(exc), "detail": None} if isinstance(exc, ValueError) else pages.error_of(exc)
                fresh = self._console_calls()
                shown = fresh.call("community", "get_resident", resident_id)   # masked, as the look-up showed it
                return self._console_resident_page(signed, fresh, None, shown=shown, typed=typed, error=error,
                                                   status=400 if isinstance(exc, ValueError) else pages.status_of(exc))
            return self._console_resident_page(signed, calls, None, shown=moved,
                                               flash="迁居已登记，居民的居住地已变更，户籍地社区会收到通知。")
        return self._console_signed(request, work, csrf=True)

    @http("GET", "/console/living-here")
    def console_living_here(self, request):
        return self._console_away_list(request, "living-here")

    @http("GET", "/console/registered-here")
    def console_registered_here(self, request):
        return self._console_away_list(request, "registered-here")

    def _console_away_list(self, request, which: str):
        def work(signed: Signed, calls: Calls):
            rpc, title = LISTS[which]
            after = (request.args.get("after") or "")[:200] or None
            page = calls.start("community", rpc, signed.actor, None, after, LIST_PAGE)
            places = self._console_places(calls)
            page = page.result()
            return self._console_page(200, "away.html", signed, places, title=title, which=which,
                                      rows=page["rows"], after=after, first_url=f"/console/{which}",
                                      next_url=f"/console/{which}?" + urlencode({"after": page["next"]})
                                      if page["next"] else None)
        return self._console_signed(request, work)

    @http("GET", "/console/inbox")
    def console_inbox(self, request):
        def work(signed: Signed, calls: Calls):
            return self._console_inbox_page(signed, calls)
        return self._console_signed(request, work, roles=CASE_DESKS)   # a centre's inbox is its sub-district's

    @http("POST", "/console/inbox/<string:notice_id>/read")
    def console_inbox_read(self, request, notice_id):
        def work(signed: Signed, calls: Calls):
            if not NOTICE_ID.match(notice_id):
                return self._console_not_found(signed, calls)
            try:
                calls.call("community", "mark_committee_notice_read", signed.actor, notice_id)
            except RemoteError as exc:
                if exc.exc_type not in pages.CODE_TITLES:
                    raise
                return self._console_inbox_page(signed, self._console_calls(), status=pages.status_of(exc),
                                                error=pages.error_of(exc))
            return pages.redirect("/console/inbox")
        return self._console_signed(request, work, csrf=True, roles=CASE_DESKS)

    # ---- pages --------------------------------------------------------------------------

    def _console_moves_page(self, signed: Signed, calls: Calls, status: int = 200, error: dict | None = None,
                            flash: str | None = None):
        page = calls.start("community", "moves_to_confirm", signed.actor, None, None, LIST_PAGE)
        places = self._console_places(calls)
        return self._console_page(status, "moves.html", signed, places, rows=page.result()["rows"], error=error,
                                  flash=flash)

    def _console_inbox_page(self, signed: Signed, calls: Calls, status: int = 200, error: dict | None = None):
        found = calls.start("community", "committee_notices", signed.actor, None, LIST_PAGE)
        places = self._console_places(calls)
        notices = found.result()
        return self._console_page(status, "inbox.html", signed, places, unread=[n for n in notices if not n["read"]],
                                  read=[n for n in notices if n["read"]], kinds=NOTICE_KINDS, error=error)
