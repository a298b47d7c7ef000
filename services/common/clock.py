"""The suite's one clock.

- ``now()``: the instant, aware, in UTC: what every stored time stamp is written from (UTC
  ISO strings compare as strings on every store).
- ``today()``: the district's date now, China Standard Time (UTC+8, no daylight saving):
  deadlines, due dates, school days, statement months and notices count local days. A
  server kept on UTC is a day behind until 08:00 there, so never use ``date.today()``.
- ``local(moment)``: an instant as the district's wall clock reads it.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

DISTRICT_TIME = timezone(timedelta(hours=8), "CST")


def now() -> datetime:
    """This instant, aware, in UTC."""
    return datetime.now(timezone.utc)


def local(moment: datetime) -> datetime:
    """``moment`` on the district's wall clock (naive moments are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(DISTRICT_TIME)


def today() -> date:
    """The district's date now."""
    return local(now()).date()
