"""Events published by the elearning service."""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class CourseCompletedV1(BaseModel):
    TYPE: ClassVar[str] = "cn.elearning.course.completed.v1"
    model_config = ConfigDict(extra="forbid")

    resident_id: str = Field(max_length=64)
    course_id: str = Field(max_length=64)
    course_title: str = Field(max_length=300)
    completed_at: datetime


class CreditsAwardedV1(BaseModel):
    TYPE: ClassVar[str] = "cn.elearning.credits.awarded.v1"
    model_config = ConfigDict(extra="forbid")

    resident_id: str = Field(max_length=64)
    course_id: str = Field(max_length=64)
    course_title: str = Field(default="", max_length=300)
    amount: int
    source: str = Field(max_length=200)
    entry_id: str = Field(max_length=200)


ELEARNING_EVENTS = [CourseCompletedV1, CreditsAwardedV1]
