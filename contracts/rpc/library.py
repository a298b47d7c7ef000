"""RPC payloads of the library service."""
from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.rpc.common import NoOptionsV1


class PatronV1(BaseModel):
    """``library.get_patron(resident_id)``: a resident's library card."""

    NAME: ClassVar[str] = "library.patron"
    model_config = ConfigDict(extra="forbid")

    resident_id: str
    card_number: str
    name: str
    patron_type: str
    home_committee: str
    has_pin: bool = Field(default=False, description="a PIN is set for self-check machines (SIP2)")


class LocationV1(BaseModel):
    """A lending location: the district library, a community branch or a 24-hour kiosk."""

    NAME: ClassVar[str] = "library.location"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["library", "branch", "kiosk"]
    name: str = Field(min_length=1, max_length=100)
    committee: str | None = Field(default=None, max_length=32, description="the committee it stands in")
    closed_weekdays: list[Annotated[int, Field(ge=0, le=6, strict=True)]] = Field(
        default_factory=list, max_length=7, description="0=Monday … 6=Sunday")
    closed_dates: list[Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]] = Field(
        default_factory=list, max_length=366, description="YYYY-MM-DD")
    hold_shelf: bool = Field(default=True, description="holds can be collected here")

    @field_validator("closed_dates")
    @classmethod
    def _real_days(cls, days: list[str]) -> list[str]:
        for day in days:   # a day that never comes would close nothing, and due dates fall on it
            date.fromisoformat(day)
        return days


class CopyRecordV1(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    barcode: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    home_location: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")


class TitleRecordV1(BaseModel):
    """``library.import_catalogue(records)``: one bibliographic record with its holdings."""

    NAME: ClassVar[str] = "library.title_record"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    record_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    isbn: str | None = Field(default=None, max_length=20, pattern=r"^[0-9X]{10}([0-9X]{3})?$")
    title: str = Field(min_length=1, max_length=500)
    authors: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=20)
    subjects: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=50)
    language: str = Field(default="chi", max_length=8)
    material_type: Literal["book", "periodical", "av", "other"] = "book"
    copies: list[CopyRecordV1] = Field(default_factory=list, max_length=500)


class LibraryOverviewPartsV1(BaseModel):
    """``library.resident_overview(resident_id, parts)``: the parts of a resident's overview
    asked in one call (the gateway's ``me``), each with its options (``{}`` for none). Each
    part is what its single-purpose RPC answers for this resident: ``card`` (``get_patrons``:
    the card, or None), ``circulation`` (``loans_and_holds``). The answer has one entry per
    part asked, and ``errors``, {part: the error, as nameko serializes an RPC's}, for parts
    that failed."""

    NAME: ClassVar[str] = "library.resident_overview"
    model_config = ConfigDict(extra="forbid")

    card: NoOptionsV1 | None = None
    circulation: NoOptionsV1 | None = None


# Conflicts: what a kiosk or self-check machine did that could not be applied, kept for staff
# (``library.conflicts``, ``library.conflict``, ``library.resolve_conflict``).
CONFLICT_STATUSES = ("open", "resolved")
# unresolved: an unknown card or barcode, a loan refused; stale_checkout: a checkout older than
# the item's last recorded change, not applied; implied_return: a checkout that closed another
# patron's loan as returned, waiting for that return.
CONFLICT_KINDS = ("unresolved", "stale_checkout", "implied_return")
# What staff did about a conflict. Circulation itself is corrected at a desk through the usual
# actions (checkout, checkin), never by resolving: resolving records what was found and done.
CONFLICT_ACTIONS = ("corrected", "confirmed", "void", "patron_contacted")

_CODE = r"^[A-Za-z0-9_-]+$"
_DAY = r"^\d{4}-\d{2}-\d{2}$"


class ConflictFiltersV1(BaseModel):
    """``library.conflicts(status, after, limit, filters)``: which conflicts a page lists
    besides their status: of one kind, at one location (a kiosk, or the location of a
    self-check machine), in a range of the district's days (both ends included)."""

    NAME: ClassVar[str] = "library.conflict_filters"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal[CONFLICT_KINDS] | None = None   # type: ignore[valid-type]
    location: str | None = Field(default=None, min_length=1, max_length=32, pattern=_CODE)
    since: str | None = Field(default=None, pattern=_DAY, description="YYYY-MM-DD, the district's day")
    until: str | None = Field(default=None, pattern=_DAY, description="YYYY-MM-DD, the district's day")

    @field_validator("since", "until")
    @classmethod
    def _real_day(cls, day: str | None) -> str | None:
        if day is not None:
            date.fromisoformat(day)
        return day


class ConflictResolutionV1(BaseModel):
    """``library.resolve_conflict(conflict_id, resolution)``: what staff did (one of
    ``CONFLICT_ACTIONS``), a note saying what they found (required), and who they are."""

    NAME: ClassVar[str] = "library.conflict_resolution"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal[CONFLICT_ACTIONS]   # type: ignore[valid-type]
    note: str = Field(min_length=1, max_length=500)
    by: str = Field(min_length=1, max_length=64)


# Digital resources (e-books, audio, video) lent by licence: docs/ARCHITECTURE.md, Digital resources.
DIGITAL_MAX_BYTES = 64 * 1024 * 1024   # one file; RPCs carry it base64 (``DIGITAL_MAX_BYTES`` config may lower it)
DIGITAL_LICENCES = ("open", "one_reader", "unlimited")


class DigitalLicenceV1(BaseModel):
    """``library.add_digital_resource(record, licence, ...)``: who may read a digital resource.
    ``open``: anyone; ``one_reader``: one reader at a time per licence copy (``copies``), for
    ``loan_days``, with a hold queue; ``unlimited``: any card holder of the district."""

    NAME: ClassVar[str] = "library.digital_licence"
    model_config = ConfigDict(extra="forbid")

    model: Literal[DIGITAL_LICENCES]   # type: ignore[valid-type]
    copies: int = Field(default=1, ge=1, le=1000, strict=True)
    loan_days: int = Field(default=14, ge=1, le=60, strict=True)
