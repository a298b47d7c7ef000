"""The catalogue: titles and their copies, stored idempotently by record id, and searched
by words of the title, authors and subjects (Chinese by characters and pairs of them).

A title's search keys are kept twice: in the title (``keywords``, the truth a hit is checked
against) and as one row per key in ``title_keys`` (``services.common.key_rows``), which a
search reads as a range per key."""
from __future__ import annotations

import re
import unicodedata

from pydantic import ValidationError
from pymongo import UpdateOne
from pymongo.database import Database

from contracts.rpc.library import TitleRecordV1
from services.common import key_rows
from services.common.arguments import batch
from services.common.errors import BadInput
from services.common.storage import once
from services.library import digital, digital_store, reference, store

_WORD = re.compile(r"[0-9a-z]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def tokens(text: str) -> set[str]:
    """Search keys of a text: latin words, and CJK single characters and adjacent pairs
    (Chinese has no spaces between words)."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    keys = set(_WORD.findall(text))
    for run in _CJK.findall(text):
        keys.update(run)
        keys.update(run[i:i + 2] for i in range(len(run) - 1))
    return keys


def query_tokens(text: str) -> list[str]:
    """The keys a query must all match: pairs for Chinese runs longer than one character."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    keys = set(_WORD.findall(text))
    for run in _CJK.findall(text):
        keys.update([run] if len(run) == 1 else (run[i:i + 2] for i in range(len(run) - 1)))
    return sorted(keys)


def store_records(db: Database, records: list) -> dict:
    """Validate every record, then write the good ones in one bulk call (thousands a second)."""
    batch(records, "records")
    locations = {d["_id"] for d in db[store.LOCATIONS].find({}, {"_id": 1})}
    good, rejected = [], []
    for i, raw in enumerate(records):
        try:
            record = TitleRecordV1.model_validate(raw)
        except ValidationError as exc:
            rejected.append({"index": i, "reason": "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:3])})
            continue
        unknown = {c.home_location for c in record.copies} - locations
        if unknown:
            rejected.append({"index": i, "reason": f"unknown location(s) {', '.join(sorted(unknown))}"})
            continue
        good.append((i, record))
    good = _one_title_per_barcode(db, good, rejected)
    if good:
        fields = {r.record_id: _title_fields(r) for r in good}
        old_keys = {t["_id"]: set(t.get("keywords") or ()) for t in db[store.TITLES].find(
            {"_id": {"$in": list(fields)}}, {"keywords": 1})}
        new_keys = {tid: set(f["keywords"]) for tid, f in fields.items()}
        with key_rows.kept(db[store.TITLE_KEYS], old_keys, new_keys):
            titles = [UpdateOne({"_id": r.record_id}, {"$set": fields[r.record_id]}, upsert=True) for r in good]
            db[store.TITLES].bulk_write(titles, ordered=False)
        reference.forget(db, store.TITLES)  # a renamed title reads right at once here
        copies = [UpdateOne({"_id": c.barcode}, _copy_update(r, c), upsert=True) for r in good for c in r.copies]
        if copies:
            db[store.COPIES].bulk_write(copies, ordered=False)
    return {"stored": len(good), "rejected": rejected}


def _one_title_per_barcode(db: Database, indexed: list[tuple[int, TitleRecordV1]], rejected: list[dict]) -> list:
    """The records whose copies are theirs: a barcode already on another title, or on an
    earlier record of the batch, rejects its record (its copy would keep its old title while
    the answer said stored; moving a copy is a librarian's decision, not an import's)."""
    barcodes = [c.barcode for _, r in indexed for c in r.copies]
    owner = {c["_id"]: c["title_id"] for c in db[store.COPIES].find({"_id": {"$in": barcodes}}, {"title_id": 1})} \
        if barcodes else {}
    kept = []
    for i, record in indexed:
        taken = sorted(c.barcode for c in record.copies if owner.get(c.barcode, record.record_id) != record.record_id)
        if taken:
            rejected.append({"index": i, "reason": f"barcode(s) {', '.join(taken)} belong to another title"})
            continue
        owner.update({c.barcode: record.record_id for c in record.copies})
        kept.append(record)
    rejected.sort(key=lambda r: r["index"])
    return kept


def _title_fields(record: TitleRecordV1) -> dict:
    title = record.model_dump(exclude={"record_id", "copies"})
    title["keywords"] = sorted(tokens(" ".join([record.title, *record.authors, *record.subjects])))
    return title


def _copy_update(record: TitleRecordV1, c) -> dict:
    # a copy already known keeps its circulation state; only its home may change
    return {"$set": {"home_location": c.home_location},
            "$setOnInsert": {"title_id": record.record_id, "material_type": record.material_type,
                             "location": c.home_location, "status": "available", "loan": None, "hold": None,
                             "version": 1}}


def search(db: Database, *, text: str | None, isbn: str | None, limit: int) -> list[dict]:
    if isbn:
        found = list(db[store.TITLES].find({"isbn": re.sub(r"[^0-9X]", "", isbn.upper())}).limit(limit))
    else:
        keys = query_tokens(text or "")
        if not keys:
            raise BadInput("search for some words of a title, author or subject, or an ISBN")
        wanted = set(keys)
        found = key_rows.matching(db[store.TITLE_KEYS], db[store.TITLES], keys, limit,
                                  lambda title: wanted <= set(title.get("keywords") or ()))
    return [_with_availability(db, t) for t in found]


def title_name(db: Database, title_id: str) -> str:
    """A title's name, as kept for a few seconds (``reference``): events carry it."""
    return (reference.cached(db, store.TITLES, title_id, lambda: _name(db, title_id)) or {}).get("title", "")


def title_name_now(db: Database, title_id: str) -> str:
    """A title's name as stored now."""
    return (_name(db, title_id) or {}).get("title", "")


def _name(db: Database, title_id: str) -> dict | None:
    return db[store.TITLES].find_one({"_id": title_id}, {"title": 1})


def title_names(db: Database, title_ids: list[str]) -> dict[str, str]:
    """Names of titles by id, in one query by _id (fast on every store)."""
    return {t["_id"]: t["title"] for t in db[store.TITLES].find({"_id": {"$in": title_ids}}, {"title": 1})}


def has_title(db: Database, title_id: str) -> bool:
    return db[store.TITLES].find_one({"_id": str(title_id)}, {"_id": 1}) is not None


def build_keys(db: Database) -> int | None:
    """Key rows for titles an earlier version stored without them, once per database;
    returns the titles seen (None: built before)."""
    return once(db, "title_keys", lambda: key_rows.build(db[store.TITLE_KEYS], (
        (t["_id"], t.get("keywords") or ()) for t in db[store.TITLES].find({}, {"keywords": 1}).batch_size(1000))))


def _with_availability(db: Database, title: dict) -> dict:
    places: dict[str, dict] = {}
    for c in db[store.COPIES].find({"title_id": title["_id"]}, {"status": 1, "location": 1}).limit(1000):
        entry = places.setdefault(c["location"], {"location": c["location"], "available": 0, "total": 0})
        entry["total"] += 1
        entry["available"] += c["status"] == "available"
    return {"title_id": title["_id"], "title": title["title"], "authors": title.get("authors", []),
            "subjects": title.get("subjects", []), "isbn": title.get("isbn"), "language": title.get("language"),
            "material_type": title.get("material_type"), "availability": sorted(places.values(), key=lambda p: p["location"]),
            "digital": _digital(db, title)}


def _digital(db: Database, title: dict) -> dict | None:
    """A digital resource's licence and how many licence copies are free (None: always readable)."""
    d = title.get("digital")
    if not d:
        return None
    return digital.resource_view(title, digital_store.available(db, title))
