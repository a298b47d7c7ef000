"""Residents against the store: registration (one or a batch, each with its event), reads,
and a move of residence (compare-and-set, with its event)."""
from __future__ import annotations

import pymongo
from pymongo import ReturnDocument
from pymongo.database import Database

from services.common import outbox
from services.common.storage import once
from services.community import residents
from services.common.errors import Conflict, NotFound
from services.community.store import RESIDENTS

# Reads for views leave out what no view shows and what grows: pending events, a resident's
# past residences.
RESIDENT_VIEW_FIELDS = {"id_number": 1, "name": 1, "phone": 1, "registered_committee": 1,
                        "registered_outside_district": 1, "residence": 1}


def add(db: Database, resident: dict, event: dict, *, keyed: bool) -> dict:
    """Store a new resident with its event; the resident as stored. A copy of this request
    (``keyed``: it came with a request key) taken by another process finds the first one's
    resident (same id) and answers as the first did; anyone else's is a conflict."""
    try:
        db[RESIDENTS].insert_one({**resident, **outbox.pending_fields([event])})
    except pymongo.errors.DuplicateKeyError:
        if keyed and (done := db[RESIDENTS].find_one(
                {"_id": resident["_id"], "id_number": resident["id_number"]}, RESIDENT_VIEW_FIELDS)):
            return done
        raise Conflict("a resident with this ID number is already registered") from None
    return resident


def add_many(db: Database, docs: list[dict], *, keyed: bool) -> list[tuple[int, str]]:
    """Store a batch of new residents (each with its pending event); the (position in
    ``docs``, reason) of each one not stored."""
    if not docs:
        return []
    try:
        db[RESIDENTS].insert_many(docs, ordered=False)
    except pymongo.errors.BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        # rows a copy of this request already stored (same ids) count as imported
        ours = _stored_by_this_request(db, [docs[e["index"]] for e in errors if e.get("code") == 11000], keyed)
        return [(err["index"], "already registered (same ID number)" if err.get("code") == 11000
                 else err.get("errmsg", "not stored"))
                for err in errors if docs[err["index"]]["_id"] not in ours]
    return []


def _stored_by_this_request(db: Database, docs: list[dict], keyed: bool) -> set[str]:
    if not keyed or not docs:
        return set()
    found = db[RESIDENTS].find({"_id": {"$in": [d["_id"] for d in docs]}}, {"id_number": 1})
    numbers = {d["_id"]: d["id_number"] for d in docs}
    return {f["_id"] for f in found if numbers.get(f["_id"]) == f["id_number"]}


def get(db: Database, resident_id: str) -> dict:
    doc = db[RESIDENTS].find_one({"_id": str(resident_id)})
    if doc is None:
        raise NotFound(f"no resident {resident_id}")
    return doc


def by_id_number(db: Database, id_number: str, fields: dict | None = None) -> dict | None:
    """The resident with this (normalised) ID number, or None."""
    return db[RESIDENTS].find_one({"id_number": id_number}, fields)


def by_phone(db: Database, phone: str, limit: int = 2) -> list[dict]:
    """Residents whose phone is ``phone`` ({_id}), at most ``limit`` (one is what signs in)."""
    return list(db[RESIDENTS].find({"phone": phone}, {"_id": 1}).limit(limit))


def name_of(db: Database, resident_id: str) -> dict | None:
    """{_id, name} of a resident, or None."""
    return db[RESIDENTS].find_one({"_id": resident_id}, {"name": 1})


def profiles(db: Database, ids: list[str]) -> list[dict]:
    """The residents found, in the order of ``ids`` (view fields only)."""
    found = {d["_id"]: d for d in db[RESIDENTS].find({"_id": {"$in": ids}}, RESIDENT_VIEW_FIELDS)}
    return [found[i] for i in ids if i in found]


def set_phone(db: Database, resident_id: str, phone: str | None) -> dict:
    """A resident's phone number changed (or removed); the resident as it is now."""
    doc = db[RESIDENTS].find_one_and_update({"_id": resident_id}, {"$set": {"phone": phone}},
                                            RESIDENT_VIEW_FIELDS, return_document=ReturnDocument.AFTER)
    if doc is None:
        raise NotFound(f"no resident {resident_id}")
    return doc


def move(db: Database, doc: dict, new: dict, event: dict) -> None:
    """Write the new residence, the move in the history and the lists' keys, with its event;
    a confirmed declaration leaves ``pending_move``."""
    # Compare-and-set on the residence read (and on the declaration confirmed), so two moves
    # recorded at once cannot lose one, nor one confirmation be taken twice.
    where = {"_id": doc["_id"], "residence.since": doc["residence"]["since"],
             "residence.committee": doc["residence"]["committee"]}
    if doc.get("pending_move"):
        where["pending_move.move_id"] = doc["pending_move"]["move_id"]
    keys = residents.away_keys(new)
    update = {"$set": {"residence": new["residence"], "residence_history": new["residence_history"],
                       "moves": new.get("moves", []), **{k: v for k, v in keys.items() if v is not None},
                       **outbox.record(event)["$set"]},
              "$inc": outbox.record(event)["$inc"]}
    unset = {k: "" for k, v in keys.items() if v is None}
    if doc.get("pending_move"):
        unset.update({"pending_move": "", "pending_key": ""})
    if unset:
        update["$unset"] = unset
    result = db[RESIDENTS].update_one(where, update)
    if result.matched_count == 0:
        raise Conflict("the residence was changed meanwhile; reload and try again")


def declare(db: Database, resident_id: str, pending: dict, key: str, event: dict) -> None:
    """Store a declaration with its event, if none is waiting (one conditional update: two
    declarations sent at once leave one)."""
    result = db[RESIDENTS].update_one(
        {"_id": resident_id, "pending_move": None},
        {"$set": {"pending_move": pending, "pending_key": key, **outbox.record(event)["$set"]},
         "$inc": outbox.record(event)["$inc"]})
    if result.matched_count == 0:
        raise Conflict("您已申报过新的居住地，正在等待居住地社区确认。 (A declaration is already waiting.)")


def set_aside(db: Database, resident_id: str, move_id: str, fields: dict) -> None:
    """End a waiting declaration (withdrawn or returned) if it is still the one waiting: it
    leaves the committee's list to confirm in the same write."""
    result = db[RESIDENTS].update_one({"_id": resident_id, "pending_move.move_id": move_id},
                                      {"$set": fields, "$unset": {"pending_key": ""}})
    if result.matched_count == 0:
        raise Conflict("没有待确认的居住地申报（可能已被确认或退回）。 (No declaration is waiting.)")


def add_proof(db: Database, resident_id: str, pending: dict, proof: dict) -> bool:
    """Add a file of proof to the declaration waiting, if it is still the one read (False: it
    was confirmed, returned or withdrawn meanwhile, or another upload came first). The list is
    set whole against a count: the embedded store keeps a document ``$push``-ed into an array
    as its JSON text."""
    had = pending.get("proofs", [])
    result = db[RESIDENTS].update_one(
        {"_id": resident_id, "pending_move.move_id": pending["move_id"],
         "pending_move.proof_count": len(had) if had else None},
        {"$set": {"pending_move.proofs": had + [proof], "pending_move.proof_count": len(had) + 1}})
    return result.modified_count == 1


LIST_FIELDS = {**RESIDENT_VIEW_FIELDS, "pending_move": 1}


def range_filter(key: str, committee: str, after: str | None) -> dict:
    """A committee's part of one indexed key (``committee|...``), from the cursor on."""
    return {key: {"$gt": f"{committee}|{after or ''}", "$lt": f"{committee}|\uffff"}}


def _range(db: Database, key: str, committee: str, after: str | None, limit: int) -> tuple[list[dict], str | None]:
    """One page of a committee's list: a range of one indexed key, from the cursor on."""
    page = list(db[RESIDENTS].find(range_filter(key, committee, after), {**LIST_FIELDS, key: 1})
                .sort(key, 1).limit(limit + 1))
    more = len(page) > limit
    page = page[:limit]
    return page, (page[-1][key].split("|", 1)[1] if more else None)


def listed(db: Database, key: str, committee: str, after: str | None, limit: int) -> tuple[list[dict], str | None]:
    """A committee's 人户分离 list (``living_here_key`` or ``registered_here_key``)."""
    return _range(db, key, committee, after, limit)


def pending_for(db: Database, committee: str, after: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Declarations waiting for the committee's confirmation, oldest first."""
    return _range(db, "pending_key", committee, after, limit)


def set_away_keys(db: Database) -> int:
    """Once per database (a build of the ``Store``): residents registered before the lists
    existed get their keys (those living away from their registration only)."""
    done = 0
    for doc in db[RESIDENTS].find({}, {"name": 1, "registered_committee": 1, "residence": 1}):
        keys = {k: v for k, v in residents.away_keys(doc).items() if v is not None}
        if keys:
            db[RESIDENTS].update_one({"_id": doc["_id"]}, {"$set": keys})
            done += 1
    return done


def build_away_keys(db: Database) -> None:
    once(db, "away_keys", lambda: set_away_keys(db))
