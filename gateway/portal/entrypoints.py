"""The portal's routes (``@http``), mixed into ``GatewayService``: each checks what the request
carries, asks GraphQL as the resident and renders the page (see ``gateway/portal/__init__.py``)."""
from __future__ import annotations

import base64
import re

from nameko.exceptions import RemoteError
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from contracts.rpc.community import MATERIAL_MAX_BYTES, MATTER_AUDIENCES, MATTER_LIFE_EVENTS, MOVE_PROOFS_MAX
from gateway.portal import pages
from gateway.portal.family_pages import PortalFamilyPages
from gateway.portal.learning_pages import PortalLearningPages
from gateway.portal.library_pages import PortalLibraryPages
from gateway.portal.school_pages import PortalSchoolPages
from gateway.portal.session import PortalSession, Refused, Signed
from services.common import clock

CASE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NOTICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
MATTER_CODE = re.compile(r"^[A-Z0-9_]{1,64}$")
ELDER_SECONDS = 365 * 24 * 3600
UPLOAD_BODY = MATERIAL_MAX_BYTES + 64 * 1024   # one file and the form around it

MATTERS = "{ matters { code name jurisdiction materials promisedDays description audiences lifeEvent } }"
HOME = "{ me { name cases { id status } notices(limit: 100) { id read } } }"
CASES = ("{ me { cases { id number status statusName matterName submittedAt deadline deadlineMark "
         "handlingCommittee { name } } } }")
CASE = ("query($id: ID!) { case(id: $id) { id number status statusName matterName materials missingMaterials "
        "submittedAt acceptedOn deadline deadlineMark acceptingDesk { name } handlingCommittee { name } "
        "handlingDistrict remoteCaseNumber "
        "trail { at action toStatus note role district missingMaterials } uploads { id name contentType size uploadedAt } "
        "rating { score comment at } } }")
RATE = ("mutation($id: ID!, $s: Int!, $c: String) { rateCase(caseId: $id, score: $s, comment: $c) "
        "{ rating { score } } }")
NOTICES = "{ me { notices(limit: 100) { id kind title createdAt read caseId } } }"
READ_NOTICE = "mutation($id: ID!) { markNoticeRead(id: $id) { id kind title body createdAt read readAt caseId } }"
ME = ("{ me { name idNumberMasked phoneMasked livesAwayFromRegistration registeredOutsideDistrict "
      "registeredCommittee { name } residenceCommittee { name } } }")
RESIDENCE = ("{ me { name registeredOutsideDistrict registeredCommittee { name } residence { committee { code name } "
             "address since pendingMove { id toCommittee { name } address movedOn declaredAt proofs { name size uploadedAt } } moves { "
             "fromCommittee { name } toCommittee { name } address movedOn declaredByRole confirmedAt status reason "
             "closedAt } } } "
             "places { code name kind parent } }")
DECLARE = ("mutation($c: String!, $a: String!, $d: String!) { declareMove(committee: $c, address: $a, movedOn: $d) "
           "{ pendingMove { movedOn } } }")
WITHDRAW = "mutation { setAsideMove { pendingMove { id } } }"
APPLY = "mutation($m: String!, $note: String) { submitCase(matterCode: $m, note: $note) { id } }"


class PortalEntrypoints(PortalLibraryPages, PortalLearningPages, PortalFamilyPages, PortalSchoolPages, PortalSession):
    """The residents' pages (图书馆, 学习 and guardians' 孩子 in their own modules), and the
    e-schoolbag's pages for teachers and pupils (``/school``)."""

    # ---- signing in and out -----------------------------------------------------------------

    @http("GET", "/login")
    def portal_login_page(self, request):
        def page():
            if self._portal_live(request):
                return pages.redirect("/")
            return self._portal_login_form(request)
        return self._portal_guard(request, page)

    @http("POST", "/login")
    def portal_login(self, request):
        return self._portal_guard(request, lambda: self._portal_send_code(request))

    @http("POST", "/login/code")
    def portal_login_code(self, request):
        return self._portal_guard(request, lambda: self._portal_check_code(request))

    @http("GET", "/login/oidc")
    def portal_login_oidc(self, request):
        return self._portal_guard(request, lambda: self._portal_oidc_start(request))

    @http("GET", "/login/oidc/callback")
    def portal_login_oidc_back(self, request):
        return self._portal_guard(request, lambda: self._portal_oidc_back(request))

    @http("POST", "/logout")
    def portal_logout(self, request):
        return self._portal_sign_out(request, everywhere=False)

    @http("POST", "/logout/everywhere")
    def portal_logout_everywhere(self, request):
        return self._portal_sign_out(request, everywhere=True)

    # ---- home, me, preferences ------------------------------------------------------------

    @http("GET", "/")
    def portal_home(self, request):
        def work(signed: Signed):
            me = self._portal_ask(signed, HOME)["me"]
            return self._portal_page(request, 200, "home.html", signed, me=me, active="home",
                                     open_cases=sum(c["status"] not in ("completed", "rejected", "withdrawn")
                                                    for c in me["cases"]),
                                     unread=sum(not n["read"] for n in me["notices"]))
        return self._portal_signed(request, work)

    @http("GET", "/me")
    def portal_me(self, request):
        def work(signed: Signed):
            return self._portal_page(request, 200, "me.html", signed, me=self._portal_ask(signed, ME)["me"],
                                     active="me")
        return self._portal_signed(request, work)

    @http("GET", "/elder")
    def portal_elder(self, request):
        """Turn the elder-friendly mode on or off (a preference, remembered for a year)."""
        response = pages.redirect(pages.back_to(request.args.get("back")))
        response.set_cookie(pages.ELDER_COOKIE, "1" if request.args.get("on") == "1" else "0", max_age=ELDER_SECONDS,
                            path="/", secure=self._portal_secure(), httponly=True, samesite="Lax")
        return response

    @http("GET", "/static/portal.css")
    def portal_css(self, request):
        return Response(pages.CSS, status=200, content_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})

    # ---- 我的居住地: where I live, declaring a move -----------------------------------------

    @http("GET", "/residence")
    def portal_residence(self, request):
        def work(signed: Signed):
            return self._portal_residence_page(request, signed, declared=request.args.get("declared") == "1",
                                               withdrawn=request.args.get("withdrawn") == "1",
                                               proof=request.args.get("proof") == "1")
        return self._portal_signed(request, work)

    @http("POST", "/residence")
    def portal_declare(self, request):
        """Declare a new residence; a refusal comes back on the form with what was typed."""
        def work(signed: Signed):
            form = self._portal_form(request)
            typed = {"committee": (form.get("committee") or "").strip()[:32],
                     "address": (form.get("address") or "").strip()[:200],
                     "moved_on": (form.get("moved_on") or "").strip()[:10]}
            if not all(typed.values()):
                return self._portal_residence_page(request, signed, status=400, typed=typed,
                                                   problem="请选择居住地所在的社区，并填写详细地址和起始日期。")
            try:
                self._portal_ask(signed, DECLARE, {"c": typed["committee"], "a": typed["address"],
                                                   "d": typed["moved_on"]})
            except Refused as exc:
                status = pages.ERRORS.get(exc.code, pages.FALLBACK)[0]
                return self._portal_residence_page(request, signed, status=status, typed=typed, problem=str(exc))
            return pages.redirect("/residence?declared=1")
        return self._portal_signed(request, work, csrf=True)

    @http("POST", "/residence/proof")
    def portal_move_proof(self, request):
        """Add a file of proof of residence (a lease, a deed, a utility bill) to my declaration."""
        request.max_content_length = UPLOAD_BODY

        def work(signed: Signed):
            move_id = (self._portal_form(request).get("move_id") or "").strip()[:64]
            if not move_id:
                return self._portal_problem(request, 400, "页面已过期", "请刷新“我的居住地”后重新上传。")
            return self._portal_send_file(request, signed, "/residence?proof=1", "upload_move_proof", move_id)
        return self._portal_signed(request, work, csrf=True)

    @http("POST", "/residence/withdraw")
    def portal_withdraw_move(self, request):
        """Withdraw my declaration (a wrong committee or address): I may declare again."""
        def work(signed: Signed):
            try:
                self._portal_ask(signed, WITHDRAW)
            except Refused as exc:
                status = pages.ERRORS.get(exc.code, pages.FALLBACK)[0]
                return self._portal_residence_page(request, signed, status=status, problem=str(exc))
            return pages.redirect("/residence?withdrawn=1")
        return self._portal_signed(request, work, csrf=True)

    def _portal_residence_page(self, request, signed: Signed, status: int = 200, typed: dict | None = None,
                               problem: str | None = None, declared: bool = False,
                               withdrawn: bool = False, proof: bool = False) -> Response:
        found = self._portal_ask(signed, RESIDENCE)
        places = {p["code"]: p for p in found["places"]}
        towns = [(t, [p for p in found["places"] if p["kind"] == "committee" and p["parent"] == t["code"]])
                 for t in found["places"] if t["kind"] == "subdistrict"]
        loose = [p for p in found["places"] if p["kind"] == "committee" and p["parent"] not in places]
        return self._portal_page(request, status, "residence.html", signed, me=found["me"], towns=towns, loose=loose,
                                 typed=typed or {}, today=clock.today().isoformat(), declared=declared,
                                 withdrawn=withdrawn, proof=proof, max_proofs=MOVE_PROOFS_MAX,
                                 max_mb=MATERIAL_MAX_BYTES // (1024 * 1024),
                                 problem={"title": "申报未能提交", "detail": problem} if problem else None,
                                 active="me")

    # ---- 办事: the catalogue ------------------------------------------------------------------

    @http("GET", "/matters")
    def portal_matters(self, request):
        def work(signed: Signed):
            audience = request.args.get("audience") if request.args.get("audience") in MATTER_AUDIENCES else None
            event = request.args.get("event") if request.args.get("event") in MATTER_LIFE_EVENTS else None
            matters = self._portal_ask(signed, MATTERS)["matters"]
            shown = [m for m in matters if (audience is None or audience in m["audiences"])
                     and (event is None or m["lifeEvent"] == event)]
            return self._portal_page(request, 200, "matters.html", signed, matters=shown, audience=audience,
                                     event=event, active="matters")
        return self._portal_signed(request, work)

    @http("GET", "/matters/<string:code>")
    def portal_matter(self, request, code):
        def work(signed: Signed):
            return self._portal_matter_page(request, signed, code)
        return self._portal_signed(request, work)

    @http("POST", "/matters/<string:code>/apply")
    def portal_apply(self, request, code):
        """Apply online: a case at the desk of the resident's residence (the service decides)."""
        def work(signed: Signed):
            note = (self._portal_form(request).get("note") or "").strip()[:500] or None
            if not MATTER_CODE.match(code):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            case = self._portal_ask(signed, APPLY, {"m": code, "note": note})["submitCase"]
            return pages.redirect(f"/cases/{case['id']}?new=1")
        return self._portal_signed(request, work, csrf=True)

    def _portal_matter_page(self, request, signed: Signed, code: str) -> Response:
        matter = next((m for m in self._portal_ask(signed, MATTERS)["matters"] if m["code"] == code), None) \
            if MATTER_CODE.match(code) else None
        if matter is None:
            return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
        return self._portal_page(request, 200, "matter.html", signed, matter=matter, active="matters")

    # ---- 我的办件: my cases -------------------------------------------------------------------

    @http("GET", "/cases")
    def portal_cases(self, request):
        def work(signed: Signed):
            cases = self._portal_ask(signed, CASES)["me"]["cases"]
            return self._portal_page(request, 200, "cases.html", signed, cases=cases, active="cases")
        return self._portal_signed(request, work)

    @http("GET", "/cases/<string:case_id>")
    def portal_case(self, request, case_id):
        def work(signed: Signed):
            if not CASE_ID.match(case_id):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            case = self._portal_ask(signed, CASE, {"id": case_id})["case"]
            return self._portal_page(request, 200, "case.html", signed, case=case, active="cases",
                                     new=request.args.get("new") == "1", uploaded=request.args.get("uploaded") == "1",
                                     rated=request.args.get("rated") == "1",
                                     max_mb=MATERIAL_MAX_BYTES // (1024 * 1024))
        return self._portal_signed(request, work)

    @http("POST", "/cases/<string:case_id>/rating")
    def portal_rate(self, request, case_id):
        """Rate my closed case, 1 to 5 stars and a comment, once; a refusal is a page that says why."""
        def work(signed: Signed):
            if not CASE_ID.match(case_id):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            form = self._portal_form(request)
            score = (form.get("score") or "").strip()
            if score not in ("1", "2", "3", "4", "5"):
                return self._portal_problem(request, 400, "评价未能提交", "请选择 1 到 5 分。")
            # the comment as typed (the form is bounded): cut short, it would be stored as not written
            self._portal_ask(signed, RATE, {"id": case_id, "s": int(score), "c": (form.get("comment") or "").strip()})
            return pages.redirect(f"/cases/{case_id}?rated=1")
        return self._portal_signed(request, work, csrf=True)

    @http("POST", "/cases/<string:case_id>/files")
    def portal_upload(self, request, case_id):
        """Hand in a material for my case: a PDF, JPEG or PNG (checked by its content in the
        community service, which keeps it). Files do not travel through GraphQL: this one
        form calls the service's ``upload_material`` as the resident."""
        request.max_content_length = UPLOAD_BODY

        def work(signed: Signed):
            if not CASE_ID.match(case_id):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            return self._portal_send_file(request, signed, f"/cases/{case_id}?uploaded=1", "upload_material", case_id)
        return self._portal_signed(request, work, csrf=True)

    def _portal_send_file(self, request, signed: Signed, done: str, rpc_name: str, *args) -> Response:
        """The form's one file to the community service's ``rpc_name(actor, *args, name, type,
        base64)`` as the resident; a refusal as a page saying why, else on to ``done``."""
        sent = request.files.get("file")
        if sent is None or not sent.filename:
            return self._portal_problem(request, 400, "请选择要上传的文件", "可上传 PDF、JPG 或 PNG 文件，每个不超过10MB。")
        data = sent.read(MATERIAL_MAX_BYTES + 1)
        try:
            self._portal_calls().call("community", rpc_name, {"id": signed.resident_id, "role": "resident"},
                                      *args, sent.filename, sent.mimetype, base64.b64encode(data).decode("ascii"))
        except RemoteError as exc:
            if exc.exc_type in ("BadInput", "Conflict"):
                return self._portal_problem(request, 400 if exc.exc_type == "BadInput" else 409, "文件未能上传",
                                            exc.value)
            if exc.exc_type == "NotFound":
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            raise
        return pages.redirect(done)

    # ---- 消息: notices ------------------------------------------------------------------------

    @http("GET", "/notices")
    def portal_notices(self, request):
        def work(signed: Signed):
            found = self._portal_ask(signed, NOTICES)["me"]["notices"]
            unread = [n for n in found if not n["read"]]
            return self._portal_page(request, 200, "notices.html", signed, unread=unread,
                                     read=[n for n in found if n["read"]], active="notices")
        return self._portal_signed(request, work)

    @http("GET", "/notices/<string:notice_id>")
    def portal_notice(self, request, notice_id):
        """Opening a notice marks it read (as a mail reader does)."""
        def work(signed: Signed):
            if not NOTICE_ID.match(notice_id):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            notice = self._portal_ask(signed, READ_NOTICE, {"id": notice_id})["markNoticeRead"]
            return self._portal_page(request, 200, "notice.html", signed, notice=notice, active="notices")
        return self._portal_signed(request, work)
