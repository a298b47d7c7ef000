"""Checks of plain arguments that many RPCs take, with the same clear errors everywhere."""
from __future__ import annotations

from typing import Any

from services.common.errors import BadInput


def page_limit(value: Any, maximum: int) -> int:
    """How many to list: a whole number, kept within 1..``maximum`` (a caller asking for
    more gets the most there is room for, as before)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadInput(f"limit is a whole number, not {value!r}")
    return max(1, min(value, maximum))
