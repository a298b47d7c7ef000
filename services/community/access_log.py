"""Who on the staff side opened a resident's record, kept so the resident can ask (个人信息查阅记录).

An entry is written when staff look a resident up by ID number at a desk and when they open
a case (its detail carries the resident's identity). Entries are appended, never edited; a
resident reads their own, newest first.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from pymongo.database import Database

from services.common.arguments import page_limit
from services.community.store import ACCESS_LOG

PURPOSES = {"lookup": "窗口按身份证号查询", "case": "查看办件详情"}
MAX_READ = 200


def entry(resident_id: str, who, purpose: str, at: datetime, case_id: str | None = None) -> dict:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown access purpose {purpose!r}")
    return {"_id": uuid.uuid4().hex, "resident_id": resident_id, "by": who.id, "role": who.role,
            "committee": who.committee, "purpose": purpose, "case_id": case_id, "at": at.isoformat()}


def record(db: Database, resident_id: str, who, purpose: str, at: datetime, case_id: str | None = None) -> None:
    """Only staff reads are logged: a resident reading their own record is not an access by others."""
    if who.role in ("staff", "admin"):
        db[ACCESS_LOG].insert_one(entry(resident_id, who, purpose, at, case_id))


def for_resident(db: Database, resident_id: str, limit: int) -> list[dict]:
    found = db[ACCESS_LOG].find({"resident_id": resident_id}).sort("at", -1).limit(page_limit(limit, MAX_READ))
    return [{"at": e["at"], "by": e["by"], "role": e["role"], "committee": e.get("committee"),
             "purpose": e["purpose"], "purpose_text": PURPOSES[e["purpose"]], "case_id": e.get("case_id")}
            for e in found]
