"""The community service's reports against the store: one aggregation per figure, a ``$match`` on
a range of one indexed field the case carries (``reports.with_figures``) then a ``$group`` on that
same field, split by the rules in ``reports``. The embedded store does not group on a document
of fields; a key computed in the pipeline (``$concat``) cost 20 times a stored one, and its time
goes mostly into the groups it answers, so the district groups by sub-district and a
sub-district by committee (bench/RESULTS.md, Reports)."""
from __future__ import annotations

from pymongo.database import Database

from services.common.report_tables import SEP, shift_month
from services.community.store import CASES, RESIDENTS


def grouped(db: Database, figure: str, since: str, until: str, subdistrict: str | None) -> list[dict]:
    """[{_id: "month|place|…", n}] of the cases submitted in the months ``since``..``until``: by
    sub-district for the district (``g_<figure>_d``), by committee for one sub-district
    (``g_<figure>_s``, whose leading sub-district is taken off)."""
    if subdistrict is None:
        field, low, high = f"g_{figure}_d", since, shift_month(until, 1)
    else:
        field, low, high = f"g_{figure}_s", subdistrict + SEP + since, subdistrict + SEP + shift_month(until, 1)
    rows = list(db[CASES].aggregate([{"$match": {field: {"$gte": low, "$lt": high}}},
                                     {"$group": {"_id": f"${field}", "n": {"$sum": 1}}}]))
    if subdistrict is not None:
        for row in rows:
            row["_id"] = row["_id"].split(SEP, 1)[1]
    return rows


def away(db: Database) -> tuple[list[dict], list[dict]]:
    """([{_id: residence committee, n}], [{_id: registration committee, n}]) of the residents
    living away from their registration (the sparse keys are set only while they do)."""
    living = db[RESIDENTS].aggregate([{"$match": {"living_here_key": {"$exists": True}}},
                                      {"$group": {"_id": "$residence.committee", "n": {"$sum": 1}}}])
    registered = db[RESIDENTS].aggregate([{"$match": {"registered_here_key": {"$exists": True}}},
                                          {"$group": {"_id": "$registered_committee", "n": {"$sum": 1}}}])
    return list(living), list(registered)
