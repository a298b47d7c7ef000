"""Files of the e-schoolbag against the store: GridFS in the elearning database (bucket
``schoolbag_files``: ``metadata`` {class_id, kind: assignment | submission, student_id,
content_type, by, at}, all strings)."""
from __future__ import annotations

from bson import ObjectId
from gridfs import GridFSBucket
from gridfs.errors import NoFile
from pymongo.database import Database

from services.elearning.school_files import Upload

BUCKET = "schoolbag_files"


def put(db: Database, upload: Upload, data: bytes, class_id: str, kind: str, student_id: str | None, by: str,
        at: str) -> dict:
    file_id = GridFSBucket(db, bucket_name=BUCKET).upload_from_stream(upload.name, bytes(data), metadata={
        "class_id": class_id, "kind": kind, "student_id": student_id or "", "content_type": upload.content_type,
        "by": by, "at": at})
    return {"file_id": str(file_id), "name": upload.name, "content_type": upload.content_type, "size": upload.size}


def described(db: Database, file_ids: list[str]) -> dict[str, dict]:
    """{file id: {file_id, name, content_type, size}} of those stored."""
    ids = [ObjectId(f) for f in file_ids]
    return {str(f["_id"]): {"file_id": str(f["_id"]), "name": f["filename"], "size": f["length"],
                            "content_type": f["metadata"]["content_type"]}
            for f in db[f"{BUCKET}.files"].find({"_id": {"$in": ids}})} if ids else {}


def get(db: Database, file_id: str) -> tuple[dict, bytes] | None:
    try:
        stream = GridFSBucket(db, bucket_name=BUCKET).open_download_stream(ObjectId(file_id))
    except (NoFile, ValueError, TypeError):
        return None
    return {"file_id": file_id, "name": stream.filename, **stream.metadata}, stream.read()
