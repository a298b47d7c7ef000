"""Materials residents upload to their cases (申请材料), free of I/O: what may be stored.

A file is a PDF, JPEG or PNG, recognised by its content (its first bytes), not by its name or
the type a browser claims: a file whose content is not what its name and type say is refused
("mislabelled"), as is anything else. At most MAX_BYTES each, MAX_PER_CASE per case. Names are
kept as people gave them, without paths or control characters, 120 characters at most.
"""
from __future__ import annotations

import re

from contracts.rpc.community import MATERIAL_MAX_BYTES, MOVE_PROOFS_MAX
from services.common import uploads
from services.common.errors import BadInput
from services.common.uploads import Upload

MAX_BYTES = MATERIAL_MAX_BYTES
MAX_PER_CASE = 30
MAX_PER_MOVE = MOVE_PROOFS_MAX   # proof of residence for one declaration: a lease, a deed, a utility bill
FILE_ID = re.compile(r"^[0-9a-f]{24}$")


def clean_name(name) -> str:
    name = uploads.plain_name(name)
    if name is None:
        raise BadInput("a file needs a name")
    return name


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
    actual = uploads.content_type_of(data)
    if actual is None:
        raise BadInput("only PDF, JPEG and PNG files are taken")
    if uploads.mislabelled(name, declared_type, actual):
        raise BadInput(f"the file's content is {actual.split('/')[1].upper()}, not what its name or type say "
                       "(a mislabelled file is not taken)")
    return Upload(name, actual, len(data))


def may_upload(case_status: str, final_statuses) -> None:
    if case_status in final_statuses:
        raise BadInput("the case is closed: materials can no longer be added")
