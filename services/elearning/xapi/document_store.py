"""The LRS's documents (State, Agent Profile, Activity Profile) against the elearning
database: ``xapi_documents``, ``_id`` = the document's key (``DocumentScope.key``); ``ctx``
= its group's key (index), for the id lists; ``agent`` (index) = the digest of the agent a
State or Agent Profile document belongs to, for a learner's export and erasure."""
from __future__ import annotations

import base64
from datetime import datetime

import pymongo
from pymongo import ASCENDING, IndexModel
from pymongo.database import Database

from services.common import clock
from services.common.storage import once
from services.elearning.xapi.agents import digest
from services.elearning.xapi.documents import DocumentScope, etag, merge_json, write_precondition
from services.elearning.xapi.errors import XapiError

DOCUMENTS = "xapi_documents"
OLD_STATE = "xapi_state"       # where State documents were kept before the profiles joined them

INDEXES = {
    DOCUMENTS: [IndexModel([("ctx", ASCENDING)], name="ctx"), IndexModel([("agent", ASCENDING)], name="agent")],
}

LIST_MAX = 1000     # documents listed at most for one group (one activity, agent and registration; one activity...)
ATTEMPTS = 8        # compare-and-set rounds before a write that keeps losing the race is answered 409


def document(db: Database, scope: DocumentScope) -> dict | None:
    doc = db[DOCUMENTS].find_one({"_id": scope.key})
    if doc is None:
        return None
    return {"content": base64.b64decode(doc["body"]), "content_type": doc["content_type"], "etag": doc["etag"],
            "updated": datetime.fromisoformat(doc["updated"])}


def document_ids(db: Database, scope: DocumentScope) -> tuple[list[str], datetime | None]:
    """The ids of one group's documents (updated after ``since``), oldest first, and when
    the last of them changed."""
    docs = list(db[DOCUMENTS].find({"ctx": scope.context_key}, {"doc_id": 1, "updated": 1}).limit(LIST_MAX))
    if scope.since is not None:
        docs = [d for d in docs if datetime.fromisoformat(d["updated"]) > scope.since]
    docs.sort(key=lambda d: d["updated"])
    last = max((datetime.fromisoformat(d["updated"]) for d in docs), default=None)
    return [d["doc_id"] for d in docs], last


def write_document(db: Database, scope: DocumentScope, content: bytes, content_type: str | None, *,
                   version: str, method: str, if_match: str | None, if_none_match: str | None) -> str:
    """PUT (replace) or POST (merge JSON) one document, compare-and-set on its ETag so that a
    concurrent write is never lost; returns the new ETag."""
    for _ in range(ATTEMPTS):
        current = db[DOCUMENTS].find_one({"_id": scope.key})
        current_etag = current["etag"] if current else None
        write_precondition(scope.resource, version, method, if_match, if_none_match, current_etag)
        body = merge_json(base64.b64decode(current["body"]) if current else None,
                          current["content_type"] if current else None, content, content_type) \
            if method == "POST" else content
        fields = {"ctx": scope.context_key, "resource": scope.resource.path, "doc_id": scope.document_id,
                  "activity_id": scope.activity_id, "registration": scope.registration,
                  "body": base64.b64encode(body).decode("ascii"),
                  "content_type": (content_type or "application/octet-stream")[:200], "etag": etag(body),
                  "updated": clock.now().isoformat()}
        if scope.agent_ifi:
            fields["agent"] = digest(scope.agent_ifi)          # found again on export and erasure
        if current is None:
            try:
                db[DOCUMENTS].insert_one({"_id": scope.key, **fields})
                return fields["etag"]
            except pymongo.errors.DuplicateKeyError:
                continue
        if db[DOCUMENTS].update_one({"_id": scope.key, "etag": current_etag}, {"$set": fields}).matched_count:
            return fields["etag"]
    raise XapiError(409, f"the {scope.resource.name} document changed too often meanwhile; try again")


def delete_document(db: Database, scope: DocumentScope, *, version: str, if_match: str | None,
                    if_none_match: str | None) -> None:
    for _ in range(ATTEMPTS):
        current = db[DOCUMENTS].find_one({"_id": scope.key}, {"etag": 1})
        write_precondition(scope.resource, version, "DELETE", if_match, if_none_match,
                           current["etag"] if current else None)
        if current is None or db[DOCUMENTS].delete_one({"_id": scope.key, "etag": current["etag"]}).deleted_count:
            return
    raise XapiError(409, f"the {scope.resource.name} document changed too often meanwhile; try again")


def delete_documents(db: Database, scope: DocumentScope) -> int:
    """Every document of one group (State: of one activity, agent and registration), by
    ``_id``, one by one."""
    ids = [d["_id"] for d in db[DOCUMENTS].find({"ctx": scope.context_key}, {"_id": 1}).limit(LIST_MAX)]
    return sum(db[DOCUMENTS].delete_one({"_id": i}).deleted_count for i in ids)


def build_documents(db: Database) -> int | None:
    """A store build (``Store(builds=...)``): ``move_old_state`` once per database."""
    return once(db, "xapi_documents", lambda: move_old_state(db))


def move_old_state(db: Database) -> int:
    """The State documents an earlier version kept in ``xapi_state`` (same keys,
    ``state_id`` for ``doc_id``) into ``xapi_documents``."""
    moved = 0
    for old in db[OLD_STATE].find({}):
        doc = {k: v for k, v in old.items() if k != "state_id"}
        doc.update(doc_id=old.get("state_id"), resource="activities/state")
        try:
            db[DOCUMENTS].insert_one(doc)
            moved += 1
        except pymongo.errors.DuplicateKeyError:      # moved by another process, or rewritten since
            pass
        db[OLD_STATE].delete_one({"_id": old["_id"]})
    return moved
