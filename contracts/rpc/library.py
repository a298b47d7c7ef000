"""RPC payloads of the library service."""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class PatronV1(BaseModel):
    """``library.get_patron(resident_id)``: a resident's library card."""

    NAME: ClassVar[str] = "library.patron"
    model_config = ConfigDict(extra="forbid")

    resident_id: str
    card_number: str
    name: str
    patron_type: str
    home_committee: str
