"""The community service's reports against the store: one aggregation per figure, a ``$match`` on
a range of one indexed field the case carries (``report_month`` for the district,
``report_sd_month`` for one sub-district: ``reports.with_figures``) then a ``$group`` on one
stored field, split by the rules in ``reports``. The embedded store does not group on a document
of fields; a key computed in the pipeline (``$concat``) cost 20 times a stored one, and its time
goes mostly into the groups it answers, so the district groups by sub-district and a
sub-district by committee (bench/RESULTS.md, Reports)."""
from __future__ import annotations

from pymongo.database import Database

from services.common.report_tables import SEP, shift_month
from services.community.store import CASES, RESIDENTS


def grouped(db: Database, figure: str, since: str, until: str, subdistrict: str | None) -> list[dict]:
    """[{_id: the group field's value or None, n}] of the cases submitted in the months
    ``since``..``until``, in the district (``g_<figure>_d``) or one sub-district (``g_<figure>_s``)."""
    if subdistrict is None:
        match, field = {"report_month": {"$gte": since, "$lt": shift_month(until, 1)}}, f"g_{figure}_d"
    else:
        match = {"report_sd_month": {"$gte": subdistrict + SEP + since,
                                     "$lt": subdistrict + SEP + shift_month(until, 1)}}
        field = f"g_{figure}_s"
    return list(db[CASES].aggregate([{"$match": match}, {"$group": {"_id": f"${field}", "n": {"$sum": 1}}}]))


def away(db: Database) -> tuple[list[dict], list[dict]]:
    """([{_id: residence committee, n}], [{_id: registration committee, n}]) of the residents
    living away from their registration (the sparse keys are set only while they do)."""
    living = db[RESIDENTS].aggregate([{"$match": {"living_here_key": {"$exists": True}}},
                                      {"$group": {"_id": "$residence.committee", "n": {"$sum": 1}}}])
    registered = db[RESIDENTS].aggregate([{"$match": {"registered_here_key": {"$exists": True}}},
                                          {"$group": {"_id": "$registered_committee", "n": {"$sum": 1}}}])
    return list(living), list(registered)
