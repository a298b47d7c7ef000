"""RPC payloads every service answers."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict


class HealthReportV1(BaseModel):
    """Answer of ``<service>.health()`` and of ``GET /health``."""

    NAME: ClassVar[str] = "health"
    model_config = ConfigDict(extra="forbid")

    service: str
    status: Literal["up", "down"]
    broker: Literal["up", "down"]
    store: Literal["up", "down"]
    detail: dict[str, str] = {}
