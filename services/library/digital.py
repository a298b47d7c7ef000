"""Digital resources (e-books, audio, video) lent by licence, free of I/O: what a file is, who
may read it, licence copies lent and handed on, signed links, byte ranges.

- **A file is what its bytes say**, whatever its name or declared type: EPUB (a zip whose first
  entry is ``mimetype``, stored, reading ``application/epub+zip``), PDF (``%PDF-``), MP3 (an ID3
  tag or an MPEG audio frame), M4A and MP4 (an ISO ``ftyp`` box and its brand). A declared type
  other than the content's is refused ("mislabelled"), as is anything else.
- **Licences** (``contracts.rpc.library.DigitalLicenceV1``): ``open`` (anyone), ``one_reader``
  (one reader per licence copy for ``loan_days``, then a hold queue), ``unlimited`` (any card
  holder). Only ``one_reader`` is borrowed; the others are read at once by whoever may.
- **Signed links**: HMAC-SHA256 over (resource, reader, expiry) with the library's key; the
  library's HTTP endpoint checks it and, for a lent resource, that the reader still has it.
- **Ranges**: one ``bytes=`` range (206), an unsatisfiable one (416); several ranges are
  answered whole (200), as RFC 9110 allows.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.errors import BadInput, Conflict, Forbidden, NotFound

MAX_LOANS = 5   # licence copies one reader holds at once, unless DIGITAL_LOANS_PER_READER says otherwise
LINK_SECONDS = 30 * 60   # long enough to listen to a chapter; a player asks for new links after that
OPEN, ONE_READER, UNLIMITED = "open", "one_reader", "unlimited"
KIND_OF = {"application/epub+zip": "ebook", "application/pdf": "ebook", "audio/mpeg": "audio", "audio/mp4": "audio",
           "video/mp4": "video"}
EXTENSIONS = {"application/epub+zip": (".epub",), "application/pdf": (".pdf",), "audio/mpeg": (".mp3",),
              "audio/mp4": (".m4a", ".m4b"), "video/mp4": (".mp4", ".m4v")}
_AUDIO_BRANDS = {b"M4A ", b"M4B "}
_VIDEO_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}
RESOURCE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_type_of(head: bytes) -> str | None:
    """What the first bytes (64 are enough) say the file is; None for anything not taken."""
    if head.startswith(b"PK\x03\x04"):
        # EPUB OCF: the first entry is named "mimetype", stored uncompressed, with this content
        name_len = int.from_bytes(head[26:28], "little")
        extra_len = int.from_bytes(head[28:30], "little")
        start = 30 + name_len + extra_len
        if head[30:30 + name_len] == b"mimetype" and head[start:start + 20] == b"application/epub+zip":
            return "application/epub+zip"
        return None
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "audio/mp4" if brand in _AUDIO_BRANDS else "video/mp4" if brand in _VIDEO_BRANDS else None
    return None


@dataclass(frozen=True)
class Upload:
    name: str
    content_type: str
    kind: str
    size: int


def check_file(name, declared_type, data: bytes, max_bytes: int) -> Upload:
    """The file as it will be stored, or BadInput saying what is wrong (nothing is stored then)."""
    if not isinstance(name, str) or not name.strip():
        raise BadInput("a file needs a name")
    name = re.sub(r"[\x00-\x1f\x7f]", "", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()[-120:]
    if not data:
        raise BadInput("the file is empty")
    if len(data) > max_bytes:
        raise BadInput(f"a file may be at most {max_bytes} bytes; this one has {len(data)}")
    actual = content_type_of(bytes(data[:64]))
    if actual is None:
        raise BadInput("only EPUB, PDF, MP3, M4A and MP4 files are taken (recognised by their content)")
    declared = str(declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in ("application/octet-stream", actual) or \
            not name.lower().endswith(EXTENSIONS[actual]):
        raise BadInput(f"the file's content is {actual}, not what its name or declared type say "
                       "(a mislabelled file is not taken)")
    return Upload(name, actual, KIND_OF[actual], len(data))


def digital_fields(upload: Upload, licence, file_id: str) -> dict:
    """The ``digital`` part of a title (``licence``: a checked ``DigitalLicenceV1``)."""
    lent = licence.model == ONE_READER
    return {"kind": upload.kind, "content_type": upload.content_type, "file_id": file_id, "size": upload.size,
            "name": upload.name, "licence": licence.model, "copies": licence.copies if lent else None,
            "loan_days": licence.loan_days if lent else None}


def queue_of(title_id: str) -> str:
    """The hold queue of a title's digital edition: apart from its print copies' queue (a
    returned book never goes to someone waiting for the e-book, nor the reverse)."""
    return f"digital|{title_id}"


def copy_ids(title_id: str, copies: int) -> list[str]:
    return [f"{title_id}#{n}" for n in range(1, copies + 1)]


# ---- who may read -------------------------------------------------------------------------

def may_read(digital: dict, reader: str, is_card_holder: bool, has_loan: bool) -> None:
    """Forbidden unless this reader may read it now."""
    if digital["licence"] == OPEN:
        return
    if not is_card_holder:
        raise Forbidden("this resource is for the district's library card holders")
    if digital["licence"] == ONE_READER and not has_loan:
        raise Forbidden("borrow this resource first (it is lent to one reader at a time)")


def may_borrow(digital: dict | None, patron: dict | None) -> None:
    if digital is None:
        raise NotFound("no such digital resource")
    if patron is None:
        raise Forbidden("borrowing needs a library card")
    if patron.get("blocks"):
        raise Conflict("the card is blocked; ask at a library desk")
    if digital["licence"] != ONE_READER:
        raise BadInput("this resource is read without borrowing (its licence is " + digital["licence"] + ")")


def within_cap(loans: int, max_loans: int) -> None:
    """A reader holds at most ``max_loans`` licence copies at once (``DIGITAL_LOANS_PER_READER``)."""
    if loans >= max_loans:
        raise Conflict(f"you have {loans} digital loans, the most a reader may hold at once ({max_loans}): "
                       "return one first")


def new_loan(patron_id: str, now: datetime, loan_days: int, loan_id: str, hold_id: str | None = None) -> dict:
    """A loan's stamps are ISO instants in UTC, so they sort as they fall."""
    due = now + timedelta(days=loan_days)
    return {"loan_id": loan_id, "patron": patron_id, "at": now.isoformat(), "due": due.isoformat(), "hold_id": hold_id}


def loan_view(title: dict, copy: dict) -> dict:
    loan = copy["loan"]
    return {"resource_id": title["_id"], "title": title.get("title", ""), "kind": title["digital"]["kind"],
            "copy_id": copy["_id"], "loan_id": loan["loan_id"], "borrowed_at": loan["at"], "due": loan["due"]}


def resource_view(title: dict, available: int | None) -> dict:
    """A digital resource as search results and the shelf show it."""
    d = title["digital"]
    return {"kind": d["kind"], "content_type": d["content_type"], "size": d["size"], "licence": d["licence"],
            "copies": d.get("copies"), "available": available, "loan_days": d.get("loan_days")}


# ---- signed links -------------------------------------------------------------------------

def _mac(key: bytes, resource_id: str, reader: str, expires: int) -> str:
    return hmac.new(key, f"digital.v1|{resource_id}|{reader}|{expires}".encode(), hashlib.sha256).hexdigest()


def sign(key: bytes, resource_id: str, reader: str, now: datetime) -> dict:
    expires = int(now.timestamp()) + LINK_SECONDS
    return {"reader": reader, "expires": expires, "sig": _mac(key, resource_id, reader, expires)}


def verify(key: bytes, resource_id: str, reader, expires, sig, now: datetime) -> str:
    """The reader the link was made for, or Forbidden (tampered, another key, expired)."""
    try:
        expires = int(expires)
    except (TypeError, ValueError):
        raise Forbidden("the link is not a valid signed link") from None
    if not (isinstance(reader, str) and isinstance(sig, str)) or \
            not hmac.compare_digest(_mac(key, resource_id, reader, expires), sig):
        raise Forbidden("the link is not a valid signed link (altered, or not for this reader)")
    if expires <= now.timestamp():
        raise Forbidden("the link has expired; open the resource again from the library page")
    return reader


# ---- ranges -------------------------------------------------------------------------------

class Unsatisfiable(Exception):
    """A range outside the file: answered 416 with the file's size."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive of the one range asked, None for the whole file; Unsatisfiable."""
    if not header:
        return None
    m = _RANGE.match(header.strip().replace(" ", ""))
    if not m or (not m.group(1) and not m.group(2)):
        return None   # several ranges, or another unit: the whole file (RFC 9110 14.2 lets us ignore it)
    first, last = m.group(1), m.group(2)
    if not first:   # the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise Unsatisfiable()
        return max(0, size - n), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise Unsatisfiable()
    return start, end
