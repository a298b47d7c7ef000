"""The library service's collections, their indexes, and the builds the ``Store`` runs once
per database. The reads and writes of each aggregate are in its own store module:
``patrons_store``, ``copies_store`` (copies, loans and the loan history), ``holds_store``,
``kiosks_store``, ``conflicts_store``, ``digital_store`` (licence copies, files in GridFS), ``popsci_store`` (providers, their uploads, usage), ``locations_store``, ``loan_rules_store``; titles in
``catalogue``; SIP2 accounts in ``sip2.accounts_store``."""
from __future__ import annotations

from pymongo import ASCENDING, IndexModel
from pymongo.database import Database

from services.common.outbox import OUTBOX_INDEX
from services.common.storage import once, rekey_due

PATRONS = "patrons"
LOCATIONS = "locations"
TITLES = "titles"
TITLE_KEYS = "title_keys"   # one row per search key and title: what a search reads (catalogue.py)
COPIES = "copies"
HOLDS = "holds"
LOAN_HISTORY = "loan_history"
KIOSKS = "kiosks"
KIOSK_INBOX = "kiosk_inbox"
KIOSK_HOURS = "kiosk_hours"   # one row per kiosk and UTC hour it was heard in: its uptime (reports_store.py)
CONFLICTS = "conflicts"
SIP2_ACCOUNTS = "sip2_accounts"
DIGITAL_COPIES = "digital_copies"   # licence copies of digital resources, one each (digital_store.py)
POPSCI_PROVIDERS = "popsci_providers"   # popular-science providers and their credentials' hashes (popsci_store.py)
POPSCI_ITEMS = "popsci_items"   # what providers uploaded: pending, published or rejected
DIGITAL_USAGE = "digital_usage"   # borrows, plays and readers per digital resource and per provider
DIGITAL_READERS = "digital_readers"   # one row per reader of a resource (or a provider): counted once
LOAN_RULES = "loan_rules"   # an operator's rules, one document each (_id = the rule's name), after the defaults

COUNTERS = "counters"


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
        IndexModel([("loan.report_key", ASCENDING)], name="loan_report_key", sparse=True),   # reports_store
        IndexModel([("watch_due", ASCENDING)], name="watch_due", sparse=True),
        IndexModel([("hold_expires", ASCENDING)], name="hold_expires", sparse=True),
        IndexModel([("history_pending_n", ASCENDING)], name="history_pending", sparse=True),
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
    # a copy's loans: the other side of its conflicts (conflicts_store.loans_of_copy)
    LOAN_HISTORY: [IndexModel([("patron", ASCENDING)], name="patron"),
                   IndexModel([("barcode", ASCENDING)], name="barcode"),
                   IndexModel([("report_key", ASCENDING)], name="report_key", sparse=True)],   # reports_store
    DIGITAL_COPIES: [IndexModel([("title_id", ASCENDING)], name="title"),
                     IndexModel([("loan.patron", ASCENDING)], name="loan_patron", sparse=True),
                     IndexModel([("due_watch", ASCENDING)], name="due_watch", sparse=True), OUTBOX_INDEX],
    KIOSKS: [IndexModel([("status", ASCENDING)], name="status"), OUTBOX_INDEX],
    POPSCI_ITEMS: [IndexModel([("status", ASCENDING)], name="status"),
                   IndexModel([("provider", ASCENDING)], name="provider"), OUTBOX_INDEX],
    DIGITAL_USAGE: [IndexModel([("kind", ASCENDING)], name="kind")],
    KIOSK_HOURS: [IndexModel([("hour", ASCENDING)], name="hour")],
    CONFLICTS: [IndexModel([("status", ASCENDING)], name="status"), IndexModel([("barcode", ASCENDING)], name="barcode"),
                # a page is one range of one of these (conflicts.KEY_FIELDS), whichever filters it has
                *[IndexModel([(key, ASCENDING)], name=key, sparse=True)
                  for key in ("page_key", "kind_key", "place_key", "kind_place_key")], OUTBOX_INDEX],
}

OUTBOX_COLLECTIONS = [PATRONS, COPIES, HOLDS, KIOSKS, CONFLICTS, DIGITAL_COPIES, POPSCI_ITEMS]


def rekey_watch_fields(db: Database) -> None:
    """Once per database (a build of the ``Store``): the watch fields an earlier version kept
    as plain dates become due keys (``storage.due_key``), which the timers read by an indexed range."""
    once(db, "due_keys", lambda: rekey_due(db[COPIES], "watch_due") + rekey_due(db[COPIES], "hold_expires"))
