"""Digital resources against the store: their files in GridFS in the library database (bucket
``digital``, as the community service keeps uploaded materials), their licence copies in
``digital_copies`` (one document per copy, ``_id`` ``<title>#<n>``: its loan, whose ``due_watch``
the timer reads by range, and the outbox of the notices a hand-on causes), and the title's
``digital`` part in ``titles`` (so the catalogue's search finds them). Holds wait in ``holds``
like print holds (``holds_store``), in a queue of their own (``digital.queue_of``)."""
from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from gridfs import GridFSBucket
from gridfs.errors import NoFile
from pymongo import ReturnDocument
from pymongo.database import Database

from services.common import outbox
from services.common.storage import due_by, due_key, merge_updates
from services.library.digital import ONE_READER
from services.library.store import DIGITAL_COPIES, TITLES

BUCKET = "digital"
CHUNK = 255 * 1024   # GridFS's own chunk size: a range is read chunk by chunk


def _bucket(db: Database) -> GridFSBucket:
    return GridFSBucket(db, bucket_name=BUCKET)


def put_file(db: Database, title_id: str, name: str, content_type: str, data: bytes, at: datetime) -> str:
    return str(_bucket(db).upload_from_stream(name, bytes(data), metadata={
        "title_id": title_id, "content_type": content_type, "at": at.isoformat()}))


def delete_file(db: Database, file_id: str) -> None:
    try:
        _bucket(db).delete(ObjectId(file_id))
    except NoFile:
        pass


def read_file(db: Database, file_id: str, first: int, last: int):
    """The bytes first..last (inclusive), yielded a GridFS chunk at a time (a video is not read
    whole into memory)."""
    stream = _bucket(db).open_download_stream(ObjectId(file_id))
    try:
        stream.seek(first)
        left = last - first + 1
        while left > 0:
            piece = stream.read(min(CHUNK, left))
            if not piece:
                break
            left -= len(piece)
            yield piece
    finally:
        stream.close()


def title(db: Database, title_id: str) -> dict | None:
    """The title if it is a digital resource."""
    found = db[TITLES].find_one({"_id": str(title_id)}, {"title": 1, "digital": 1, "popsci": 1})
    return found if found and found.get("digital") else None


def set_digital(db: Database, title_id: str, digital: dict) -> dict | None:
    """The title's digital part; the one it replaces (whose file the caller deletes)."""
    return db[TITLES].find_one_and_update({"_id": title_id}, {"$set": {"digital": digital}},
                                          {"digital": 1})


def add_copies(db: Database, title_id: str, copy_ids: list[str]) -> None:
    """Licence copies the title has not yet (more copies bought: added; none is taken away)."""
    have = {c["_id"] for c in db[DIGITAL_COPIES].find({"_id": {"$in": copy_ids}}, {"_id": 1})}
    new = [{"_id": c, "title_id": title_id, "loan": None, "version": 1} for c in copy_ids if c not in have]
    if new:
        db[DIGITAL_COPIES].insert_many(new)


def copies_of(db: Database, title_id: str) -> list[dict]:
    return list(db[DIGITAL_COPIES].find({"title_id": title_id}).limit(1000))


def available(db: Database, title: dict) -> int | None:
    """Licence copies free now (None: not lent, always readable by those who may)."""
    if title["digital"]["licence"] != ONE_READER:
        return None
    return sum(c["loan"] is None for c in copies_of(db, title["_id"]))


def loan_of(db: Database, title_id: str, patron_id: str) -> dict | None:
    """The patron's licence copy of this title, if they have one."""
    for copy in db[DIGITAL_COPIES].find({"loan.patron": patron_id}).limit(200):
        if copy["title_id"] == title_id:
            return copy
    return None


def loans_of(db: Database, patron_id: str) -> list[dict]:
    return list(db[DIGITAL_COPIES].find({"loan.patron": patron_id}).limit(200))


def _events(events) -> dict:
    return outbox.record(*events) if events else {}


def lend_free(db: Database, title_id: str, loan: dict) -> dict | None:
    """A free licence copy lent, atomically (two borrowers never get one copy); None when all are out."""
    return db[DIGITAL_COPIES].find_one_and_update(
        {"title_id": title_id, "loan": None},
        {"$set": {"loan": loan, "due_watch": due_key(loan["due"])}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER)


def hand_on(db: Database, copy: dict, loan: dict | None, events: list[dict] = ()) -> bool:
    """The copy's loan ends (returned, or its period over) and it goes to ``loan`` (the next
    in the queue, whose notice is in ``events``, written in the same update) or stays free;
    False if the copy changed meanwhile (returned twice at once)."""
    change = {"$set": {"loan": loan, "due_watch": due_key(loan["due"])}} if loan else \
        {"$set": {"loan": None}, "$unset": {"due_watch": ""}}
    done = db[DIGITAL_COPIES].update_one({"_id": copy["_id"], "version": copy["version"]},
                                         merge_updates(change, {"$inc": {"version": 1}}, _events(events)))
    return done.modified_count == 1


def due_now(db: Database, now: datetime, limit: int = 200) -> list[dict]:
    return due_by(db[DIGITAL_COPIES], "due_watch", now.isoformat(), limit, inclusive=True)


def link_key(db: Database, make) -> bytes:
    """The key links are signed with: made once per database (``make()``) and kept, so every
    library process signs and checks alike without configuration."""
    db["settings"].update_one({"_id": "digital_link_key"}, {"$setOnInsert": {"key": make()}}, upsert=True)
    return bytes.fromhex(db["settings"].find_one({"_id": "digital_link_key"})["key"])
