"""The library service's collections, their indexes, and the writes that need care."""
from __future__ import annotations

from datetime import datetime, timezone

from eventlet.semaphore import Semaphore
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.database import Database

from services.common import outbox
from services.common.errors import Conflict
from services.common.inbox import INBOX_KEEP
from services.common.outbox import OUTBOX_INDEX
from services.common.storage import diff_update, due_key, merge_updates, once, rekey_due

PATRONS = "patrons"
LOCATIONS = "locations"
TITLES = "titles"
TITLE_KEYS = "title_keys"   # one row per search key and title: what a search reads (catalogue.py)
COPIES = "copies"
HOLDS = "holds"
LOAN_HISTORY = "loan_history"
KIOSKS = "kiosks"
KIOSK_INBOX = "kiosk_inbox"
CONFLICTS = "conflicts"
SIP2_ACCOUNTS = "sip2_accounts"

COUNTERS = "counters"


CARD_SERIAL_BLOCK = 100


class CardSerials:
    """Serials for new library cards, handed out from blocks this process reserves with one
    atomic ``$inc`` on the shared counter: one store round trip per hundred new patrons, not
    one each (a residents import waits on the library making patrons). Each process has
    blocks of its own, so serials stay unique; those left in a block when the process stops
    are never used: card numbers are unique, not contiguous."""

    def __init__(self, block: int = CARD_SERIAL_BLOCK):
        self.block = block
        self._lock = Semaphore()
        # (client, database name) -> [next, last, client]: the client is kept so that its id is
        # never another's (a process has one client per store; tests have several)
        self._blocks: dict[tuple, list] = {}

    def next(self, db: Database) -> int:
        key = (id(db.client), db.name)
        with self._lock:
            span = self._blocks.get(key)
            if span is None or span[0] > span[1]:
                last = db[COUNTERS].find_one_and_update({"_id": "card"}, {"$inc": {"seq": self.block}}, upsert=True,
                                                        return_document=ReturnDocument.AFTER)["seq"]
                span = self._blocks[key] = [last - self.block + 1, last, db.client]
            span[0] += 1
            return span[0] - 1


card_serials = CardSerials()


INDEXES = {
    PATRONS: [IndexModel([("card_number", ASCENDING)], name="card_number", unique=True), OUTBOX_INDEX],
    TITLES: [
        IndexModel([("isbn", ASCENDING)], name="isbn", sparse=True),
        # search tokens (query them with $all: the embedded store answers plain equality on an
        # indexed array wrongly, and scans for $all; searches read TITLE_KEYS)
        IndexModel([("keywords", ASCENDING)], name="keywords"),
    ],
    TITLE_KEYS: [IndexModel([("k", ASCENDING)], name="k")],
    COPIES: [
        IndexModel([("title_id", ASCENDING)], name="title"),
        IndexModel([("loan.patron", ASCENDING)], name="loan_patron", sparse=True),
        IndexModel([("watch_due", ASCENDING)], name="watch_due", sparse=True),
        IndexModel([("hold_expires", ASCENDING)], name="hold_expires", sparse=True),
        OUTBOX_INDEX,
    ],
    HOLDS: [
        IndexModel([("queue", ASCENDING), ("queue_key", ASCENDING)], name="queue"),
        # A title's queue is read on every checkout and return. The embedded store does not use
        # the compound index above for an equality on ``queue`` alone: it scanned every hold
        # ever kept (fulfilled and cancelled ones stay), 40-60 ms at 50,000.
        IndexModel([("queue", ASCENDING)], name="queue_title"),
        IndexModel([("patron", ASCENDING)], name="patron"),
        OUTBOX_INDEX,
    ],
    LOAN_HISTORY: [IndexModel([("patron", ASCENDING)], name="patron")],
    KIOSKS: [IndexModel([("status", ASCENDING)], name="status"), OUTBOX_INDEX],
    CONFLICTS: [IndexModel([("status", ASCENDING)], name="status"), IndexModel([("barcode", ASCENDING)], name="barcode"),
                OUTBOX_INDEX],
}

OUTBOX_COLLECTIONS = [PATRONS, COPIES, HOLDS, KIOSKS, CONFLICTS]


def rekey_watch_fields(db: Database) -> None:
    """Once per database (a build of the ``Store``): the watch fields an earlier version kept
    as plain dates become due keys (``storage.due_key``), which the timers read by an indexed range."""
    once(db, "due_keys", lambda: rekey_due(db[COPIES], "watch_due") + rekey_due(db[COPIES], "hold_expires"))


def with_watch_fields(copy: dict) -> dict:
    """Fields the timers scan by one indexed range: loans that may still become overdue,
    ready holds that may still expire."""
    out = dict(copy)
    if copy["status"] == "on_loan" and not copy.get("overdue_raised"):
        out["watch_due"] = due_key(copy["loan"]["due"])
    else:
        out.pop("watch_due", None)
    if copy["status"] == "on_hold_shelf" and copy.get("hold") and copy["hold"].get("expires"):
        out["hold_expires"] = due_key(copy["hold"]["expires"])
    else:
        out.pop("hold_expires", None)
    return out


def save_copy(db: Database, old: dict, new: dict, *events: dict, at: datetime | None = None,
              applied_event: str | None = None) -> None:
    """Write a copy's new state and its events in one update, if nobody changed it meanwhile.
    ``at`` is when the change happened (kiosk events older than it are stale);
    ``applied_event`` is recorded in the copy's inbox by the same write."""
    new = with_watch_fields(new)
    if at is not None:
        new["state_at"] = at.astimezone(timezone.utc).isoformat()
    update = diff_update(old, new)
    if events:
        update = merge_updates(update, outbox.record(*events))
    if applied_event:
        update = merge_updates(update, {"$push": {"inbox": {"$each": [applied_event], "$slice": -INBOX_KEEP}}})
    result = db[COPIES].update_one({"_id": old["_id"], "version": old["version"]}, update)
    if result.matched_count == 0:
        raise Conflict("the item was changed meanwhile (another desk or kiosk acted on it); try again")
