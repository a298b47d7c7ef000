"""Where year schedules come from: the ``chinesecalendar`` package, an operator's JSON
file (the State Council notice typed in), and the MongoDB document they are kept as.

Schedules are keyed by the calendar year of each date. A notice can reach into the
previous December (the 2008 notice made 2007-12-29 a working day), so such dates
belong to the earlier year's schedule, never to the notice's year.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from importlib import metadata
from typing import Any

import chinese_calendar

from services.community.workdays import YearSchedule, is_weekend

JSON_KEYS = frozenset({"year", "holidays", "makeup_workdays", "source"})
DOCUMENT_KEYS = frozenset({"_id", "holidays", "makeup_workdays", "source"})
# date.fromisoformat also takes "20270101" and "2027-W01-1"; operator files must not.
# [0-9], not \d, which also matches digits of other scripts.
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class YearNotInPackage(ValueError):
    """The chinesecalendar package has no schedule for the year asked for."""

    def __init__(self, year: int) -> None:
        self.year = year
        years = package_years()
        span = f"{years[0]}-{years[-1]}" if years else "no years"
        super().__init__(
            f"chinesecalendar {_package_version()} has no holiday schedule for {year} "
            f"(it covers {span}): load the State Council notice for {year} from an operator file")


def _package_version() -> str:
    try:
        return metadata.version("chinesecalendar")
    except metadata.PackageNotFoundError:
        return "(unknown version)"


def package_years() -> list[int]:
    """The years the package has data for."""
    dated = set(chinese_calendar.holidays) | set(chinese_calendar.workdays)
    return sorted({d.year for d in dated})


def from_package(year: int) -> YearSchedule:
    """The year's schedule as the chinesecalendar package knows it."""
    try:
        # Ask the package itself too: it refuses years outside its range.
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        raise YearNotInPackage(year) from None
    holidays = {d for d in chinese_calendar.holidays if d.year == year}
    # The package lists only weekend days under workdays; filter anyway, as the
    # schedule refuses a weekday make-up day.
    makeup = {d for d in chinese_calendar.workdays if d.year == year and is_weekend(d)}
    if not holidays and not makeup:
        raise YearNotInPackage(year)
    return YearSchedule(year=year, holidays=frozenset(holidays), makeup_workdays=frozenset(makeup),
                        source=f"chinesecalendar {_package_version()}")


def from_json(obj: Any) -> YearSchedule:
    """An operator's schedule file, checked strictly: every key known and present."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"a schedule must be a JSON object, not {type(obj).__name__}")
    _check_keys(obj, JSON_KEYS, allow_extra=False)
    year = _parse_year(obj["year"], "year")
    holidays = _parse_dates(obj["holidays"], "holidays")
    if not holidays:
        # Every year has public holidays; an empty list would mean weekdays-only counting.
        raise ValueError(f"holidays for {year} is empty: copy the days off from the State Council notice")
    return YearSchedule(year=year, holidays=holidays,
                        makeup_workdays=_parse_dates(obj["makeup_workdays"], "makeup_workdays"),
                        source=_parse_source(obj["source"]))


def to_document(schedule: YearSchedule) -> dict[str, Any]:
    """The MongoDB document for a schedule: the year as _id, dates as sorted ISO strings."""
    return {
        "_id": schedule.year,
        "holidays": sorted(d.isoformat() for d in schedule.holidays),
        "makeup_workdays": sorted(d.isoformat() for d in schedule.makeup_workdays),
        "source": schedule.source,
    }


def from_document(doc: Mapping[str, Any]) -> YearSchedule:
    """A schedule read back from MongoDB; bookkeeping fields beside ours are ignored."""
    _check_keys(doc, DOCUMENT_KEYS, allow_extra=True)
    return YearSchedule(year=_parse_year(doc["_id"], "_id"),
                        holidays=_parse_dates(doc["holidays"], "holidays"),
                        makeup_workdays=_parse_dates(doc["makeup_workdays"], "makeup_workdays"),
                        source=_parse_source(doc["source"]))


def _check_keys(obj: Mapping[str, Any], expected: frozenset[str], *, allow_extra: bool) -> None:
    missing = sorted(expected - obj.keys())
    if missing:
        raise ValueError(f"schedule is missing {', '.join(missing)}")
    unknown = sorted(str(k) for k in obj.keys() - expected)
    if unknown and not allow_extra:
        raise ValueError(f"schedule has unknown key(s) {', '.join(unknown)}; "
                         f"expected only {', '.join(sorted(expected))}")


def _parse_year(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be an integer year, not {value!r}")
    return value


def _parse_source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"source must name the notice the schedule comes from, not {value!r}")
    return value


def _parse_dates(value: Any, field: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise ValueError(f"{field} must be a list of YYYY-MM-DD strings, not {type(value).__name__}")
    days = [_parse_date(item, field) for item in value]
    seen: set[date] = set()
    for d in days:
        if d in seen:
            # A repeated line is usually a typo for another date.
            raise ValueError(f"{field}: {d.isoformat()} listed twice")
        seen.add(d)
    return frozenset(days)


def _parse_date(item: Any, field: str) -> date:
    if not isinstance(item, str) or not ISO_DATE.fullmatch(item):
        raise ValueError(f"{field}: {item!r} is not a YYYY-MM-DD date")
    try:
        return date.fromisoformat(item)
    except ValueError:
        raise ValueError(f"{field}: {item!r} is not a real date") from None


def to_json(schedule: YearSchedule) -> dict[str, Any]:
    """The operator file form of a schedule (what ``from_json`` reads)."""
    doc = to_document(schedule)
    return {"year": doc.pop("_id"), **doc}
