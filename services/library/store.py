"""The library service's collections and their indexes."""
from pymongo import ASCENDING, IndexModel

from services.common.outbox import OUTBOX_INDEX

PATRONS = "patrons"

INDEXES = {
    PATRONS: [IndexModel([("card_number", ASCENDING)], name="card_number", unique=True), OUTBOX_INDEX],
}

OUTBOX_COLLECTIONS = [PATRONS]
