"""The ``/console/reports`` routes (``@http``), mixed into ``GatewayService``: the list of
reports a supervisor or a sub-district centre may open, each report's page (a chart drawn by
Chart.js beside the same figures as a table, so it reads without scripts) and its CSV and XLSX
downloads. Who reaches which figures is each service's decision (the community service's scope
rules, ``services/community/reports.py``; the library's and e-learning's district readers,
``services/common/report_tables.py``); the console asks before anything else."""
from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from nameko.exceptions import RemoteError
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from gateway.calls import Calls
from gateway.console import pages, report_files
from gateway.console.forms import PLACE_CODE
from gateway.console.session import CENTRES, SUPERVISORS, ConsoleSession, Signed
from gateway.fanout import Unavailable

READERS = SUPERVISORS + CENTRES
MONTH = re.compile(r"^\d{4}-\d{2}$")
FILES = {"csv": ("text/csv; charset=utf-8", report_files.as_csv),
         "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", report_files.as_xlsx)}


class ReportConsoleEntrypoints(ConsoleSession):
    """The reports' pages and downloads."""

    @http("GET", "/console/reports")
    def console_reports(self, request):
        def work(signed: Signed, calls: Calls):
            return self._console_page(200, "reports.html", signed, self._console_places(calls),
                                      reports=report_files.readable_by(signed), active="reports")
        return self._console_signed(request, work, roles=READERS)

    @http("GET", "/console/reports/<string:name>")
    def console_report(self, request, name):
        def work(signed: Signed, calls: Calls):
            report = self._readable_report(signed, name)
            if report is None:
                return self._console_page(404, "message.html", signed, self._console_places(calls), title="未找到",
                                          error={"title": "没有这个报表（或不属于您的岗位）", "detail": None})
            args = _args(request)
            places = self._console_places(calls)
            try:
                table = self._report_table(signed, calls, report, args)
            except (RemoteError, Unavailable) as exc:
                if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                    raise
                return self._console_page(pages.status_of(exc), "message.html", signed, places, title="无法查看报表",
                                          error=pages.error_of(exc))
            query = urlencode({k: v for k, v in args.items() if v})
            response = self._console_page(
                200, "report.html", signed, places, report=report, table=table, args=args, active="reports",
                subdistricts=[] if report.district_only or signed.who.get("subdistrict") else
                [p for p in places.result() if p["kind"] == "subdistrict"],
                downloads={fmt: f"/console/reports/{name}.{fmt}" + (f"?{query}" if query else "") for fmt in FILES})
            response.headers["Content-Security-Policy"] = pages.HEADERS["Content-Security-Policy"] \
                .replace("default-src 'none';", "default-src 'none'; script-src 'self';")
            return response
        return self._console_signed(request, work, roles=READERS)

    @http("GET", "/console/reports/<string:name>.csv")
    def console_report_csv(self, request, name):
        return self._report_file(request, name, "csv")

    @http("GET", "/console/reports/<string:name>.xlsx")
    def console_report_xlsx(self, request, name):
        return self._report_file(request, name, "xlsx")

    @http("GET", "/console/static/reports.js")
    def console_reports_js(self, request):
        return _asset(pages.GATEWAY / "static" / "reports.js")

    @http("GET", "/console/static/vendor/chart.umd.js")
    def console_chart_js(self, request):
        return _asset(pages.GATEWAY / "static" / "vendor" / "chart.umd.js")

    def _report_file(self, request, name: str, fmt: str):
        def work(signed: Signed, calls: Calls):
            report = self._readable_report(signed, name)
            if report is None:
                return self._console_page(404, "message.html", signed, self._console_places(calls), title="未找到",
                                          error={"title": "没有这个报表（或不属于您的岗位）", "detail": None})
            try:
                table = self._report_table(signed, calls, report, _args(request))
            except (RemoteError, Unavailable) as exc:
                if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                    raise
                return self._console_page(pages.status_of(exc), "message.html", signed, self._console_places(calls),
                                          title="无法下载报表", error=pages.error_of(exc))
            content_type, render = FILES[fmt]
            filename = f"{report_files.period_title(table)}.{fmt}"
            return Response(render(table), status=200, content_type=content_type, headers={
                **pages.HEADERS, "Content-Disposition":
                    f"attachment; filename=\"{name}.{fmt}\"; filename*=UTF-8''{quote(filename)}"})
        return self._console_signed(request, work, roles=READERS)

    def _readable_report(self, signed: Signed, name: str):
        return next((r for r in report_files.readable_by(signed) if r.name == name), None)

    def _report_table(self, signed: Signed, calls: Calls, report, args: dict) -> dict:
        extra = (args["subdistrict"] or None,) if report.service == "community" else ()
        return calls.call(report.service, report.rpc, signed.actor, report.name, args["since"] or None,
                          args["until"] or None, *extra)


def _args(request) -> dict:
    """The period and sub-district a report URL may carry (anything else is left out; the
    service checks the values)."""
    args = request.args
    return {"since": args.get("since") if MONTH.match(args.get("since") or "") else "",
            "until": args.get("until") if MONTH.match(args.get("until") or "") else "",
            "subdistrict": args.get("subdistrict") if PLACE_CODE.match(args.get("subdistrict") or "") else ""}


def _asset(path) -> Response:
    if not path.is_file():   # not built (no npm where this was installed): the tables stand alone
        return Response("", status=404, headers={"X-Content-Type-Options": "nosniff"})
    return Response(path.read_bytes(), status=200, content_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
