"""The community service's collections and their indexes."""
from pymongo import ASCENDING, IndexModel

from services.common.outbox import OUTBOX_INDEX

RESIDENTS = "residents"
PLACES = "places"

INDEXES = {
    RESIDENTS: [
        IndexModel([("id_number", ASCENDING)], name="id_number", unique=True),
        IndexModel([("residence.committee", ASCENDING)], name="residence_committee"),
        OUTBOX_INDEX,
    ],
    PLACES: [IndexModel([("kind", ASCENDING)], name="kind")],
}

OUTBOX_COLLECTIONS = [RESIDENTS]
