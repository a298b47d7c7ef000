"""Events published by the library service."""
from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class KioskFaultV1(BaseModel):
    """A 24-hour kiosk reported a fault; community opens a maintenance case for it."""

    TYPE: ClassVar[str] = "cn.library.kiosk.fault.v1"
    model_config = ConfigDict(extra="forbid")

    kiosk_id: str = Field(min_length=1, max_length=64)
    kiosk_name: str = Field(default="", max_length=100)
    committee: str = Field(min_length=1, max_length=32, description="committee the kiosk stands in")
    fault_code: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=2000)
    reported_at: datetime


class LoanEventV1(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loan_id: str = Field(min_length=1, max_length=64)
    barcode: str = Field(min_length=1, max_length=64)
    title_id: str = Field(max_length=64)
    title: str = Field(default="", max_length=500)
    patron: str = Field(max_length=64, description="the patron's resident id")
    location: str = Field(max_length=64)
    at: datetime
    due: date | None = None
    source: str = Field(default="", max_length=100, description="desk, kiosk:<id>, sip2:<login> or gateway")


class LoanCheckedOutV1(LoanEventV1):
    TYPE: ClassVar[str] = "cn.library.loan.checked_out.v1"
    hold_id: str | None = Field(default=None, max_length=64)


class LoanCheckedInV1(LoanEventV1):
    TYPE: ClassVar[str] = "cn.library.loan.checked_in.v1"
    overdue_days: int = 0
    fine_cents: int = 0


class LoanRenewedV1(LoanEventV1):
    TYPE: ClassVar[str] = "cn.library.loan.renewed.v1"
    renewals: int = 0


class LoanOverdueV1(LoanEventV1):
    """Raised once per loan when it becomes overdue; community turns it into a notice."""
    TYPE: ClassVar[str] = "cn.library.loan.overdue.v1"


class LoanRecalledV1(LoanEventV1):
    """A hold was placed on a title with no copy available, so this loan (the one with the
    most time left) was recalled: ``due`` is its new due date, earlier than ``previous_due``
    or equal to it (a recall never extends a loan). Once per loan; community turns it into a
    notice for the borrower."""
    TYPE: ClassVar[str] = "cn.library.loan.recalled.v1"
    previous_due: date
    hold_id: str = Field(min_length=1, max_length=64, description="the hold that recalled the loan")


class HoldEventV1(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hold_id: str = Field(min_length=1, max_length=64)
    title_id: str = Field(max_length=64)
    title: str = Field(default="", max_length=500)
    patron: str = Field(max_length=64)
    pickup: str = Field(max_length=64)
    at: datetime
    barcode: str | None = Field(default=None, max_length=64)
    expires: date | None = None
    digital: bool = Field(default=False, description="a digital resource: the hold became a loan, readable at "
                                                     "once until ``expires`` (no pickup)")


class HoldReadyV1(HoldEventV1):
    """A copy is waiting for the patron at the pickup location until ``expires``."""
    TYPE: ClassVar[str] = "cn.library.hold.ready.v1"


class HoldExpiredV1(HoldEventV1):
    TYPE: ClassVar[str] = "cn.library.hold.expired.v1"


class ConflictRecordedV1(BaseModel):
    """A kiosk event that could not be reconciled, kept for staff."""
    TYPE: ClassVar[str] = "cn.library.circulation.conflict.v1"
    model_config = ConfigDict(extra="forbid")

    conflict_id: str = Field(max_length=64)
    barcode: str = Field(max_length=64)
    kiosk_id: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    at: datetime


class PopsciTvScheduledV1(BaseModel):
    """An editor placed a published popular-science video (its TV rendition) in the TV
    schedule; the elearning service adds it to the TV guide (one row per broadcast: the same
    event twice writes the same row)."""
    TYPE: ClassVar[str] = "cn.library.popsci.tv_scheduled.v1"
    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=64)
    resource_id: str = Field(min_length=1, max_length=64, description="the library's digital resource to play")
    title: str = Field(min_length=1, max_length=200)
    provider_name: str = Field(min_length=1, max_length=100)
    channel: str = Field(min_length=1, max_length=50)
    starts_at: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$", description="local time of the broadcast")
    minutes: int = Field(ge=1, le=240)


LIBRARY_EVENTS = [KioskFaultV1, LoanCheckedOutV1, LoanCheckedInV1, LoanRenewedV1, LoanOverdueV1, LoanRecalledV1,
                  HoldReadyV1, HoldExpiredV1, ConflictRecordedV1, PopsciTvScheduledV1]
