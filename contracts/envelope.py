"""The CloudEvents 1.0 envelope every event travels in."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


_EXTENSION_NAME = re.compile(r"[a-z0-9]{1,20}")


class CloudEvent(BaseModel):
    """CloudEvents 1.0 (JSON format). Extension attributes (lower-case letters and
    digits, as the spec requires) are allowed, e.g. ``correlationid`` or a kiosk's
    ``sequence``."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500)
    type: str = Field(min_length=1, max_length=200, pattern=r"^[a-z0-9]+(\.[a-z0-9_]+)+$")
    time: AwareDatetime
    subject: str | None = Field(default=None, max_length=500)
    datacontenttype: str = "application/json"
    data: dict[str, Any]

    def model_post_init(self, __context: Any) -> None:
        for name, value in (self.model_extra or {}).items():
            if not _EXTENSION_NAME.fullmatch(name):
                raise ValueError(f"invalid CloudEvents extension attribute name: {name!r}")
            if isinstance(value, (dict, list)):  # the spec's types are strings, integers and booleans
                raise ValueError(f"invalid CloudEvents extension attribute {name!r}: an object or a list")


def new_event(type: str, source: str, data: BaseModel | dict, subject: str | None = None,
              **extensions: Any) -> dict:
    """A fresh envelope as a JSON-ready dict, its data validated against the contract."""
    from contracts.registry import event_model

    model = event_model(type)
    payload = data if isinstance(data, model) else model.model_validate(
        data.model_dump() if isinstance(data, BaseModel) else data)
    envelope = CloudEvent(
        id=uuid.uuid4().hex,
        source=source,
        type=type,
        time=datetime.now(timezone.utc),
        subject=subject,
        data=payload.model_dump(mode="json"),
        **{k: v for k, v in extensions.items() if v is not None},
    )
    return envelope.model_dump(mode="json", exclude_none=True)
