"""The portal's pages for guardians (``@http``, a mixin of ``PortalEntrypoints``): each child
in the school pilots (电子书包) — assignments and marks, the terminal wallet (balance, recent
payments, limits, freezing, a top-up as a payment order) and messages with the class teacher.
All through GraphQL as the resident; the e-schoolbag decides whose child is whose."""
from __future__ import annotations

import re

from nameko.web.handlers import http

from gateway.portal import pages
from gateway.portal.school_session import SchoolRefused
from gateway.portal.session import Refused, Signed

STUDENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
THREAD_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
MAX_TEXT = 1000
MAX_YUAN = 10_000          # the most one top-up or one limit a page takes (the service has its own rules)
DONE = {"frozen": "已冻结：在校终端将不能消费。", "unfrozen": "已解冻。", "limits": "限额已更新。",
        "sent": "消息已发送。", "consent": "已同意：孩子可以使用电子书包。",
        "no-consent": "已撤回同意：孩子不能再登录电子书包。"}

CHILDREN = ("{ me { children { id name grade classes assignments { id title classTitle dueAt state "
            "submission { submittedAt late mark comment } } wallet { balanceFen frozen perPaymentLimitFen "
            "dailyLimitFen spentTodayFen lowBalance recent { kind amountFen at } } } "
            "messageThreads { id studentId subject lastMessageAt unread } } }")
THREAD = ("query($id: ID!) { me { thread(id: $id) { id studentId subject messages { id text at authorRole fromMe "
          "seen } } } }")
READ = "mutation($id: ID!) { markThreadRead(threadId: $id) { id } }"
FREEZE = "mutation($s: ID!, $f: Boolean!) { freezeWallet(studentId: $s, frozen: $f) { status } }"
LIMITS = ("mutation($s: ID!, $p: Int, $d: Int) { setWalletLimits(studentId: $s, perPaymentFen: $p, dailyFen: $d) "
          "{ status } }")
TOP_UP = "mutation($s: ID!, $a: Int!) { topUpWallet(studentId: $s, amountFen: $a) { orderId amountFen status } }"
POST = "mutation($s: ID, $t: ID, $x: String!) { postMessage(studentId: $s, threadId: $t, text: $x) { id } }"


def fen_of(raw: str | None, required: bool = True) -> int | None:
    """Yuan as people type them (``50``, ``12.5``) -> fen; None for an empty optional field."""
    raw = (raw or "").strip()
    if not raw and not required:
        return None
    if not re.fullmatch(r"\d{1,5}(\.\d{1,2})?", raw) or not 0 < float(raw) <= MAX_YUAN:
        raise ValueError(f"金额请填写 0.01 至 {MAX_YUAN} 元之间的数字")
    yuan, _, cents = raw.partition(".")
    return int(yuan) * 100 + int((cents + "00")[:2])


class PortalFamilyPages:

    @http("GET", "/family")
    def portal_family(self, request):
        def work(signed: Signed):
            me = self._portal_ask(signed, CHILDREN)["me"]
            return self._portal_page(request, 200, "family.html", signed, children=me["children"] or [],
                                     threads=me["messageThreads"] or [], active="family")
        return self._portal_signed(request, work)

    @http("GET", "/family/<string:student_id>")
    def portal_child(self, request, student_id):
        def work(signed: Signed):
            return self._portal_child_page(request, signed, student_id, order=None)
        return self._portal_signed(request, work)

    @http("POST", "/family/<string:student_id>/freeze")
    def portal_child_freeze(self, request, student_id):
        def work(signed: Signed):
            frozen = self._portal_form(request).get("frozen") == "1"
            return self._portal_family_step(request, signed, student_id, FREEZE, {"f": frozen},
                                            "frozen" if frozen else "unfrozen")
        return self._portal_signed(request, work, csrf=True)

    @http("POST", "/family/<string:student_id>/limits")
    def portal_child_limits(self, request, student_id):
        def work(signed: Signed):
            form = self._portal_form(request)
            try:
                per, daily = fen_of(form.get("per_payment"), False), fen_of(form.get("daily"), False)
            except ValueError as exc:
                return self._portal_problem(request, 400, "限额未能设置", str(exc))
            return self._portal_family_step(request, signed, student_id, LIMITS, {"p": per, "d": daily}, "limits")
        return self._portal_signed(request, work, csrf=True)

    @http("POST", "/family/<string:student_id>/top-up")
    def portal_child_top_up(self, request, student_id):
        """A top-up is an order to pay with the payment provider: the wallet is credited when the
        provider says it is paid, never by this page."""
        def work(signed: Signed):
            try:
                amount = fen_of(self._portal_form(request).get("amount"))
            except ValueError as exc:
                return self._portal_problem(request, 400, "未能充值", str(exc))
            if not STUDENT_ID.match(student_id):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            try:
                order = self._portal_ask(signed, TOP_UP, {"s": student_id, "a": amount})["topUpWallet"]
            except Refused as exc:
                return self._portal_family_refused(request, exc, "未能充值")
            return self._portal_child_page(request, signed, student_id, order=order)
        return self._portal_signed(request, work, csrf=True)

    @http("POST", "/family/<string:student_id>/message")
    def portal_child_message(self, request, student_id):
        def work(signed: Signed):
            text = (self._portal_form(request).get("text") or "").strip()
            if not text or len(text) > MAX_TEXT:
                return self._portal_problem(request, 400, "消息未能发送", f"请写1至{MAX_TEXT}个字。")
            return self._portal_family_step(request, signed, student_id, POST, {"x": text, "t": None}, "sent")
        return self._portal_signed(request, work, csrf=True)

    @http("GET", "/family/threads/<string:thread_id>")
    def portal_thread(self, request, thread_id):
        """A thread with the teacher; opening it marks it read."""
        def work(signed: Signed):
            if not THREAD_ID.match(thread_id):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            try:
                thread = self._portal_ask(signed, THREAD, {"id": thread_id})["me"]["thread"]
                self._portal_ask(signed, READ, {"id": thread_id})
            except Refused as exc:
                return self._portal_family_refused(request, exc, "无法查看")
            if thread is None:
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            return self._portal_page(request, 200, "thread.html", signed, thread=thread, active="family",
                                     sent=request.args.get("done") == "sent")
        return self._portal_signed(request, work)

    @http("POST", "/family/threads/<string:thread_id>/reply")
    def portal_thread_reply(self, request, thread_id):
        def work(signed: Signed):
            text = (self._portal_form(request).get("text") or "").strip()
            if not THREAD_ID.match(thread_id) or not text or len(text) > MAX_TEXT:
                return self._portal_problem(request, 400, "消息未能发送", f"请写1至{MAX_TEXT}个字。")
            try:
                self._portal_ask(signed, POST, {"t": thread_id, "x": text, "s": None})
            except Refused as exc:
                return self._portal_family_refused(request, exc, "消息未能发送")
            return pages.redirect(f"/family/threads/{thread_id}?done=sent")
        return self._portal_signed(request, work, csrf=True)

    @http("POST", "/family/<string:student_id>/consent")
    def portal_child_consent(self, request, student_id):
        """The guardian's recorded consent to the child's use of the e-schoolbag (needed under 14)."""
        def work(signed: Signed):
            given = self._portal_form(request).get("given") == "1"
            if not STUDENT_ID.match(student_id):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            try:
                self._school_call("guardian_consent", signed.resident_id, student_id, given)
            except SchoolRefused:
                return self._portal_problem(request, 404, "没有找到这个孩子", "只能查看本人作为监护人登记的孩子。")
            return pages.redirect(f"/family/{student_id}?done={'consent' if given else 'no-consent'}")
        return self._portal_signed(request, work, csrf=True)

    @http("POST", "/family/<string:student_id>/open")
    def portal_child_open(self, request, student_id):
        """Open the child's own e-schoolbag on this device (a pupil's session, marked as opened
        by the guardian)."""
        def work(signed: Signed):
            if not STUDENT_ID.match(student_id):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            try:
                opened = self._school_call("pupil_session_for_guardian", signed.resident_id, student_id)
            except SchoolRefused as exc:
                if exc.status == 403:
                    return self._portal_problem(request, 403, "需要先同意", str(exc))
                return self._portal_problem(request, 404, "没有找到这个孩子", "只能查看本人作为监护人登记的孩子。")
            return self._school_signed_in(request, opened, pages.redirect("/school"))
        return self._portal_signed(request, work, csrf=True)

    # ---- helpers ------------------------------------------------------------------------------

    def _portal_child_page(self, request, signed: Signed, student_id: str, order: dict | None):
        child = next((c for c in self._portal_ask(signed, CHILDREN)["me"]["children"] or []
                      if c["id"] == student_id), None) if STUDENT_ID.match(student_id) else None
        if child is None:   # not a child of this guardian: as if there were none
            return self._portal_problem(request, 404, "没有找到这个孩子", "只能查看本人作为监护人登记的孩子。")
        consent = self._school_call("guardian_consents", signed.resident_id).get(student_id) or {}
        return self._portal_page(request, 200, "child.html", signed, child=child, order=order, active="family",
                                 done=DONE.get(request.args.get("done")), consent=consent)

    def _portal_family_step(self, request, signed: Signed, student_id: str, mutation: str, variables: dict,
                            done: str):
        if not STUDENT_ID.match(student_id):
            return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
        try:
            self._portal_ask(signed, mutation, {"s": student_id, **variables})
        except Refused as exc:
            return self._portal_family_refused(request, exc, "未能办理")
        return pages.redirect(f"/family/{student_id}?done={done}")

    def _portal_family_refused(self, request, exc: Refused, title: str):
        if exc.code in ("FORBIDDEN", "NOT_FOUND"):
            return self._portal_problem(request, 404, "没有找到这个孩子", "只能查看本人作为监护人登记的孩子。")
        if exc.code in ("BAD_USER_INPUT", "CONFLICT"):
            return self._portal_problem(request, 400, title, str(exc))
        raise exc
