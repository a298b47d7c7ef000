"""A case accepted at the desk (窗口受理), mixed into ``GatewayService``: the clerk looks the
resident up by the ID number they present (``/console/residents``), chooses the matter, ticks
the materials handed over and submits; the community service decides who handles it (全区通办:
the committee where the resident lives or is registered, the sub-district's centre) and the
clerk lands on the new case. A centre clerk accepts at their centre's own desk."""
from __future__ import annotations

from nameko.exceptions import RemoteError
from nameko.web.handlers import http

from gateway.calls import Calls
from gateway.console import pages
from gateway.console.forms import CASE_ID, MATTER_CODE
from gateway.console.session import CASE_DESKS, ConsoleSession, Signed
from gateway.fanout import Unavailable

NOTE_MAX = 2000


class IntakeConsoleEntrypoints(ConsoleSession):
    """The desk's form for a new case on behalf of a resident who came in."""

    @http("GET", "/console/residents/<string:resident_id>/apply")
    def console_intake_form(self, request, resident_id):
        def work(signed: Signed, calls: Calls):
            if not CASE_ID.match(resident_id):
                return self._console_not_found(signed, calls)
            code = (request.args.get("matter") or "").strip()
            return self._console_intake_page(signed, calls, resident_id, code if MATTER_CODE.match(code) else None)
        return self._console_signed(request, work, roles=CASE_DESKS)

    @http("POST", "/console/residents/<string:resident_id>/apply")
    def console_intake(self, request, resident_id):
        def work(signed: Signed, calls: Calls):
            if not CASE_ID.match(resident_id):
                return self._console_not_found(signed, calls)
            form = self._console_form(request)
            code = (form.get("matter") or "").strip()
            typed = {"materials": form.getlist("materials")[:30], "note": (form.get("note") or "").strip()[:NOTE_MAX]}
            if not MATTER_CODE.match(code):
                return self._console_intake_page(signed, calls, resident_id, None, status=400, typed=typed,
                                                 error={"title": "请选择要办理的事项", "detail": None})
            try:
                case = calls.call("community", "submit_case", signed.actor, {
                    "resident_id": resident_id, "matter_code": code, "materials": typed["materials"],
                    "note": typed["note"] or None})
            except (Unavailable, RemoteError) as exc:
                if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                    raise
                return self._console_intake_page(signed, self._console_calls(), resident_id, code,
                                                 status=pages.status_of(exc), typed=typed, error=pages.error_of(exc))
            return pages.redirect(f"/console/cases/{case['case_id']}?done=accepted_at_desk")
        return self._console_signed(request, work, csrf=True, roles=CASE_DESKS)

    def _console_intake_page(self, signed: Signed, calls: Calls, resident_id: str, code: str | None,
                             status: int = 200, typed: dict | None = None, error: dict | None = None):
        matters = calls.start("community", "list_matters", True)
        places = self._console_places(calls)
        try:
            resident = calls.call("community", "get_resident", resident_id)   # masked, as the look-up showed it
        except RemoteError as exc:
            if exc.exc_type == "NotFound":
                return self._console_not_found(signed, calls)
            raise
        listed = matters.result()
        chosen = next((m for m in listed if m["code"] == code), None)
        return self._console_page(status, "intake.html", signed, places, resident=resident, matters=listed,
                                  chosen=chosen, typed=typed or {"materials": [], "note": ""}, error=error,
                                  note_max=NOTE_MAX, active="residents")
