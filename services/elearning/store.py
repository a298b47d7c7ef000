"""The elearning service's collections and indexes: each part of the service (courses,
credits, wallet, roster, xAPI) declares its own; they are gathered here."""
from services.elearning import courses, credits, guardian_alerts, school_access_store, schoolbag, wallet_store
from services.elearning.xapi import document_store, statement_store


def _gather(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        for collection, models in part.items():
            out.setdefault(collection, []).extend(models)
    return out


INDEXES = _gather(courses.INDEXES, credits.INDEXES, schoolbag.INDEXES, wallet_store.INDEXES,
                  statement_store.INDEXES, document_store.INDEXES, guardian_alerts.INDEXES,
                  school_access_store.INDEXES)
OUTBOX_COLLECTIONS = [*credits.OUTBOX_COLLECTIONS, *schoolbag.OUTBOX_COLLECTIONS, *wallet_store.OUTBOX_COLLECTIONS,
                      *guardian_alerts.OUTBOX_COLLECTIONS]
