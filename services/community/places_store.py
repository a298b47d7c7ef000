"""The district's places (sub-districts, committees, service desks) and its matters (事项)
against the store."""
from __future__ import annotations

import time

from pymongo.database import Database

from services.common.errors import BadInput
from services.community.store import MATTERS, PLACES

# ---- places ---------------------------------------------------------------------------


def kinds_of(db: Database, codes: list[str]) -> dict[str, str]:
    """{code: kind} of the places known among ``codes``."""
    return {d["_id"]: d["kind"] for d in db[PLACES].find({"_id": {"$in": codes}}, {"kind": 1})} if codes else {}


OFFICE_FIELDS = ("address", "zipcode", "lat", "long")   # where a place's office is (optional)


def save_places(db: Database, places: list[dict]) -> None:
    """Insert or update each place ({code, kind, name, parent}, and its office's address and
    position when given) by its code."""
    for place in places:
        office = {f: place[f] for f in OFFICE_FIELDS if place.get(f) is not None}
        db[PLACES].update_one({"_id": place["code"]}, {"$set": {
            "kind": place["kind"], "name": place["name"], "parent": place["parent"], **office}}, upsert=True)


def places(db: Database, kind: str | None = None) -> list[dict]:
    query = {"kind": kind} if kind else {}
    return list(db[PLACES].find(query).sort("_id"))


_parents: dict[tuple[str, str], tuple[float, str | None]] = {}
PARENT_SECONDS = 300


def subdistrict_of(db: Database, code: str) -> str | None:
    """The sub-district of a committee (or a sub-district itself), kept in this process for
    ``PARENT_SECONDS``: every case write asks (its reports' fields), and places hardly change."""
    now = time.monotonic()
    kept = _parents.get((db.name, code))
    if kept and now - kept[0] < PARENT_SECONDS:
        return kept[1]
    place = db[PLACES].find_one({"_id": code}, {"kind": 1, "parent": 1}) or {}
    found = code if place.get("kind") == "subdistrict" else place.get("parent")
    if found:   # an unknown place is asked again (it may be added next)
        _parents[(db.name, code)] = (now, found)
    return found


def by_codes(db: Database, codes: list[str]) -> dict[str, dict]:
    """{code: place} of the places known among ``codes``."""
    return {p["_id"]: p for p in db[PLACES].find({"_id": {"$in": codes}})} if codes else {}


def names(db: Database, codes: list[str]) -> dict[str, str]:
    """{code: name} of the places known among ``codes``."""
    return {code: p["name"] for code, p in by_codes(db, codes).items()}


def committee_codes(db: Database) -> set[str]:
    return {p["_id"] for p in db[PLACES].find({"kind": "committee"}, {"_id": 1})}


def committee_exists(db: Database, code: str) -> bool:
    return db[PLACES].find_one({"_id": str(code), "kind": "committee"}, {"_id": 1}) is not None


def require_committees(db: Database, *codes: str | None) -> None:
    for code in filter(None, codes):
        if not committee_exists(db, code):
            raise BadInput(f"unknown committee code {code!r}")


def desk(db: Database, code: str) -> dict | None:
    return db[PLACES].find_one({"_id": code, "kind": "desk"})


def desk_of(db: Database, committee: str) -> dict | None:
    """A service desk of the committee, or None."""
    return db[PLACES].find_one({"parent": committee, "kind": "desk"})


# ---- matters --------------------------------------------------------------------------


def save_matters(db: Database, matters: list[dict]) -> None:
    """Insert or update each matter ({code, ...fields}) by its code."""
    for m in matters:
        fields = {k: v for k, v in m.items() if k != "code"}
        db[MATTERS].update_one({"_id": m["code"]}, {"$set": fields}, upsert=True)


def matters(db: Database, include_internal: bool = False) -> list[dict]:
    query = {} if include_internal else {"public": True}
    return list(db[MATTERS].find(query).sort("_id"))


def matter(db: Database, code: str) -> dict | None:
    return db[MATTERS].find_one({"_id": code})


def set_template(db: Database, code: str, kind: str, source: str | None) -> dict | None:
    """Save (or, with no source, remove) a matter's notice template of ``kind``; the matter
    after it, or None when there is no such matter."""
    update = {"$set": {f"templates.{kind}": source}} if source is not None else {
        "$unset": {f"templates.{kind}": ""}}
    if db[MATTERS].update_one({"_id": code}, update).matched_count == 0:
        return None
    return db[MATTERS].find_one({"_id": code})
