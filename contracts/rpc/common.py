"""RPC payloads every service answers."""
from __future__ import annotations

import unicodedata
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

NAME_MARKS = " ·•.．-－'’"   # between the parts of a name: 阿卜杜·热合曼, Mary O'Neil, Jean-Luc


def _person_name(value: str) -> str:
    """Letters of any script with their marks, and the marks that join a name's parts: a NUL
    byte, an emoji or a control character is no part of anyone's name."""
    for ch in value:
        if not (unicodedata.category(ch)[0] in "LM" or ch in NAME_MARKS):
            raise ValueError(f"a name holds letters only (not {unicodedata.name(ch, hex(ord(ch)))})")
    return value


def _printable(value: str) -> str:
    """Text a person can read: no control, format, private-use or unassigned characters."""
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cn", "Cs"):
            raise ValueError(f"unprintable character {hex(ord(ch))}")
    return value


PersonName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_person_name)]
PrintableText = Annotated[str, AfterValidator(_printable)]


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
