"""Events published by the elearning service."""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

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


class GuardianAlertV1(BaseModel):
    """Something a guardian should hear about their child: a low wallet balance, a refused
    payment, a teacher's message, an assignment published to the child's class. One event
    per guardian; community makes it a notice."""

    TYPE: ClassVar[str] = "cn.elearning.guardian_alert.v1"
    model_config = ConfigDict(extra="forbid")

    resident_id: str = Field(max_length=64, description="the guardian")
    kind: Literal["wallet_low_balance", "wallet_limit_refused", "teacher_message", "assignment_published"]
    student_name: str = Field(max_length=100, description="the guardian's own child (children, joined by 、)")
    amount_fen: int | None = None
    detail: str = Field(default="", max_length=200)
    class_title: str = Field(default="", max_length=200, description="assignment_published: the class")
    assignment_title: str = Field(default="", max_length=200, description="assignment_published: its title")
    due_at: datetime | None = Field(default=None, description="assignment_published: when it is due")
    at: datetime


ELEARNING_EVENTS.append(GuardianAlertV1)
