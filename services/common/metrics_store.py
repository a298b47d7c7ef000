"""What the scrape-time gauges read from a service's store: one aggregate each, on an indexed
field (``count_documents`` scans on the embedded store; ``$match`` then ``$group`` does not)."""
from __future__ import annotations

from typing import Iterable, Mapping

from pymongo.database import Database

from services.common.outbox import PENDING


def counts_by(db: Database, collection: str, match: Mapping, by: str) -> dict:
    """{value of ``by``: how many documents of ``collection`` match ``match`` with it}."""
    return {row["_id"]: row["n"] for row in db[collection].aggregate(
        [{"$match": dict(match)}, {"$group": {"_id": f"${by}", "n": {"$sum": 1}}}])}


def outbox_backlog(db: Database, collections: Iterable[str]) -> int:
    """Events written to the outboxes of ``collections`` and not yet published."""
    total = 0
    for name in collections:
        for row in db[name].aggregate([{"$match": {PENDING: {"$gt": 0}}},
                                       {"$group": {"_id": None, "n": {"$sum": f"${PENDING}"}}}]):
            total += row["n"]
    return total
