"""The catalogue: titles and their copies, stored idempotently by record id, and searched
by words of the title, authors and subjects (Chinese by characters and pairs of them).

A title's search keys are kept twice: in the title (``keywords``, the truth a hit is checked
against) and as one row per key in ``title_keys`` (``<key>|<title id>``), which a search
reads as a range per key. The embedded store scans every title for ``$all`` on the array
(71 ms at 100,000 titles), while a range on one indexed field stays about a millisecond.
Rows are written before their title and removed after it, so a crash leaves at most a row
too many, which the check against the title skips."""
from __future__ import annotations

import re
import unicodedata

from pydantic import ValidationError
from pymongo import UpdateOne
from pymongo.database import Database

from contracts.rpc.library import TitleRecordV1
from services.common.errors import BadInput
from services.common.storage import insert_new, once
from services.library import reference, store

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
    if not isinstance(records, list) or len(records) > 500:
        raise BadInput("expected a list of at most 500 records")
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
        good.append(record)
    if good:
        fields = {r.record_id: _title_fields(r) for r in good}
        old_keys = {t["_id"]: set(t.get("keywords") or ()) for t in db[store.TITLES].find(
            {"_id": {"$in": list(fields)}}, {"keywords": 1})}
        new_keys = {tid: set(f["keywords"]) for tid, f in fields.items()}
        insert_new(db[store.TITLE_KEYS], [_key_row(k, tid) for tid, keys in new_keys.items()
                                          for k in keys - old_keys.get(tid, set())])
        titles = [UpdateOne({"_id": r.record_id}, {"$set": fields[r.record_id]}, upsert=True) for r in good]
        db[store.TITLES].bulk_write(titles, ordered=False)
        gone = [_key_row(k, tid)["_id"] for tid, keys in old_keys.items() for k in keys - new_keys.get(tid, set())]
        if gone:
            db[store.TITLE_KEYS].delete_many({"_id": {"$in": gone}})
        reference.forget(db, store.TITLES)  # a renamed title reads right at once here
        copies = [UpdateOne({"_id": c.barcode}, _copy_update(r, c), upsert=True) for r in good for c in r.copies]
        if copies:
            db[store.COPIES].bulk_write(copies, ordered=False)
    return {"stored": len(good), "rejected": rejected}


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


def _key_row(key: str, title_id: str) -> dict:
    row = f"{key}|{title_id}"
    return {"_id": row, "k": row}


FIRST_READ = 100   # rows of each key read first, to find the key with fewest titles
PAGE = 500         # rows of that key read at a time after that


def _titles_with(db: Database, key: str, after: str = "", limit: int = PAGE) -> list[str]:
    """The ids of titles with ``key``, in id order after ``after``, ``limit`` at most."""
    rows = db[store.TITLE_KEYS].find({"k": {"$gt": f"{key}|{after}", "$lt": f"{key}|\uffff"}}, {"k": 1}) \
        .sort("k", 1).limit(limit)
    return [r["k"][len(key) + 1:] for r in rows]


def _matching(db: Database, keys: list[str], limit: int) -> list[dict]:
    """Titles with every key: the rows of the key with fewest titles, page by page, narrowed by
    the other keys whose rows were all read, then checked against the titles themselves,
    fetched a few at a time (no more than the hits still wanted, twice over)."""
    first = {k: _titles_with(db, k, limit=FIRST_READ) for k in keys}
    whole = [k for k in keys if len(first[k]) < FIRST_READ]
    complete = [set(first[k]) for k in whole]
    # the key with fewest titles: of those read whole, the shortest; else the one whose first
    # rows reach furthest into the ids (its titles lie furthest apart)
    rarest = min(whole, key=lambda k: len(first[k])) if whole else max(keys, key=lambda k: first[k][-1])
    wanted, found = set(keys), []
    page, more = first[rarest], len(first[rarest]) == FIRST_READ
    while page:
        candidates = [t for t in page if all(t in ids for ids in complete)]
        while candidates and len(found) < limit:
            chunk, candidates = candidates[:2 * (limit - len(found))], candidates[2 * (limit - len(found)):]
            titles = {t["_id"]: t for t in db[store.TITLES].find({"_id": {"$in": chunk}})}
            found += [titles[t] for t in chunk if t in titles and wanted <= set(titles[t].get("keywords") or ())]
        if len(found) >= limit or not more:
            break
        page = _titles_with(db, rarest, page[-1])
        more = len(page) == PAGE
    return found[:limit]


def search(db: Database, *, text: str | None, isbn: str | None, limit: int) -> list[dict]:
    if isbn:
        found = list(db[store.TITLES].find({"isbn": re.sub(r"[^0-9X]", "", isbn.upper())}).limit(limit))
    else:
        keys = query_tokens(text or "")
        if not keys:
            raise BadInput("search for some words of a title, author or subject, or an ISBN")
        found = _matching(db, keys, limit)
    return [_with_availability(db, t) for t in found]


def build_keys(db: Database) -> int | None:
    """Key rows for titles an earlier version stored without them, once per database;
    returns the titles seen (None: built before)."""
    def build() -> int:
        seen, rows = 0, []
        for title in db[store.TITLES].find({}, {"keywords": 1}).batch_size(1000):
            seen += 1
            rows += [_key_row(k, title["_id"]) for k in title.get("keywords") or ()]
            if len(rows) >= 5000:
                insert_new(db[store.TITLE_KEYS], rows)
                rows = []
        insert_new(db[store.TITLE_KEYS], rows)
        return seen
    return once(db, "title_keys", build)


def _with_availability(db: Database, title: dict) -> dict:
    places: dict[str, dict] = {}
    for c in db[store.COPIES].find({"title_id": title["_id"]}, {"status": 1, "location": 1}).limit(1000):
        entry = places.setdefault(c["location"], {"location": c["location"], "available": 0, "total": 0})
        entry["total"] += 1
        entry["available"] += c["status"] == "available"
    return {"title_id": title["_id"], "title": title["title"], "authors": title.get("authors", []),
            "subjects": title.get("subjects", []), "isbn": title.get("isbn"), "language": title.get("language"),
            "material_type": title.get("material_type"), "availability": sorted(places.values(), key=lambda p: p["location"])}
