"""Attachment data: statements sent as multipart/mixed, each raw attachment a part with its
``X-Experience-API-Hash``, taken in both versions, its hash checked, and given back as
multipart/mixed on ``GET ...&attachments=true``."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Mapping

from services.elearning.xapi.errors import XapiError, bad
from services.elearning.xapi.validation import object_kind

_SHA2_BY_HEX_LENGTH = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


@dataclass(frozen=True)
class AttachmentData:
    sha2: str            # lowercase hex, checked against the data
    content_type: str
    data: bytes


def split_multipart(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart body (RFC 2046): each its headers (lowercased names) and its
    octets, untouched (attachment data is binary: no line endings are rewritten)."""
    if not boundary or len(boundary) > 70:
        raise bad("multipart/mixed needs a boundary parameter (1-70 characters)")
    dash = b"--" + boundary.encode("latin-1")
    if body.startswith(dash):
        rest = body[len(dash):]
    else:
        start = body.find(b"\r\n" + dash)   # after a preamble
        if start < 0:
            raise bad("the multipart/mixed body has no part with its boundary")
        rest = body[start + 2 + len(dash):]
    parts = []
    while not rest.startswith(b"--"):
        eol = rest.find(b"\r\n")
        if eol < 0 or rest[:eol].strip(b" \t"):
            raise bad("malformed multipart/mixed body: a boundary line must end with CRLF")
        rest = rest[eol + 2:]
        end = rest.find(b"\r\n" + dash)
        if end < 0:
            raise bad("malformed multipart/mixed body: no closing boundary")
        part, rest = rest[:end], rest[end + 2 + len(dash):]
        if part.startswith(b"\r\n"):
            head, data = b"", part[2:]
        else:
            head, sep, data = part.partition(b"\r\n\r\n")
            if not sep:
                raise bad("malformed multipart/mixed body: a part's headers must end with an empty line")
        headers = {}
        for line in head.split(b"\r\n"):
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name.strip():
                raise bad("malformed multipart/mixed body: a part header is not 'Name: value'")
            headers[name.strip().lower()] = value.strip()
        parts.append((headers, data))
    return parts


def mimetype(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def read_multipart(body: bytes, boundary: str, max_statements_bytes: int) -> tuple[bytes, dict[str, AttachmentData]]:
    """The statements (the first part, application/json) and the attachment data of a
    multipart/mixed request, by hash. Every data part names its hash and the hash is
    checked against the octets."""
    parts = split_multipart(body, boundary)
    if not parts or mimetype(parts[0][0].get("content-type")) != "application/json":
        raise bad("the first part of a multipart/mixed request is the statements, as application/json")
    statements = parts[0][1]
    if len(statements) > max_statements_bytes:
        raise XapiError(413, "the statements part is larger than this LRS takes")
    received: dict[str, AttachmentData] = {}
    for i, (headers, data) in enumerate(parts[1:], start=2):
        declared = headers.get("x-experience-api-hash", "").lower()
        if not declared:
            raise bad(f"part {i} has no X-Experience-API-Hash header")
        algorithm = _SHA2_BY_HEX_LENGTH.get(len(declared))
        if algorithm is None or not re.match(r"^[0-9a-f]+$", declared):
            raise bad(f"part {i}: X-Experience-API-Hash must be a hex SHA-224, -256, -384 or -512 digest")
        encoding = headers.get("content-transfer-encoding", "binary").lower()
        if encoding != "binary":
            raise bad(f"part {i}: Content-Transfer-Encoding must be binary (the raw octets)")
        if algorithm(data).hexdigest() != declared:
            raise bad(f"part {i}: its data does not have the SHA-2 its X-Experience-API-Hash declares")
        received[declared] = AttachmentData(declared, headers.get("content-type") or "application/octet-stream", data)
    return statements, received


def attachments_of(statement: Mapping) -> list[dict]:
    """A statement's attachment objects, its sub-statement's included."""
    found = list(statement.get("attachments") or [])
    obj = statement.get("object") or {}
    if object_kind(obj) == "SubStatement":
        found += obj.get("attachments") or []
    return found


def check_attachment_data(statements: list[dict], received: Mapping[str, AttachmentData]) -> None:
    """Every attachment without a fileUrl has its data among the parts, and every part is the
    data of some attachment of these statements (matched by SHA-2 alone, as the specification
    asks)."""
    declared = {a["sha2"].lower() for s in statements for a in attachments_of(s)}
    for s in statements:
        for a in attachments_of(s):
            if "fileUrl" not in a and a["sha2"].lower() not in received:
                if not received:
                    raise bad(f"statement {s.get('id', '')}: an attachment without fileUrl needs its data, "
                              "sent as a part of a multipart/mixed request")
                raise bad(f"statement {s.get('id', '')}: no part carries the data of attachment "
                          f"{a['sha2'].lower()} (and it has no fileUrl)")
    stray = sorted(set(received) - declared)
    if stray:
        raise bad(f"a part with X-Experience-API-Hash {stray[0]} is the data of no attachment of these statements")


def attachment_key(statement_id: str, sha2: str) -> str:
    """Where a statement's attachment data is kept: one copy per statement, so that it goes
    with the statement (an erased learner's attachments with their statements)."""
    return f"{statement_id}|{sha2.lower()}"
