"""The LRS's refusals: each with the HTTP status the xAPI specification gives it."""
from __future__ import annotations

from typing import Mapping


class XapiError(Exception):
    """A refusal with the status the specification gives it."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def bad(message: str) -> XapiError:
    return XapiError(400, message)
