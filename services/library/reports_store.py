"""The library's reports against the store: one aggregation each, grouped on one computed key
(``$concat``; the embedded store does not group on a document of fields)."""
from __future__ import annotations

from pymongo.database import Database

from services.common.report_tables import SEP
from services.library.store import CONFLICTS, COPIES, KIOSK_HOURS, KIOSKS, LOAN_HISTORY


def loans(db: Database, low: str, high: str) -> list[dict]:
    """[{_id: "location|UTC hour", n}] of the loans begun in ``[low, high)`` (UTC ISO text):
    the ended ones in the loan history and the current ones on their copies."""
    def grouped(collection: str, prefix: str) -> list[dict]:
        return list(db[collection].aggregate([
            {"$match": {f"{prefix}loaned_at": {"$gte": low, "$lt": high}}},
            {"$group": {"_id": {"$concat": [f"${prefix}location", SEP, {"$substr": [f"${prefix}loaned_at", 0, 13]}]},
                        "n": {"$sum": 1}}}]))
    return grouped(LOAN_HISTORY, "") + grouped(COPIES, "loan.")


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
