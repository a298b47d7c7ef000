"""Electronic supervision against the store: the yellow and red open cases per handling
committee, in one aggregation (the 督办 and ratings themselves are written with the case,
``cases_store.save_case_fix``)."""
from __future__ import annotations

from pymongo.database import Database

from services.community.cases import CLOCK_RUNNING
from services.community.store import CASES
from services.community.supervision import FLAGS


def flagged_counts(db: Database) -> list[dict]:
    """[{committee, flag, n}] of the open cases whose clock runs, by handling committee and flag:
    per flag, ``$match`` on the sparse ``open_flag`` index then ``$group`` by one field, so only
    the raised cases are read (fast on the embedded store too, where a count or a scan of every
    case is not; it groups by a field path but not by a document of them)."""
    rows = []
    for flag in FLAGS:
        for r in db[CASES].aggregate([
                {"$match": {"open_flag": flag, "status": {"$in": list(CLOCK_RUNNING)}}},
                {"$group": {"_id": "$handling_committee", "n": {"$sum": 1}}}]):
            rows.append({"committee": r["_id"], "flag": flag, "n": r["n"]})
    return rows
