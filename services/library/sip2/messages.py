"""SIP2 framing, free of I/O: read messages off a byte stream, parse a request, format a
response, the error-detection trailer (AY sequence number, AZ checksum) and SIP2 dates.

A message is ``<code 2><fixed-length fields><variable fields "XXvalue|"...>[AY<n>AZ<hhhh>]\\r``.
The checksum is the two's complement of the 16-bit sum of the message's bytes up to and
including ``AZ``, as four upper-case hex digits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone, tzinfo
from typing import Callable, Iterator, Sequence

MAX_MESSAGE = 2048

# Requests we understand: their fixed-length fields, in order (SIP2 2.00). 96 is ours to
# send, never received; the other requests (block patron, fee paid...) are not supported.
FIXED: dict[str, tuple[tuple[str, int], ...]] = {
    "93": (("uid_algorithm", 1), ("pwd_algorithm", 1)),
    "99": (("status_code", 1), ("max_print_width", 3), ("protocol_version", 4)),
    "97": (),
    "23": (("language", 3), ("transaction_date", 18)),
    "63": (("language", 3), ("transaction_date", 18), ("summary", 10)),
    "17": (("transaction_date", 18),),
    "11": (("sc_renewal_policy", 1), ("no_block", 1), ("transaction_date", 18), ("nb_due_date", 18)),
    "09": (("no_block", 1), ("transaction_date", 18), ("return_date", 18)),
    "29": (("third_party_allowed", 1), ("no_block", 1), ("transaction_date", 18), ("nb_due_date", 18)),
    "15": (("hold_mode", 1), ("transaction_date", 18)),
    "35": (("transaction_date", 18),),
}

_TRAILER = re.compile(r"(?:AY(?P<seq>[0-9]))?AZ(?P<sum>[0-9A-Fa-f]{4})$")
_SEQ_ONLY = re.compile(r"AY(?P<seq>[0-9])$")
# a trailer glued to a last field that has no "|" but is not a good one (ABx AY1AZ123)
_GLUED_TRAILER = re.compile(r"AY[0-9]?AZ[0-9A-Fa-f]*$")
_TAG = re.compile(r"[A-Z]{2}")


class Malformed(ValueError):
    """Not a message we can act on; ``checked``: it carried a checksum, so the 96 we answer
    with carries one too."""

    def __init__(self, reason: str, checked: bool = False):
        super().__init__(reason)
        self.checked = checked


class BadChecksum(Malformed):
    pass


@dataclass(frozen=True)
class Request:
    code: str
    fixed: dict[str, str]
    fields: tuple[tuple[str, str], ...]
    seq: str | None = None
    checksum: str | None = None

    def get(self, tag: str, default: str | None = None) -> str | None:
        return next((v for t, v in self.fields if t == tag), default)

    def has(self, tag: str) -> bool:
        return any(t == tag for t, _ in self.fields)


def checksum(data: bytes) -> str:
    return f"{(-sum(data)) & 0xFFFF:04X}"


def parse(raw: bytes, encoding: str = "cp850") -> Request:
    raw = raw.rstrip(b"\r\n")
    try:
        # decode first: a gb18030 character may end with the byte of "|"
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Malformed(f"not {encoding}: {exc.reason}") from None
    seq = given = None
    trailer = _TRAILER.search(text)
    if trailer:
        given = trailer["sum"].upper()
        if checksum(raw[:-4]) != given:  # the trailer is ASCII: its 4 hex digits are the last 4 bytes
            raise BadChecksum(f"checksum {given} does not match", checked=True)
        seq, text = trailer["seq"], text[:trailer.start()]
    elif (alone := _SEQ_ONLY.search(text)):
        seq, text = alone["seq"], text[:alone.start()]
    code = text[:2]
    if code not in FIXED:
        raise Malformed(f"unknown or unsupported message {code!r}", checked=given is not None)
    fixed, pos = {}, 2
    for name, size in FIXED[code]:
        if len(text) < pos + size:
            raise Malformed(f"message {code} too short for its {name}", checked=given is not None)
        fixed[name], pos = text[pos:pos + size], pos + size
    fields = []
    for piece in text[pos:].split("|"):
        if not piece:
            continue
        if piece[:2] in ("AY", "AZ") or _GLUED_TRAILER.search(piece):
            # a good trailer was taken off above: what is left was meant as one (AY1AZ123) and
            # the message may be damaged, so it is not acted on
            raise Malformed("malformed error-detection trailer", checked="AZ" in piece)
        if not _TAG.fullmatch(piece[:2]):
            raise Malformed(f"bad field {piece[:10]!r} in message {code}", checked=given is not None)
        fields.append((piece[:2], piece[2:]))
    return Request(code, fixed, tuple(fields), seq, given)


def _clean(value: str) -> str:
    # a field value must not end the field or the message early
    return str(value).replace("|", " ").replace("\r", " ").replace("\n", " ")


def encode(code: str, fixed: Sequence[str], fields: Sequence[tuple[str, str | None]], *,
           encoding: str = "cp850", seq: str | None = None, checked: bool = False) -> bytes:
    """The message's bytes with its final ``\\r``; with the trailer when the request had one
    (``seq`` echoes its sequence number). Characters the charset lacks become ``?``."""
    body = code + "".join(fixed) + "".join(f"{tag}{_clean(value)}|" for tag, value in fields if value is not None)
    data = body.encode(encoding, errors="replace")
    if seq is not None or checked:
        if seq is not None:
            data += b"AY" + seq.encode("ascii")
        data += b"AZ"
        data += checksum(data).encode("ascii")
    return data + b"\r"


def frames(recv: Callable[[int], bytes], limit: int = MAX_MESSAGE) -> Iterator[bytes | None]:
    """Each message read up to its ``\\r`` (a ``\\n`` after it is dropped: some clients send
    ``\\r\\n``); ``None`` for one longer than ``limit``, whose bytes are skipped. Ends at EOF."""
    buf, skipping = b"", False
    while True:
        chunk = recv(4096)
        if not chunk:
            return
        buf += chunk
        while True:
            end = buf.find(b"\r")
            if end < 0:
                if len(buf) > limit:
                    if not skipping:
                        yield None
                    skipping, buf = True, b""
                break
            line, buf = buf[:end].lstrip(b"\n"), buf[end + 1:]
            if skipping:
                skipping = False  # the tail of the message that was too long
            elif len(line) > limit:
                yield None
            elif line.strip():
                yield line


def sip_date(moment: datetime, tz: tzinfo) -> str:
    """YYYYMMDDZZZZHHMMSS in local time (``tz``), the zone left blank as most systems do."""
    return moment.astimezone(tz).strftime("%Y%m%d    %H%M%S")


def sip_day(day: str | date | None, tz: tzinfo) -> str | None:
    """A due date (a day) as a SIP2 date: the end of that day."""
    if not day:
        return None
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return sip_date(datetime.combine(day, time(23, 59, 59), tz), tz)


def parse_sip_date(text: str, tz: tzinfo) -> datetime | None:
    """None when blank or unreadable. Zone ``Z``/``UTC``/``GMT`` is UTC; blank (or any other
    zone name) is the library's local time ``tz``."""
    if len(text or "") != 18 or not text.strip():
        return None
    try:
        moment = datetime.strptime(text[:8] + text[12:], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    zone = text[8:12].strip().upper()
    return moment.replace(tzinfo=timezone.utc if zone in ("Z", "UTC", "GMT") else tz)
