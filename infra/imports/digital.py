"""``suite import digital RECORD --media FILE``: one digital resource (an e-book, audio or video)
into the library: its description from an ONIX for Books 3.0 record (``infra/imports/onix.py``),
a MARC 21 record (the first of a binary or MARCXML file,
mapped as ``suite import marc`` maps it; its holdings are print copies and are left out) or a
small JSON object (``TitleRecordV1``: record_id, title, authors...), its file, and its licence
(``--licence open|one_reader|unlimited``, ``--copies``, ``--loan-days``). The library checks the
file by its bytes and refuses it whole; nothing is stored then."""
from __future__ import annotations

import base64
import mimetypes
from pathlib import Path

from contracts.rpc.library import DIGITAL_MAX_BYTES
from infra.imports.files import ImportFileError, check_size, json_document
from services.common.config import option

mimetypes.add_type("application/epub+zip", ".epub")
mimetypes.add_type("audio/mp4", ".m4a")


def description(path: Path) -> dict:
    """The title record of a resource from a .json object or the first record of a MARC file."""
    if path.suffix.lower() == ".json":
        record = json_document(path)
        if not isinstance(record, dict):
            raise ImportFileError(f"{path}: expected one JSON object (record_id, title, authors...)")
        return record
    from infra.imports import marc, onix

    if marc._is_xml(path) and onix.is_onix(path):
        return _checked(path, onix.read_record(path))
    with open(path, "rb") as f:
        reader = marc.xml_records(f) if marc._is_xml(path) else marc.binary_records(f)
        for number, record, why in reader:
            if record is None:
                raise ImportFileError(f"{path}: record {number} cannot be read: {why}")
            try:
                title = marc.record_to_title(record)
            except marc.MarcMappingError as exc:
                raise ImportFileError(f"{path}: record {number}: {exc}") from None
            title.pop("copies", None)
            return title
    raise ImportFileError(f"{path}: no MARC record in it")


def _checked(path: Path, record: dict) -> dict:
    """The record as the library will check it, refused here with what is wrong (nothing sent)."""
    from pydantic import ValidationError

    from contracts.rpc.library import TitleRecordV1
    try:
        TitleRecordV1.model_validate(record)
    except ValidationError as exc:
        raise ImportFileError(f"{path}: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                      for e in exc.errors()[:3])) from None
    return record


def import_digital(rpc, record_path: Path, media: Path, licence: dict, content_type: str | None = None) -> dict:
    """The resource as the library stored it; the library's refusal (RemoteError) as it came."""
    record = description(Path(record_path))
    check_size(media)
    limit = int(option({}, "DIGITAL_MAX_BYTES", DIGITAL_MAX_BYTES))
    if media.stat().st_size > limit:   # refused here, before hundreds of MB cross the broker only to be refused
        raise ImportFileError(f"{media} is {media.stat().st_size:,} bytes; the library takes files up to {limit:,} "
                              "(DIGITAL_MAX_BYTES)")
    data = Path(media).read_bytes()
    kind = content_type or mimetypes.guess_type(media.name)[0] or "application/octet-stream"
    return rpc.library.add_digital_resource(record, licence, media.name, kind, base64.b64encode(data).decode())
