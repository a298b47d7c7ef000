"""The portal's 图书馆 pages (``@http``, a mixin of ``PortalEntrypoints``): my card, loans with
due dates and renewing, holds with their place in the queue, my loan history (from desks,
kiosks and self-check machines alike), catalogue search and placing a hold, the digital shelf
(e-books, audio, video: borrow, read or play through a signed link, return, hold), and the
24-hour kiosks nearest my residence. All through GraphQL as the resident."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from nameko.web.handlers import http

from gateway.portal import pages
from gateway.portal.session import Refused, Signed

BARCODE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
TITLE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
LOCATION = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_QUERY = 100
DONE = {"renewed": "已续借。", "held": "已预约，到馆可取时会通知您。", "borrowed": "已借阅，可在下方“数字资源”中阅读或播放。",
        "returned": "已归还。", "digital_held": "已排队，轮到您时会自动借给您并通知您。"}

MY_LIBRARY = ("{ me { residenceCommittee { code name } libraryCard { cardNumber hasPin } "
              "loans { barcode title due renewals status } "
              "holds { id title pickup status position expires } "
              "loanHistory(limit: 20) { loanId title loanedAt returnedAt fineCents } } "
              "digitalShelf { loans { resourceId title kind due } holds { id title position } } "
              "libraryLocations { code name kind pickup committee { code name } } }")
SEARCH = ("query($q: String!) { catalogue(text: $q, first: 20) { id title authors "
          "availability { location available total } digital { kind licence available copies loanDays } } "
          "libraryLocations(pickup: true) { code name } }")
RENEW = "mutation($b: String!) { renewLoan(barcode: $b) { due } }"
HOLD = "mutation($t: ID!, $p: String!) { placeHold(titleId: $t, pickup: $p) { id position } }"
# the digital shelf's actions: (mutation, the page's note when done, the title of a refusal)
DIGITAL = {
    "borrow": ("mutation($r: ID!) { borrowDigital(resourceId: $r) { due } }", "borrowed", "未能借阅"),
    "return": ("mutation($r: ID!) { returnDigital(resourceId: $r) { resourceId } }", "returned", "未能归还"),
    "hold": ("mutation($r: ID!) { holdDigital(resourceId: $r) { position } }", "digital_held", "未能排队"),
}
OPEN = "mutation($r: ID!) { openDigital(resourceId: $r) { url expiresAt contentType } }"


def nearest_kiosks(locations: list[dict], committee: str | None) -> tuple[list[dict], list[dict]]:
    """The kiosks in my residence committee, and the others."""
    kiosks = [loc for loc in locations if loc["kind"] == "kiosk"]
    mine = [k for k in kiosks if committee and (k.get("committee") or {}).get("code") == committee]
    return mine, [k for k in kiosks if k not in mine]


class PortalLibraryPages:

    @http("GET", "/library")
    def portal_library(self, request):
        def work(signed: Signed):
            data = self._portal_ask(signed, MY_LIBRARY)
            me = data["me"]
            committee = (me.get("residenceCommittee") or {}).get("code")
            near, others = nearest_kiosks(data["libraryLocations"], committee)
            names = {loc["code"]: loc["name"] for loc in data["libraryLocations"]}
            return self._portal_page(request, 200, "library.html", signed, me=me, near=near, others=others,
                                     digital=data["digitalShelf"],
                                     names=names, done=DONE.get(request.args.get("done")), active="library")
        return self._portal_signed(request, work)

    @http("GET", "/library/search")
    def portal_library_search(self, request):
        def work(signed: Signed):
            text = (request.args.get("q") or "").strip()[:MAX_QUERY]
            found, pickups = [], []
            if text:
                data = self._portal_ask(signed, SEARCH, {"q": text})
                found, pickups = data["catalogue"], data["libraryLocations"]
            return self._portal_page(request, 200, "library_search.html", signed, q=text, found=found,
                                     pickups=pickups, active="library")
        return self._portal_signed(request, work)

    @http("POST", "/library/renew")
    def portal_library_renew(self, request):
        def work(signed: Signed):
            barcode = (self._portal_form(request).get("barcode") or "").strip()
            if not BARCODE.match(barcode):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            return self._portal_library_step(request, signed, RENEW, {"b": barcode}, "renewed", "未能续借")
        return self._portal_signed(request, work, csrf=True)

    @http("POST", "/library/hold")
    def portal_library_hold(self, request):
        def work(signed: Signed):
            form = self._portal_form(request)
            title_id, pickup = (form.get("title_id") or "").strip(), (form.get("pickup") or "").strip()
            if not TITLE_ID.match(title_id) or not LOCATION.match(pickup):
                return self._portal_problem(request, 400, "未能预约", "请从检索结果中选择图书和取书地点。")
            return self._portal_library_step(request, signed, HOLD, {"t": title_id, "p": pickup}, "held", "未能预约")
        return self._portal_signed(request, work, csrf=True)

    @http("POST", "/library/digital")
    def portal_library_digital(self, request):
        """Borrow, return or hold a digital resource; or open it: the browser is sent on to a
        link signed for this reader alone, valid for minutes (the library serves the bytes)."""
        def work(signed: Signed):
            form = self._portal_form(request)
            action, resource_id = (form.get("action") or "").strip(), (form.get("resource_id") or "").strip()
            if not TITLE_ID.match(resource_id) or action not in (*DIGITAL, "open"):
                return self._portal_problem(request, 400, "未能完成", "请从图书馆页面选择数字资源。")
            if action == "open":
                try:
                    link = self._portal_ask(signed, OPEN, {"r": resource_id})["openDigital"]
                except Refused as exc:
                    if exc.code in ("FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT"):
                        return self._portal_problem(request, 403 if exc.code == "FORBIDDEN" else 400, "未能打开",
                                                    str(exc))
                    raise
                return self._portal_reader(request, signed, link)
            mutation, done, title = DIGITAL[action]
            return self._portal_library_step(request, signed, mutation, {"r": resource_id}, done, title)
        return self._portal_signed(request, work, csrf=True)

    def _portal_reader(self, request, signed: Signed, link: dict):
        """The page that reads or plays the file from its signed link. The link's origin is the
        library's port: the page's policy lets media load from there alone (a redirect would be
        stopped by the pages' ``form-action 'self'``)."""
        parts = urlsplit(link["url"])
        response = self._portal_page(request, 200, "library_open.html", signed, link=link, active="library")
        response.headers["Content-Security-Policy"] = pages.HEADERS["Content-Security-Policy"] + \
            f"; media-src {parts.scheme}://{parts.netloc}"
        return response

    def _portal_library_step(self, request, signed: Signed, mutation: str, variables: dict, done: str,
                             title: str):
        """A library mutation; the service's refusal (renewal limit, a hold already placed) is
        shown in its words on a page, never as an error."""
        try:
            self._portal_ask(signed, mutation, variables)
        except Refused as exc:
            if exc.code in ("CONFLICT", "BAD_USER_INPUT", "NOT_FOUND", "FORBIDDEN"):
                return self._portal_problem(request, {"CONFLICT": 409, "FORBIDDEN": 403}.get(exc.code, 400), title,
                                            str(exc))
            raise
        return pages.redirect(f"/library?done={done}")
