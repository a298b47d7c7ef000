"""Events published by the library service."""
from __future__ import annotations

from datetime import datetime
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
