"""The LRS's statements against the elearning database: immutable, found through their
match keys, voided, erased with a learner, and feeding lesson progress.

Collections and how each hot read is served (one indexed field per query, as both stores
need; see ``INDEXES``):

``xapi_statements``  ``_id`` = statement id; ``order`` = ``s|<stored µs>|<id>`` (unique index);
                     ``raw`` = the stored statement as JSON text (exactly as it is returned);
                     ``m`` = its match keys; ``voided``; ``ts_assigned``; ``client``.
``xapi_statement_keys``  one row per (match key, statement): ``k`` = ``<kind>:<digest>|<stored
                     µs>|<id>`` (unique index), ``s`` = statement id. A filtered query reads a
                     range of ``k`` in stored order; rows whose statement is missing or has
                     another ``order`` are ignored (the rows are written before the statement).
``xapi_voids``       ``_id`` = a voided statement's id, ``by`` = the voiding statement's id: found
                     with ``$in`` on ``_id`` when a target arrives after its voiding statement.
``xapi_attachments`` ``_id`` = ``<statement id>|<sha2>``: an attachment's raw data received
                     in a multipart/mixed request (``data`` base64, ``content_type``,
                     ``length``), written before its statement, read and deleted by ``_id``.

Every key that is read as a range starts with a letter: the embedded store answers nothing
(after a scan) for a range on strings that begin like an ISO date.
"""
from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Mapping

import pymongo
from pymongo import ASCENDING, IndexModel
from pymongo.database import Database

from services.common import clock
from services.common.errors import SuiteError
from services.common.storage import insert_new
from services.elearning import courses, credits
from services.elearning.xapi.attachments import AttachmentData, attachment_key, attachments_of
from services.elearning.xapi.clients import client_authority
from services.elearning.xapi.errors import XapiError
from services.elearning.xapi.progress_feed import progress_report
from services.elearning.xapi.queries import Query, key_range, statement_matches
from services.elearning.xapi.statements import (complete, inherited, match_keys, referenced, same_statement,
                                                voided_target)
from services.elearning.xapi.timestamps import order_text

log = logging.getLogger(__name__)

STATEMENTS = "xapi_statements"
KEYS = "xapi_statement_keys"
VOIDS = "xapi_voids"
ATTACHMENTS = "xapi_attachments"

INDEXES = {
    STATEMENTS: [IndexModel([("order", ASCENDING)], name="order", unique=True)],
    KEYS: [IndexModel([("k", ASCENDING)], name="k", unique=True)],
}

ORDER_PREFIX = "s|"
BATCH = 200            # rows read per round when a page needs more than one
SCAN_MAX = 1000        # rows read at most for one page; then the page ends with a `more` link
CONSISTENCY_GRACE = timedelta(seconds=1)
_STATEMENT_FIELDS = {"raw": 1, "order": 1, "m": 1, "voided": 1, "ts_assigned": 1, "voids": 1}


# ---- the stored clock -------------------------------------------------------------------------------

_clock_lock = threading.Lock()
_last_stored: list[datetime] = []
_in_flight: dict[int, datetime] = {}


def next_stored() -> datetime:
    """Now, strictly after the last stored time this process gave (µs): the order of a batch."""
    with _clock_lock:
        now = clock.now()
        if _last_stored and now <= _last_stored[0]:
            now = _last_stored[0] + timedelta(microseconds=1)
        _last_stored[:] = [now]
        return now


@contextlib.contextmanager
def _writing():
    """Mark a statement write as in flight from now: consistent-through stays before it."""
    token = object()
    with _clock_lock:
        _in_flight[id(token)] = clock.now()
    try:
        yield
    finally:
        with _clock_lock:
            _in_flight.pop(id(token), None)


def consistent_through() -> datetime:
    """Statements stored before this are all readable: a second back from now (another
    process's write in flight), and before this process's oldest unfinished write."""
    with _clock_lock:
        candidates = [clock.now() - CONSISTENCY_GRACE]
        candidates += [t - timedelta(milliseconds=1) for t in _in_flight.values()]
    return min(candidates)


# ---- statements ---------------------------------------------------------------------------------------

def _load(doc: dict) -> dict:
    return json.loads(doc["raw"])


def store_statements(db: Database, statements: list[dict], *, version: str, client: str,
                     attachments: Mapping[str, AttachmentData] | None = None) -> list[dict]:
    """Store validated statements (each with an id) as one batch; return those newly stored
    (a statement already stored identically is not stored again; a different one under the
    same id is a 409 and nothing of the batch is stored). Voiding is applied here. The raw
    data of their attachments (checked, by hash) is stored first, one copy per statement."""
    ids = [s["id"] for s in statements]
    existing = {d["_id"]: d for d in db[STATEMENTS].find({"_id": {"$in": ids}}, _STATEMENT_FIELDS)}
    for s in statements:
        if s["id"] in existing and not _same(existing[s["id"]], s):
            raise XapiError(409, f"a different statement with the id {s['id']} is stored already "
                                 "(statements are immutable)")
    new = [s for s in statements if s["id"] not in existing]
    if not new:
        return []
    batch = {s["id"]: s for s in new}
    wanted = sorted({r for s in new if (r := referenced(s)) and r not in batch})
    referred = {d["_id"]: d for d in db[STATEMENTS].find({"_id": {"$in": wanted}}, _STATEMENT_FIELDS)} \
        if wanted else {}
    for s in new:
        target = voided_target(s)
        if target is None:
            continue
        if target in batch and voided_target(batch[target]) or target in referred and referred[target].get("voids"):
            raise bad_void(target)

    authority = client_authority(client)
    docs, rows, keys_of = [], [], {}
    with _writing():
        for s in new:
            stored = next_stored()
            full, assigned = complete(s, version=version, stored=stored, authority=authority)
            keys = match_keys(full)
            ref = referenced(full)
            if ref in keys_of:
                keys |= inherited(keys_of[ref])
            elif ref in referred:
                keys |= inherited(referred[ref].get("m") or [])
            keys_of[s["id"]] = keys
            order = f"{order_text(stored)}|{s['id']}"
            doc = {"_id": s["id"], "order": ORDER_PREFIX + order, "m": sorted(keys), "voided": False,
                   "ts_assigned": assigned, "client": client,
                   "raw": json.dumps(full, ensure_ascii=False, separators=(",", ":"))}
            if voided_target(full):
                doc["voids"] = voided_target(full)
            docs.append(doc)
            rows += [{"k": f"{k}|{order}", "s": s["id"]} for k in sorted(keys)]
        insert_new(db[ATTACHMENTS], _attachment_docs(new, attachments or {}))
        insert_new(db[KEYS], rows)       # rows first: a row without its statement is skipped
        stored_docs = _insert_statements(db, docs)
    _apply_voiding(db, stored_docs)
    return [_load(d) for d in stored_docs]


def _attachment_docs(statements: list[dict], received: Mapping[str, AttachmentData]) -> list[dict]:
    docs = {}
    for s in statements:
        for a in attachments_of(s):
            part = received.get(a["sha2"].lower())
            if part is not None:
                key = attachment_key(s["id"], part.sha2)
                docs[key] = {"_id": key, "content_type": part.content_type[:200], "length": len(part.data),
                             "data": base64.b64encode(part.data).decode("ascii")}
    return list(docs.values())


def attachment_data(db: Database, statements: list[dict]) -> list[AttachmentData]:
    """The raw data stored for these statements' attachments, each SHA-2 once (by ``_id``)."""
    keys = sorted({attachment_key(s["id"], a["sha2"]) for s in statements for a in attachments_of(s)})
    if not keys:
        return []
    found = {}
    for d in db[ATTACHMENTS].find({"_id": {"$in": keys}}):
        sha2 = d["_id"].split("|", 1)[1]
        found.setdefault(sha2, AttachmentData(sha2, d["content_type"], base64.b64decode(d["data"])))
    return [found[k] for k in sorted(found)]


def bad_void(target: str) -> XapiError:
    return XapiError(400, f"statement {target} is a voiding statement: a voiding statement cannot be voided")


def _same(doc: dict, incoming: dict) -> bool:
    return same_statement(_load(doc), bool(doc.get("ts_assigned")), incoming)


def _insert_statements(db: Database, docs: list[dict]) -> list[dict]:
    """Insert; a statement another request stored meanwhile under the same id is fine when
    identical (it is then not ours to feed), else 409."""
    try:
        db[STATEMENTS].insert_many(docs, ordered=False)
        return docs
    except pymongo.errors.BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        lost = {docs[e["index"]]["_id"] for e in errors}
    for sid in sorted(lost):
        other = db[STATEMENTS].find_one({"_id": sid}, _STATEMENT_FIELDS)
        mine = next(d for d in docs if d["_id"] == sid)
        if other is None or not _same(other, _load(mine)):
            raise XapiError(409, f"a different statement with the id {sid} was stored meanwhile")
    return [d for d in docs if d["_id"] not in lost]


def _apply_voiding(db: Database, docs: list[dict]) -> None:
    """A voiding statement marks its target; a statement arriving after the statement that
    voids it is marked too (each side writes first, then looks for the other)."""
    for d in docs:
        if d.get("voids"):
            try:
                db[VOIDS].insert_one({"_id": d["voids"], "by": d["_id"]})
            except pymongo.errors.DuplicateKeyError:
                pass
            db[STATEMENTS].update_one({"_id": d["voids"]}, {"$set": {"voided": True}})
    plain = [d["_id"] for d in docs if not d.get("voids")]
    if plain:
        for v in db[VOIDS].find({"_id": {"$in": plain}}):
            db[STATEMENTS].update_one({"_id": v["_id"]}, {"$set": {"voided": True}})


def get_statement(db: Database, statement_id: str) -> tuple[dict, bool] | None:
    """A stored statement by id and whether it is voided, or None."""
    doc = db[STATEMENTS].find_one({"_id": statement_id}, _STATEMENT_FIELDS)
    return (_load(doc), bool(doc.get("voided"))) if doc else None


def query(db: Database, q: Query) -> tuple[list[dict], str | None]:
    """A page of statements in stored order (newest first unless ascending), and the order
    key to continue after (None when there is no more). One range on one indexed field per
    round: ``order`` of the statements, or ``k`` of the most selective filter's match key;
    the other filters are checked on the statements' match keys. The first round reads the
    bodies too (a page is usually one round); later ones, which only happen when filters
    reject, read the keys alone, and the bodies still missing are read last, by ``_id``."""
    drive = q.drive()
    if drive is None:
        collection, fld, prefix = STATEMENTS, "order", ORDER_PREFIX
    else:
        collection, fld, prefix = KEYS, "k", drive + "|"
    direction = ASCENDING if q.ascending else pymongo.DESCENDING
    light = {"order": 1, "m": 1, "voided": 1}
    projection = _STATEMENT_FIELDS
    found: list[tuple[str, str]] = []
    bodies: dict[str, dict] = {}
    scanned, position, size, after = 0, q.after, q.limit + 1, None
    while True:
        rng = key_range(prefix, replace(q, after=position))
        rows = list(db[collection].find({fld: rng}, projection if drive is None else {"k": 1, "s": 1})
                    .sort(fld, direction).limit(size))
        if drive is None:
            docs = {r["_id"]: r for r in rows}
            entries = [(r["order"][len(ORDER_PREFIX):], r["_id"]) for r in rows]
        else:
            entries = [(r["k"].split("|", 1)[1], r["s"]) for r in rows]
            ids = sorted({sid for _, sid in entries})
            docs = {d["_id"]: d for d in db[STATEMENTS].find({"_id": {"$in": ids}}, projection)} if ids else {}
        for order, sid in entries:
            scanned += 1
            position = order
            doc = docs.get(sid)
            if doc is None or doc["order"] != ORDER_PREFIX + order or doc.get("voided"):
                continue
            if statement_matches(q, doc.get("m") or []):
                found.append((order, sid))
                if "raw" in doc:
                    bodies[sid] = doc
            if len(found) > q.limit:
                break
        if len(found) > q.limit:
            found = found[:q.limit]
            after = found[-1][0]
            break
        if len(rows) < size:
            break
        if scanned >= SCAN_MAX:
            after = position
            break
        size, projection = min(BATCH, SCAN_MAX - scanned), light
    ids = [sid for _, sid in found]
    missing = [sid for sid in ids if sid not in bodies]
    if missing:
        bodies.update({d["_id"]: d for d in db[STATEMENTS].find({"_id": {"$in": missing}}, {"raw": 1})})
    return [_load(bodies[sid]) for sid in ids if sid in bodies], after


# ---- erasure -------------------------------------------------------------------------------------------

def agent_rows(db: Database, agent_digest: str, cap: int = 100_000) -> list[dict]:
    """The match-key rows of the statements an agent is the actor (or object) of, read as
    one range of the indexed ``k``."""
    prefix = f"a:{agent_digest}|"
    return list(db[KEYS].find({"k": {"$gt": prefix, "$lt": prefix + "~"}}, {"k": 1, "s": 1}).limit(cap))


def delete_statements(db: Database, rows: list[dict]) -> int:
    """Delete the statements of ``rows`` (from ``agent_rows``) and every row that finds them.
    A statement's rows are rebuilt from its match keys and order, found one by one on the
    indexed ``k`` and deleted by ``_id`` (``s`` has no index: a delete by it scans the
    collection each time; on the embedded store a delete_one by ``k`` took 30 ms where
    find_one by ``k`` took 1 ms). Rows whose statement was never stored go by the ``k`` they
    were found by."""
    ids = sorted({r["s"] for r in rows})
    if not ids:
        return 0
    docs = list(db[STATEMENTS].find({"_id": {"$in": ids}}, {"order": 1, "m": 1, "raw": 1}))
    keys = {r["k"] for r in rows}
    for d in docs:
        order = d["order"][len(ORDER_PREFIX):]
        keys |= {f"{k}|{order}" for k in d.get("m") or []}
    found = (db[KEYS].find_one({"k": k}, {"_id": 1}) for k in sorted(keys))
    row_ids = [r["_id"] for r in found if r]
    if row_ids:
        db[KEYS].delete_many({"_id": {"$in": row_ids}})
    db[VOIDS].delete_many({"_id": {"$in": ids}})
    attachments = sorted({attachment_key(d["_id"], a["sha2"]) for d in docs
                          for a in attachments_of(_load(d))})
    if attachments:
        db[ATTACHMENTS].delete_many({"_id": {"$in": attachments}})
    return db[STATEMENTS].delete_many({"_id": {"$in": ids}}).deleted_count


# ---- the progress feed ----------------------------------------------------------------------------------

def feed_progress(db: Database, statements: list[dict]) -> list[dict]:
    """Record the lesson progress that newly stored statements report, as the progress RPC
    does (``courses.record_progress`` on the ``xapi`` channel at the statement's timestamp,
    then the credit award on completion). A statement about anything else, or about a
    resident not enrolled, feeds nothing; the statement stays stored either way."""
    fed = []
    for s in statements:
        report = progress_report(s)
        if report is None:
            continue
        rid = report["resident_id"]
        try:
            recorded = courses.record_progress(
                db, resident_id=rid, course_id=report["course_id"], lesson_id=report["lesson_id"],
                position=report["position"], percent=report["percent"], completed=report["completed"],
                at=report["at"], channel="xapi")
            newly = credits.award_if_completed(db, rid, report["course_id"])
        except SuiteError as exc:
            log.info("xapi: statement %s feeds no progress: %s", s["id"], exc)
            continue
        except Exception:  # stored already: one failing report must not keep the others from feeding
            log.exception("xapi: statement %s stored, its progress not recorded", s["id"])
            continue
        fed.append({"statement": s["id"], "applied": recorded is not None, "course_completed": bool(newly)})
    return fed
