"""RPC payloads of the community service."""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class RegisterResidentV1(BaseModel):
    """``community.register_resident(request)``: staff register a resident at a desk."""

    NAME: ClassVar[str] = "community.register_resident"
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id_number: str = Field(pattern=r"^\d{17}[\dXx]$", description="18-digit mainland resident ID")
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, pattern=r"^1\d{10}$")
    registered_committee: str | None = Field(
        default=None, max_length=32, description="committee code, or None when registered outside the district")
    residence_committee: str = Field(min_length=1, max_length=32)
    address: str = Field(min_length=1, max_length=200)


class ResidentV1(BaseModel):
    """A resident as other services and the gateway see them: the ID number masked."""

    NAME: ClassVar[str] = "community.resident"
    model_config = ConfigDict(extra="forbid")

    resident_id: str
    id_number_masked: str
    name: str
    registered_committee: str | None
    registered_outside_district: bool
    residence_committee: str
