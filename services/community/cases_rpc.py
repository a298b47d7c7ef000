"""Cases: the community service's RPCs, the deadline timer and the kiosk-fault handler (a
mixin of ``CommunityService``, which gives ``self.db`` and ``self.request_key``). The rules
are in ``cases``, the store in ``cases_store``; ``_view`` is the one place a case view is made."""
from __future__ import annotations

import logging

from nameko.timer import timer

from contracts.events.interdistrict import CaseForwardedV1, MaterialsHandedInV1
from contracts.events.library import KioskFaultV1
from contracts.rpc.community import CaseActionV1, SubmitCaseV1
from services.common import clock, outbox
from services.common.arguments import day_or_today, id_list, page_limit
from services.common.errors import BadInput, Conflict, Forbidden, NotFound
from services.common.inbox import PermanentError, inbox_handler
from services.common.rpc import rpc
from services.community import (access_log, calendar_store, cases, cases_store, jurisdiction, places_store,
                                residents_store, staff_store, supervision)

log = logging.getLogger(__name__)

QUEUE_PAGE_MAX = 100
SYSTEM = cases.Actor("system", "system")


class CaseEntrypoints:
    """Submitting and acting on cases, reading them, the staff queue, deadlines."""

    @rpc
    def submit_case(self, actor: dict, request: dict) -> dict:
        who = cases.actor_of(actor)
        req = SubmitCaseV1.model_validate(request)
        if who.role == "supervisor":
            raise Forbidden("cases are submitted by residents or at a desk")
        if who.role in ("resident", "guardian") and who.id != req.resident_id:
            raise Forbidden("residents submit cases for themselves")
        resident = residents_store.get(self.db, req.resident_id)
        matter = places_store.matter(self.db, req.matter_code)
        if matter is None or (not matter.get("public", True) and not who.is_staff):
            raise NotFound(f"no matter {req.matter_code}")
        desk = self._desk(req.desk, resident, who)
        residence = resident["residence"]["committee"]
        linked = self._linked()
        handling = jurisdiction.handling_committee(matter["jurisdiction"], resident, desk["parent"], {
            residence: (places_store.by_codes(self.db, [residence]).get(residence) or {}).get("parent")}, linked)
        # A copy of this request taken by another process makes the same case id: it answers
        # the first one's case instead of storing a second (and takes no case number).
        case_id = cases.case_id_for(self.request_key)
        if self.request_key and (done := cases_store.get(self.db, case_id, cases_store.CASE_FIELDS)):
            return self._same_submission(done, req, who)
        now = clock.now()
        scope = cases.number_scope(desk["_id"], now)
        case, event_type, extra = cases.new_case(
            case_id=case_id, number=f"{scope}-{cases_store.next_number(self.db, scope):04d}", matter=matter,
            resident=resident, desk=desk, handling=handling, actor=who, now=now, materials=req.materials,
            note=req.note, handling_district=jurisdiction.handling_district(matter["jurisdiction"], resident, linked))
        event = outbox.event(event_type.TYPE, cases.event_data(case, who, extra), subject=case["_id"])
        if not cases_store.add(self.db, case, event):   # the copy ran at the same time
            return self._same_submission(cases_store.get(self.db, case_id, cases_store.CASE_FIELDS), req, who)
        return self._view(case, who)

    def _same_submission(self, case: dict, req: SubmitCaseV1, who: cases.Actor) -> dict:
        if (case["resident_id"], case["matter_code"]) != (req.resident_id, req.matter_code) \
                or not cases.can_see(case, who):
            raise Conflict("this request's key was already used for another submission")
        return self._view(case, who)

    @rpc
    def act_on_case(self, actor: dict, request: dict) -> dict:
        who = cases.actor_of(actor)
        req = CaseActionV1.model_validate(request)
        case = self._case(req.case_id, who)
        if req.expected_version is not None and req.expected_version != case["version"]:
            raise Conflict("the case was changed by someone else meanwhile; reload it and try again")
        if req.action == "assign" and req.assignee:
            colleague = staff_store.get(self.db, req.assignee, {"committee": 1, "subdistrict": 1, "role": 1, "active": 1})
            # a centre's clerks work for its sub-district, whose code a case it handles names
            works_for = colleague and (colleague.get("subdistrict") if colleague.get("role") == "centre"
                                       else colleague.get("committee"))
            if colleague is None or not colleague.get("active", True) or works_for != case["handling_committee"]:
                raise BadInput(f"{req.assignee!r} is not an active clerk of the handling committee")
        new, event_type, extra = cases.apply(
            case, req.action, who, clock.now(), calendar_store.load(self.db), note=req.note, reason=req.reason,
            assignee=req.assignee, to_committee=req.to_committee, missing_materials=req.missing_materials,
            materials=req.materials, committee_exists=lambda code: places_store.committee_exists(self.db, code))
        if event_type is CaseForwardedV1:   # handed on to the other district (interdistrict_rpc)
            event, more = self._forward_event(new, residents_store.get(self.db, new["resident_id"])), []
        elif event_type is MaterialsHandedInV1:   # materials for it handed in here
            event, more = self._supplement_event(new, extra), []
        else:
            event = outbox.event(event_type.TYPE, cases.event_data(new, who, extra), subject=new["_id"])
            more = [reply] if (reply := self._reply_event(case, new)) else []   # a case forwarded here
        cases_store.save_case_step(self.db, case, new, event, *more)
        access_log.record(self.db, case["resident_id"], who, "action", clock.now(), case_id=case["_id"])
        return self._view(new, who)

    @rpc
    def get_case(self, actor: dict, case_id: str) -> dict:
        who = cases.actor_of(actor)
        case = self._case(case_id, who)
        access_log.record(self.db, case["resident_id"], who, "case", clock.now(), case_id=case["_id"])
        return self._view(case, who)

    @rpc
    def get_cases_for_residents(self, actor: dict, resident_ids: list[str]) -> dict:
        """Batch read for the gateway: {resident_id: [case, ...]} in one call."""
        who = cases.actor_of(actor)
        return {rid: self._cases_of(who, rid) for rid in id_list(resident_ids, "resident ids")}

    @rpc
    def staff_queue(self, actor: dict, committee: str | None = None, status: str | None = None,
                    matter_code: str | None = None, after: str | None = None, limit: int = 20) -> dict:
        """One committee's open cases: waiting for acceptance first, then by deadline;
        ``after`` is the cursor of the previous page."""
        who = cases.actor_of(actor)
        committee = committee or who.desk_code
        if who.role == "staff" and committee != who.committee:
            raise Forbidden("staff see their own committee's queue")
        if who.role not in ("staff", "centre", "supervisor", "admin"):
            raise Forbidden("the case queue is for staff")
        if who.role != "staff":
            # no committee of their own (a centre's is its sub-district): an empty queue would look like no work
            place = places_store.by_codes(self.db, [committee]).get(committee) if isinstance(committee, str) else None
            if place is None or place["kind"] not in ("committee", "subdistrict"):
                raise BadInput(f"name the committee whose queue to list (no committee {committee!r})")
            if not supervision.reaches_place(who, committee, supervision.subdistricts_of([committee], {committee: place})):
                raise Forbidden("that committee is outside your sub-district")
        if status is not None and status not in cases.OPEN:
            raise BadInput(f"status must be one of {', '.join(cases.OPEN)}")
        page, cursor = cases_store.queue_page(self.db, str(committee), status=status,
                                              matter_code=str(matter_code) if matter_code else None,
                                              after=str(after) if after else None,
                                              limit=page_limit(limit, QUEUE_PAGE_MAX))
        access_log.record_cases(self.db, page, who, "queue", clock.now())   # the page names them
        return {"cases": [self._view(c, who) for c in page], "next": cursor}

    @timer(interval=60)
    def raise_deadlines(self):
        """Cases due within one working day, or past due, are raised once each."""
        self.check_deadlines_now()

    @rpc
    def check_deadlines_now(self, today: str | None = None) -> int:
        day = day_or_today(today)
        calendar = calendar_store.load(self.db)
        try:
            horizon = calendar.next_working_day(day)
        except Exception:  # year not loaded: nothing can be due soon with certainty
            horizon = day
        raised = 0
        for case in cases_store.watched_cases(self.db, horizon.isoformat()):
            flag = cases.deadline_flag(case, calendar, day)
            if flag is None:
                continue
            new, event_type = cases.flagged(case, flag, clock.now())
            event = outbox.event(event_type.TYPE, cases.event_data(new, SYSTEM, {}), subject=new["_id"])
            try:
                cases_store.save_case_step(self.db, case, new, event)
                raised += 1
            except Conflict:
                pass  # a clerk acted meanwhile: the next round looks again
        return raised

    @inbox_handler(KioskFaultV1.TYPE)
    def on_kiosk_fault(self, event):
        """A kiosk fault opens a maintenance case at the kiosk's committee, once per fault."""
        data = event["data"]
        committee = data["committee"]
        desk = places_store.desk_of(self.db, committee)
        matter = places_store.matter(self.db, "KIOSK_FAULT")
        if desk is None or matter is None:
            raise PermanentError(f"no desk at committee {committee!r} or no KIOSK_FAULT matter")
        now = clock.now()
        kiosk = {"_id": f"kiosk:{data['kiosk_id']}", "name": data.get("kiosk_name") or data["kiosk_id"],
                 "residence": {"committee": committee}}
        case, _, _ = cases.new_case(
            case_id=f"kf-{event['id']}", number=f"{cases.number_scope(desk['_id'], now)}-K{event['id'][:6]}",
            matter=matter, resident=kiosk, desk=desk, handling=committee, actor=SYSTEM, now=now, materials=[],
            note=f"{data['fault_code']}: {data.get('description', '')}"[:2000])
        case, event_type, extra = cases.apply(case, "accept", SYSTEM, now, calendar_store.load(self.db))
        out = outbox.event(event_type.TYPE, cases.event_data(case, SYSTEM, extra), subject=case["_id"])
        # the case id comes from the event id: a redelivered fault is a duplicate key
        if not cases_store.add(self.db, case, out):
            log.info("kiosk fault already applied", extra={"event_id": event["id"]})

    # ---- helpers --------------------------------------------------------------------

    def _view(self, case: dict, who: cases.Actor) -> dict:
        return cases.view(case, who, calendar_store.load(self.db), clock.today())

    def _case(self, case_id: str, who: cases.Actor) -> dict:
        case = cases_store.get(self.db, str(case_id))
        if case is None or not cases.can_see(case, who, self._subdistricts(case, who)):
            raise NotFound(f"no case {case_id}")  # not telling others that it exists
        return case

    def _subdistricts(self, case: dict, who: cases.Actor) -> set[str] | None:
        """The sub-districts of the case's two committees, when ``who`` is bound to one."""
        if who.role not in ("centre", "supervisor"):
            return None
        codes = [case["handling_committee"], case["accepting_committee"]]
        return supervision.subdistricts_of(codes, places_store.by_codes(self.db, codes))

    def _cases_of(self, who: cases.Actor, resident_id: str) -> list[dict]:
        return [self._view(c, who) for c in cases_store.of_resident(self.db, resident_id)
                if cases.can_see(c, who, self._subdistricts(c, who))]

    def _set_waiting_deadlines(self) -> int:
        """Cases whose deadline fell in a year with no schedule get it now, if it is loaded."""
        calendar = calendar_store.load(self.db)
        done = 0
        for case in cases_store.awaiting_calendar(self.db):
            new = cases.deadline_now_known(case, calendar, clock.now())
            if new is None:
                continue
            try:
                cases_store.save_case_fix(self.db, case, new)
                done += 1
            except Conflict:
                pass  # a clerk acted meanwhile: their step computed the deadline with this calendar
        return done

    def _desk(self, code: str | None, resident: dict, who: cases.Actor) -> dict:
        if code:
            desk = places_store.desk(self.db, code)
            if desk is None:
                raise BadInput(f"unknown service desk {code!r}")
        else:   # a clerk's own desk, a centre clerk's centre's, a resident's residence committee's
            committee = who.desk_code if who.role in ("staff", "centre") else resident["residence"]["committee"]
            desk = places_store.desk_of(self.db, committee)
            if desk is None:
                raise BadInput(f"{committee!r} has no service desk; choose one")
        if who.role in ("staff", "centre") and desk["parent"] != who.desk_code:
            raise Forbidden("staff accept cases at their own committee's or centre's desk")
        return desk
