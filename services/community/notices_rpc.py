"""Residents' notices: the community service's RPC and the event handlers that write them
(a mixin of ``CommunityService``, which gives ``self.db``). A case's steps and other
services' facts become notices (``notices`` renders them, ``notices_store`` keeps them)."""
from __future__ import annotations

from contracts.events.community import (CaseAcceptedV1, CaseCompletedV1, CaseRejectedV1,
                                        CaseSupplementRequestedV1)
from contracts.events.elearning import CourseCompletedV1, CreditsAwardedV1, GuardianAlertV1
from contracts.events.library import HoldReadyV1, LoanOverdueV1, LoanRecalledV1
from services.common import clock
from services.common.errors import BadInput, Forbidden, NotFound
from services.common.inbox import inbox_handler
from services.common.rpc import rpc
from services.community import cases, cases_store, interdistrict, notices, notices_store, places_store, residents_store


class NoticeEntrypoints:
    """A resident's notices, and the events that write them."""

    @rpc
    def get_notices(self, actor: dict, resident_id: str, limit: int = 50) -> list[dict]:
        return self._notices(cases.actor_of(actor), str(resident_id), limit)

    @rpc
    def mark_notice_read(self, actor: dict, notice_id: str) -> dict:
        """A resident marks one of their own notices read (opening it in the portal)."""
        who = cases.actor_of(actor)
        if who.role not in ("resident", "guardian"):
            raise Forbidden("residents mark their own notices read")
        if not isinstance(notice_id, str) or not 1 <= len(notice_id) <= 100:
            raise BadInput("notice_id is a notice's id")
        notice = notices_store.mark_read(self.db, who.id, notice_id, clock.now().isoformat())
        if notice is None:   # another resident's notice is no notice of yours
            raise NotFound("no such notice")
        return notice

    # ---- a case's steps -----------------------------------------------------------------

    @inbox_handler(CaseAcceptedV1.TYPE)
    def on_case_accepted(self, event):
        self._notify("receipt", event)

    @inbox_handler(CaseSupplementRequestedV1.TYPE)
    def on_supplement_requested(self, event):
        self._notify("supplement", event)

    @inbox_handler(CaseCompletedV1.TYPE)
    def on_case_completed(self, event):
        self._notify("completion", event)

    @inbox_handler(CaseRejectedV1.TYPE)
    def on_case_rejected(self, event):
        self._notify("rejection", event)

    # ---- other services' facts ------------------------------------------------------------

    @inbox_handler(LoanOverdueV1.TYPE)
    def on_loan_overdue(self, event):
        data = event["data"]
        self._fact_notice("loan_overdue", event, data["patron"], {"title": data["title"] or data["barcode"],
                                                     "barcode": data["barcode"], "due": data.get("due") or ""})

    @inbox_handler(LoanRecalledV1.TYPE)
    def on_loan_recalled(self, event):
        """Another patron waits for the title: the borrower is asked to return it by the new due date."""
        data = event["data"]
        self._fact_notice("loan_recalled", event, data["patron"], {
            "title": data["title"] or data["barcode"], "barcode": data["barcode"], "due": data.get("due") or "",
            "previous_due": data["previous_due"]})

    @inbox_handler(HoldReadyV1.TYPE)
    def on_hold_ready(self, event):
        """A copy waits on a pickup shelf; or a digital resource's licence copy came to the reader
        (``digital``: lent at once, readable until ``expires``)."""
        data = event["data"]
        self._fact_notice("digital_hold_ready" if data.get("digital") else "hold_ready", event, data["patron"], {
            "title": data["title"] or data["title_id"], "pickup": data["pickup"], "expires": data.get("expires") or ""})

    @inbox_handler(CreditsAwardedV1.TYPE)
    def on_credits_awarded(self, event):
        data = event["data"]
        self._fact_notice("credits_awarded", event, data["resident_id"], {
            "course_title": data.get("course_title") or data["course_id"], "amount": data["amount"]})

    @inbox_handler(CourseCompletedV1.TYPE)
    def on_course_completed(self, event):
        """Also for a course worth no credits, where no credits-awarded notice comes."""
        data = event["data"]
        self._fact_notice("course_completed", event, data["resident_id"], {
            "course_title": data["course_title"] or data["course_id"],
            "completed_on": notices.local_time(data["completed_at"], with_time=False)})

    @inbox_handler(GuardianAlertV1.TYPE)
    def on_guardian_alert(self, event):
        data = event["data"]
        self._fact_notice(data["kind"], event, data["resident_id"], {
            "student_name": data["student_name"], "amount_fen": data.get("amount_fen") or 0,
            "detail": data.get("detail", ""), "class_title": data.get("class_title", ""),
            "assignment_title": data.get("assignment_title", ""), "due": notices.local_time(data.get("due_at"))})

    # ---- helpers --------------------------------------------------------------------------

    def _notices(self, who: cases.Actor, resident_id: str, limit: int) -> list[dict]:
        if who.role in ("resident", "guardian") and who.id != resident_id:
            raise Forbidden("residents read their own notices")
        if who.role in ("centre", "supervisor"):   # a resident's inbox is no case of theirs
            raise Forbidden("a resident's notices are theirs")
        return notices_store.of_resident(self.db, resident_id, limit)

    def _notify(self, kind: str, event: dict) -> None:
        data = event["data"]
        if data["resident_id"].startswith("kiosk:") or interdistrict.is_foreign(data["resident_id"]):
            return  # maintenance cases have no resident to notify; another district tells its residents
        case = cases_store.get(self.db, data["case_id"])
        if case is None:
            raise RuntimeError(f"case {data['case_id']} not found yet")  # retried, then dead-lettered
        matter = places_store.matter(self.db, case["matter_code"]) or {}
        places = places_store.names(self.db, [case["accepting_desk"], data["handling_committee"]])
        context = notices.context_for(case, data, places, clock.today())
        custom = (matter.get("templates") or {}).get(kind)
        notice = notices.render_custom(kind, custom, context) if custom else notices.render_default(kind, context)
        notices_store.add(self.db, event["id"], data["resident_id"], data["case_id"], notice, clock.now().isoformat())

    def _fact_notice(self, kind: str, event: dict, resident_id: str, context: dict) -> None:
        """Other services' facts become notices in the resident's inbox (a patron's or a
        learner's id is their resident id)."""
        resident = residents_store.name_of(self.db, resident_id)
        if resident is None:
            return  # a patron we do not know as a resident (e.g. imported elsewhere): nothing to tell
        notice = notices.render_fact(kind, {**context, "resident_name": resident["name"],
                                            "today": clock.today().isoformat()})
        notices_store.add(self.db, event["id"], resident["_id"], None, notice, clock.now().isoformat())
