"""The elearning service's collections and indexes: each part of the service (courses,
credits, wallet, roster, xAPI) declares its own; they are gathered here."""
from services.elearning import courses, credits


def _gather(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        for collection, models in part.items():
            out.setdefault(collection, []).extend(models)
    return out


INDEXES = _gather(courses.INDEXES, credits.INDEXES)
OUTBOX_COLLECTIONS = [*credits.OUTBOX_COLLECTIONS]
