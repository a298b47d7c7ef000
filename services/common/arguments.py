"""Checks of plain arguments that many RPCs take, with the same clear errors everywhere."""
from __future__ import annotations

from datetime import date
from typing import Any

from services.common import clock
from services.common.errors import BadInput

MAX_BATCH = 500   # items one RPC call takes (a batch of an import, ids of a batch read)


def batch(items: Any, what: str = "items", most: int = MAX_BATCH) -> list:
    """A list a batch RPC takes: a list, of at most ``most`` entries (larger imports are
    sent in several calls)."""
    if not isinstance(items, list):
        raise BadInput(f"expected a list of {what}")
    if len(items) > most:
        raise BadInput(f"at most {most} {what} a call")
    return items


def id_list(items: Any, what: str = "ids", most: int = MAX_BATCH) -> list[str]:
    """A batch of ids, each as text."""
    return [str(i) for i in batch(items, what, most)]


def checked_resident_id(value: Any) -> str:
    """A resident's id as callers send it: text, not empty (``str(None)`` would be "None")."""
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise BadInput("resident_id must be a non-empty id of at most 128 characters")
    return value


def checked_text(value: Any, what: str, most: int = 200) -> str:
    """A required piece of text (who acted, a request's reference): not empty, not too long."""
    if not isinstance(value, str) or not value.strip() or len(value) > most:
        raise BadInput(f"{what} must be non-empty text of at most {most} characters")
    return value


def page_limit(value: Any, maximum: int) -> int:
    """How many to list: a whole number, kept within 1..``maximum`` (a caller asking for
    more gets the most there is room for, as before)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadInput(f"limit is a whole number, not {value!r}")
    return max(1, min(value, maximum))


def checked_day(value: Any) -> date:
    """A day given exactly as YYYY-MM-DD (an empty or partial one would span a range)."""
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"a day is a date as YYYY-MM-DD, not {value!r}") from None


def day_or_today(value: Any) -> date:
    """A day given as YYYY-MM-DD (operators run a timer for a day), or the district's today
    when none is."""
    return clock.today() if value is None else checked_day(value)
