"""The district's clock: China Standard Time (UTC+8, no daylight saving). Notices, Open311
times, school days and statement months, and the demo's "today" are local to it."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

DISTRICT_TIME = timezone(timedelta(hours=8), "CST")


def today() -> date:
    """The district's date now (a server kept on UTC is a day behind until 08:00 there)."""
    return datetime.now(DISTRICT_TIME).date()
