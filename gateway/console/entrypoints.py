"""The ``/console`` routes (``@http``), mixed into ``GatewayService``: each checks what the
request carries, asks the community service and renders the page (see
``gateway/console/__init__.py``)."""
from __future__ import annotations

import base64
from urllib.parse import urlencode

from nameko.exceptions import RemoteError
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from contracts.rpc.community import OPEN_CASE_STATUSES
from gateway.calls import Calls
from gateway.console import pages
from gateway.console.forms import CASE_ID, CASE_NUMBER, DONE, FORMS, ID_NUMBER, MATTER_CODE, action_request
from gateway.console.session import CASE_DESKS, HOME, LIBRARIANS, SUPERVISORS, ConsoleSession, Signed
from gateway.fanout import Unavailable
from services.common import clock

PAGE_SIZE = 20


class ConsoleEntrypoints(ConsoleSession):
    """The ``/console`` pages."""

    # ---- sign in and out ------------------------------------------------------------

    @http("GET", "/console/login")
    def console_login_page(self, request):
        return self._console_guard(lambda: self._console_login_form(request))

    @http("POST", "/console/login")
    def console_login(self, request):
        return self._console_guard(lambda: self._console_sign_in(request))

    @http("POST", "/console/logout")
    def console_logout(self, request):
        return self._console_guard(lambda: self._console_sign_out(request))

    # ---- the queue --------------------------------------------------------------------

    @http("GET", "/console")
    def console_queue(self, request):
        def work(signed: Signed, calls: Calls):
            if signed.role not in CASE_DESKS:   # the console's address, bookmarked: each role's own first page
                return pages.redirect(HOME[signed.role])
            args = request.args
            status = args.get("status") if args.get("status") in OPEN_CASE_STATUSES else None
            matter = args.get("matter") if MATTER_CODE.match(args.get("matter") or "") else None
            after = (args.get("after") or "")[:200] or None
            page = calls.start("community", "staff_queue", signed.actor, None, status, matter, after, PAGE_SIZE)
            matters = calls.start("community", "list_matters", True)
            places = self._console_places(calls)
            page = page.result()
            rows = page["cases"]
            filters = {k: v for k, v in (("status", status), ("matter", matter)) if v}
            flash = None
            if args.get("done") in DONE:
                number = args.get("case") if CASE_NUMBER.match(args.get("case") or "") else ""
                flash = f"{number} {DONE[args['done']]}".strip()
            return self._console_page(
                200, "queue.html", signed, places, rows=rows, status=status, matter=matter,
                matters=matters.result(), open_statuses=OPEN_CASE_STATUSES, after=after, flash=flash,
                next_url=("/console?" + urlencode({**filters, "after": page["next"]})) if page["next"] else None,
                first_url="/console" + ("?" + urlencode(filters) if filters else ""),
                counts={"overdue": sum(r["deadline_mark"] == "overdue" for r in rows),
                        "due_soon": sum(r["deadline_mark"] == "due_soon" for r in rows)})
        return self._console_signed(request, work, roles=CASE_DESKS + LIBRARIANS + SUPERVISORS)

    # ---- one case -----------------------------------------------------------------------

    @http("GET", "/console/cases/<string:case_id>")
    def console_case(self, request, case_id):
        def work(signed: Signed, calls: Calls):
            if not CASE_ID.match(case_id):
                return self._console_not_found(signed, calls)
            done = request.args.get("done")
            return self._console_case_page(signed, calls, case_id, flash=DONE.get(done))
        # a supervisor reads the case and urges it (gateway/console/supervision_entrypoints.py)
        return self._console_signed(request, work, roles=CASE_DESKS + SUPERVISORS)

    @http("GET", "/console/cases/<string:case_id>/files/<string:file_id>")
    def console_material(self, request, case_id, file_id):
        """A file a resident uploaded, for the clerks who may see its case; sent as an attachment
        with its checked type, never shown inline."""
        def work(signed: Signed, calls: Calls):
            return self._console_file(signed, calls, file_id, lambda found: found["case_id"] == case_id)
        return self._console_signed(request, work, roles=CASE_DESKS)

    @http("POST", "/console/cases/<string:case_id>/<string:action>")
    def console_act(self, request, case_id, action):
        def work(signed: Signed, calls: Calls):
            step = FORMS.get(action)
            if step is None or not CASE_ID.match(case_id):
                return self._console_not_found(signed, calls)
            form = self._console_form(request)
            request_body, problem = action_request(case_id, action, step, form)
            if problem:
                return self._console_case_page(signed, calls, case_id, status=400,
                                               error={"title": problem, "detail": None}, form_action=action)
            try:
                case = calls.call("community", "act_on_case", signed.actor, request_body)
            except (Unavailable, RemoteError) as exc:
                if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                    raise
                fresh = self._console_calls()  # new calls: the case reloaded as it is now
                return self._console_case_page(signed, fresh, case_id, status=pages.status_of(exc),
                                               error=pages.error_of(exc), form_action=action)
            if step.leaves_queue:
                return pages.redirect("/console?" + urlencode({"done": action, "case": case["number"]}))
            return pages.redirect(f"/console/cases/{case_id}?done={action}")
        return self._console_signed(request, work, csrf=True, roles=CASE_DESKS)

    # ---- residents ----------------------------------------------------------------------

    @http("GET", "/console/residents")
    def console_residents(self, request):
        def work(signed: Signed, calls: Calls):
            return self._console_resident_page(signed, calls, request.args.get("id_number"))
        return self._console_signed(request, work)

    @http("POST", "/console/residents")
    def console_residents_post(self, request):
        def work(signed: Signed, calls: Calls):
            return self._console_resident_page(signed, calls, self._console_form(request).get("id_number"))
        return self._console_signed(request, work, csrf=True)

    @http("GET", "/console/static/console.css")
    def console_css(self, request):
        return Response(pages.CSS, status=200, content_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})

    # ---- pages --------------------------------------------------------------------------

    def _console_places(self, calls: Calls):
        return calls.start("community", "list_places")

    def _console_page(self, http_status: int, template: str, signed: Signed, places, **context) -> Response:
        names = {p["code"]: p for p in places.result()}

        def place_name(code):
            return names[code]["name"] if code in names else (code or "")
        # whom the signed-in member of staff works for: a committee, a sub-district, or the district
        works_for = signed.who.get("committee") or signed.who.get("subdistrict")
        return pages.html(http_status, template, who=signed.who, role=signed.role,
                          csrf=self.console_keys.csrf("session", signed.session_id), place_name=place_name,
                          places=names, committee_name=place_name(works_for) if works_for else "全区", **context)

    def _console_not_found(self, signed: Signed, calls: Calls) -> Response:
        return self._console_page(404, "message.html", signed, self._console_places(calls), title="未找到",
                                  error={"title": "未找到该案件（或不属于本社区）", "detail": None})

    def _console_file(self, signed: Signed, calls: Calls, file_id: str, belongs) -> Response:
        """A file a resident uploaded (to a case, or as proof of a declared move), for the clerks
        the community service lets read it and only under the page it was listed on
        (``belongs(found)``); sent as an attachment with its checked type, never shown inline."""
        try:
            found = calls.call("community", "download_material", signed.actor, file_id)
        except RemoteError as exc:
            if exc.exc_type in ("NotFound", "BadInput"):
                return self._console_not_found(signed, calls)
            raise
        if not belongs(found):
            return self._console_not_found(signed, calls)
        return Response(base64.b64decode(found["data_base64"]), status=200, content_type=found["content_type"],
                        headers={**pages.HEADERS, "Content-Disposition": pages.attachment(found["name"])})

    def _console_case_page(self, signed: Signed, calls: Calls, case_id: str, status: int = 200,
                           error: dict | None = None, flash: str | None = None,
                           form_action: str | None = None) -> Response:
        case = calls.start("community", "get_case", signed.actor, case_id)
        places = self._console_places(calls)
        # a committee's clerks are listed to assign to (a centre's typed); a supervisor opens no file
        colleagues = calls.start("community", "staff_list", signed.who["committee"]) if signed.role == "staff" else None
        uploads = calls.start("community", "list_materials", signed.actor, case_id) \
            if signed.role in CASE_DESKS else None
        try:
            case = case.result()
        except RemoteError as exc:
            if exc.exc_type == "NotFound":
                if error:  # e.g. transferred away meanwhile: say what happened to the step
                    return self._console_page(status, "message.html", signed, places, title="未找到", error=error)
                return self._console_not_found(signed, calls)
            raise
        forms = [(name, FORMS[name]) for name in case["actions"] if name in FORMS]
        try:
            staff = colleagues.result() if colleagues else []
        except (RemoteError, Unavailable):
            staff = []  # the assign form then takes a typed login
        try:
            files = uploads.result() if uploads else []
        except (RemoteError, Unavailable):
            files = None   # the page says the list could not be read
        return self._console_page(
            status, "case.html", signed, places, case=case, actions=forms, colleagues=staff, error=error,
            flash=flash, form_action=form_action, uploads=files,
            committees=[p for p in places.result() if p["kind"] == "committee"
                        and p["code"] != case["handling_committee"]])

    def _console_resident_page(self, signed: Signed, calls: Calls, id_number: str | None,
                               shown: dict | None = None, status: int = 200, error: dict | None = None,
                               flash: str | None = None, typed: dict | None = None) -> Response:
        """The look-up by ID number, or (``shown``) the resident a form on this page acted for."""
        places = self._console_places(calls)
        resident, found_cases = shown, []
        id_number = (id_number or "").strip().upper()
        if id_number:
            if not ID_NUMBER.match(id_number):
                error, status = {"title": "身份证号格式不正确（应为18位）", "detail": None}, 400
            else:
                try:
                    resident = calls.call("community", "find_resident", id_number, signed.actor)
                except RemoteError as exc:
                    if exc.exc_type == "NotFound":
                        error, status = {"title": "未找到持该身份证号的居民", "detail": None}, 404
                    elif exc.exc_type == "BadInput":
                        error, status = {"title": "身份证号无效（校验位或出生日期不正确）", "detail": None}, 400
                    else:
                        raise
        if resident is not None:
            found_cases = calls.call("community", "get_cases_for_residents", signed.actor,
                                     [resident["resident_id"]]).get(resident["resident_id"], [])
        # the number typed is never echoed back: only the masked one is shown
        return self._console_page(status, "residents.html", signed, places, resident=resident,
                                  cases=found_cases, error=error, searched=bool(id_number), flash=flash,
                                  typed=typed or {}, today=clock.today().isoformat(),
                                  committees=[p for p in places.result() if p["kind"] == "committee"])
