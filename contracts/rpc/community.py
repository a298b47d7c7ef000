"""RPC payloads of the community service."""
from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.rpc.common import NoOptionsV1, PageOptionsV1, PersonName, PrintableText


class RegisterResidentV1(BaseModel):
    """``community.register_resident(request)``: staff register a resident at a desk."""

    NAME: ClassVar[str] = "community.register_resident"
    # personal data: a refusal names the field, never echoes the value (it ends up in logs)
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)

    id_number: str = Field(pattern=r"^\d{17}[\dXx]$", description="18-digit mainland resident ID")
    name: PersonName
    phone: str | None = Field(default=None, pattern=r"^1\d{10}$")
    registered_committee: str | None = Field(
        default=None, max_length=32, description="committee code, or None when registered outside the district")
    residence_committee: str = Field(min_length=1, max_length=32)
    address: PrintableText = Field(min_length=1, max_length=200)
    registered_district: str | None = Field(
        default=None, pattern=r"^\d{6}$",
        description="registered outside the district: that district's code (GB/T 2260), where its matters are handled")
    registered_place: str | None = Field(
        default=None, min_length=1, max_length=32, description="with registered_district: the committee code there")

    @model_validator(mode="after")
    def _one_registration(self):
        if self.registered_committee and (self.registered_district or self.registered_place):
            raise ValueError("registered here (registered_committee) or in another district "
                             "(registered_district, registered_place), not both")
        if bool(self.registered_district) != bool(self.registered_place):
            raise ValueError("registered_district and registered_place go together")
        return self


class ResidentV1(BaseModel):
    """A resident as other services and the gateway see them: the ID number masked."""

    NAME: ClassVar[str] = "community.resident"
    model_config = ConfigDict(extra="forbid")

    resident_id: str
    id_number_masked: str
    phone_masked: str | None = None
    name: str
    registered_committee: str | None
    registered_outside_district: bool
    residence_committee: str
    registered_district: str | None = Field(default=None, description="the other district, when registered there")


class ChangePhoneV1(BaseModel):
    """``community.change_phone(actor, request)``: a resident's own phone number, or staff's
    change of it at a desk."""

    NAME: ClassVar[str] = "community.change_phone"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)

    resident_id: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(pattern=r"^1\d{10}$", description="a mainland mobile number; null removes it")


class PlaceV1(BaseModel):
    """A sub-district/town, a residents' or villagers' committee, or a service desk."""

    NAME: ClassVar[str] = "community.place"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["subdistrict", "committee", "desk"]
    name: str = Field(min_length=1, max_length=100)
    parent: str | None = Field(default=None, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    # where the place's office is: public facts, shown to callers as where a request is handled
    address: str | None = Field(default=None, min_length=1, max_length=200)
    zipcode: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)


# Files residents upload to their cases (services/community/materials.py checks them).
MATERIAL_MAX_BYTES = 10 * 1024 * 1024
MOVE_PROOFS_MAX = 5   # files of proof of residence on one declaration

# The portal's ways into the catalogue (按用户群体, by life event); names in the portal's words.
MATTER_AUDIENCES = {"elderly": "老年人", "families": "有孩子的家庭", "away_from_registration": "人户分离人员",
                    "disabled": "残疾人", "job_seekers": "求职人员", "low_income": "困难家庭"}
MATTER_LIFE_EVENTS = {"old_age": "养老服务", "birth": "生育", "housing": "居住", "work": "就业",
                      "assistance": "社会救助", "household": "户籍", "community_life": "社区生活"}
AUDIENCES = tuple(MATTER_AUDIENCES)
LIFE_EVENTS = tuple(MATTER_LIFE_EVENTS)


# where a matter is handled: the residence committee, the registration committee, the desk that
# accepted it, or the residence committee's sub-district centre (社区事务受理服务中心)
Jurisdiction = Literal["RESIDENCE", "REGISTRATION", "ACCEPTING_DESK", "SUBDISTRICT"]


class MatterV1(BaseModel):
    """A service matter (事项) of the catalogue."""

    NAME: ClassVar[str] = "community.matter"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9_]+$")
    name: str = Field(min_length=1, max_length=100)
    jurisdiction: Jurisdiction
    materials: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=30)
    promised_days: int = Field(ge=1, le=365, description="promised time limit in working days (承诺时限)")
    public: bool = Field(default=True, description="offered to residents (and over Open311)")
    description: str = Field(default="", max_length=2000)
    audiences: list[Literal[AUDIENCES]] = Field(default_factory=list, max_length=len(MATTER_AUDIENCES),
                                                description="who it is for (按用户群体): " + ", ".join(MATTER_AUDIENCES))
    life_event: Literal[LIFE_EVENTS] | None = Field(default=None, description="the life event it belongs to: "
                                                                              + ", ".join(MATTER_LIFE_EVENTS))


class ActorV1(BaseModel):
    """Who asks a service to act: the gateway passes the verified principal."""

    NAME: ClassVar[str] = "community.actor"
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    role: Literal["resident", "guardian", "staff", "centre", "supervisor", "admin", "system"]
    committee: str | None = Field(default=None, max_length=32)
    # a sub-district centre's clerk, or a supervisor of one sub-district (None: the whole district)
    subdistrict: str | None = Field(default=None, max_length=32)


class SubmitCaseV1(BaseModel):
    """``community.submit_case(actor, request)``."""

    NAME: ClassVar[str] = "community.submit_case"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    resident_id: str = Field(min_length=1, max_length=64)
    matter_code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9_]+$")
    desk: str | None = Field(default=None, max_length=32, description="accepting desk; default: the desk of the residence")
    materials: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=30)
    note: str | None = Field(default=None, max_length=2000)


# The case vocabulary every part speaks: the service decides with it (``services/community/cases.py``),
# the console and GraphQL render what the service says with it.
CASE_ACTIONS = ("accept", "start", "request_supplement", "supplement", "assign", "transfer", "complete",
                "reject", "withdraw")
CaseAction = Literal[CASE_ACTIONS]
CASE_STATUS_NAMES = {"submitted": "已提交", "accepted": "已受理", "in_progress": "办理中",
                     "supplement_required": "待补正", "completed": "已办结", "rejected": "不予受理",
                     "withdrawn": "已撤回", "forwarded": "已转外区，待对方受理"}
CaseStatus = Literal[tuple(CASE_STATUS_NAMES)]
OPEN_CASE_STATUSES = ("submitted", "accepted", "in_progress", "supplement_required", "forwarded")
DeadlineMark = Literal["due_soon", "overdue"]


class CaseActionV1(BaseModel):
    """``community.act_on_case(actor, request)``: one step of a case's life."""

    NAME: ClassVar[str] = "community.case_action"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    case_id: str = Field(min_length=1, max_length=64)
    action: CaseAction
    expected_version: int | None = Field(default=None, ge=0, description="refuse if the case changed since")
    note: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=2000)
    assignee: str | None = Field(default=None, max_length=64)
    to_committee: str | None = Field(default=None, max_length=32)
    missing_materials: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list,
                                                                                       max_length=30)
    materials: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=30)


class ChangeResidenceV1(BaseModel):
    """``community.change_residence(actor, request)``: a move, recorded with its date."""

    NAME: ClassVar[str] = "community.change_residence"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)

    resident_id: str = Field(min_length=1, max_length=64)
    residence_committee: str = Field(min_length=1, max_length=32)
    address: PrintableText = Field(min_length=1, max_length=200)
    moved_on: date


# How far ahead a move may be dated: one day, for time zones. A move is declared once it has
# happened (the same rule as a move recorded at a desk, ``services/community/residents.py``): a
# mistyped year ahead would otherwise refuse every true move after it as dated before the
# residence it set began.
MOVE_AHEAD_DAYS = 1


class DeclareMoveV1(BaseModel):
    """``community.declare_move(actor, request)``: a resident declares a new residence (居住登记
    申报); it changes nothing until a clerk of the new residence committee confirms it. No
    proof travels here: the resident adds files of proof to the waiting declaration afterwards
    (``community.upload_move_proof``), which the confirming clerk downloads."""

    NAME: ClassVar[str] = "community.declare_move"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)

    resident_id: str = Field(min_length=1, max_length=64)
    residence_committee: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    address: PrintableText = Field(min_length=1, max_length=200)
    moved_on: date = Field(description=f"from when; at most {MOVE_AHEAD_DAYS} day ahead of the district's date")


class ConfirmMoveV1(BaseModel):
    """``community.confirm_move(actor, request)``: a clerk of the committee the resident
    declared confirms the declaration; the residence changes then."""

    NAME: ClassVar[str] = "community.confirm_move"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    resident_id: str = Field(min_length=1, max_length=64)
    move_id: str | None = Field(default=None, max_length=64, description="refuse if the pending declaration "
                                                                         "is another one (declared anew meanwhile)")


class ProofV1(BaseModel):
    """A file of proof of residence added to a declaration (kept with the case materials)."""

    NAME: ClassVar[str] = "community.move_proof"
    model_config = ConfigDict(extra="forbid")

    file_id: str
    name: str
    content_type: str
    size: int
    at: str


class MoveV1(BaseModel):
    """One move in a resident's history, or the declaration waiting for confirmation."""

    NAME: ClassVar[str] = "community.move"
    model_config = ConfigDict(extra="forbid")

    move_id: str
    status: Literal["pending", "confirmed", "withdrawn", "returned"]
    from_committee: str
    to_committee: str
    address: str | None = Field(default=None, description="shown to the resident and the new residence committee")
    moved_on: date
    declared_by: str | None = Field(default=None, description="staff only; a resident sees the role")
    declared_by_role: str
    declared_at: str
    confirmed_by: str | None = None
    confirmed_at: str | None = None
    reason: str | None = Field(default=None, description="why a clerk returned (退回) the declaration")
    closed_at: str | None = Field(default=None, description="when it was withdrawn or returned")
    proofs: list[ProofV1] = Field(default_factory=list, description="files of proof of residence the resident "
                                                                    "added to the declaration (租赁合同, 房产证...)")


class SetAsideMoveV1(BaseModel):
    """``community.set_aside_move(actor, request)``: the resident withdraws their declaration, or
    a clerk of the declared committee returns it (退回) with a reason."""

    NAME: ClassVar[str] = "community.set_aside_move"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    resident_id: str = Field(min_length=1, max_length=64)
    move_id: str | None = Field(default=None, max_length=64, description="the declaration meant (Conflict if "
                                                                         "another one waits now)")
    reason: str | None = Field(default=None, max_length=200)


class ResidenceViewV1(BaseModel):
    """``community.my_residence``: where a resident lives, their declaration waiting for
    confirmation, and every move they made (newest first)."""

    NAME: ClassVar[str] = "community.residence_view"
    model_config = ConfigDict(extra="forbid")

    resident_id: str
    residence_committee: str
    address: str
    since: str
    registered_committee: str | None
    registered_outside_district: bool
    pending_move: MoveV1 | None = None
    moves: list[MoveV1]


class AwayResidentV1(BaseModel):
    """A row of a committee's 人户分离 lists (``community.living_here``, ``registered_here``):
    the ID number and phone masked; the residence address only for the residence side, which
    serves the resident there; the registration side sees where they live, not the address."""

    NAME: ClassVar[str] = "community.away_resident"
    model_config = ConfigDict(extra="forbid")

    resident_id: str
    name: str
    id_number_masked: str
    phone_masked: str | None = None
    registered_committee: str | None
    registered_outside_district: bool
    residence_committee: str
    residence_since: str
    address: str | None = None


class CommitteeNoticeV1(BaseModel):
    """A notice in a committee's console inbox (moves and cases handed on that concern it)."""

    NAME: ClassVar[str] = "community.committee_notice"
    model_config = ConfigDict(extra="forbid")

    notice_id: str
    committee: str
    kind: Literal["move_declared", "moved_in", "moved_out", "registered_here_moved", "case_handed_on",
                  "case_forwarded"]
    title: str
    body: str
    resident_id: str | None = None
    case_id: str | None = None
    created_at: str
    read: bool
    read_at: str | None = None
    read_by: str | None = None


class CommunityOverviewPartsV1(BaseModel):
    """``community.resident_overview(actor, resident_id, parts)``: the parts of a resident's
    overview asked in one call (the gateway's ``me``), each with its options (``{}`` for none).
    Each part is what its single-purpose RPC answers for this resident, with the same checks:
    ``profile`` (``get_residents``), ``cases`` (``get_cases_for_residents``), ``notices``
    (``get_notices``), ``access_log`` (``get_access_log``). The answer has one entry per part
    asked, and ``errors``, {part: the error, as nameko serializes an RPC's}, for parts that
    failed their check."""

    NAME: ClassVar[str] = "community.resident_overview"
    model_config = ConfigDict(extra="forbid")

    profile: NoOptionsV1 | None = None
    cases: NoOptionsV1 | None = None
    notices: PageOptionsV1 | None = None
    access_log: PageOptionsV1 | None = None


class TrailEntryV1(BaseModel):
    """One step of a case's audit trail (``by`` is shown to staff only)."""

    model_config = ConfigDict(extra="forbid")

    at: str
    by: str | None = None
    role: str
    action: str = Field(description="a case action, or submit, due_soon, overdue, deadline_set")
    from_: CaseStatus | None = Field(alias="from", serialization_alias="from")
    to: CaseStatus
    note: str | None = None
    assignee: str | None = None
    to_committee: str | None = None
    urge_id: str | None = None
    reply_by: str | None = None
    district: str | None = Field(default=None, description="the other district of a step across districts")
    missing_materials: list[str] | None = None


class UrgeV1(BaseModel):
    """A 督办 on a case: a supervisor's urging notice with a reply deadline, and the handling
    committee's answer (shown to staff only)."""

    model_config = ConfigDict(extra="forbid")

    urge_id: str
    by: str
    at: str
    note: str
    reply_by: str = Field(description="the day the answer is due (the district's date)")
    answer: str | None = None
    answered_by: str | None = None
    answered_at: str | None = None
    late: bool = Field(default=False, description="unanswered after its reply day (逾期未答复), as of the view")


class RatingV1(BaseModel):
    """A resident's rating of their closed case."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    comment: str = ""
    at: str


class CaseViewV1(BaseModel):
    """A case as ``community.get_case`` (and every RPC that answers cases) shows it to the
    actor who asked. ``actions`` and ``deadline_mark`` are the service's decision for this
    actor today; the console and GraphQL show them and decide nothing again."""

    NAME: ClassVar[str] = "community.case_view"
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    case_id: str
    number: str
    version: int
    status: CaseStatus
    status_name: str
    resident_id: str
    resident_name: str | None = None
    matter_code: str
    matter_name: str
    jurisdiction: Jurisdiction
    promised_days: int
    accepting_desk: str
    accepting_committee: str
    handling_committee: str
    assignee: str | None = Field(default=None, description="staff only")
    materials: list[str]
    missing_materials: list[str]
    submitted_at: str
    accepted_on: str | None
    deadline: str | None
    deadline_problem: str | None = Field(description="why no deadline could be computed")
    deadline_flag: DeadlineMark | None = Field(description="what the deadline timer raised, once each")
    deadline_mark: DeadlineMark | None = Field(
        description="due soon (by the next working day) or overdue, as of today on the working-day calendar")
    actions: list[CaseAction] = Field(description="what the asking actor may do with the case now")
    trail: list[TrailEntryV1]
    urges: list[UrgeV1] = Field(default_factory=list, description="督办 of the case (staff only)")
    rating: RatingV1 | None = None
    handling_district: str | None = Field(
        default=None, description="handled in another district (收受分离 across districts): its code")
    remote_case_number: str | None = Field(default=None, description="the case's number in the handling district")
    origin_district: str | None = Field(default=None, description="forwarded here by another district: its code")
