"""School rosters into the store: one ``elearning.roster_import`` batch of OneRoster records
(``services.elearning.roster``), each stored idempotently by sourcedId or refused with its
reason. Teachers, pupils and guardians are ``roster_users``; their classes and their
guardians are maps in the user's document (see ``schoolbag`` for who may do what with them).
"""
from __future__ import annotations

from typing import Any

import pymongo
from pydantic import BaseModel, ValidationError
from pymongo.database import Database

from services.common import arguments
from services.common.errors import SuiteError
from services.elearning import roster
from services.elearning.roster import map_key, unmap_key
from services.elearning.schoolbag import CLASSES, ENROLLMENTS, ORGS, SESSIONS, USERS


class RecordRejected(Exception):
    """One roster record that is not stored: the message is the reason."""


class Guardianship:
    """Told of each student-guardian link made or removed by the roster (the wallet keeps
    its own relation of who may top up). A refusal raised by ``link`` rejects the link
    record before anything of it is stored."""

    def link(self, student_id: str, guardian_resident_id: str, school_id: str | None) -> None:
        pass

    def unlink(self, student_id: str, guardian_resident_id: str) -> None:
        pass


class _Batch:
    """What one import batch reads and writes of the roster. Each document it needs is read
    once, all of a kind in one ``$in`` on ``_id`` before the first record; the batch's own
    changes are kept in step here, so a record sees those before it; the writes go in one
    ordered bulk per collection at the end. (One record cost 3 to 5 round trips: the
    OneRoster import ran at 45 x the raw insert time.)"""

    FIELDS = {ORGS: {"_id": 1}, CLASSES: {"_id": 1},
              USERS: {"role": 1, "resident_id": 1, "children": 1, "school_ids": 1, "active": 1},
              ENROLLMENTS: {"class_id": 1, "user_id": 1}}

    def __init__(self, db: Database, records: list[BaseModel]):
        self.db = db
        self.docs: dict[str, dict[str, dict | None]] = {c: {} for c in self.FIELDS}
        self.writes: dict[str, list] = {}
        wanted: dict[str, set[str]] = {c: set() for c in self.FIELDS}
        for r in records:
            for collection, ids in _reads_of(r):
                wanted[collection].update(ids)
        for collection, ids in wanted.items():
            if ids:
                self.docs[collection] = dict.fromkeys(ids)
                for doc in db[collection].find({"_id": {"$in": sorted(ids)}}, self.FIELDS[collection]):
                    self.docs[collection][doc["_id"]] = doc

    def get(self, collection: str, _id: str) -> dict | None:
        known = self.docs[collection]
        if _id not in known:   # not foreseen (a child of a guardian who changed): read it now
            known[_id] = self.db[collection].find_one({"_id": _id}, self.FIELDS[collection])
        return known[_id]

    def put(self, collection: str, _id: str, doc: dict | None) -> None:
        self.docs[collection][_id] = doc

    def update(self, collection: str, match: dict, change: dict, upsert: bool = False) -> None:
        self.writes.setdefault(collection, []).append(pymongo.UpdateOne(match, change, upsert=upsert))

    def delete(self, collection: str, _id: str) -> None:
        self.writes.setdefault(collection, []).append(pymongo.DeleteOne({"_id": _id}))

    def flush(self) -> None:
        for collection, ops in self.writes.items():
            self.db[collection].bulk_write(ops, ordered=True)
        self.writes = {}


def _reads_of(r: BaseModel) -> list[tuple[str, list[str]]]:
    """The documents storing ``r`` will look at, to read them for the whole batch at once."""
    if r.kind == "class":
        return [(ORGS, [r.school_id])]
    if r.kind in ("student", "teacher", "guardian"):
        return [(USERS, [r.sourced_id]), (ORGS, r.school_ids)]
    if r.kind == "enrollment":
        return [(CLASSES, [r.class_id]), (USERS, [r.user_id]), (ENROLLMENTS, [r.sourced_id])]
    if r.kind == "link":
        return [(USERS, [r.student_id, r.guardian_id])]
    if r.kind == "delete" and r.file in ("users", "enrollments"):
        return [(USERS if r.file == "users" else ENROLLMENTS, [r.sourced_id])]
    return []


def _store_record(batch: _Batch, record: BaseModel, guardianship: Guardianship) -> None:
    """Store one roster record, idempotently by sourcedId; raise ``RecordRejected`` when it
    cannot be (nothing of it written then)."""
    kind = record.kind
    if kind == "org":
        batch.update(ORGS, {"_id": record.sourced_id}, {"$set": {
            "name": record.name, "type": record.type, "identifier": record.identifier,
            "parent_id": record.parent_id, "active": True}}, upsert=True)
        batch.put(ORGS, record.sourced_id, {"_id": record.sourced_id})
    elif kind == "session":
        batch.update(SESSIONS, {"_id": record.sourced_id}, {"$set": {
            "title": record.title, "type": record.type, "start_date": record.start_date.isoformat(),
            "end_date": record.end_date.isoformat(), "school_year": record.school_year,
            "parent_id": record.parent_id, "active": True}}, upsert=True)
    elif kind == "class":
        _require_orgs(batch, [record.school_id])
        batch.update(CLASSES, {"_id": record.sourced_id}, {"$set": {
            "title": record.title, "school_id": record.school_id, "class_type": record.class_type,
            "class_code": record.class_code, "grades": record.grades, "term_ids": record.term_ids,
            "subjects": record.subjects, "active": True}}, upsert=True)
        batch.put(CLASSES, record.sourced_id, {"_id": record.sourced_id})
    elif kind in ("student", "teacher", "guardian"):
        _store_user(batch, record, guardianship)
    elif kind == "enrollment":
        _store_enrollment(batch, record)
    elif kind == "link":
        _store_link(batch, record, guardianship)
    elif kind == "delete":
        _delete(batch, record, guardianship)


def _require_orgs(batch: _Batch, ids: list[str]) -> None:
    missing = [i for i in ids if batch.get(ORGS, i) is None]
    if missing:
        raise RecordRejected(f"unknown org {missing[0]} (not in orgs.csv, now or before)")


def _store_user(batch: _Batch, record: BaseModel, guardianship: Guardianship) -> None:
    existing = batch.get(USERS, record.sourced_id)
    if existing and existing["role"] != record.kind:
        raise RecordRejected(f"{record.sourced_id} is already imported as a {existing['role']}")
    _require_orgs(batch, record.school_ids)
    fields = {"role": record.kind, "name": record.name, "school_ids": record.school_ids, "active": record.enabled}
    if record.kind == "student":
        fields["grade"] = record.grade
    if record.kind == "guardian":
        fields["resident_id"] = record.resident_id
    old_resident = (existing or {}).get("resident_id")
    if old_resident and old_resident != record.resident_id:
        # The roster now names another person: the old one loses access to the children.
        for child in map(unmap_key, existing.get("children") or {}):
            student = batch.get(USERS, child) or {}
            guardianship.link(child, record.resident_id, (student.get("school_ids") or [None])[0])
            batch.update(USERS, {"_id": child}, {
                "$unset": {f"guardians.{map_key(old_resident)}": ""},
                "$set": {f"guardians.{map_key(record.resident_id)}": {"guardian_id": record.sourced_id}}})
            guardianship.unlink(child, old_resident)
    batch.update(USERS, {"_id": record.sourced_id}, {"$set": fields}, upsert=True)
    kept = {k: v for k, v in fields.items() if k in _Batch.FIELDS[USERS]}
    batch.put(USERS, record.sourced_id, {**(existing or {"_id": record.sourced_id}), **kept})


def _store_enrollment(batch: _Batch, record: BaseModel) -> None:
    if batch.get(CLASSES, record.class_id) is None:
        raise RecordRejected(f"unknown class {record.class_id}")
    user = batch.get(USERS, record.user_id)
    if user is None:
        raise RecordRejected(f"unknown user {record.user_id}")
    if user["role"] != record.role:
        raise RecordRejected(f"user {record.user_id} is a {user['role']}, not a {record.role}")
    before = batch.get(ENROLLMENTS, record.sourced_id)
    if before and (before["class_id"], before["user_id"]) != (record.class_id, record.user_id):
        _unenrol(batch, before)
    batch.update(ENROLLMENTS, {"_id": record.sourced_id}, {"$set": {
        "class_id": record.class_id, "user_id": record.user_id, "role": record.role,
        "begin_date": record.begin_date.isoformat() if record.begin_date else None,
        "end_date": record.end_date.isoformat() if record.end_date else None}}, upsert=True)
    batch.put(ENROLLMENTS, record.sourced_id,
              {"_id": record.sourced_id, "class_id": record.class_id, "user_id": record.user_id})
    batch.update(USERS, {"_id": record.user_id}, {"$set": {
        f"classes.{map_key(record.class_id)}": {"role": record.role, "enrollment": record.sourced_id}}})


def _unenrol(batch: _Batch, enrollment: dict) -> None:
    key = f"classes.{map_key(enrollment['class_id'])}"
    # only if that membership is still this enrollment's (another may have replaced it)
    batch.update(USERS, {"_id": enrollment["user_id"], f"{key}.enrollment": enrollment["_id"]}, {"$unset": {key: ""}})


def _store_link(batch: _Batch, record: BaseModel, guardianship: Guardianship) -> None:
    student = batch.get(USERS, record.student_id)
    guardian = batch.get(USERS, record.guardian_id)
    if student is None or student["role"] != "student":
        raise RecordRejected(f"{record.student_id} is not an imported student")
    if guardian is None or guardian["role"] != "guardian":
        raise RecordRejected(f"{record.guardian_id} is not an imported guardian")
    rid = guardian["resident_id"]
    guardianship.link(record.student_id, rid, (student.get("school_ids") or [None])[0])
    batch.update(USERS, {"_id": record.student_id},
                 {"$set": {f"guardians.{map_key(rid)}": {"guardian_id": record.guardian_id}}})
    batch.update(USERS, {"_id": record.guardian_id}, {"$set": {f"children.{map_key(record.student_id)}": True}})
    batch.put(USERS, record.guardian_id,
              {**guardian, "children": {**(guardian.get("children") or {}), map_key(record.student_id): True}})


def _delete(batch: _Batch, record: BaseModel, guardianship: Guardianship) -> None:
    """A ``tobedeleted`` row: kept, made inactive (enrollments and links are removed).
    Deleting what was never imported is no error (delta files repeat themselves)."""
    sid = record.sourced_id
    if record.file in ("orgs", "academicSessions", "classes"):
        collection = {"orgs": ORGS, "academicSessions": SESSIONS, "classes": CLASSES}[record.file]
        batch.update(collection, {"_id": sid}, {"$set": {"active": False}})
    elif record.file == "enrollments":
        enrollment = batch.get(ENROLLMENTS, sid)
        if enrollment:
            _unenrol(batch, enrollment)
            batch.delete(ENROLLMENTS, sid)
            batch.put(ENROLLMENTS, sid, None)
    else:
        user = batch.get(USERS, sid)
        if user is None:
            return
        batch.update(USERS, {"_id": sid}, {"$set": {"active": False}})
        if user["role"] == "guardian":
            rid = user["resident_id"]
            for child in map(unmap_key, user.get("children") or {}):
                batch.update(USERS, {"_id": child, f"guardians.{map_key(rid)}.guardian_id": sid},
                             {"$unset": {f"guardians.{map_key(rid)}": ""}})
                guardianship.unlink(child, rid)
            batch.update(USERS, {"_id": sid}, {"$set": {"children": {}}})
        batch.put(USERS, sid, {**user, "active": False, **({"children": {}} if user["role"] == "guardian" else {})})


def import_batch(db: Database, batch: Any, guardianship: Guardianship | None = None) -> dict:
    """``elearning.roster_import``: each record stored or rejected with its reason."""
    arguments.batch(batch, "roster records")
    guardianship = guardianship or Guardianship()
    parsed: list[tuple[int, BaseModel]] = []
    rejected = []
    for index, item in enumerate(batch):
        try:
            parsed.append((index, roster.parse_record(item)))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(record)'}: {e['msg']}"
                                 for e in exc.errors()[:3])
            rejected.append({"index": index, "reason": problems})
    work = _Batch(db, [record for _, record in parsed])
    imported = 0
    for index, record in parsed:
        try:
            _store_record(work, record, guardianship)
        except RecordRejected as exc:
            rejected.append({"index": index, "reason": str(exc)})
            continue
        except SuiteError as exc:   # the wallet refused a link (nothing of the record stored)
            rejected.append({"index": index, "reason": f"the wallet refused: {exc}"})
            continue
        imported += 1
    work.flush()
    return {"imported": imported, "rejected": sorted(rejected, key=lambda r: r["index"])}
