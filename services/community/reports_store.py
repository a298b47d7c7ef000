"""The community service's reports against the store: one aggregation per report, each a
``$match`` on one indexed field (the case's ``report_month``, the residents' sparse 人户分离 keys)
then a ``$group`` on one computed key (``$concat`` of the parts; the embedded store does not group
on a document of fields), split by the rules in ``reports``."""
from __future__ import annotations

from pymongo.database import Database

from services.common.report_tables import SEP
from services.community.reports import CLOSED
from services.community.store import CASES, RESIDENTS


def _in_period(since: str, until: str) -> dict:
    return {"report_month": {"$gte": since, "$lte": until}}


def cases_by_month(db: Database, since: str, until: str) -> list[dict]:
    """[{_id: "month|handling|matter|accepting", n}] of the cases submitted in the period."""
    return list(db[CASES].aggregate([
        {"$match": _in_period(since, until)},
        {"$group": {"_id": {"$concat": ["$report_month", SEP, "$handling_committee", SEP, "$matter_code", SEP,
                                        "$accepting_committee"]}, "n": {"$sum": 1}}}]))


def closed_by_days(db: Database, since: str, until: str) -> list[dict]:
    """[{_id: "handling|on_time|days", n}] of the cases of the period closed by their committee."""
    return list(db[CASES].aggregate([
        {"$match": {**_in_period(since, until), "status": {"$in": list(CLOSED)}}},
        {"$group": {"_id": {"$concat": ["$handling_committee", SEP, "$on_time", SEP,
                                        {"$toString": "$handling_days"}]}, "n": {"$sum": 1}}}]))


def ratings(db: Database, since: str, until: str) -> list[dict]:
    """[{_id: "handling|score", n}] of the ratings of the cases of the period."""
    return list(db[CASES].aggregate([
        {"$match": {**_in_period(since, until), "rating.score": {"$exists": True}}},
        {"$group": {"_id": {"$concat": ["$handling_committee", SEP, {"$toString": "$rating.score"}]},
                    "n": {"$sum": 1}}}]))


def away(db: Database) -> tuple[list[dict], list[dict]]:
    """([{_id: residence committee, n}], [{_id: registration committee, n}]) of the residents
    living away from their registration (the sparse keys are set only while they do)."""
    living = db[RESIDENTS].aggregate([{"$match": {"living_here_key": {"$exists": True}}},
                                      {"$group": {"_id": "$residence.committee", "n": {"$sum": 1}}}])
    registered = db[RESIDENTS].aggregate([{"$match": {"registered_here_key": {"$exists": True}}},
                                          {"$group": {"_id": "$registered_committee", "n": {"$sum": 1}}}])
    return list(living), list(registered)
