"""Files of the e-schoolbag (a teacher's assignment attachments, a pupil's submitted work),
free of I/O: what may be stored and who may open it.

A file is a PDF, JPEG or PNG recognised by its first bytes, never by its name or the type a
browser claims (a mislabelled file is refused), at most MAX_BYTES, MAX_FILES at a time;
names kept without paths or control characters. Who may open one: the teachers of its class;
for an assignment's file, the class's pupils and their guardians; for a submission's, the
pupil who sent it and their guardians.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from contracts.rpc.elearning import SCHOOL_FILE_MAX_BYTES, SCHOOL_FILE_REFERENCE, SCHOOL_FILES_AT_ONCE
from services.common.errors import BadInput

MAX_BYTES = SCHOOL_FILE_MAX_BYTES
MAX_FILES = SCHOOL_FILES_AT_ONCE
MAX_NAME = 120
KINDS = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
}
FILE_ID = re.compile(r"^[0-9a-f]{24}$")
REFERENCE = SCHOOL_FILE_REFERENCE


@dataclass(frozen=True)
class Upload:
    name: str
    content_type: str
    size: int


def clean_name(name) -> str:
    if not isinstance(name, str):
        raise BadInput("文件需要名称 (a file needs a name)")
    name = re.sub(r"[\x00-\x1f\x7f]", "", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if not name or name in (".", ".."):
        raise BadInput("文件需要名称 (a file needs a name)")
    return name[-MAX_NAME:]


def check(name, declared_type, data: bytes) -> Upload:
    """The upload as stored, or BadInput saying what is wrong."""
    name = clean_name(name)
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise BadInput(f"文件“{name}”是空的 (the file is empty)")
    if len(data) > MAX_BYTES:
        raise BadInput(f"文件“{name}”超过 {MAX_BYTES // (1024 * 1024)} MB (too large)")
    actual = next((kind for kind, (magic, _) in KINDS.items() if bytes(data[:16]).startswith(magic)), None)
    if actual is None:
        raise BadInput(f"文件“{name}”不是 PDF、JPEG 或 PNG (only PDF, JPEG and PNG files are taken)")
    declared = str(declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in ("application/octet-stream", actual) or \
            not name.lower().endswith(KINDS[actual][1]):
        raise BadInput(f"文件“{name}”的内容是 {actual.split('/')[1].upper()}，与文件名或类型不符 (a mislabelled file)")
    return Upload(name, actual, len(data))


def check_all(files) -> None:
    if not isinstance(files, list) or len(files) > MAX_FILES:
        raise BadInput(f"一次最多 {MAX_FILES} 个文件 (at most {MAX_FILES} files)")


def decoded(files) -> list[tuple[Upload, bytes]]:
    """Files as the RPC carries them ([{name, content_type, data_base64}]), each checked."""
    files = files or []
    check_all(files)
    out = []
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("data_base64"), str) or \
                len(f["data_base64"]) > MAX_BYTES * 4 // 3 + 8:
            raise BadInput(f"文件不能超过 {MAX_BYTES // (1024 * 1024)} MB (a file may be at most that)")
        try:
            data = base64.b64decode(f["data_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise BadInput("the file's data is not base64") from None
        out.append((check(f.get("name"), f.get("content_type"), data), data))
    return out
