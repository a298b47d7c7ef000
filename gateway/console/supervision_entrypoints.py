"""The supervisors' ``/console/supervision`` routes and the clerks' answer to a 督办 (``@http``),
mixed into ``GatewayService``: the red and yellow counts per sub-district and committee in the
supervisor's (or a centre's) scope, a committee's open cases by deadline, the 督办 form on a case page
(CSRF-checked), and the form on which the handling committee's clerk answers it. Which cases a
supervisor reaches and that they act on none is the community service's decision
(services/community/supervision.py)."""
from __future__ import annotations

from urllib.parse import urlencode

from nameko.exceptions import RemoteError
from nameko.web.handlers import http

from gateway.calls import Calls
from gateway.console import pages
from gateway.console.forms import CASE_ID, PLACE_CODE, URGE_ID, answer_form, urge_form
from gateway.console.session import CASE_DESKS, CENTRES, SUPERVISORS, ConsoleSession, Signed
from gateway.fanout import Unavailable

CASES_PAGE = 50


class SupervisionConsoleEntrypoints(ConsoleSession):
    """Electronic supervision's pages."""

    @http("GET", "/console/supervision")
    def console_supervision(self, request):
        def work(signed: Signed, calls: Calls):
            counts = calls.start("community", "supervision_counts", signed.actor)
            places = self._console_places(calls)
            return self._console_page(200, "supervision.html", signed, places, counts=counts.result())
        return self._console_signed(request, work, roles=SUPERVISORS + CENTRES)   # a centre: its sub-district

    @http("GET", "/console/supervision/committees/<string:code>")
    def console_supervision_committee(self, request, code):
        def work(signed: Signed, calls: Calls):
            if not PLACE_CODE.match(code):
                return self._console_not_found(signed, calls)
            after = (request.args.get("after") or "")[:200] or None
            places = self._console_places(calls)
            try:
                page = calls.call("community", "staff_queue", signed.actor, code, None, None, after, CASES_PAGE)
            except RemoteError as exc:
                if exc.exc_type not in pages.CODE_TITLES:
                    raise
                return self._console_page(pages.status_of(exc), "message.html", signed, places, title="无法查看",
                                          error=pages.error_of(exc))
            base = f"/console/supervision/committees/{code}"
            return self._console_page(200, "supervision_cases.html", signed, places, code=code, rows=page["cases"],
                                      after=after, first_url=base,
                                      next_url=f"{base}?" + urlencode({"after": page["next"]}) if page["next"] else None)
        return self._console_signed(request, work, roles=SUPERVISORS + CENTRES)

    @http("POST", "/console/supervision/cases/<string:case_id>/urge")
    def console_urge(self, request, case_id):
        def work(signed: Signed, calls: Calls):
            if not CASE_ID.match(case_id):
                return self._console_not_found(signed, calls)
            body, problem = urge_form(self._console_form(request))
            if problem:
                return self._console_case_page(signed, calls, case_id, status=400,
                                               error={"title": problem, "detail": None}, form_action="urge")
            return self._supervision_step(signed, calls, case_id, "urge_case", body["note"], body["reply_by"],
                                          done="urged")
        return self._console_signed(request, work, csrf=True, roles=SUPERVISORS)

    @http("POST", "/console/cases/<string:case_id>/urges/<string:urge_id>/answer")
    def console_answer_urge(self, request, case_id, urge_id):
        def work(signed: Signed, calls: Calls):
            if not CASE_ID.match(case_id) or not URGE_ID.match(urge_id):
                return self._console_not_found(signed, calls)
            answer, problem = answer_form(self._console_form(request))
            if problem:
                return self._console_case_page(signed, calls, case_id, status=400,
                                               error={"title": problem, "detail": None}, form_action="answer")
            return self._supervision_step(signed, calls, case_id, "answer_urge", urge_id, answer, done="answered")
        return self._console_signed(request, work, csrf=True, roles=CASE_DESKS)

    def _supervision_step(self, signed: Signed, calls: Calls, case_id: str, rpc: str, *args, done: str):
        try:
            calls.call("community", rpc, signed.actor, case_id, *args)
        except (Unavailable, RemoteError) as exc:
            if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                raise
            return self._console_case_page(signed, self._console_calls(), case_id, status=pages.status_of(exc),
                                           error=pages.error_of(exc))
        return pages.redirect(f"/console/cases/{case_id}?done={done}")
