"""The e-learning service's reports against the store: one aggregation each, grouped on one
computed key (``$concat``; the embedded store does not group on a document of fields)."""
from __future__ import annotations

from pymongo.database import Database

from services.common.report_tables import SEP
from services.elearning.courses import PROGRESS
from services.elearning.credits import LEDGER as CREDITS
from services.elearning.schoolbag import ORGS
from services.elearning.wallet_store import LEDGER as WALLET, TERMINALS


def progress(db: Database, low: str, high: str) -> list[dict]:
    """[{_id: "UTC hour|enrolment", n}] of the lesson progress last reported in ``[low, high)``."""
    return list(db[PROGRESS].aggregate([
        {"$match": {"at": {"$gte": low, "$lt": high}}},
        {"$group": {"_id": {"$concat": [{"$substr": ["$at", 0, 13]}, SEP, "$enrolment"]}, "n": {"$sum": 1}}}]))


def credits(db: Database, low: str, high: str) -> list[dict]:
    """[{_id: "UTC hour|kind", n, credits}] of the credit bank's entries in ``[low, high)``."""
    return list(db[CREDITS].aggregate([
        {"$match": {"at": {"$gte": low, "$lt": high}}},
        {"$group": {"_id": {"$concat": [{"$substr": ["$at", 0, 13]}, SEP, "$kind"]}, "n": {"$sum": 1},
                    "credits": {"$sum": "$amount"}}}]))


def wallet_spending(db: Database, since: str, until: str) -> list[dict]:
    """[{_id: "kind|terminal", n, fen}] of the terminals' charges and refunds booked in the months."""
    return list(db[WALLET].aggregate([
        {"$match": {"month": {"$gte": since, "$lte": until}, "kind": {"$in": ["charge", "refund"]}}},
        {"$group": {"_id": {"$concat": ["$kind", SEP, "$terminal_id"]}, "n": {"$sum": 1},
                    "fen": {"$sum": "$amount_fen"}}}]))


def terminal_schools(db: Database) -> dict[str, str]:
    return {t["_id"]: t["school_id"] for t in db[TERMINALS].find({}, {"school_id": 1}).limit(100_000)}


def school_names(db: Database, ids: list[str]) -> dict[str, str]:
    return {o["_id"]: o.get("name") or o["_id"] for o in db[ORGS].find({"_id": {"$in": ids}}, {"name": 1})} \
        if ids else {}
