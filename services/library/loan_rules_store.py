"""Operators' loan rules against the store (the defaults are in ``policy``): one document
per named rule, read with the defaults for every action, kept a few seconds in this process
(``reference``)."""
from __future__ import annotations

import dataclasses

from pymongo.database import Database

from services.library import reference
from services.library.policy import DEFAULT_RULES, LoanRule
from services.library.store import LOAN_RULES


def named(db: Database) -> dict[str, LoanRule]:
    """The operators' rules by name, in name order (as stored now)."""
    return {r["_id"]: LoanRule(**{k: v for k, v in r.items() if k != "_id"})
            for r in db[LOAN_RULES].find().sort("_id")}


def rules(db: Database) -> tuple[LoanRule, ...]:
    """Every rule in force: the defaults, then the operators' (kept for a few seconds)."""
    return reference.cached(db, LOAN_RULES, "all", lambda: DEFAULT_RULES + tuple(named(db).values()))


def put(db: Database, checked: dict[str, LoanRule]) -> list[str]:
    """Add or replace named rules (checked: ``policy.checked_rules``); their names."""
    for name, rule in checked.items():
        # every field is set (asdict): the whole rule; replace_one would not do (the embedded store
        # gives an upserted replacement a new ObjectId instead of the _id asked for)
        db[LOAN_RULES].update_one({"_id": name}, {"$set": dataclasses.asdict(rule)}, upsert=True)
    reference.forget(db, LOAN_RULES)
    return sorted(checked)
