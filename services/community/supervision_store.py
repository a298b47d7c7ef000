"""Electronic supervision against the store: the yellow and red open cases per handling
committee, and the cases whose 督办 waits past its reply day, one aggregation each (the 督办 and
ratings themselves are written with the case, ``cases_store.save_case_fix``)."""
from __future__ import annotations

from pymongo.database import Database

from services.community.cases import CLOCK_RUNNING
from services.community.store import CASES
from services.community.supervision import FLAGS, LATE_URGES


def flagged_counts(db: Database, today: str) -> list[dict]:
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
    # a range of the sparse ``urge_due`` (the earliest unanswered reply day, open cases only)
    for r in db[CASES].aggregate([{"$match": {"urge_due": {"$lt": today}}},
                                  {"$group": {"_id": "$handling_committee", "n": {"$sum": 1}}}]):
        rows.append({"committee": r["_id"], "flag": LATE_URGES, "n": r["n"]})
    return rows
