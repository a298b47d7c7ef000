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
