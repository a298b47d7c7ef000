"""RPC payloads of popular-science sharing (科普信息化) at the library service: what a provider
(an institute or company with its own credential) uploads, an editor's review, a placement in
the TV schedule, and the usage statistics the supervision reports read
(docs/ARCHITECTURE.md, Popular science)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.rpc.library import DigitalLicenceV1

POPSCI_KINDS = ("video", "article", "exhibition")
AUDIENCES = ("children", "teenagers", "adults", "elderly", "families", "everyone")
Text40 = Annotated[str, Field(min_length=1, max_length=40)]


class PopsciItemV1(BaseModel):
    """What a provider uploads (``POST /popsci/v1/items``, the ``item`` part, JSON): a video
    (an MP4 file), an article (EPUB or PDF) or an exhibition (no file: its dates and place).
    ``tv_minutes``: the video has a TV rendition of that running time, so an editor may place
    it in the TV schedule. It lands pending review whatever it says."""

    NAME: ClassVar[str] = "library.popsci_item"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal[POPSCI_KINDS]   # type: ignore[valid-type]
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    subjects: list[Text40] = Field(min_length=1, max_length=10)
    audience: list[Literal[AUDIENCES]] = Field(min_length=1, max_length=6)   # type: ignore[valid-type]
    licence: DigitalLicenceV1 = Field(default_factory=lambda: DigitalLicenceV1(model="open"))
    starts_on: date | None = None
    ends_on: date | None = None
    place: str | None = Field(default=None, min_length=1, max_length=200)
    tv_minutes: int | None = Field(default=None, ge=1, le=240, strict=True)

    @model_validator(mode="after")
    def _by_kind(self):
        exhibition = self.kind == "exhibition"
        if exhibition and not (self.starts_on and self.ends_on and self.place):
            raise ValueError("an exhibition needs starts_on, ends_on and place")
        if exhibition and self.ends_on < self.starts_on:
            raise ValueError("an exhibition ends on or after the day it starts")
        if not exhibition and (self.starts_on or self.ends_on or self.place):
            raise ValueError("only an exhibition has dates and a place")
        if self.tv_minutes is not None and self.kind != "video":
            raise ValueError("only a video has a TV rendition")
        return self


class PopsciReviewV1(BaseModel):
    """``library.popsci_review(actor, item_id, review)``: an editor publishes a pending item
    or rejects it with the reason the provider reads."""

    NAME: ClassVar[str] = "library.popsci_review"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["publish", "reject"]
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _reason(self):
        if self.decision == "reject" and not self.reason:
            raise ValueError("a rejection needs a reason (the provider reads it)")
        return self


class PopsciTvPlacementV1(BaseModel):
    """``library.popsci_place_on_tv(actor, item_id, placement)``: a published video with a TV
    rendition broadcast on a channel at a time (the elearning service's TV guide shows it)."""

    NAME: ClassVar[str] = "library.popsci_tv_placement"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: str = Field(min_length=1, max_length=50)
    starts_at: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$",
                           description="local time of the broadcast, as the TV guide keeps it")

    @field_validator("starts_at")
    @classmethod
    def _a_real_time(cls, value: str) -> str:
        datetime.fromisoformat(value)   # 2026-02-30T19:00 never airs
        return value


class ResourceUsageV1(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_id: str
    title: str
    kind: str = Field(description="ebook, audio, video (a digital resource)")
    provider_id: str | None = Field(description="the popular-science provider; None: the library's own")
    borrows: int = Field(description="licence copies lent")
    plays: int = Field(description="signed-link fetches from the first byte: a play or a read begun")
    unique_readers: int = Field(description="distinct readers who borrowed or opened it")


class ProviderUsageV1(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_id: str
    name: str
    published: int = Field(description="items published (of any kind)")
    pending: int
    borrows: int
    plays: int
    unique_readers: int = Field(description="distinct readers of any of its resources")


class UsageStatisticsV1(BaseModel):
    """``library.usage_statistics(actor, provider_id=None)``: usage per digital resource and
    per popular-science provider, counted since each was added (the supervision reports read
    it). ``provider_id`` narrows both lists to one provider."""

    NAME: ClassVar[str] = "library.usage_statistics"
    model_config = ConfigDict(extra="forbid")

    at: datetime
    resources: list[ResourceUsageV1]
    providers: list[ProviderUsageV1]
