"""Events published by the community service."""
from __future__ import annotations

from datetime import date
from typing import ClassVar

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
