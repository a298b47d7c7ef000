"""Materials uploaded to cases, and proofs of residence added to a declared move, against the
store: GridFS in the community database (bucket ``materials``: ``materials.files`` with
``metadata`` {case_id or move_id, resident_id, content_type, by, at}, and ``materials.chunks``).
Read by case through an index on ``metadata.case_id``; a move's proofs are listed on the move."""
from __future__ import annotations

from bson import ObjectId
from gridfs import GridFSBucket
from gridfs.errors import NoFile
from pymongo.database import Database

from services.community.materials import Upload

BUCKET = "materials"


def _bucket(db: Database) -> GridFSBucket:
    return GridFSBucket(db, bucket_name=BUCKET)


def put(db: Database, holder: dict, upload: Upload, data: bytes, by: str, at: str) -> str:
    """Keep a file for its ``holder``: {"case_id", "resident_id"} or {"move_id", "resident_id"}."""
    file_id = _bucket(db).upload_from_stream(upload.name, bytes(data), metadata={
        **holder, "content_type": upload.content_type, "by": by, "at": at})
    return str(file_id)


def delete(db: Database, file_id: str) -> None:
    _bucket(db).delete(ObjectId(file_id))


def of_case(db: Database, case_id: str) -> list[dict]:
    """The files of a case, oldest first: {file_id, name, content_type, size, at, by}."""
    found = db[f"{BUCKET}.files"].find({"metadata.case_id": case_id}).limit(200)
    return sorted(({"file_id": str(f["_id"]), "name": f["filename"], "content_type": f["metadata"]["content_type"],
                    "size": f["length"], "at": f["metadata"]["at"], "by": f["metadata"]["by"]} for f in found),
                  key=lambda f: f["at"])


def count_of_case(db: Database, case_id: str) -> int:
    return len(of_case(db, case_id))


def get(db: Database, file_id: str) -> tuple[dict, bytes] | None:
    """The file's record and its bytes, or None."""
    try:
        stream = _bucket(db).open_download_stream(ObjectId(file_id))
    except (NoFile, ValueError, TypeError):
        return None
    meta = {"file_id": file_id, "name": stream.filename, "case_id": stream.metadata.get("case_id"),
            "move_id": stream.metadata.get("move_id"), "resident_id": stream.metadata.get("resident_id"),
            "content_type": stream.metadata["content_type"], "size": stream.length}
    return meta, stream.read()
