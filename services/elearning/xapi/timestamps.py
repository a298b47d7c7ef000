"""Timestamps as xAPI writes them: read (ISO 8601, RFC 3339 profile, per version) and
written (``timestamp``, ``stored``, and the stored order key)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from services.elearning.xapi.errors import bad
from services.elearning.xapi.versions import V2

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$")


def parse_timestamp(value: Any, version: str, what: str = "timestamp") -> datetime:
    """An ISO 8601 (RFC 3339 profile) timestamp as an aware UTC datetime. 2.0.0 requires a
    time zone; 1.0.3 reads one without as UTC. A negative zero offset is refused."""
    if not isinstance(value, str):
        raise bad(f"{what} must be an ISO 8601 timestamp string")
    m = _TIMESTAMP.match(value)
    if not m:
        raise bad(f"{what} is not an ISO 8601 timestamp: {value[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    if zone is None and version == V2:
        raise bad(f"{what} must include a time zone offset in xAPI 2.0.0: {value[:40]!r}")
    if zone and zone.startswith("-") and set(zone[1:].replace(":", "")) == {"0"}:
        raise bad(f"{what} must not use a negative zero offset: {value[:40]!r}")
    try:
        micros = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros)
    except ValueError:
        raise bad(f"{what} is not a valid date and time: {value[:40]!r}") from None
    offset = timedelta(0)
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            raise bad(f"{what} has an invalid offset: {value[:40]!r}")
        offset = timedelta(hours=hours, minutes=minutes) * (1 if zone[0] == "+" else -1)
    try:
        return moment.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)
    except OverflowError:   # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-05:00 leave the calendar in UTC
        raise bad(f"{what} is outside the calendar in UTC: {value[:40]!r}") from None


def format_timestamp(moment: datetime) -> str:
    """UTC, with milliseconds (or microseconds when the moment has them)."""
    utc = moment.astimezone(timezone.utc)
    spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def stored_text(moment: datetime) -> str:
    """The ``stored`` property: UTC with milliseconds."""
    utc = moment.astimezone(timezone.utc)
    return utc.replace(tzinfo=None, microsecond=utc.microsecond // 1000 * 1000).isoformat(
        timespec="milliseconds") + "Z"


def order_text(moment: datetime) -> str:
    """Fixed-width UTC with microseconds: sorts as text in time order (the stored order key)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
