"""What a resident's, a clerk's or a school's uploaded document is, free of I/O: a PDF, JPEG or
PNG recognised by its first bytes, never by its name or the type a browser claims; a name kept
without paths or control characters. Each place that keeps files says its own limits and words
(``services/community/materials.py``, ``services/elearning/school_files.py``)."""
from __future__ import annotations

import re
from dataclasses import dataclass

# content type: (the first bytes of such a file, the names' extensions)
KINDS = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
}
MAX_NAME = 120


@dataclass(frozen=True)
class Upload:
    name: str
    content_type: str
    size: int


def content_type_of(data: bytes) -> str | None:
    """What the bytes are, by their signature; None for anything not taken."""
    return next((kind for kind, (magic, _) in KINDS.items() if bytes(data[:16]).startswith(magic)), None)


def plain_name(name) -> str | None:
    """The name without a path or control characters (at most MAX_NAME), or None when nothing is left."""
    if not isinstance(name, str):
        return None
    name = re.sub(r"[\x00-\x1f\x7f]", "", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return None if not name or name in (".", "..") else name[-MAX_NAME:]


def mislabelled(name: str, declared_type, actual: str) -> bool:
    """The name's extension or the declared type says something other than the content."""
    declared = str(declared_type or "").split(";")[0].strip().lower()
    return bool(declared and declared not in ("application/octet-stream", actual)) or \
        not name.lower().endswith(KINDS[actual][1])
