"""The LRS's state documents against the elearning database: ``xapi_state``, ``_id`` = digest
of activity, agent, registration and stateId; ``ctx`` = digest of activity, agent and
registration (index) for the id lists; ``agent`` (index) for a learner's erasure."""
from __future__ import annotations

import base64
from datetime import datetime

import pymongo
from pymongo import ASCENDING, IndexModel
from pymongo.database import Database

from services.common import clock
from services.elearning.xapi.agents import digest
from services.elearning.xapi.documents import StateScope, etag, merge_json, state_precondition
from services.elearning.xapi.errors import XapiError

STATE = "xapi_state"

INDEXES = {
    STATE: [IndexModel([("ctx", ASCENDING)], name="ctx"), IndexModel([("agent", ASCENDING)], name="agent")],
}

STATE_LIST_MAX = 1000  # state documents listed at most for one activity, agent and registration


def state_document(db: Database, scope: StateScope) -> dict | None:
    doc = db[STATE].find_one({"_id": scope.document_id})
    if doc is None:
        return None
    return {"content": base64.b64decode(doc["body"]), "content_type": doc["content_type"], "etag": doc["etag"],
            "updated": datetime.fromisoformat(doc["updated"])}


def state_ids(db: Database, scope: StateScope) -> tuple[list[str], datetime | None]:
    """The state ids of one activity, agent and registration (updated since ``since``)."""
    docs = list(db[STATE].find({"ctx": scope.context_key}, {"state_id": 1, "updated": 1}).limit(STATE_LIST_MAX))
    if scope.since is not None:
        docs = [d for d in docs if datetime.fromisoformat(d["updated"]) > scope.since]
    docs.sort(key=lambda d: d["updated"])
    last = max((datetime.fromisoformat(d["updated"]) for d in docs), default=None)
    return [d["state_id"] for d in docs], last


def write_state(db: Database, scope: StateScope, content: bytes, content_type: str | None, *,
                version: str, merge: bool, if_match: str | None, if_none_match: str | None) -> str:
    """PUT (replace) or POST (merge JSON) one state document, compare-and-set on its ETag so
    that a concurrent write is never lost; returns the new ETag."""
    for _ in range(8):
        current = db[STATE].find_one({"_id": scope.document_id})
        current_etag = current["etag"] if current else None
        state_precondition(version, if_match, if_none_match, current_etag)
        body = merge_json(base64.b64decode(current["body"]) if current else None,
                          current["content_type"] if current else None, content, content_type) \
            if merge else content
        fields = {"ctx": scope.context_key, "agent": digest(scope.agent_ifi),  # found again on erasure
                  "state_id": scope.state_id, "activity_id": scope.activity_id,
                  "registration": scope.registration, "body": base64.b64encode(body).decode("ascii"),
                  "content_type": (content_type or "application/octet-stream")[:200], "etag": etag(body),
                  "updated": clock.now().isoformat()}
        if current is None:
            try:
                db[STATE].insert_one({"_id": scope.document_id, **fields})
                return fields["etag"]
            except pymongo.errors.DuplicateKeyError:
                continue
        if db[STATE].update_one({"_id": scope.document_id, "etag": current_etag}, {"$set": fields}).matched_count:
            return fields["etag"]
    raise XapiError(409, "the state document changed too often meanwhile; try again")


def delete_state(db: Database, scope: StateScope, *, version: str, if_match: str | None,
                 if_none_match: str | None) -> None:
    for _ in range(8):
        current = db[STATE].find_one({"_id": scope.document_id}, {"etag": 1})
        state_precondition(version, if_match, if_none_match, current["etag"] if current else None)
        if current is None or db[STATE].delete_one({"_id": scope.document_id, "etag": current["etag"]}).deleted_count:
            return
    raise XapiError(409, "the state document changed too often meanwhile; try again")


def delete_states(db: Database, scope: StateScope) -> int:
    """Every state document of one activity, agent and registration (by ``_id``, one by one)."""
    ids = [d["_id"] for d in db[STATE].find({"ctx": scope.context_key}, {"_id": 1}).limit(STATE_LIST_MAX)]
    return sum(db[STATE].delete_one({"_id": i}).deleted_count for i in ids)
