"""A learner's records: exported on request, and erased on a verified request (an operator
command, off unless LEARNER_ERASURE is enabled) across enrolments, progress, xAPI statements
and documents (State and Agent Profile), and the credit ledger.

The ledger is append-only and its totals must still add up, so erasure does not delete its
entries: it re-keys them under a pseudonym that cannot be traced back (ids included, see
``credits.pseudonymise``), so no certificate renders and no record answers for the person,
and a learner who enrols again starts afresh.
"""
from __future__ import annotations

import hashlib
import json
import secrets

import pymongo
from pymongo.database import Database

from services.common import clock, outbox
from services.common.errors import BadInput, Forbidden
from services.common.storage import delete_where
from services.elearning import courses, credits
from services.elearning.xapi import agents, document_store, statement_store
from services.elearning.xapi.progress_feed import resident_agent

ERASURES = "learner_erasures"


def agent_digest(resident_id: str) -> str:
    """How the LRS names the resident's statements and state documents."""
    return agents.digest(agents.ifi(resident_agent(resident_id)))


def export(db: Database, resident_id: str) -> dict:
    enrolments = list(db[courses.ENROLMENTS].find({"resident_id": resident_id}))
    progress = [p for e in enrolments for p in db[courses.PROGRESS].find({"enrolment": e["_id"]})]
    ledger = list(db[credits.LEDGER].find({"resident_id": resident_id}, outbox.HIDDEN))
    ids = sorted({r["s"] for r in statement_store.agent_rows(db, agent_digest(resident_id))})
    statements = [json.loads(d["raw"])
                  for d in db[statement_store.STATEMENTS].find({"_id": {"$in": ids}})] if ids else []
    documents = [{k: v for k, v in d.items() if k not in ("_id", "ctx", "agent")}
                 for d in db[document_store.DOCUMENTS].find({"agent": agent_digest(resident_id)})]
    return {"resident_id": resident_id, "exported_at": clock.now().isoformat(),
            "enrolments": enrolments, "progress": progress, "credit_ledger": ledger,
            "xapi_statements": statements, "xapi_documents": documents}


def erase(db: Database, resident_id: str, *, enabled: bool, request_ref: str, by: str) -> dict:
    if not enabled:
        raise Forbidden("erasure is off here: an operator enables it with LEARNER_ERASURE=true")
    if not request_ref or len(request_ref) > 200:
        raise BadInput("name the verified request (its reference) that this erasure carries out")
    fresh = "erased:" + hashlib.sha256((resident_id + secrets.token_hex(16)).encode()).hexdigest()[:20]
    pseudonym, ledger = credits.pseudonymise(db, resident_id, fresh)  # an interrupted erasure's, if any
    enrolments = [e["_id"] for e in db[courses.ENROLMENTS].find({"resident_id": resident_id}, {"_id": 1})]
    progress = sum(delete_where(db[courses.PROGRESS], "enrolment", e) for e in enrolments)
    removed_enrolments = sum(db[courses.ENROLMENTS].delete_one({"_id": e}).deleted_count for e in enrolments)
    statements = statement_store.delete_statements(db, statement_store.agent_rows(db, agent_digest(resident_id)))
    documents = delete_where(db[document_store.DOCUMENTS], "agent", agent_digest(resident_id))
    record = {"_id": pseudonym, "request_ref": request_ref, "by": by, "at": clock.now().isoformat(),
              "counts": {"enrolments": removed_enrolments, "progress": progress, "ledger_entries": ledger,
                         "xapi_statements": statements, "xapi_documents": documents}}
    try:
        db[ERASURES].insert_one(record)  # what was done, without who it was done for
    except pymongo.errors.DuplicateKeyError:
        db[ERASURES].update_one({"_id": pseudonym}, {"$set": {k: v for k, v in record.items() if k != "_id"}})
    return {k: v for k, v in record.items() if k != "_id"} | {"pseudonym": pseudonym}
