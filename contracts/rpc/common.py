"""RPC payloads every service answers."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class HealthReportV1(BaseModel):
    """Answer of ``<service>.health()`` and of ``GET /health``."""

    NAME: ClassVar[str] = "health"
    model_config = ConfigDict(extra="forbid")

    service: str
    status: Literal["up", "down"]
    broker: Literal["up", "down"]
    store: Literal["up", "down"]
    detail: dict[str, str] = {}


class NoOptionsV1(BaseModel):
    """A part of a resident's overview that takes no options: asked as ``{}``."""

    model_config = ConfigDict(extra="forbid")


class PageOptionsV1(BaseModel):
    """A part of a resident's overview that is a list, newest first: how many to give."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=200)
