"""The community service's reports against the store: one aggregation per figure, each a range
of one indexed key the case carries (``reports.with_figures``: it starts with the month, so the
range is the period) then a ``$group`` on that same key, split by the rules in ``reports``. The
embedded store does not group on a document of fields, and computing a key in the pipeline
(``$concat``) cost 20 times a stored one (bench/RESULTS.md, Reports)."""
from __future__ import annotations

from pymongo.database import Database

from services.common.report_tables import shift_month
from services.community.store import CASES, RESIDENTS


def grouped(db: Database, key: str, since: str, until: str) -> list[dict]:
    """[{_id: the key's value, n}] of the cases whose ``key`` falls in the months ``since``..``until``."""
    return list(db[CASES].aggregate([
        {"$match": {key: {"$gte": since, "$lt": shift_month(until, 1)}}},
        {"$group": {"_id": f"${key}", "n": {"$sum": 1}}}]))


def cases_by_month(db: Database, since: str, until: str) -> tuple[list[dict], list[dict]]:
    """The cases of the period by month|handling|matter, and those handed on by
    month|handling|matter|accepting."""
    return grouped(db, "report_key", since, until), grouped(db, "report_handed_key", since, until)


def closed_by_days(db: Database, since: str, until: str) -> list[dict]:
    return grouped(db, "report_closed_key", since, until)


def ratings(db: Database, since: str, until: str) -> list[dict]:
    return grouped(db, "report_rating_key", since, until)


def away(db: Database) -> tuple[list[dict], list[dict]]:
    """([{_id: residence committee, n}], [{_id: registration committee, n}]) of the residents
    living away from their registration (the sparse keys are set only while they do)."""
    living = db[RESIDENTS].aggregate([{"$match": {"living_here_key": {"$exists": True}}},
                                      {"$group": {"_id": "$residence.committee", "n": {"$sum": 1}}}])
    registered = db[RESIDENTS].aggregate([{"$match": {"registered_here_key": {"$exists": True}}},
                                          {"$group": {"_id": "$registered_committee", "n": {"$sum": 1}}}])
    return list(living), list(registered)
