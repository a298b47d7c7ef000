"""``suite import marc FILE``: MARC 21 bibliographic records (binary ISO 2709 or MARCXML)
into the library catalogue, titles with their copies, in batches over RPC.

How a record becomes a ``TitleRecordV1`` (:func:`record_to_title`):

============== =====================================================================
record_id      001 (control number), stripped. Without a usable 001: the first 035 $a,
               ``(OCoLC)12345`` written ``OCoLC:12345``. Neither: the record is rejected.
isbn           the first 020 $a that is a valid ISBN (checked with ``stdnum.isbn``),
               as digits and X only, ISBN-10 kept as ISBN-10. Invalid ones are dropped
               with a note; the record is still imported. 020 $z (cancelled) is ignored.
title          245 $a $n $p $b in field order (part number and name belong to the title
               proper); ISBD punctuation at the end (`` /``, `` :``, `` =``, `` ;``, ``,``,
               ``.``) is stripped, the cataloguer's punctuation inside is kept.
               No 245 $a: rejected.
authors        100, 110, 700, 710 $a (corporate names 110/710 with their $b units),
               trailing commas/periods stripped, duplicates dropped.
subjects       650, 651 $a with the subdivisions $v $x $y $z, joined with `` -- ``.
language       008/35-37 if a code (not blank, ``|||`` or ``und``), else 041 $a, else chi.
material_type  leader/06-07: a+m book, a+s periodical, g/i/j (any level) av, else other.
copies         852: $p barcode, $b sublocation as home location (else $a);
               952 (Koha items): $p barcode, $a home branch (else $b holding branch);
               952 items marked withdrawn ($0) or lost ($1) are left out, with a note.
               A holdings field without a barcode is left out with a note; a barcode or
               location that does not fit the contract, or one barcode on two locations,
               rejects the record. Whether a location exists is the library's to say.
============== =====================================================================

Romanised records with vernacular script (880 linked by $6, as in CJK records from
OCLC) use the 880 text for title, authors and subjects, so Chinese titles stay Chinese.
Holdings (leader/06 u/v/x/y) and authority (z) records are rejected: not titles.

Encodings: a binary record is read as UTF-8 when leader/09 is ``a`` and as MARC-8
(ANSEL, EACC for CJK) when it is blank, as pymarc does with ``to_unicode=True``. A record
whose leader says MARC-8 but whose bytes are UTF-8 (common in exports of Chinese
systems: no escape sequences, valid UTF-8) is read as UTF-8. ``force_utf8=True`` is not
used: it would read real MARC-8 records as UTF-8 and lose them. All text is NFC.
"""
from __future__ import annotations

import re
import sys
import unicodedata
from collections import deque
from pathlib import Path
from typing import Iterator

from nameko.exceptions import RemoteError
from pydantic import ValidationError
from pymarc import MARCReader, Record
from pymarc.exceptions import FatalReaderError
from pymarc.marcxml import XmlHandler
from stdnum import isbn as stdnum_isbn
from tqdm import tqdm
from xml.sax import SAXException, make_parser
from xml.sax.handler import feature_namespaces

from contracts.rpc.library import TitleRecordV1
from infra.imports.file_memory import FileMemory
from infra.imports.files import ImportFileError, check_size

BATCH = 500
IN_FLIGHT = 2          # batches sent before waiting for the oldest answer
MAX_NOTES_SHOWN = 20

_RECORD_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_CODE = re.compile(r"^[A-Za-z0-9_-]+$")
_ISBD_END = re.compile(r"[\s/:;=,.\uff0f\uff1a\uff1b\uff1d\uff0c\u3002]+$")
_NAME_END = re.compile(r"[\s,.;:]+$")
_ISBN_LEAD = re.compile(r"[0-9Xx][0-9Xx\- ]*")
_LANG = re.compile(r"^[a-z]{3}$")
_XML_RECORD = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?record[\s>/]")


class MarcMappingError(ValueError):
    """A record that cannot become a title: the message is the reason shown to the user."""


# --- mapping -------------------------------------------------------------------------

def _text(value: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", value or "").split())


def _isbd_strip(value: str) -> str:
    return _ISBD_END.sub("", _text(value))


def _vernacular(record: Record):
    """880 fields by (linked tag, occurrence), from their $6 ``245-01/$1``."""
    linked = {}
    for f in record.get_fields("880"):
        link = f.get("6") or ""
        m = re.match(r"^(\d{3})-(\d{2})", link)
        if m and m.group(2) != "00":
            linked.setdefault((m.group(1), m.group(2)), f)
    return linked


def _with_vernacular(record: Record, tags: tuple[str, ...], linked: dict) -> list:
    """The fields of ``tags``, each replaced by its linked 880 (vernacular script) if any."""
    fields = []
    for f in record.get_fields(*tags):
        m = re.match(r"^880-(\d{2})", f.get("6") or "")
        vernacular = linked.get((f.tag, m.group(1))) if m else None
        fields.append(vernacular if vernacular is not None and vernacular.get("a") else f)
    return fields


def _subfields(field, codes: str) -> list[str]:
    return [_text(s.value) for s in field.subfields if s.code in codes and _text(s.value)]


def _record_id(record: Record) -> str:
    f001 = record.get("001")
    control = _text(f001.data) if f001 is not None and f001.is_control_field() else ""
    if control and _RECORD_ID.match(control):
        return control
    for f in record.get_fields("035"):
        value = _text(f.get("a"))
        m = re.match(r"^\(([^)]*)\)\s*(.+)$", value)
        if m:
            value = f"{m.group(1).strip()}:{m.group(2)}"
        value = value.replace(" ", "")
        if value and _RECORD_ID.match(value):
            return value
    if control:
        raise MarcMappingError(f"001 {control!r} is not usable as a record id (letters, digits, _ . : - only, "
                               "at most 64) and there is no usable 035 $a")
    raise MarcMappingError("no control number (001) and no 035 $a")


def _isbn(record: Record, notes: list[str]) -> str | None:
    for f in record.get_fields("020"):
        for raw in f.get_subfields("a"):
            m = _ISBN_LEAD.match(raw.strip())
            number = re.sub(r"[^0-9X]", "", m.group(0).upper()) if m else ""
            if number and stdnum_isbn.is_valid(number):
                return number
            notes.append(f"invalid ISBN {raw.strip()!r} in 020 $a dropped")
    return None


def _title(record: Record, linked: dict) -> str:
    fields = _with_vernacular(record, ("245",), linked)
    if not fields or not _subfields(fields[0], "a"):
        raise MarcMappingError("no title (245 $a)")
    parts = [_text(s.value) for s in fields[0].subfields if s.code in "abnp" and _text(s.value)]
    return _isbd_strip(" ".join(parts))


def _authors(record: Record, linked: dict) -> list[str]:
    names = []
    for f in _with_vernacular(record, ("100", "110", "700", "710"), linked):
        tag = f.tag if f.tag != "880" else (f.get("6") or "")[:3]
        # a corporate name with its units: "Shanghai (China). Education Committee"
        name = ". ".join(_NAME_END.sub("", p) for p in _subfields(f, "ab" if tag in ("110", "710") else "a"))
        if name and name not in names:
            names.append(name)
    return names


def _subjects(record: Record, linked: dict) -> list[str]:
    headings = []
    for f in _with_vernacular(record, ("650", "651"), linked):
        if not f.get("a"):
            continue
        heading = " -- ".join(_NAME_END.sub("", p) for p in _subfields(f, "avxyz"))
        if heading and heading not in headings:
            headings.append(heading)
    return headings


def _language(record: Record) -> str:
    f008 = record.get("008")
    if f008 is not None and f008.is_control_field() and len(f008.data or "") >= 38:
        code = f008.data[35:38].strip().lower()
        if _LANG.match(code) and code != "und":
            return code
    for f in record.get_fields("041"):
        for code in f.get_subfields("a"):
            code = code.strip().lower()[:3]
            if _LANG.match(code) and code != "und":
                return code
    return "chi"


def _material_type(record: Record) -> str:
    kind, level = record.leader[6], record.leader[7]
    if kind == "a" and level == "m":
        return "book"
    if kind == "a" and level == "s":
        return "periodical"
    if kind in ("g", "i", "j"):
        return "av"
    return "other"


def _copies(record: Record, notes: list[str]) -> list[dict]:
    copies: dict[str, str] = {}
    for f in record.get_fields("852", "952"):
        barcode = _text(f.get("p"))
        where = [f.get("b"), f.get("a")] if f.tag == "852" else [f.get("a"), f.get("b")]
        location = next((_text(w) for w in where if _text(w)), "")
        if f.tag == "952":
            gone = [what for code, what in (("0", "withdrawn"), ("1", "lost")) if _text(f.get(code)) not in ("", "0")]
            if gone:
                notes.append(f"952 item {barcode or '(no barcode)'} is {' and '.join(gone)}: left out")
                continue
        if not barcode:
            notes.append(f"{f.tag} without a barcode ($p) at {location or 'no location'}: left out")
            continue
        if len(barcode) > 64 or not _CODE.match(barcode):
            raise MarcMappingError(f"{f.tag} $p barcode {barcode!r} is not valid "
                                   "(letters, digits, _ and - only, at most 64)")
        if not location:
            raise MarcMappingError(f"{f.tag} barcode {barcode} has no location "
                                   f"({'$b or $a' if f.tag == '852' else '$a or $b'})")
        if len(location) > 32 or not _CODE.match(location):
            raise MarcMappingError(f"{f.tag} location {location!r} of barcode {barcode} is not a valid "
                                   "location code (letters, digits, _ and - only, at most 32)")
        if copies.get(barcode, location) != location:
            raise MarcMappingError(f"barcode {barcode} is held at two locations ({copies[barcode]}, {location})")
        copies[barcode] = location
    if len(copies) > 500:
        raise MarcMappingError(f"{len(copies)} copies: at most 500 a title")
    return [{"barcode": b, "home_location": loc} for b, loc in copies.items()]


def _capped(items: list[str], most: int, longest: int, what: str, notes: list[str]) -> list[str]:
    if len(items) > most:
        notes.append(f"{len(items)} {what}: only the first {most} kept")
    out = []
    for item in items[:most]:
        if len(item) > longest:
            notes.append(f"{what[:-1]} shortened to {longest} characters")
            item = item[:longest]
        out.append(item)
    return out


def record_to_title(record: Record, notes: list[str] | None = None) -> dict:
    """A pymarc Record as a ``TitleRecordV1`` dict (valid against the contract), or
    :class:`MarcMappingError` saying why it cannot be one. Things left out of a record that
    is still imported (an invalid ISBN, a withdrawn item) are appended to ``notes``."""
    notes = [] if notes is None else notes
    kind = record.leader[6]
    if kind in ("u", "v", "x", "y"):
        raise MarcMappingError(f"a holdings record (leader/06 {kind!r}), not a bibliographic one")
    if kind == "z":
        raise MarcMappingError("an authority record (leader/06 'z'), not a bibliographic one")
    linked = _vernacular(record)
    title = _title(record, linked)
    if len(title) > 500:
        notes.append("title shortened to 500 characters")
        title = title[:500]
    data = {
        "record_id": _record_id(record),
        "isbn": _isbn(record, notes),
        "title": title,
        "authors": _capped(_authors(record, linked), 20, 200, "authors", notes),
        "subjects": _capped(_subjects(record, linked), 50, 200, "subjects", notes),
        "language": _language(record),
        "material_type": _material_type(record),
        "copies": _copies(record, notes),
    }
    try:
        TitleRecordV1.model_validate(data)
    except ValidationError as exc:  # what the checks above missed: say it as the library would
        raise MarcMappingError("; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}"
                                         for e in exc.errors()[:3])) from None
    return data


# --- reading files ---------------------------------------------------------------------

def _is_xml(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def count_records(path: Path) -> int:
    """Records in the file, counted without parsing them (for the progress bar)."""
    xml = _is_xml(path)
    n, carry = 0, b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            if not xml:
                n += chunk.count(b"\x1d")
                continue
            buf = carry + chunk
            n += sum(1 for m in _XML_RECORD.finditer(buf) if m.end() > len(carry))
            carry = buf[-64:]
    return n


def _looks_utf8(chunk: bytes) -> bool:
    if b"\x1b" in chunk or max(chunk, default=0) < 0x80:
        return False
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "unreadable record"
    if isinstance(exc, UnicodeDecodeError):
        encoding = {"utf-8": "UTF-8", "marc8_to_unicode": "MARC-8"}.get(exc.encoding.lower(), exc.encoding)
        return f"unreadable record: not valid {encoding} text ({exc.reason})"
    return f"unreadable record: {str(exc) or type(exc).__name__}"


def _skip_to_next_record(f, start: int) -> None:
    """After a record whose framing is broken: go on after the next record terminator."""
    f.seek(start)
    pos = start
    while chunk := f.read(1 << 16):
        at = chunk.find(b"\x1d")
        if at >= 0:
            f.seek(pos + at + 1)
            return
        pos += len(chunk)


def binary_records(f) -> Iterator[tuple[int, Record | None, str | None]]:
    """(record number, record, None) or (record number, None, why unreadable), for an ISO 2709
    file opened in binary; a broken record is skipped, not the rest of the file."""
    def reader():
        return MARCReader(f, to_unicode=True, force_utf8=False, hide_utf8_warnings=True, utf8_handling="strict")
    marc, number = reader(), 0
    while True:
        while f.peek(1)[:1] in (b"\n", b"\r", b" ", b"\t", b"\x00", b"\x1a"):
            f.read(1)                   # line breaks or padding between records
        start = f.tell()
        try:
            record = next(marc)
        except StopIteration:
            return
        number += 1
        chunk, exc = marc.current_chunk, marc.current_exception
        if isinstance(exc, FatalReaderError):
            yield number, None, _reason(exc)
            _skip_to_next_record(f, start)
            marc = reader()
            continue
        if (record is None or record.leader[9] != "a") and chunk and _looks_utf8(chunk):
            try:                        # leader/09 says MARC-8, the bytes are UTF-8
                record = Record(chunk, to_unicode=True, force_utf8=True, utf8_handling="strict")
            except Exception as again:  # noqa: BLE001 - any parse failure is a reason
                record, exc = None, again
        if record is None:
            yield number, None, _reason(exc)
        else:
            yield number, record, None


class _XmlRecords(XmlHandler):
    """pymarc's MARCXML handler, kept going past a malformed record."""

    def __init__(self):
        super().__init__(strict=False, normalize_form="NFC")
        self.ready: deque = deque()
        self.problem: str | None = None

    def startElementNS(self, name, qname, attrs):
        if name[1] == "record":
            self.problem = None
        try:
            super().startElementNS(name, qname, attrs)
        except Exception as exc:  # noqa: BLE001
            self.problem = self.problem or f"unreadable record: <{name[1]}> {type(exc).__name__} {exc}".strip()

    def endElementNS(self, name, qname):
        if name[1] == "record" and self._record is not None and self.problem:
            self.ready.append((None, self.problem))
            self._record, self._field, self._text = None, None, []
            return
        try:
            super().endElementNS(name, qname)
        except Exception as exc:  # noqa: BLE001
            self.problem = self.problem or f"unreadable record: <{name[1]}> {type(exc).__name__} {exc}".strip()
            self._text = []

    def process_record(self, record):
        self.ready.append((record, None))


def xml_records(f) -> Iterator[tuple[int, Record | None, str | None]]:
    """As :func:`binary_records`, for MARCXML, parsed as a stream (memory stays flat). XML that
    is not well-formed ends the reading there, with a reason."""
    handler = _XmlRecords()
    parser = make_parser()
    parser.setContentHandler(handler)
    parser.setFeature(feature_namespaces, 1)
    number = 0
    done = False
    while not done:
        chunk = f.read(1 << 16)
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
                done = True
        except SAXException as exc:
            while handler.ready:
                number += 1
                yield (number, *handler.ready.popleft())
            where = getattr(exc, "getLineNumber", lambda: None)()
            yield number + 1, None, (f"the file is not well-formed XML{f' at line {where}' if where else ''}: "
                                     f"{exc.getMessage()}; nothing after it was read")
            return
        while handler.ready:
            number += 1
            yield (number, *handler.ready.popleft())


# --- import ------------------------------------------------------------------------------

def import_marc(rpc, path: Path, report=sys.stderr) -> tuple[int, list[tuple[int, str]]]:
    """MARC records into the catalogue in batches; returns (imported, [(record number, reason), ...])."""
    path = Path(path)
    check_size(path)
    try:
        xml = _is_xml(path)
        total = count_records(path)
        f = open(path, "rb")
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from None
    imported, rejected, notes, more_notes = 0, [], [], 0
    seen = FileMemory("ids", "barcodes")   # record id / barcode -> record number: repeats in the file
    batch: list[tuple[int, dict]] = []
    in_flight: deque = deque()
    method = rpc.library.import_catalogue

    def collect():
        nonlocal imported
        sent, reply = in_flight.popleft()
        bar.update(len(sent))
        try:
            result = reply.result() if hasattr(reply, "result") else reply
        except RemoteError as exc:      # this batch refused whole: say so for each of its records
            rejected.extend((n, f"the library refused the batch: {exc.value}") for n, _ in sent)
            return
        except Exception as exc:  # noqa: BLE001 - no answer (broker gone, time-out): stop here
            raise ImportFileError(f"{path}: stopped, {imported} records imported so far: "
                                  f"{type(exc).__name__} {exc}") from None
        imported += result["stored"]
        rejected.extend((sent[r["index"]][0], r["reason"]) for r in result["rejected"])

    def send():
        if not batch:
            return
        payload = [title for _, title in batch]
        call_async = getattr(method, "call_async", None)
        in_flight.append((list(batch), call_async(payload) if call_async else method(payload)))
        batch.clear()
        while len(in_flight) >= IN_FLIGHT:
            collect()

    with f, seen, tqdm(total=total, unit="record", desc="marc", file=report, disable=None) as bar:
        for number, record, reason in (xml_records(f) if xml else binary_records(f)):
            record_notes: list[str] = []
            if record is not None:
                try:
                    title = record_to_title(record, record_notes)
                    reason = _repeated(title, number, seen)
                except MarcMappingError as exc:
                    reason = str(exc)
            for note in record_notes:   # only the first ones are shown: keep no more
                if len(notes) < MAX_NOTES_SHOWN:
                    notes.append((number, note))
                else:
                    more_notes += 1
            if reason:
                rejected.append((number, reason))
                bar.update(1)
                continue
            batch.append((number, title))
            if len(batch) >= BATCH:
                send()
        send()
        while in_flight:
            collect()
    for number, note in notes:
        print(f"  record {number}: {note}", file=report)
    if more_notes:
        print(f"  ... and {more_notes} more notes", file=report)
    return imported, sorted(rejected)


def _repeated(title: dict, number: int, seen: FileMemory) -> str | None:
    """Why a record repeats an earlier one of the same file (None if it does not); the ids and
    barcodes of a record that does not are remembered."""
    earlier = seen.get("ids", title["record_id"])
    if earlier is not None:
        return f"record id {title['record_id']} is also record {earlier} of this file"
    for c in title["copies"]:
        earlier = seen.get("barcodes", c["barcode"])
        if earlier is not None:
            return f"barcode {c['barcode']} is also on record {earlier} of this file"
    seen.add("ids", title["record_id"], number)
    for c in title["copies"]:
        seen.add("barcodes", c["barcode"], number)
    return None
