"""The community service's nameko entrypoints: thin wiring of rules to the store.

Callers pass the verified principal as ``actor`` ({id, role, committee}); the rules in
``cases`` decide what that actor may do.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone

import pymongo
from nameko.timer import timer
from pydantic import ValidationError

from contracts.events.community import ResidenceChangedV1, ResidentRegisteredV1
from contracts.events.library import KioskFaultV1
from contracts.rpc.community import (ActorV1, CaseActionV1, ChangeResidenceV1, CommunityOverviewPartsV1, MatterV1,
                                     PlaceV1, RegisterResidentV1, SubmitCaseV1)
from services.common import clock, outbox, overview
from services.common.arguments import checked_resident_id, day_or_today, page_limit
from services.common.errors import BadInput, Conflict, Forbidden, NotFound
from services.common.health import HealthEntrypoints
from services.common.inbox import inbox_handler
from services.common.logs import Correlation
from services.common.tracing import Tracing
from services.common.metrics import Metrics, Tally
from services.common.outbox import OutboxRelay
from services.common.rpc import RequestKey, rpc
from services.common.storage import Store
from services.community import (access_log, calendar_store, cases, jurisdiction, notices, place_hierarchy, residents,
                                store)
from services.community.open311_http import Open311Entrypoints
from services.community.staff_rpc import STAFF, StaffEntrypoints

log = logging.getLogger(__name__)

MAX_BATCH = 500
QUEUE_PAGE_MAX = 100


def _actor(actor: dict) -> cases.Actor:
    a = ActorV1.model_validate(actor)
    return cases.Actor(a.id, a.role, a.committee)


def _now() -> datetime:
    return datetime.now(timezone.utc).astimezone()


class CommunityService(HealthEntrypoints, Open311Entrypoints, StaffEntrypoints):
    name = "community"

    db = Store(store.INDEXES, builds=(store.rekey_watch,))
    relay = OutboxRelay(store.OUTBOX_COLLECTIONS)
    correlation_id = Correlation()
    request_key = RequestKey()
    tracing = Tracing()
    # open cases raised by the deadline timer: a range of one sparse index, not every open case
    metrics = Metrics(Tally(store.CASES, {"open_flag": {"$gt": ""}}, by="open_flag", gauges={
        "due_soon": ("suite_community_cases_near_deadline", "Open cases the deadline timer raised as due soon"),
        "overdue": ("suite_community_cases_past_deadline", "Open cases the deadline timer raised as overdue")}))

    # ---- places and matters -------------------------------------------------------

    @rpc
    def upsert_places(self, places: list[dict]) -> int:
        """Load sub-districts, committees and desks (idempotent by code). All or nothing:
        every place is checked before any is written."""
        checked = [PlaceV1.model_validate(p) for p in _batch(places)]
        parents = sorted({p.parent for p in checked if p.parent})
        known = {d["_id"]: d["kind"] for d in self.db[store.PLACES].find({"_id": {"$in": parents}}, {"kind": 1})} \
            if parents else {}
        problems = place_hierarchy.problems([p.model_dump() for p in checked], known)
        if problems:
            raise BadInput("; ".join(problems[:5]))
        for place in checked:
            self.db[store.PLACES].update_one({"_id": place.code}, {"$set": {
                "kind": place.kind, "name": place.name, "parent": place.parent}}, upsert=True)
        return len(checked)

    @rpc
    def list_places(self, kind: str | None = None) -> list[dict]:
        query = {"kind": kind} if kind else {}
        return [{"code": p["_id"], "kind": p["kind"], "name": p["name"], "parent": p.get("parent")}
                for p in self.db[store.PLACES].find(query).sort("_id")]

    @rpc
    def upsert_matters(self, matters: list[dict]) -> int:
        checked = [MatterV1.model_validate(m) for m in _batch(matters)]
        for m in checked:
            fields = m.model_dump(exclude={"code"})
            self.db[store.MATTERS].update_one({"_id": m.code}, {"$set": fields}, upsert=True)
        return len(checked)

    @rpc
    def list_matters(self, include_internal: bool = False) -> list[dict]:
        query = {} if include_internal else {"public": True}
        return [_matter_view(m) for m in self.db[store.MATTERS].find(query).sort("_id")]

    @rpc
    def set_notice_template(self, actor: dict, matter_code: str, kind: str, source: str | None) -> dict:
        """Staff edit a matter's notice template; checked in the sandbox before it is saved."""
        who = _actor(actor)
        if who.role not in ("staff", "admin"):
            raise Forbidden("only staff may edit notice templates")
        if kind not in notices.KINDS:
            raise BadInput(f"kind must be one of {', '.join(notices.KINDS)}")
        if source is not None and not isinstance(source, str):
            raise BadInput("a template is text")
        if source is not None:
            try:
                notices.check_template(source)
            except notices.TemplateRefused as exc:
                raise BadInput(f"template refused: {exc}") from None
        update = {"$set": {f"templates.{kind}": source}} if source is not None else {
            "$unset": {f"templates.{kind}": ""}}
        if self.db[store.MATTERS].update_one({"_id": str(matter_code)}, update).matched_count == 0:
            raise NotFound(f"no matter {matter_code}")
        return _matter_view(self.db[store.MATTERS].find_one({"_id": str(matter_code)}))

    # ---- residents ----------------------------------------------------------------

    @rpc
    def register_resident(self, request: dict) -> dict:
        req = RegisterResidentV1.model_validate(request)
        self._require_committees(req.registered_committee, req.residence_committee)
        resident = residents.new_resident(req, date.today(), residents.resident_id_for(self.request_key))
        event = outbox.event(ResidentRegisteredV1.TYPE, residents.registered_event_data(resident),
                             subject=resident["_id"])
        try:
            self.db[store.RESIDENTS].insert_one({**resident, **outbox.pending_fields([event])})
        except pymongo.errors.DuplicateKeyError:
            # A copy of this request taken by another process finds the first one's resident
            # (same id): it answers as the first did. Anyone else's is a conflict.
            if self.request_key and (done := self.db[store.RESIDENTS].find_one(
                    {"_id": resident["_id"], "id_number": resident["id_number"]}, store.RESIDENT_VIEW_FIELDS)):
                return residents.public_view(done)
            raise Conflict("a resident with this ID number is already registered") from None
        return residents.public_view(resident)

    @rpc
    def import_residents(self, rows: list[dict]) -> dict:
        """A batch of an import file: each row stored whole (with its event) or rejected
        with the reason; a rejected row writes nothing."""
        committees = {p["_id"] for p in self.db[store.PLACES].find({"kind": "committee"}, {"_id": 1})}
        docs, positions, rejected = [], [], []
        today = date.today()
        for i, row in enumerate(_batch(rows)):
            try:
                req = RegisterResidentV1.model_validate(
                    {k: (v if v != "" else None) for k, v in row.items()} if isinstance(row, dict) else row)
                for code in filter(None, (req.registered_committee, req.residence_committee)):
                    if code not in committees:
                        raise BadInput(f"unknown committee code {code!r}")
                resident = residents.new_resident(req, today, residents.resident_id_for(self.request_key, i))
            except (ValidationError, BadInput) as exc:
                rejected.append({"index": i, "reason": _reason(exc)})
                continue
            event = outbox.event(ResidentRegisteredV1.TYPE, residents.registered_event_data(resident),
                                 subject=resident["_id"])
            docs.append({**resident, **outbox.pending_fields([event])})
            positions.append(i)
        imported = len(docs)
        if docs:
            try:
                self.db[store.RESIDENTS].insert_many(docs, ordered=False)
            except pymongo.errors.BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                # rows a copy of this request already stored (same ids) count as imported
                ours = self._stored_by_this_request([docs[e["index"]] for e in errors if e.get("code") == 11000])
                for err in errors:
                    if docs[err["index"]]["_id"] in ours:
                        continue
                    reason = ("already registered (same ID number)" if err.get("code") == 11000
                              else err.get("errmsg", "not stored"))
                    rejected.append({"index": positions[err["index"]], "reason": reason})
                    imported -= 1
        return {"imported": imported, "rejected": sorted(rejected, key=lambda r: r["index"])}

    def _stored_by_this_request(self, docs: list[dict]) -> set[str]:
        if not self.request_key or not docs:
            return set()
        found = self.db[store.RESIDENTS].find({"_id": {"$in": [d["_id"] for d in docs]}}, {"id_number": 1})
        numbers = {d["_id"]: d["id_number"] for d in docs}
        return {f["_id"] for f in found if numbers.get(f["_id"]) == f["id_number"]}

    @rpc
    def get_resident(self, resident_id: str) -> dict:
        return residents.public_view(self._resident(resident_id))

    @rpc
    def get_residents(self, resident_ids: list[str]) -> list[dict]:
        """Batch read: one call, whatever the number of ids; ids not known are left out."""
        return self._profiles([checked_resident_id(i) for i in _batch(resident_ids)])

    @rpc
    def resident_overview(self, actor: dict, resident_id: str, parts: dict) -> dict:
        """One call for the gateway's ``me``: the parts asked (``CommunityOverviewPartsV1``),
        each as its single-purpose RPC computes and checks it; a part that fails its check
        fails alone (``services.common.overview``)."""
        who, rid = _actor(actor), checked_resident_id(resident_id)
        return overview.answer(overview.asked(parts, CommunityOverviewPartsV1), {
            "profile": lambda: self._profile(rid),
            "cases": lambda: self._cases_of(who, rid),
            "notices": lambda limit: self._notices(who, rid, limit),
            "access_log": lambda limit: self._access_log(who, rid, limit)})

    @rpc
    def find_resident(self, id_number: str, actor: dict | None = None) -> dict:
        """A desk looks a resident up by the ID number they present (logged for the resident
        when staff do it; imports pass no actor)."""
        doc = self.db[store.RESIDENTS].find_one({"id_number": residents.normalise_id_number(str(id_number))})
        if doc is None:
            raise NotFound("no resident with this ID number")
        if actor is not None:
            access_log.record(self.db, doc["_id"], _actor(actor), "lookup", _now())
        return residents.public_view(doc)

    @rpc
    def get_access_log(self, actor: dict, resident_id: str, limit: int = 50) -> list[dict]:
        """Who on the staff side opened this resident's record: for the resident, or an admin."""
        return self._access_log(_actor(actor), str(resident_id), limit)

    @rpc
    def change_residence(self, actor: dict, request: dict) -> dict:
        who = _actor(actor)
        req = ChangeResidenceV1.model_validate(request)
        if who.role not in ("staff", "admin", "system"):
            raise Forbidden("a move of residence is recorded by staff at a desk")
        self._require_committees(req.residence_committee)
        doc = self._resident(req.resident_id)
        new = residents.moved(doc, req.residence_committee, req.address, req.moved_on, date.today())
        event = outbox.event(ResidenceChangedV1.TYPE, {
            "resident_id": doc["_id"], "from_committee": doc["residence"]["committee"],
            "to_committee": req.residence_committee, "moved_on": req.moved_on}, subject=doc["_id"])
        # Compare-and-set on the residence read, so two moves recorded at once cannot lose one.
        result = self.db[store.RESIDENTS].update_one(
            {"_id": doc["_id"], "residence.since": doc["residence"]["since"],
             "residence.committee": doc["residence"]["committee"]},
            {"$set": {"residence": new["residence"], "residence_history": new["residence_history"],
                      **outbox.record(event)["$set"]}, "$inc": outbox.record(event)["$inc"]})
        if result.matched_count == 0:
            raise Conflict("the residence was changed meanwhile; reload and try again")
        return residents.public_view(new)

    # ---- cases ----------------------------------------------------------------------

    @rpc
    def submit_case(self, actor: dict, request: dict) -> dict:
        who = _actor(actor)
        req = SubmitCaseV1.model_validate(request)
        if who.role in ("resident", "guardian") and who.id != req.resident_id:
            raise Forbidden("residents submit cases for themselves")
        resident = self._resident(req.resident_id)
        matter = self.db[store.MATTERS].find_one({"_id": req.matter_code})
        if matter is None or (not matter.get("public", True) and not who.is_staff):
            raise NotFound(f"no matter {req.matter_code}")
        desk = self._desk(req.desk, resident, who)
        handling = jurisdiction.handling_committee(matter["jurisdiction"], resident, desk["parent"])
        # A copy of this request taken by another process makes the same case id: it answers
        # the first one's case instead of storing a second (and takes no case number).
        case_id = cases.case_id_for(self.request_key)
        if self.request_key and (done := self.db[store.CASES].find_one({"_id": case_id}, store.CASE_FIELDS)):
            return self._same_submission(done, req, who)
        now = _now()
        seq = store.next_number(self.db, f"{desk['_id']}-{now:%Y%m%d}")
        case, event_type, extra = cases.new_case(
            case_id=case_id, number=f"{desk['_id']}-{now:%Y%m%d}-{seq:04d}", matter=matter,
            resident=resident, desk=desk, handling=handling, actor=who, now=now, materials=req.materials,
            note=req.note)
        event = outbox.event(event_type.TYPE, cases.event_data(case, who, extra), subject=case["_id"])
        try:
            self.db[store.CASES].insert_one({**case, **outbox.pending_fields([event])})
        except pymongo.errors.DuplicateKeyError:   # the copy ran at the same time
            return self._same_submission(self.db[store.CASES].find_one({"_id": case_id}, store.CASE_FIELDS), req, who)
        return self._view(case, who)

    def _same_submission(self, case: dict, req: SubmitCaseV1, who: cases.Actor) -> dict:
        if (case["resident_id"], case["matter_code"]) != (req.resident_id, req.matter_code) \
                or not cases.can_see(case, who):
            raise Conflict("this request's key was already used for another submission")
        return self._view(case, who)

    @rpc
    def act_on_case(self, actor: dict, request: dict) -> dict:
        who = _actor(actor)
        req = CaseActionV1.model_validate(request)
        case = self._case(req.case_id, who)
        if req.expected_version is not None and req.expected_version != case["version"]:
            raise Conflict("the case was changed by someone else meanwhile; reload it and try again")
        if req.action == "assign" and req.assignee:
            colleague = self.db[STAFF].find_one({"_id": req.assignee}, {"committee": 1, "active": 1})
            if colleague is None or not colleague.get("active", True) \
                    or colleague["committee"] != case["handling_committee"]:
                raise BadInput(f"{req.assignee!r} is not an active clerk of the handling committee")
        new, event_type, extra = cases.apply(
            case, req.action, who, _now(), calendar_store.load(self.db), note=req.note, reason=req.reason,
            assignee=req.assignee, to_committee=req.to_committee, missing_materials=req.missing_materials,
            materials=req.materials, committee_exists=self._committee_exists)
        event = outbox.event(event_type.TYPE, cases.event_data(new, who, extra), subject=new["_id"])
        store.save_case_step(self.db, case, new, event)
        return self._view(new, who)

    @rpc
    def get_case(self, actor: dict, case_id: str) -> dict:
        who = _actor(actor)
        case = self._case(case_id, who)
        access_log.record(self.db, case["resident_id"], who, "case", _now(), case_id=case["_id"])
        return self._view(case, who)

    @rpc
    def get_cases_for_residents(self, actor: dict, resident_ids: list[str]) -> dict:
        """Batch read for the gateway: {resident_id: [case, ...]} in one call."""
        who = _actor(actor)
        return {rid: self._cases_of(who, rid) for rid in (str(i) for i in _batch(resident_ids))}

    @rpc
    def staff_queue(self, actor: dict, committee: str | None = None, status: str | None = None,
                    matter_code: str | None = None, after: str | None = None, limit: int = 20) -> dict:
        """One committee's open cases: waiting for acceptance first, then by deadline;
        ``after`` is the cursor of the previous page."""
        who = _actor(actor)
        committee = committee or who.committee
        if who.role == "staff" and committee != who.committee:
            raise Forbidden("staff see their own committee's queue")
        if who.role not in ("staff", "admin"):
            raise Forbidden("the case queue is for staff")
        if who.role == "admin" and (not isinstance(committee, str) or not self._committee_exists(committee)):
            # an admin has no committee of their own: an empty queue would look like no work
            raise BadInput(f"name the committee whose queue to list (no committee {committee!r})")
        if status is not None and status not in cases.OPEN:
            raise BadInput(f"status must be one of {', '.join(cases.OPEN)}")
        page, cursor = store.queue_page(self.db, str(committee), status=status,
                                        matter_code=str(matter_code) if matter_code else None,
                                        after=str(after) if after else None,
                                        limit=page_limit(limit, QUEUE_PAGE_MAX))
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
        for case in store.watched_cases(self.db, horizon.isoformat()):
            flag = cases.deadline_flag(case, calendar, day)
            if flag is None:
                continue
            new, event_type = cases.flagged(case, flag, _now())
            system = cases.Actor("system", "system")
            event = outbox.event(event_type.TYPE, cases.event_data(new, system, {}), subject=new["_id"])
            try:
                store.save_case_step(self.db, case, new, event)
                raised += 1
            except Conflict:
                pass  # a clerk acted meanwhile: the next round looks again
        return raised

    # ---- calendar -------------------------------------------------------------------

    @rpc
    def load_calendar_year(self, schedule: dict) -> dict:
        from services.community import calendar_source
        try:
            year = calendar_source.from_json(schedule)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        calendar_store.save(self.db, year)
        return {"year": year.year, "holidays": len(year.holidays), "makeup_workdays": len(year.makeup_workdays),
                "deadlines_set": self._set_waiting_deadlines()}

    @rpc
    def calendar_years(self) -> list[int]:
        return list(calendar_store.load(self.db).years)

    # ---- notices --------------------------------------------------------------------

    @rpc
    def get_notices(self, actor: dict, resident_id: str, limit: int = 50) -> list[dict]:
        return self._notices(_actor(actor), str(resident_id), limit)

    @inbox_handler("cn.community.case.accepted.v1")
    def on_case_accepted(self, event):
        self._notify("receipt", event)

    @inbox_handler("cn.community.case.supplement_requested.v1")
    def on_supplement_requested(self, event):
        self._notify("supplement", event)

    @inbox_handler("cn.community.case.completed.v1")
    def on_case_completed(self, event):
        self._notify("completion", event)

    @inbox_handler("cn.community.case.rejected.v1")
    def on_case_rejected(self, event):
        self._notify("rejection", event)

    @inbox_handler("cn.library.loan.overdue.v1")
    def on_loan_overdue(self, event):
        data = event["data"]
        self._fact_notice("loan_overdue", event, data["patron"], {"title": data["title"] or data["barcode"],
                                                     "barcode": data["barcode"], "due": data.get("due") or ""})

    @inbox_handler("cn.library.loan.recalled.v1")
    def on_loan_recalled(self, event):
        """Another patron waits for the title: the borrower is asked to return it by the new due date."""
        data = event["data"]
        self._fact_notice("loan_recalled", event, data["patron"], {
            "title": data["title"] or data["barcode"], "barcode": data["barcode"], "due": data.get("due") or "",
            "previous_due": data["previous_due"]})

    @inbox_handler("cn.library.hold.ready.v1")
    def on_hold_ready(self, event):
        data = event["data"]
        self._fact_notice("hold_ready", event, data["patron"], {"title": data["title"] or data["title_id"],
                                                   "pickup": data["pickup"], "expires": data.get("expires") or ""})

    @inbox_handler("cn.elearning.credits.awarded.v1")
    def on_credits_awarded(self, event):
        data = event["data"]
        self._fact_notice("credits_awarded", event, data["resident_id"], {
            "course_title": data.get("course_title") or data["course_id"], "amount": data["amount"]})

    @inbox_handler("cn.elearning.course.completed.v1")
    def on_course_completed(self, event):
        """Also for a course worth no credits, where no credits-awarded notice comes."""
        data = event["data"]
        self._fact_notice("course_completed", event, data["resident_id"], {
            "course_title": data["course_title"] or data["course_id"],
            "completed_on": notices.local_time(data["completed_at"], with_time=False)})

    @inbox_handler("cn.elearning.guardian_alert.v1")
    def on_guardian_alert(self, event):
        data = event["data"]
        self._fact_notice(data["kind"], event, data["resident_id"], {
            "student_name": data["student_name"], "amount_fen": data.get("amount_fen") or 0,
            "detail": data.get("detail", ""), "class_title": data.get("class_title", ""),
            "assignment_title": data.get("assignment_title", ""), "due": notices.local_time(data.get("due_at"))})

    @inbox_handler(KioskFaultV1.TYPE)
    def on_kiosk_fault(self, event):
        """A kiosk fault opens a maintenance case at the kiosk's committee, once per fault."""
        data = event["data"]
        committee = data["committee"]
        desk = self.db[store.PLACES].find_one({"kind": "desk", "parent": committee})
        matter = self.db[store.MATTERS].find_one({"_id": "KIOSK_FAULT"})
        if desk is None or matter is None:
            from services.common.inbox import PermanentError
            raise PermanentError(f"no desk at committee {committee!r} or no KIOSK_FAULT matter")
        system = cases.Actor("system", "system")
        now = _now()
        kiosk = {"_id": f"kiosk:{data['kiosk_id']}", "name": data.get("kiosk_name") or data["kiosk_id"],
                 "residence": {"committee": committee}}
        case, _, _ = cases.new_case(
            case_id=f"kf-{event['id']}", number=f"{desk['_id']}-{now:%Y%m%d}-K{event['id'][:6]}", matter=matter,
            resident=kiosk, desk=desk, handling=committee, actor=system, now=now, materials=[],
            note=f"{data['fault_code']}: {data.get('description', '')}"[:2000])
        case, event_type, extra = cases.apply(case, "accept", system, now, calendar_store.load(self.db))
        out = outbox.event(event_type.TYPE, cases.event_data(case, system, extra), subject=case["_id"])
        try:  # the case id comes from the event id: a redelivered fault is a duplicate key
            self.db[store.CASES].insert_one({**case, **outbox.pending_fields([out])})
        except pymongo.errors.DuplicateKeyError:
            log.info("kiosk fault already applied", extra={"event_id": event["id"]})

    # ---- reads: each part of a resident's overview, also answered alone ------------

    def _profiles(self, ids: list[str]) -> list[dict]:
        found = {d["_id"]: d for d in self.db[store.RESIDENTS].find({"_id": {"$in": ids}}, store.RESIDENT_VIEW_FIELDS)}
        return [residents.public_view(found[i]) for i in ids if i in found]

    def _profile(self, resident_id: str) -> dict:
        found = self._profiles([resident_id])
        if not found:
            raise NotFound(f"no resident {resident_id}")
        return found[0]

    def _cases_of(self, who: cases.Actor, resident_id: str) -> list[dict]:
        # one indexed equality each: `$in` on a non-_id field scans on the embedded store
        found = self.db[store.CASES].find({"resident_id": resident_id}, store.CASE_FIELDS) \
            .sort("submitted_at", -1).limit(100)
        return [self._view(c, who) for c in found if cases.can_see(c, who)]

    def _notices(self, who: cases.Actor, resident_id: str, limit: int) -> list[dict]:
        if who.role in ("resident", "guardian") and who.id != resident_id:
            raise Forbidden("residents read their own notices")
        found = self.db[store.NOTICES].find({"resident_id": resident_id}).sort("created_at", -1)
        return [{k: v for k, v in n.items() if k != "_id"} | {"notice_id": n["_id"]}
                for n in found.limit(page_limit(limit, 200))]

    def _access_log(self, who: cases.Actor, resident_id: str, limit: int) -> list[dict]:
        if who.role != "admin" and (who.role not in ("resident", "guardian") or who.id != resident_id):
            raise Forbidden("residents read their own access log")
        return access_log.for_resident(self.db, resident_id, limit)

    # ---- helpers --------------------------------------------------------------------

    def _view(self, case: dict, who: cases.Actor) -> dict:
        return cases.view(case, who, calendar_store.load(self.db), clock.today())

    def _notify(self, kind: str, event: dict) -> None:
        data = event["data"]
        if data["resident_id"].startswith("kiosk:"):
            return  # maintenance cases have no resident to notify
        case = self.db[store.CASES].find_one({"_id": data["case_id"]})
        if case is None:
            raise RuntimeError(f"case {data['case_id']} not found yet")  # retried, then dead-lettered
        matter = self.db[store.MATTERS].find_one({"_id": case["matter_code"]}) or {}
        places = {p["_id"]: p["name"] for p in self.db[store.PLACES].find(
            {"_id": {"$in": [case["accepting_desk"], data["handling_committee"]]}})}
        context = notices.context_for(case, data, places)
        custom = (matter.get("templates") or {}).get(kind)
        notice = notices.render_custom(kind, custom, context) if custom else notices.render_default(kind, context)
        self._store_notice(event["id"], data["resident_id"], data["case_id"], notice)

    def _fact_notice(self, kind: str, event: dict, resident_id: str, context: dict) -> None:
        """Other services' facts become notices in the resident's inbox (a patron's or a
        learner's id is their resident id)."""
        resident = self.db[store.RESIDENTS].find_one({"_id": resident_id}, {"name": 1})
        if resident is None:
            return  # a patron we do not know as a resident (e.g. imported elsewhere): nothing to tell
        notice = notices.render_fact(kind, {**context, "resident_name": resident["name"],
                                               "today": date.today().isoformat()})
        self._store_notice(event["id"], resident["_id"], None, notice)

    def _store_notice(self, event_id: str, resident_id: str, case_id: str | None, notice) -> None:
        try:  # the notice id is the event id: applying the event twice stores one notice
            self.db[store.NOTICES].insert_one({
                "_id": event_id, "resident_id": resident_id, "case_id": case_id, "kind": notice.kind,
                "title": notice.title, "body": notice.body,
                "created_at": datetime.now(timezone.utc).isoformat(), "read": False})
        except pymongo.errors.DuplicateKeyError:
            pass

    def _resident(self, resident_id: str) -> dict:
        doc = self.db[store.RESIDENTS].find_one({"_id": str(resident_id)})
        if doc is None:
            raise NotFound(f"no resident {resident_id}")
        return doc

    def _case(self, case_id: str, who: cases.Actor) -> dict:
        case = self.db[store.CASES].find_one({"_id": str(case_id)})
        if case is None or not cases.can_see(case, who):
            raise NotFound(f"no case {case_id}")  # not telling others that it exists
        return case

    def _set_waiting_deadlines(self) -> int:
        """Cases whose deadline fell in a year with no schedule get it now, if it is loaded."""
        calendar = calendar_store.load(self.db)
        done = 0
        for case in self.db[store.CASES].find({"awaiting_calendar": "yes"}).limit(10_000):
            new = cases.deadline_now_known(case, calendar, _now())
            if new is None:
                continue
            try:
                store.save_case_fix(self.db, case, new)
                done += 1
            except Conflict:
                pass  # a clerk acted meanwhile: their step computed the deadline with this calendar
        return done

    def _committee_exists(self, code: str) -> bool:
        return self.db[store.PLACES].find_one({"_id": str(code), "kind": "committee"}, {"_id": 1}) is not None

    def _require_committees(self, *codes: str | None) -> None:
        for code in filter(None, codes):
            if not self._committee_exists(code):
                raise BadInput(f"unknown committee code {code!r}")

    def _desk(self, code: str | None, resident: dict, who: cases.Actor) -> dict:
        if code:
            desk = self.db[store.PLACES].find_one({"_id": code, "kind": "desk"})
            if desk is None:
                raise BadInput(f"unknown service desk {code!r}")
        else:
            committee = who.committee if who.role == "staff" else resident["residence"]["committee"]
            desk = self.db[store.PLACES].find_one({"parent": committee, "kind": "desk"})
            if desk is None:
                raise BadInput(f"committee {committee!r} has no service desk; choose one")
        if who.role == "staff" and desk["parent"] != who.committee:
            raise Forbidden("staff accept cases at their own committee's desk")
        return desk


def _batch(items) -> list:
    if not isinstance(items, list):
        raise BadInput("expected a list")
    if len(items) > MAX_BATCH:
        raise BadInput(f"at most {MAX_BATCH} items a call")
    return items


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors()[:3])
    return str(exc)


def _matter_view(m: dict) -> dict:
    return {"code": m["_id"], "name": m["name"], "jurisdiction": m["jurisdiction"],
            "materials": m.get("materials", []), "promised_days": m["promised_days"],
            "public": bool(m.get("public", True)), "description": m.get("description", ""),
            "templates": sorted((m.get("templates") or {}).keys())}
