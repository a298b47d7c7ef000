"""Events of the e-schoolbag pilots (电子书包), published by the elearning service.

They say what happened and to whom it matters, not what was written: a message's text
and an assignment's body stay in the service (the pupils are minors); a consumer that
notifies someone reads the rest through the service's RPCs.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

SourcedId = Annotated[str, Field(min_length=1, max_length=128)]


class AssignmentPublishedV1(BaseModel):
    """A teacher published an assignment to a class."""

    TYPE: ClassVar[str] = "cn.elearning.assignment.published.v1"
    model_config = ConfigDict(extra="forbid")

    assignment_id: str = Field(max_length=64)
    class_id: SourcedId
    school_id: str | None = Field(default=None, max_length=128)
    teacher_id: SourcedId
    title: str = Field(max_length=200)
    due_at: datetime
    published_at: datetime


class MessagePostedV1(BaseModel):
    """A home-school message (家校互动) was posted in a thread about a student."""

    TYPE: ClassVar[str] = "cn.elearning.message.posted.v1"
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(max_length=64)
    thread_id: str = Field(max_length=64)
    new_thread: bool
    student_id: SourcedId
    class_id: SourcedId
    author_role: Literal["teacher", "guardian"]
    author_id: SourcedId
    posted_at: datetime


SCHOOLBAG_EVENTS = [AssignmentPublishedV1, MessagePostedV1]
