"""What every service's reports share, free of I/O: the period a report covers (whole months of
the district's calendar), the district's month and hour of a stored UTC stamp, the median of a
histogram, and the one shape a report answers in (``table``), which the console renders as a
chart beside a table and exports as CSV and XLSX.

Each service groups its own rows with one aggregation per report, on a single computed key
(``$concat`` of the parts, split here): the embedded store does not group on a document of
fields (docs/ARCHITECTURE.md, The store). Stamps are grouped by their UTC hour
(``$substr`` of the ISO text) and turned into the district's month or hour here, so a case
submitted at 23:30 on the last day of a month counts in that month, as the clerk saw it."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

from services.common import clock
from services.common.errors import BadInput, Forbidden

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MOST_MONTHS = 36
SEP = "|"   # what a group key's parts are joined with (no code, id or month holds it)


def period(since, until) -> tuple[str, str]:
    """The months a report covers, ``YYYY-MM`` both included; by default the last twelve."""
    this = clock.today().strftime("%Y-%m")
    until = this if until in (None, "") else until
    since = shift_month(until if MONTH.match(str(until)) else this, -11) if since in (None, "") else since
    for value in (since, until):
        if not isinstance(value, str) or not MONTH.match(value):
            raise BadInput(f"a month is written YYYY-MM, not {value!r}")
    if since > until:
        raise BadInput(f"the period starts ({since}) after it ends ({until})")
    if months_between(since, until) > MOST_MONTHS:
        raise BadInput(f"a report covers at most {MOST_MONTHS} months")
    return since, until


def shift_month(month: str, by: int) -> str:
    year, mon = int(month[:4]), int(month[5:7]) - 1 + by
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def months_between(since: str, until: str) -> int:
    """How many months from ``since`` to ``until``, both included."""
    return (int(until[:4]) - int(since[:4])) * 12 + int(until[5:7]) - int(since[5:7]) + 1


def utc_bounds(since: str, until: str) -> tuple[str, str]:
    """The UTC ISO text range ``[low, high)`` that holds every stamp of the district's months
    ``since``..``until`` (stamps are stored as UTC ISO text, so a range on them is a text range)."""
    start = datetime(int(since[:4]), int(since[5:7]), 1, tzinfo=clock.DISTRICT_TIME)
    end = datetime.fromisoformat(shift_month(until, 1) + "-01").replace(tzinfo=clock.DISTRICT_TIME)
    return start.astimezone(timezone.utc).isoformat()[:13], end.astimezone(timezone.utc).isoformat()[:13]


def local_hour(utc_hour: str) -> datetime:
    """The district's time of a UTC hour as ``$substr`` cut it from a stamp (``2026-10-03T17``)."""
    return clock.local(datetime.fromisoformat(utc_hour + ":00").replace(tzinfo=timezone.utc))


def local_month(stamp: str) -> str:
    """The district's month of a stored UTC stamp (or of its first 13 characters)."""
    return local_hour(stamp[:13]).strftime("%Y-%m")


def days_between(first: str, last: str) -> int:
    """Whole days from the district's day of ``first`` to that of ``last`` (UTC stamps or days)."""
    return (_day(last) - _day(first)).days


def _day(value: str) -> date:
    return date.fromisoformat(value) if len(value) == 10 else local_hour(value[:13]).date()


def median(histogram: dict[int, int]) -> float | None:
    """The median of values given as {value: how many}; None when there are none."""
    total = sum(histogram.values())
    if not total:
        return None
    ordered = sorted(histogram.items())

    def nth(k: int) -> int:
        seen = 0
        for value, n in ordered:
            seen += n
            if seen > k:
                return value
        return ordered[-1][0]
    return (nth((total - 1) // 2) + nth(total // 2)) / 2


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def table(name: str, title: str, columns: list[tuple[str, str]], rows: list[dict], chart: dict, *,
          since: str | None = None, until: str | None = None, scope: str | None = None,
          note: str = "") -> dict:
    """A report as every service answers it: ``columns`` [(key, heading)], ``rows`` (plain values
    by key), ``chart`` {kind: bar|line, labels, series: [{name, data}]} drawn beside the table."""
    return {"report": name, "title": title, "columns": [{"key": k, "name": n} for k, n in columns],
            "rows": rows, "chart": chart, "since": since, "until": until, "scope": scope, "note": note,
            "made_at": clock.now().isoformat()}



def check_district_reader(actor) -> None:
    """The library's and e-learning's reports are the district's (their places and schools are not
    a sub-district's): read by a district supervisor (no sub-district of their own) or an admin."""
    if not isinstance(actor, dict) or actor.get("role") not in ("supervisor", "admin") or actor.get("subdistrict"):
        raise Forbidden("these reports are read by the district's supervisors")
