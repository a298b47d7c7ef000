"""Events published by the community service."""
from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class ResidentRegisteredV1(BaseModel):
    """A resident entered the district's registry (实有人口). Carries no ID number:
    consumers key on ``resident_id``."""

    TYPE: ClassVar[str] = "cn.community.resident.registered.v1"
    model_config = ConfigDict(extra="forbid")

    resident_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    registered_committee: str | None = Field(
        default=None, max_length=32, description="committee code of the place of registration (户籍地); "
        "None when registered outside the district")
    registered_outside_district: bool = False
    residence_committee: str = Field(min_length=1, max_length=32,
                                     description="committee code of the residence (居住地)")
    registered_on: date


class ResidenceChangedV1(BaseModel):
    """A resident moved: a recorded change with a date, the old residence kept in history.
    Since the moves of 人户分离 (issue 20) it also says who declared the move and who
    confirmed it, and where the resident is registered, so that the registration committee
    hears of it; the added fields have defaults, so a v1 consumer that ignores them is right."""

    TYPE: ClassVar[str] = "cn.community.resident.residence_changed.v1"
    model_config = ConfigDict(extra="forbid")

    resident_id: str = Field(min_length=1, max_length=64)
    from_committee: str = Field(max_length=32)
    to_committee: str = Field(min_length=1, max_length=32)
    moved_on: date
    move_id: str | None = Field(default=None, max_length=64, description="the move in the resident's history")
    registered_committee: str | None = Field(default=None, max_length=32,
                                             description="户籍地; None when registered outside the district")
    declared_by: str | None = Field(default=None, max_length=64,
                                    description="who declared it: the resident's id, or the clerk's login at a desk")
    declared_by_role: Literal["resident", "guardian", "staff", "admin", "system"] | None = None
    confirmed_by: str | None = Field(default=None, max_length=64, description="the clerk's login who confirmed it")


class MoveDeclaredV1(BaseModel):
    """A resident declared a new residence in the portal; a clerk of the new residence
    committee is to confirm it (nothing about the residence has changed yet). Carries no
    address: consumers key on ``resident_id`` and ask the service what they may see."""

    TYPE: ClassVar[str] = "cn.community.resident.move_declared.v1"
    model_config = ConfigDict(extra="forbid")

    resident_id: str = Field(min_length=1, max_length=64)
    move_id: str = Field(min_length=1, max_length=64)
    from_committee: str = Field(max_length=32)
    to_committee: str = Field(min_length=1, max_length=32)
    registered_committee: str | None = Field(default=None, max_length=32)
    moved_on: date
    declared_at: str = Field(max_length=40)


class CaseEventV1(BaseModel):
    """What every case event carries: enough for a consumer to act without asking back."""

    model_config = ConfigDict(extra="forbid")

    case_id: str = Field(min_length=1, max_length=64)
    case_number: str = Field(max_length=64)
    resident_id: str = Field(max_length=64)
    matter_code: str = Field(max_length=64)
    status: str = Field(max_length=32)
    accepting_committee: str = Field(max_length=32)
    handling_committee: str = Field(max_length=32)
    actor: str = Field(max_length=64, description="who acted: a staff id, a resident id or 'system'")
    note: str | None = Field(default=None, max_length=2000)
    deadline: date | None = None


class CaseSubmittedV1(CaseEventV1):
    TYPE: ClassVar[str] = "cn.community.case.submitted.v1"


class CaseAcceptedV1(CaseEventV1):
    TYPE: ClassVar[str] = "cn.community.case.accepted.v1"


class CaseStartedV1(CaseEventV1):
    TYPE: ClassVar[str] = "cn.community.case.started.v1"


class CaseSupplementRequestedV1(CaseEventV1):
    TYPE: ClassVar[str] = "cn.community.case.supplement_requested.v1"
    missing_materials: list[str] = Field(default_factory=list, max_length=50)


class CaseSupplementedV1(CaseEventV1):
    TYPE: ClassVar[str] = "cn.community.case.supplemented.v1"


class CaseAssignedV1(CaseEventV1):
    TYPE: ClassVar[str] = "cn.community.case.assigned.v1"
    assignee: str = Field(max_length=64)


class CaseTransferredV1(CaseEventV1):
    TYPE: ClassVar[str] = "cn.community.case.transferred.v1"
    from_committee: str = Field(max_length=32)


class CaseCompletedV1(CaseEventV1):
    TYPE: ClassVar[str] = "cn.community.case.completed.v1"


class CaseRejectedV1(CaseEventV1):
    TYPE: ClassVar[str] = "cn.community.case.rejected.v1"


class CaseWithdrawnV1(CaseEventV1):
    TYPE: ClassVar[str] = "cn.community.case.withdrawn.v1"


class CaseDueSoonV1(CaseEventV1):
    """Raised once when a case's deadline is today or the next working day."""
    TYPE: ClassVar[str] = "cn.community.case.due_soon.v1"


class CaseOverdueV1(CaseEventV1):
    """Raised once when a case's deadline has passed."""
    TYPE: ClassVar[str] = "cn.community.case.overdue.v1"


CASE_EVENTS = [CaseSubmittedV1, CaseAcceptedV1, CaseStartedV1, CaseSupplementRequestedV1, CaseSupplementedV1,
               CaseAssignedV1, CaseTransferredV1, CaseCompletedV1, CaseRejectedV1, CaseWithdrawnV1,
               CaseDueSoonV1, CaseOverdueV1]
