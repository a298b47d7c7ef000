"""Loan policy: rules over patron type × material type × location kind, as library systems
in the field keep them (the most specific matching rule wins), and due dates that avoid
the lending location's closed days. Pure: no I/O."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable, Iterable

from services.common.errors import BadInput

ANY = "*"


@dataclass(frozen=True)
class LoanRule:
    patron_type: str = ANY
    material_type: str = ANY
    location_kind: str = ANY
    item_limit: int = 10               # loans at once
    loan_days: int = 30
    renewals: int = 2
    due_on_closed_day: str = "next"    # "next" or "previous" open day
    hold_shelf_days: int = 7           # a ready hold waits this long at the pickup location
    recall_days: int = 0               # >0: a waiting hold shortens new loans of the title to this many
                                       # days, and recalls a current loan to this many days from the recall
    min_loan_days: int = 0             # a recall never makes a loan shorter than this (from the loan day)
    block_overdue_days: int = 30       # an item overdue longer than this blocks borrowing
    block_overdue_items: int = 3       # this many overdue items block borrowing
    fine_cents_per_day: int = 0        # overdue fines: off by default
    fine_cap_cents: int = 0

    def specificity(self) -> int:
        return sum(v != ANY for v in (self.patron_type, self.material_type, self.location_kind))

    def matches(self, patron_type: str, material_type: str, location_kind: str) -> bool:
        return all(rule in (ANY, actual) for rule, actual in (
            (self.patron_type, patron_type), (self.material_type, material_type),
            (self.location_kind, location_kind)))


RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def rule_from(fields: dict) -> LoanRule:
    """An operator's rule, checked field by field (ValueError names what is wrong)."""
    if not isinstance(fields, dict):
        raise ValueError("a loan rule is an object of fields")
    known = {f.name: f for f in dataclasses.fields(LoanRule)}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ValueError(f"unknown loan rule fields: {', '.join(map(str, unknown))}")
    for name, value in fields.items():
        if known[name].type in ("int", int):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100_000:
                raise ValueError(f"{name} must be a whole number from 0 to 100000")
        elif not isinstance(value, str) or not (value == ANY or RULE_NAME.match(value)):
            raise ValueError(f"{name} must be '*' or a short lower-case name")
    if fields.get("due_on_closed_day", "next") not in ("next", "previous"):
        raise ValueError("due_on_closed_day is 'next' or 'previous'")
    rule = LoanRule(**fields)
    if rule.loan_days < 1:
        raise ValueError("loan_days must be at least 1")
    return rule


def checked_rules(named) -> dict[str, LoanRule]:
    """An operator's rules ({name: fields}), every one checked before any is stored."""
    if not isinstance(named, dict) or not 0 < len(named) <= 200:
        raise BadInput("give 1 to 200 rules as {name: fields}")
    checked = {}
    for name, fields in named.items():
        if not isinstance(name, str) or not RULE_NAME.match(name):
            raise BadInput(f"a rule name is a short lower-case name: {str(name)[:40]!r}")
        try:
            checked[name] = rule_from(fields)
        except ValueError as exc:
            raise BadInput(f"rule {name}: {exc}") from None
    return checked


def rules_view(named: dict[str, LoanRule]) -> list[dict]:
    """Every rule in force, defaults first, each with its name (operator rules) or 'default'."""
    return [{"name": "default", **dataclasses.asdict(r)} for r in DEFAULT_RULES] + \
        [{"name": name, **dataclasses.asdict(r)} for name, r in named.items()]


DEFAULT_RULES: tuple[LoanRule, ...] = (
    LoanRule(),
    LoanRule(patron_type="child", item_limit=5, loan_days=21, block_overdue_items=2),
    LoanRule(patron_type="senior", loan_days=45),
    LoanRule(material_type="periodical", loan_days=7, renewals=0),
    LoanRule(material_type="av", loan_days=14, renewals=1),
    LoanRule(location_kind="kiosk", item_limit=10, loan_days=30, renewals=2),
)


def rule_for(rules: Iterable[LoanRule], patron_type: str, material_type: str, location_kind: str) -> LoanRule:
    matching = [r for r in rules if r.matches(patron_type, material_type, location_kind)]
    if not matching:
        raise LookupError(f"no loan rule for {patron_type}/{material_type}/{location_kind}")
    # most specific first; among equals, the later one (operators append overrides)
    return max(enumerate(matching), key=lambda pair: (pair[1].specificity(), pair[0]))[1]


def patron_types(rules: Iterable[LoanRule], default: str) -> tuple[str, ...]:
    """The patron types the rules know (``default`` always: it is what every card starts as)."""
    return tuple(sorted({r.patron_type for r in rules if r.patron_type != ANY} | {default}))


def recall_due(rule: LoanRule, loaned_on: date, current_due: date, today: date,
               is_open: Callable[[date], bool]) -> date | None:
    """The due date of a recalled loan: ``recall_days`` from today, but not before the rule's
    minimum loan period, moved off closed days, and never later than it was (a recall never
    extends a loan). None: the rule makes no recalls."""
    if rule.recall_days <= 0:
        return None
    earliest = max(today + timedelta(days=rule.recall_days), loaned_on + timedelta(days=rule.min_loan_days))
    return min(current_due, due_date(rule, today, is_open, (earliest - today).days))


def due_date(rule: LoanRule, loaned_on: date, is_open: Callable[[date], bool], days: int | None = None) -> date:
    """The due date: ``days`` (default the rule's loan period) on, moved off closed days to
    the previous or the next open day, as the rule says. A previous open day must come after
    the loan day; when there is none (a long closure), the next open day it is."""
    due = loaned_on + timedelta(days=rule.loan_days if days is None else days)
    if rule.due_on_closed_day == "previous":
        for back in range((due - loaned_on).days):
            if is_open(due - timedelta(days=back)):
                return due - timedelta(days=back)
    for ahead in range(366):
        if is_open(due + timedelta(days=ahead)):
            return due + timedelta(days=ahead)
    raise ValueError("the location is never open")


def fine_cents(rule: LoanRule, due: date, returned_on: date) -> int:
    late = (returned_on - due).days
    if late <= 0 or rule.fine_cents_per_day <= 0:
        return 0
    fine = late * rule.fine_cents_per_day
    return min(fine, rule.fine_cap_cents) if rule.fine_cap_cents else fine


def open_on(closed_weekdays: Iterable[int] = (), closed_dates: Iterable[str] = ()) -> Callable[[date], bool]:
    """A location's opening rule: weekdays 0=Monday..6=Sunday closed, plus dated closures."""
    weekdays, dates = frozenset(closed_weekdays), frozenset(closed_dates)
    return lambda d: d.weekday() not in weekdays and d.isoformat() not in dates
