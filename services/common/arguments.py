"""Checks of plain arguments that many RPCs take, with the same clear errors everywhere."""
from __future__ import annotations

from datetime import date
from typing import Any

from services.common.errors import BadInput


def page_limit(value: Any, maximum: int) -> int:
    """How many to list: a whole number, kept within 1..``maximum`` (a caller asking for
    more gets the most there is room for, as before)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadInput(f"limit is a whole number, not {value!r}")
    return max(1, min(value, maximum))


def day_or_today(value: Any) -> date:
    """A day given as YYYY-MM-DD (operators run a timer for a day), or today when none is."""
    if value is None:
        return date.today()
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"a day is a date as YYYY-MM-DD, not {value!r}") from None
