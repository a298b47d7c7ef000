"""A case's life, free of I/O: who may do what, in which state, and what it causes.

    submitted → accepted → in_progress → completed
                   ↘ supplement_required ↗ (the clock pauses, then resumes)
    rejected (reason required) from any open state; withdrawn by the resident before completion.

A case handled in another district (``handling_district``, 收受分离 across districts) is
accepted here into ``forwarded`` and goes out (``interdistrict``); from then on this district
only records what that district replies (``remote_reply``); nobody here acts on it, except to
hand in the materials it asks for (``supplement``, sent on as ``MaterialsHandedInV1``).
Its clock (``clock_here``): while ``forwarded`` the deadline timer watches an answer limit of
``FORWARD_ANSWER_DAYS`` working days (a lost link or a silent district is raised, due soon
then overdue, like any deadline); once that district accepted, the promised time limit runs
on its calendar and its timer: the case here shows its deadline and is not watched.

Every step returns the new case (version + 1, one more audit entry) and the event to
publish; the store writes both in one version-checked update.
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from contracts.events import community as ev
from contracts.events import interdistrict as idev
from contracts.rpc.community import CASE_STATUS_NAMES, OPEN_CASE_STATUSES, ActorV1
from services.common import clock
from services.common.errors import BadInput, Conflict, Forbidden
from services.common.storage import due_key
from services.community import workdays

OPEN = OPEN_CASE_STATUSES
FINAL = ("completed", "rejected", "withdrawn")
CLOCK_RUNNING = ("accepted", "in_progress")   # the deadline counts (paused while supplementing)
NO_DEADLINE_KEY = "9999-12-31"
FORWARD_ANSWER_DAYS = 2   # working days for the other district to answer a forwarded case


@dataclass(frozen=True)
class Actor:
    id: str
    role: str                      # resident, guardian, staff, centre, supervisor, admin, system
    committee: str | None = None
    subdistrict: str | None = None  # a centre clerk's, or a supervisor's (None: the whole district)

    @property
    def is_staff(self) -> bool:
        """Sees the trail's actors: the district's staff of every role."""
        return self.role in ("staff", "centre", "supervisor", "admin", "system")

    @property
    def desk_code(self) -> str | None:
        """The code whose cases this actor handles: a clerk's committee, a centre clerk's
        sub-district (its centre handles the SUBDISTRICT matters: ``jurisdiction``)."""
        return {"staff": self.committee, "centre": self.subdistrict}.get(self.role)


def actor_of(payload: dict) -> Actor:
    """The verified principal a caller passes ({id, role, committee, subdistrict})."""
    a = ActorV1.model_validate(payload)
    return Actor(a.id, a.role, a.committee, a.subdistrict)


class IllegalTransition(Conflict):
    pass


@dataclass(frozen=True)
class Step:
    allowed_from: tuple[str, ...]
    who: str                       # "accepting", "handling", "owner", "owner_or_staff"


STEPS: dict[str, Step] = {
    "accept": Step(("submitted",), "accepting"),
    "start": Step(("accepted",), "handling"),
    "request_supplement": Step(("accepted", "in_progress"), "handling"),
    "supplement": Step(("supplement_required",), "owner_or_staff"),
    "assign": Step(("accepted", "in_progress", "supplement_required"), "handling"),
    "transfer": Step(("accepted", "in_progress", "supplement_required"), "handling"),
    "complete": Step(("accepted", "in_progress"), "handling"),
    "reject": Step(OPEN, "handling_or_accepting"),
    "withdraw": Step(OPEN, "owner"),
}

STATUS_NAMES = CASE_STATUS_NAMES


def can_see(case: dict, actor: Actor, subdistricts: set[str] | None = None) -> bool:
    """Residents see their own cases; clerks the cases their committee handles or accepted; a
    centre clerk and a supervisor every case of their sub-district (``subdistricts``: those
    of the case's two committees, ``supervision.subdistricts_of``), a district supervisor all."""
    if actor.role in ("admin", "system") or (actor.role == "supervisor" and actor.subdistrict is None):
        return True
    if actor.role == "staff":
        return actor.committee in (case["handling_committee"], case["accepting_committee"])
    if actor.role in ("centre", "supervisor"):
        return actor.subdistrict in (subdistricts or set())
    return actor.id == case["resident_id"]


def _may(case: dict, actor: Actor, who: str) -> bool:
    # a supervisor acts on no case (only by 督办, ``supervision``); a centre clerk on the cases its centre handles
    staff_of = lambda *committees: actor.role in ("staff", "centre") and actor.desk_code in committees  # noqa: E731
    owner = actor.role in ("resident", "guardian") and actor.id == case["resident_id"]
    if case.get("handling_district") and case["status"] != "submitted":
        # forwarded: the other district acts and this one records its replies, but the materials
        # it asks for are handed in here, at the accepting desk (收受分离), and sent on
        return who == "owner_or_staff" and case["status"] == "supplement_required" \
            and (owner or staff_of(case["accepting_committee"]) or actor.role in ("admin", "system"))
    if actor.role in ("admin", "system"):
        return True
    allowed = {
        "accepting": staff_of(case["accepting_committee"]),
        "handling": staff_of(case["handling_committee"]),
        "handling_or_accepting": staff_of(case["handling_committee"])
        or (case["status"] == "submitted" and staff_of(case["accepting_committee"])),
        "owner": owner,
        # once accepted and handed on (收受分离), the accepting desk only watches: the materials
        # go to the committee that handles it
        "owner_or_staff": owner or staff_of(case["handling_committee"])
        or (case["status"] == "submitted" and staff_of(case["accepting_committee"])),
    }[who]
    return allowed


def _authorize(case: dict, actor: Actor, who: str, action: str) -> None:
    if not _may(case, actor, who):
        raise Forbidden(f"you may not {action.replace('_', ' ')} this case")


def allowed_actions(case: dict, actor: Actor) -> list[str]:
    """The actions ``actor`` may take on the case in its state now (what ``apply`` accepts
    from them, arguments aside), in the contract's order."""
    return [name for name, step in STEPS.items()
            if case["status"] in step.allowed_from and _may(case, actor, step.who)]


def clock_here(case: dict) -> bool:
    """Whether this district's deadline timer watches the case: while its clock runs, or for a
    case handled in another district only while it waits for that district's answer."""
    if case.get("handling_district"):
        return case["status"] == "forwarded"
    return case["status"] in CLOCK_RUNNING


def deadline_mark(case: dict, calendar: workdays.WorkingCalendar, today: date) -> str | None:
    """``overdue`` or ``due_soon`` (by the next working day) as of ``today`` while the clock
    runs, else None. Without the schedule of today's year, a past deadline is still overdue
    and what the timer raised stands; nothing is guessed from weekdays."""
    if not clock_here(case) or not case.get("deadline"):
        return None
    deadline = date.fromisoformat(case["deadline"])
    try:
        status = workdays.due_status(calendar, today, deadline)
    except workdays.YearNotLoaded:
        return "overdue" if today > deadline else case.get("deadline_flag")
    return None if status == "ok" else status


def deadline_key(case: dict) -> str:
    """Sort key of the staff queue: cases waiting for acceptance first, then by deadline."""
    if case["status"] == "submitted":
        return f"0000-00-00|{case['submitted_at']}|{case['_id']}"
    return f"{case.get('deadline') or NO_DEADLINE_KEY}|{case['_id']}"


def queue_of(case: dict) -> str | None:
    """Whose queue the case waits in: the accepting desk's committee until accepted."""
    if case["status"] in FINAL:
        return None
    if case.get("handling_district"):   # handled elsewhere: the accepting desk keeps watching it
        return case["accepting_committee"]
    return case["accepting_committee"] if case["status"] == "submitted" else case["handling_committee"]


def _finish(case: dict) -> dict:
    case["queue"] = queue_of(case)
    case["deadline_key"] = deadline_key(case)
    # The staff queue reads one range of one indexed field (committee|deadline|id): fast on
    # every store (the embedded one does not use compound indexes for equality + sort).
    if case["queue"]:
        case["queue_key"] = f"{case['queue']}|{case['deadline_key']}"
    else:
        case.pop("queue_key", None)
    # What the deadline timer scans (a range on one indexed field): cases that may still
    # have to be raised. Absent once raised as overdue or when the clock is not running.
    # What the deadline gauges count (a range on one sparse index): the flag of open cases only.
    if case["queue"] and case.get("deadline_flag"):
        case["open_flag"] = case["deadline_flag"]
    else:
        case.pop("open_flag", None)
    if clock_here(case) and case.get("deadline") and case.get("deadline_flag") != "overdue":
        case["watch"] = due_key(case["deadline"])
    else:
        case.pop("watch", None)
    return with_urge_due(case)


def with_urge_due(case: dict) -> dict:
    """The earliest reply day of the open case's unanswered 督办 (``urge_due``, a sparse index):
    the counts of late ones read a range of it, not every case."""
    waiting = sorted(u["reply_by"] for u in case.get("urges") or [] if not u.get("answer"))
    if waiting and case["status"] not in FINAL:
        case["urge_due"] = waiting[0]
    else:
        case.pop("urge_due", None)
    return case


CASE_IDS = uuid.UUID("6f1d3c2a-5b7e-4c21-9a57-2f0e8d6b4c11")   # the namespace of case ids made from request keys


def case_id_for(request_key: str | None) -> str:
    """The id of a case submitted by the RPC request ``request_key``: the same for a copy of
    that request, so that a copy cannot store a second case; random without a key."""
    return uuid.uuid5(CASE_IDS, request_key).hex if request_key else uuid.uuid4().hex


def number_scope(desk_id: str, now: datetime) -> str:
    """What case numbers count in: a desk and the district's day (``D010101-20260929``)."""
    return f"{desk_id}-{clock.local(now):%Y%m%d}"


def new_case(*, case_id: str, number: str, matter: dict, resident: dict, desk: dict, handling: str,
             actor: Actor, now: datetime, materials: list[str], note: str | None,
             handling_district: str | None = None, origin: dict | None = None) -> tuple[dict, type, dict]:
    """A submitted case. ``handling_district``: handled in that other district (``handling`` is
    its committee there); ``origin``: a case another district forwarded here (``interdistrict``)."""
    case = {
        "_id": case_id,
        "number": number,
        "resident_id": resident["_id"],
        "resident_name": resident["name"],
        "matter_code": matter["_id"],
        "matter_name": matter["name"],
        "jurisdiction": matter["jurisdiction"],
        "promised_days": matter["promised_days"],
        "accepting_desk": desk["_id"],
        "accepting_committee": desk["parent"],
        "handling_committee": handling,
        "status": "submitted",
        "assignee": None,
        "materials": list(materials),
        "missing_materials": [],
        "submitted_at": now.isoformat(),
        "accepted_on": None,
        "deadline": None,
        "deadline_problem": None,
        "paused_remaining": None,
        "paused_from": None,
        "deadline_flag": None,
        "trail": [_entry(actor, now, "submit", None, "submitted", note)],
        "version": 1,
    }
    if handling_district:
        case["handling_district"] = handling_district
    if origin:
        case.update(origin)
    return _finish(case), ev.CaseSubmittedV1, {}


def _entry(actor: Actor, now: datetime, action: str, from_status: str | None, to_status: str,
           note: str | None, **extra) -> dict:
    entry = {"at": now.isoformat(), "by": actor.id, "role": actor.role, "action": action,
             "from": from_status, "to": to_status, "note": note}
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


def _deadline_of(calendar: workdays.WorkingCalendar, basis: dict) -> date:
    start = date.fromisoformat(basis["from"])
    if basis["kind"] == "accept":
        return workdays.deadline_for(calendar, start, basis["days"])
    return workdays.resume_deadline(calendar, start, basis["days"])


def _set_deadline(case: dict, calendar: workdays.WorkingCalendar, basis: dict) -> None:
    """A deadline in a year with no schedule loaded is flagged, never guessed; the case then
    keeps what its deadline counts from, so loading that year can set it (``deadline_now_known``)."""
    try:
        case["deadline"] = _deadline_of(calendar, basis).isoformat()
        case["deadline_problem"] = None
        case.pop("awaiting_calendar", None)
        case.pop("deadline_basis", None)
    except workdays.YearNotLoaded as exc:
        case["deadline"] = None
        case["deadline_problem"] = str(exc)
        case["awaiting_calendar"] = "yes"   # a sparse index finds these when a year is loaded
        case["deadline_basis"] = basis


def deadline_now_known(case: dict, calendar: workdays.WorkingCalendar, now: datetime) -> dict | None:
    """The case with its deadline set, once the schedule it was waiting for is loaded; None
    while it still cannot be computed. An audit entry by the system says why it changed."""
    if not case.get("awaiting_calendar") or not case.get("deadline_basis") \
            or case["status"] not in ("accepted", "in_progress", "forwarded"):
        return None
    new = copy.deepcopy(case)
    _set_deadline(new, calendar, case["deadline_basis"])
    if new["deadline"] is None:
        return None
    new["trail"] = case["trail"] + [_entry(Actor("system", "system"), now, "deadline_set", case["status"],
                                           case["status"], f"工作日安排已载入，办理期限为 {new['deadline']}")]
    new["version"] = case["version"] + 1
    return _finish(new)


def apply(case: dict, action: str, actor: Actor, now: datetime, calendar: workdays.WorkingCalendar, *,
          note: str | None = None, reason: str | None = None, assignee: str | None = None,
          to_committee: str | None = None, missing_materials: list[str] | None = None,
          materials: list[str] | None = None, committee_exists: Callable[[str], bool] = lambda c: True
          ) -> tuple[dict, type, dict]:
    """The case after ``action`` at the instant ``now``, the event type to publish and its
    extra data. Its days (accepted on, the deadline's count) are the district's."""
    step = STEPS.get(action)
    if step is None:
        raise BadInput(f"unknown case action {action!r}")
    _authorize(case, actor, step.who, action)
    before = case["status"]
    if before not in step.allowed_from:
        raise IllegalTransition(f"a case that is {before} ({STATUS_NAMES[before]}) does not allow '{action}'")
    new = copy.deepcopy(case)
    today = clock.local(now).date()
    extra: dict = {}
    event: type

    handed_on = None
    if action == "accept" and case.get("handling_district"):
        # handed on to the other district; its answer is awaited within FORWARD_ANSWER_DAYS
        new["status"], event = "forwarded", idev.CaseForwardedV1
        handed_on = case["handling_committee"]
        new["accepted_on"] = today.isoformat()
        _set_deadline(new, calendar, {"kind": "accept", "from": today.isoformat(), "days": FORWARD_ANSWER_DAYS})
    elif action == "accept":
        new["status"], event = "accepted", ev.CaseAcceptedV1
        if case["handling_committee"] != case["accepting_committee"]:   # 收受分离: handed on by this step
            handed_on = case["handling_committee"]
        new["accepted_on"] = today.isoformat()
        _set_deadline(new, calendar, {"kind": "accept", "from": today.isoformat(), "days": new["promised_days"]})
    elif action == "start":
        new["status"], event = "in_progress", ev.CaseStartedV1
    elif action == "request_supplement":
        if not missing_materials:
            raise BadInput("name the missing materials the resident must supply")
        new["status"], event = "supplement_required", ev.CaseSupplementRequestedV1
        new["paused_from"] = before
        new["missing_materials"] = list(missing_materials)
        if new["deadline"]:
            new["paused_remaining"] = _remaining(calendar, today, new)
        extra["missing_materials"] = list(missing_materials)
    elif action == "supplement" and case.get("handling_district"):
        # sent on to the district that handles it; its clock resumes there, and it replies
        new["status"], event = "accepted", idev.MaterialsHandedInV1
        new["materials"] = new["materials"] + [m for m in (materials or []) if m not in new["materials"]]
        new["missing_materials"] = []
        extra = {"materials": list(materials or new["materials"])}
    elif action == "supplement":
        new["status"], event = new["paused_from"] or "accepted", ev.CaseSupplementedV1
        new["materials"] = new["materials"] + [m for m in (materials or []) if m not in new["materials"]]
        new["missing_materials"] = []
        if new["paused_remaining"] is not None:
            remaining = new["paused_remaining"]
            _set_deadline(new, calendar, {"kind": "resume", "from": today.isoformat(), "days": remaining})
        new["paused_remaining"], new["paused_from"], new["deadline_flag"] = None, None, None
    elif action == "assign":
        if not assignee:
            raise BadInput("name the colleague to assign the case to")
        new["assignee"], event = assignee, ev.CaseAssignedV1
        extra["assignee"] = assignee
    elif action == "transfer":
        if not reason:
            raise BadInput("a transfer needs a reason")
        if not to_committee or to_committee == case["handling_committee"]:
            raise BadInput("name the other committee to transfer the case to")
        if not committee_exists(to_committee):
            raise BadInput(f"unknown committee code {to_committee!r}")
        new["handling_committee"], new["assignee"], event = to_committee, None, ev.CaseTransferredV1
        extra["from_committee"] = case["handling_committee"]
        note = reason if not note else f"{reason}；{note}"
    elif action == "complete":
        new["status"], event = "completed", ev.CaseCompletedV1
    elif action == "reject":
        if not reason:
            raise BadInput("a rejection needs a reason (不予受理须说明理由)")
        new["status"], event = "rejected", ev.CaseRejectedV1
        note = reason
    else:  # withdraw
        new["status"], event = "withdrawn", ev.CaseWithdrawnV1

    new["trail"] = case["trail"] + [_entry(actor, now, action, before, new["status"], note,
                                           assignee=assignee if action == "assign" else None,
                                           to_committee=to_committee if action == "transfer" else handed_on,
                                           district=new.get("handling_district") if event in (
                                               idev.CaseForwardedV1, idev.MaterialsHandedInV1) else None)]
    new["version"] = case["version"] + 1
    return _finish(new), event, extra


REPLY_STATUS = {"accepted": ("accepted", ev.CaseAcceptedV1),
                "needs_materials": ("supplement_required", ev.CaseSupplementRequestedV1),
                "done": ("completed", ev.CaseCompletedV1), "refused": ("rejected", ev.CaseRejectedV1)}


def remote_reply(case: dict, reply: dict, now: datetime) -> tuple[dict, type, dict] | None:
    """The case after the handling district's reply (``CaseRepliedV1`` data), the local event
    that tells the resident (receipt, supplement request, completion, rejection), its extra
    data; None when the reply is not newer than the last one applied (a copy, or late)."""
    if reply["seq"] <= case.get("remote_seq", 0):
        return None
    if case["status"] in FINAL:
        return None   # settled already: a later word changes nothing here
    status, event = REPLY_STATUS[reply["reply"]]
    new = copy.deepcopy(case)
    new["status"], new["remote_seq"] = status, reply["seq"]
    new["remote_case_number"] = reply.get("remote_case_number") or case.get("remote_case_number")
    new["missing_materials"] = list(reply.get("missing_materials") or []) if status == "supplement_required" else []
    if reply.get("deadline"):
        new["deadline"] = str(reply["deadline"])   # theirs, on their calendar: shown, not watched here
    new["deadline_flag"] = None
    new.pop("awaiting_calendar", None)
    new.pop("deadline_basis", None)
    extra = {"missing_materials": new["missing_materials"]} if status == "supplement_required" else {}
    actor = Actor(f"district:{reply['from_district']}", "system")
    new["trail"] = case["trail"] + [_entry(actor, now, f"remote_{reply['reply']}", case["status"], status,
                                           reply.get("note"), district=reply["from_district"],
                                           missing_materials=new["missing_materials"] or None)]
    new["version"] = case["version"] + 1
    return _finish(new), event, extra


def _remaining(calendar: workdays.WorkingCalendar, today: date, case: dict) -> int | None:
    try:
        return workdays.remaining_days(calendar, today, date.fromisoformat(case["deadline"]))
    except workdays.YearNotLoaded:
        return None


def event_data(case: dict, actor: Actor, extra: dict) -> dict:
    """The data of a case event, from the case as it is after the step."""
    last = case["trail"][-1]
    return {
        "case_id": case["_id"], "case_number": case["number"], "resident_id": case["resident_id"],
        "matter_code": case["matter_code"], "status": case["status"],
        "accepting_committee": case["accepting_committee"], "handling_committee": case["handling_committee"],
        "actor": actor.id, "note": last.get("note"), "deadline": case.get("deadline"), **extra,
    }


def deadline_flag(case: dict, calendar: workdays.WorkingCalendar, today: date) -> str | None:
    """``due_soon`` or ``overdue`` when the case should be raised now (each once), else None."""
    if not clock_here(case) or not case.get("deadline"):
        return None
    try:
        status = workdays.due_status(calendar, today, date.fromisoformat(case["deadline"]))
    except workdays.YearNotLoaded:
        return None
    if status == "ok" or status == case.get("deadline_flag"):
        return None
    if status == "due_soon" and case.get("deadline_flag") == "overdue":
        return None
    return status


def flagged(case: dict, flag: str, now: datetime) -> tuple[dict, type]:
    """The case once raised as ``due_soon`` or ``overdue`` (not a transition: no version bump
    for the clerks, but an audit entry by the system)."""
    new = copy.deepcopy(case)
    new["deadline_flag"] = flag
    new["trail"] = case["trail"] + [_entry(Actor("system", "system"), now, flag, case["status"], case["status"],
                                           None)]
    new["version"] = case["version"] + 1
    return _finish(new), (ev.CaseDueSoonV1 if flag == "due_soon" else ev.CaseOverdueV1)


VIEW_FIELDS = ("number", "version", "status", "resident_id", "resident_name", "matter_code", "matter_name",
               "jurisdiction", "promised_days", "accepting_desk", "accepting_committee", "handling_committee",
               "assignee", "materials", "missing_materials", "submitted_at", "accepted_on", "deadline",
               "deadline_problem", "deadline_flag", "handling_district", "remote_case_number", "origin_district")


def urge_late(urge: dict, today: date) -> bool:
    """A 督办 left unanswered after its reply day (the district's date): flagged to the supervisor
    (services/community/supervision.py issues and answers them)."""
    return not urge.get("answer") and urge["reply_by"] < today.isoformat()


def view(case: dict, actor: Actor, calendar: workdays.WorkingCalendar, today: date) -> dict:
    """The case as ``actor`` may see it today (``CaseViewV1``): staff see the trail's actors and
    the assignee, residents the steps; with what the actor may do now and the deadline mark."""
    out = {"case_id": case["_id"], **{k: case.get(k) for k in VIEW_FIELDS}}
    out["status_name"] = STATUS_NAMES[case["status"]]
    out["deadline_mark"] = deadline_mark(case, calendar, today)
    out["actions"] = allowed_actions(case, actor)
    out["trail"] = case["trail"]
    out["urges"] = [{**u, "late": urge_late(u, today)} for u in case.get("urges") or []]
    out["rating"] = case.get("rating")
    if not actor.is_staff:
        out["trail"] = [{k: v for k, v in e.items() if k != "by"} for e in case["trail"]
                        if e["action"] not in ("urge", "urge_answered")]
        out["urges"] = []   # supervision is the district's business with its committees
        out.pop("assignee", None)
    return out
