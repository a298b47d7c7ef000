"""The library's reports against the store: one aggregation each, grouped on one key (the embedded
store does not group on a document of fields): the loans on the ``report_key`` they carry, the
conflicts on one computed in the pipeline (``$concat``; their number is small)."""
from __future__ import annotations

from pymongo.database import Database

from services.common.report_tables import SEP, shift_month
from services.library.store import CONFLICTS, COPIES, KIOSK_HOURS, KIOSKS, LOAN_HISTORY


def loans(db: Database, since: str, until: str) -> list[dict]:
    """[{_id: "month|hour|location", n}] of the loans begun in the district's months
    ``since``..``until``: the ended ones in the loan history and the current ones on their
    copies, each a range of its ``report_key`` (``reports.loan_key``) grouped on it."""
    low, high = since, shift_month(until, 1)
    def grouped(collection: str, field: str) -> list[dict]:
        return list(db[collection].aggregate([{"$match": {field: {"$gte": low, "$lt": high}}},
                                              {"$group": {"_id": f"${field}", "n": {"$sum": 1}}}]))
    return grouped(LOAN_HISTORY, "report_key") + grouped(COPIES, "loan.report_key")


def kiosks(db: Database) -> list[dict]:
    return list(db[KIOSKS].find({}, {"status": 1, "last_seen": 1, "open_faults": 1}).sort("_id").limit(1000))


def hours_heard(db: Database, low: str, high: str) -> list[dict]:
    """[{_id: kiosk, n: hours heard, first: the first of them}] in ``[low, high)`` (UTC hours)."""
    return list(db[KIOSK_HOURS].aggregate([
        {"$match": {"hour": {"$gte": low, "$lt": high}}},
        {"$group": {"_id": "$kiosk", "n": {"$sum": 1}, "first": {"$min": "$hour"}}}]))


def conflicts(db: Database, low: str, high: str) -> list[dict]:
    """[{_id: "kiosk|status", n}] of the conflicts that happened in ``[low, high)``."""
    return list(db[CONFLICTS].aggregate([
        {"$match": {"at": {"$gte": low, "$lt": high}}},
        {"$group": {"_id": {"$concat": ["$kiosk_id", SEP, "$status"]}, "n": {"$sum": 1}}}]))
