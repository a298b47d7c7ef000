"""Materials residents upload to their cases (申请材料), free of I/O: what may be stored.

A file is a PDF, JPEG or PNG, recognised by its content (its first bytes), not by its name or
the type a browser claims: a file whose content is not what its name and type say is refused
("mislabelled"), as is anything else. At most MAX_BYTES each, MAX_PER_CASE per case. Names are
kept as people gave them, without paths or control characters, 120 characters at most.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.rpc.community import MATERIAL_MAX_BYTES, MOVE_PROOFS_MAX
from services.common.errors import BadInput

MAX_BYTES = MATERIAL_MAX_BYTES
MAX_PER_CASE = 30
MAX_PER_MOVE = MOVE_PROOFS_MAX   # proof of residence for one declaration: a lease, a deed, a utility bill
MAX_NAME = 120
# content type: (the first bytes of such a file, the names' extensions)
KINDS = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
}
FILE_ID = re.compile(r"^[0-9a-f]{24}$")


def content_type_of(data: bytes) -> str | None:
    """What the bytes are, by their signature; None for anything we do not take."""
    return next((kind for kind, (magic, _) in KINDS.items() if data.startswith(magic)), None)


def clean_name(name) -> str:
    if not isinstance(name, str):
        raise BadInput("a file needs a name")
    name = re.sub(r"[\x00-\x1f\x7f]", "", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if not name or name in (".", ".."):
        raise BadInput("a file needs a name")
    return name[-MAX_NAME:]


@dataclass(frozen=True)
class Upload:
    name: str
    content_type: str
    size: int


def check(name, declared_type, data: bytes, already: int, most: int = MAX_PER_CASE, holder: str = "a case") -> Upload:
    """The upload as stored, or BadInput saying what is wrong (nothing is stored then);
    ``already`` files of ``most`` are on its ``holder``."""
    name = clean_name(name)
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise BadInput("the file is empty")
    if len(data) > MAX_BYTES:
        raise BadInput(f"a file may be at most {MAX_BYTES // (1024 * 1024)} MB")
    if already >= most:
        raise BadInput(f"{holder} may carry at most {most} files")
    actual = content_type_of(bytes(data[:16]))
    if actual is None:
        raise BadInput("only PDF, JPEG and PNG files are taken")
    declared = str(declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in ("application/octet-stream", actual) or \
            not name.lower().endswith(KINDS[actual][1]):
        raise BadInput(f"the file's content is {actual.split('/')[1].upper()}, not what its name or type say "
                       "(a mislabelled file is not taken)")
    return Upload(name, actual, len(data))


def may_upload(case_status: str, final_statuses) -> None:
    if case_status in final_statuses:
        raise BadInput("the case is closed: materials can no longer be added")
