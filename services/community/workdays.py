"""Working days (工作日) for service-desk time limits (承诺时限), free of I/O.

A day is a working day when it is a weekday that is not a public holiday, or a
weekend day the State Council made a working day (调休). The schedule comes from
operator data, one year at a time; a year that was never loaded raises
``YearNotLoaded`` instead of quietly falling back to "Monday to Friday", which
would put deadlines inside the Spring Festival or National Day.

Counting follows the civil-code rule that the starting day is not counted: a case
accepted on day A with N working days is due on the N-th working day after A.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

ONE_DAY = timedelta(days=1)
SATURDAY = 5  # date.weekday(): Monday is 0

DueStatus = Literal["ok", "due_soon", "overdue"]


class YearNotLoaded(Exception):
    """A date falls in a year whose working-day schedule has not been loaded."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"no working-day schedule loaded for {year}: load it with `suite calendar load`")


def is_weekend(d: date) -> bool:
    return d.weekday() >= SATURDAY


@dataclass(frozen=True)
class YearSchedule:
    """One year's holiday schedule: the days off and the weekend days worked instead.

    ``holidays`` may include the weekend days inside a holiday block; they change
    nothing but keep the block as the notice states it.
    """

    year: int
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    source: str

    def __post_init__(self) -> None:
        # Accept any iterable of dates but store frozensets, so equality and hashing hold.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "makeup_workdays", frozenset(self.makeup_workdays))
        self.validate()

    def validate(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int) or not 1 <= self.year <= 9999:
            raise ValueError(f"year must be an integer between 1 and 9999, not {self.year!r}")
        if not isinstance(self.source, str) or not self.source.strip():
            raise ValueError(f"schedule for {self.year}: source must be a non-empty string")
        self._check_dates("holidays", self.holidays)
        self._check_dates("makeup_workdays", self.makeup_workdays)
        both = sorted(self.holidays & self.makeup_workdays)
        if both:
            raise ValueError(f"schedule for {self.year}: {_iso(both)} both a holiday and a make-up working day")
        weekdays = sorted(d for d in self.makeup_workdays if not is_weekend(d))
        if weekdays:
            raise ValueError(
                f"schedule for {self.year}: make-up working day(s) {_iso(weekdays)} not on a Saturday or Sunday")

    def _check_dates(self, field: str, days: frozenset[date]) -> None:
        # datetime is a subclass of date but would never compare equal to a date key.
        wrong_type = [d for d in days if not isinstance(d, date) or isinstance(d, datetime)]
        if wrong_type:
            raise ValueError(f"schedule for {self.year}: {field} must hold dates, not {wrong_type[0]!r}")
        outside = sorted(d for d in days if d.year != self.year)
        if outside:
            raise ValueError(f"schedule for {self.year}: {field} {_iso(outside)} outside {self.year}")

    def is_working_day(self, d: date) -> bool:
        if d in self.makeup_workdays:
            return True
        return not is_weekend(d) and d not in self.holidays


def _iso(days: list[date]) -> str:
    return ", ".join(d.isoformat() for d in days)


class WorkingCalendar:
    """Working-day arithmetic over the loaded years; any other year raises YearNotLoaded."""

    def __init__(self, schedules: Iterable[YearSchedule]) -> None:
        self._schedules: dict[int, YearSchedule] = {}
        for schedule in schedules:
            if schedule.year in self._schedules:
                # Two notices for one year means the operator data is ambiguous.
                raise ValueError(f"two schedules for {schedule.year}")
            self._schedules[schedule.year] = schedule

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted(self._schedules))

    def schedule(self, year: int) -> YearSchedule:
        try:
            return self._schedules[year]
        except KeyError:
            raise YearNotLoaded(year) from None

    def is_working_day(self, d: date) -> bool:
        return self.schedule(d.year).is_working_day(d)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.add_working_days(d, 1)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day strictly after ``start`` (``start`` itself for n == 0)."""
        _check_count("n", n)
        day = start
        while n:
            day += ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d have start < d <= end (0 when end <= start)."""
        count = 0
        day = start + ONE_DAY
        while day <= end:
            count += self.is_working_day(day)
            day += ONE_DAY
        return count


def _check_count(name: str, n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"{name} must be an integer number of working days, not {n!r}")
    if n < 0:
        raise ValueError(f"{name} must not be negative, got {n}")


def deadline_for(calendar: WorkingCalendar, accepted_on: date, days: int) -> date:
    """The due date of a case accepted on ``accepted_on`` with ``days`` working days."""
    return calendar.add_working_days(accepted_on, days)


def remaining_days(calendar: WorkingCalendar, today: date, deadline: date) -> int:
    """Working days left after today up to the deadline (0 on the deadline or past it)."""
    return calendar.working_days_between(today, deadline)


def resume_deadline(calendar: WorkingCalendar, resumed_on: date, remaining: int) -> date:
    """The new due date when a case paused for supplement (补正) resumes.

    The clock stood still while the resident was supplementing; the working days
    that were left count again after the resume day. A case paused on its due day
    (nothing left) still gets the next working day, not a deadline in the past.
    """
    _check_count("remaining", remaining)
    return calendar.add_working_days(resumed_on, max(remaining, 1))


def due_status(calendar: WorkingCalendar, today: date, deadline: date) -> DueStatus:
    """Overdue past the deadline; due soon when due today or by the next working day."""
    if today > deadline:
        return "overdue"
    if deadline == today:
        return "due_soon"
    # A deadline on a non-working day before the next working day is just as close.
    return "due_soon" if deadline <= calendar.next_working_day(today) else "ok"
