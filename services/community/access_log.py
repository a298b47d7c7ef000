"""Who on the staff side opened a resident's record, kept so the resident can ask (个人信息查阅记录).

An entry is written whenever something shown to staff carries the resident's identity: a
look-up by ID number at a desk, a case opened, a step taken on a case, a page of the case
queue or of a committee's 人户分离 list naming them. Entries are appended, never edited; a resident reads their own, newest
first.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from pymongo.database import Database

from services.common.arguments import page_limit
from services.community.store import ACCESS_LOG

PURPOSES = {"lookup": "窗口按身份证号查询", "case": "查看办件详情", "action": "办理或督办办件", "queue": "查看办件队列",
            "list": "查看社区人户分离名单", "move": "查看居住地申报的证明材料"}
MAX_READ = 200


def entry(resident_id: str, who, purpose: str, at: datetime, case_id: str | None = None) -> dict:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown access purpose {purpose!r}")
    # where they work: a clerk's committee, a centre's or a supervisor's sub-district (None: the district)
    return {"_id": uuid.uuid4().hex, "resident_id": resident_id, "by": who.id, "role": who.role,
            "committee": who.committee or getattr(who, "subdistrict", None), "purpose": purpose, "case_id": case_id,
            "at": at.isoformat()}


def record(db: Database, resident_id: str, who, purpose: str, at: datetime, case_id: str | None = None) -> None:
    """Only staff reads are logged: a resident reading their own record is not an access by others."""
    record_cases(db, [{"resident_id": resident_id, "_id": case_id}], who, purpose, at)


def record_cases(db: Database, shown: list[dict], who, purpose: str, at: datetime) -> None:
    """One entry for each case shown to staff whose owner is a resident (a kiosk's maintenance
    case has none), in one write."""
    if who.role not in ("staff", "centre", "supervisor", "admin"):
        return
    entries = [entry(c["resident_id"], who, purpose, at, c.get("_id")) for c in shown
               if not str(c["resident_id"]).startswith("kiosk:")]
    if entries:
        db[ACCESS_LOG].insert_many(entries)


def record_residents(db: Database, resident_ids: list[str], who, purpose: str, at: datetime) -> None:
    """One entry for each resident a list showed to staff, in one write."""
    record_cases(db, [{"resident_id": rid, "_id": None} for rid in resident_ids], who, purpose, at)


def for_resident(db: Database, resident_id: str, limit: int) -> list[dict]:
    found = db[ACCESS_LOG].find({"resident_id": resident_id}).sort("at", -1).limit(page_limit(limit, MAX_READ))
    return [{"at": e["at"], "by": e["by"], "role": e["role"], "committee": e.get("committee"),
             "purpose": e["purpose"], "purpose_text": PURPOSES[e["purpose"]], "case_id": e.get("case_id")}
            for e in found]
