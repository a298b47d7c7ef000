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

from contracts.rpc.elearning import SCHOOL_FILE_MAX_BYTES, SCHOOL_FILE_REFERENCE, SCHOOL_FILES_AT_ONCE
from services.common import uploads
from services.common.errors import BadInput
from services.common.uploads import Upload

MAX_BYTES = SCHOOL_FILE_MAX_BYTES
MAX_FILES = SCHOOL_FILES_AT_ONCE
FILE_ID = re.compile(r"^[0-9a-f]{24}$")
REFERENCE = SCHOOL_FILE_REFERENCE


def clean_name(name) -> str:
    name = uploads.plain_name(name)
    if name is None:
        raise BadInput("文件需要名称 (a file needs a name)")
    return name


def check(name, declared_type, data: bytes) -> Upload:
    """The upload as stored, or BadInput saying what is wrong."""
    name = clean_name(name)
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise BadInput(f"文件“{name}”是空的 (the file is empty)")
    if len(data) > MAX_BYTES:
        raise BadInput(f"文件“{name}”超过 {MAX_BYTES // (1024 * 1024)} MB (too large)")
    actual = uploads.content_type_of(data)
    if actual is None:
        raise BadInput(f"文件“{name}”不是 PDF、JPEG 或 PNG (only PDF, JPEG and PNG files are taken)")
    if uploads.mislabelled(name, declared_type, actual):
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
