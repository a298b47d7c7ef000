"""RPC payloads of the elearning service."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.rpc.common import NoOptionsV1

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class TvSlotV1(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(min_length=1, max_length=50)
    starts_at: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$", description="local time of the broadcast")
    minutes: int = Field(ge=1, le=600)

    @field_validator("starts_at")
    @classmethod
    def _a_real_time(cls, value: str) -> str:
        datetime.fromisoformat(value)   # 2026-02-30T19:00 or 25:00 never airs: no guide would list it
        return value


class WebRenditionV1(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=500)
    minutes: int | None = Field(default=None, ge=1, le=600)


class RenditionsV1(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tv: TvSlotV1 | None = None
    mobile: WebRenditionV1 | None = None
    web: WebRenditionV1 | None = None


class LessonV1(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Code
    title: str = Field(min_length=1, max_length=200)
    renditions: RenditionsV1 = Field(default_factory=RenditionsV1)


class UnitV1(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    lessons: list[LessonV1] = Field(min_length=1, max_length=200)


class CompletionRuleV1(BaseModel):
    """When a learner has completed a course: at least ``share`` of its lessons (0 < share <= 1,
    rounded up to whole lessons), among them every one of ``required_lessons``."""

    model_config = ConfigDict(extra="forbid")
    share: float = Field(default=1.0, gt=0, le=1, strict=True, allow_inf_nan=False)
    required_lessons: list[Code] = Field(default_factory=list, max_length=200)


class CourseV1(BaseModel):
    """``elearning.upsert_courses(items)``: a provider's course, in units and lessons."""

    NAME: ClassVar[str] = "elearning.course"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    course_id: Code
    title: str = Field(min_length=1, max_length=300)
    provider: str = Field(min_length=1, max_length=200)
    subjects: list[Annotated[str, Field(max_length=50)]] = Field(default_factory=list, max_length=20)
    credits: int = Field(default=0, ge=0, le=100)
    completion: CompletionRuleV1 = Field(default_factory=CompletionRuleV1)
    units: list[UnitV1] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _required_lessons_exist(self) -> "CourseV1":
        ids = [lesson.id for unit in self.units for lesson in unit.lessons]
        twice = sorted({lid for lid in ids if ids.count(lid) > 1})
        if twice:   # progress and completion count lessons by id
            raise ValueError(f"lesson ids must be unique in a course: {', '.join(twice)}")
        lessons = set(ids)
        unknown = [lid for lid in self.completion.required_lessons if lid not in lessons]
        if unknown:
            raise ValueError(f"the completion rule requires lessons the course does not have: {', '.join(unknown)}")
        return self


class ProgressReportV1(BaseModel):
    """``elearning.record_progress(resident_id, report)``: progress on a lesson from any device."""

    NAME: ClassVar[str] = "elearning.progress_report"
    model_config = ConfigDict(extra="forbid")

    course_id: Code
    lesson_id: Code
    position: int = Field(default=0, ge=0, le=10**7, description="seconds into the lesson")
    percent: int = Field(default=0, ge=0, le=100)
    completed: bool = False
    at: AwareDatetime
    channel: Literal["tv", "mobile", "web", "xapi"] = "web"


class ChildrenOptionsV1(BaseModel):
    model_config = ConfigDict(extra="forbid")

    wallet_movements: int | None = Field(
        default=None, ge=0, le=50, description="each child with its wallet and this many latest movements")


class ElearningOverviewPartsV1(BaseModel):
    """``elearning.resident_overview(reader, resident_id, parts)``: the parts of a resident's
    overview asked in one call (the gateway's ``me``), each with its options (``{}`` for none).
    Each part is what its single-purpose RPC answers, with the same checks: ``learning``
    (``learning_for_residents``), ``children`` (``children_for_guardians``), ``threads``
    (``threads_for(reader)``). The answer has one entry per part asked, and ``errors``,
    {part: the error, as nameko serializes an RPC's}, for parts that failed their check."""

    NAME: ClassVar[str] = "elearning.resident_overview"
    model_config = ConfigDict(extra="forbid")

    learning: NoOptionsV1 | None = None
    children: ChildrenOptionsV1 | None = None
    threads: NoOptionsV1 | None = None


# Files of the e-schoolbag (assignment attachments, submitted work): PDF, JPEG or PNG, checked
# by content in the elearning service (``services/elearning/school_files.py``)
SCHOOL_FILE_MAX_BYTES = 5 * 1024 * 1024
SCHOOL_FILES_AT_ONCE = 5
SCHOOL_FILE_REFERENCE = "file:"      # how a submission's attachments name a stored file
