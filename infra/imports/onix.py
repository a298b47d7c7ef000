"""An ONIX for Books 3.0 record (reference or short tags) as the title record of a digital
resource (``suite import digital RECORD.xml --media FILE``), read with the standard library's
XML parser. The first ``Product`` describes the file: ``RecordReference`` is the record id,
an ISBN-13 (``ProductIDType`` 15) the ISBN, the distinctive title (``TitleType`` 01) with its
subtitle the title, ``Contributor`` names the authors, ``Subject`` headings the subjects,
``Language`` (role 01) the language. A record without a reference or a title is refused with
what it lacks; nothing is sent then.

ONIX 3.0 has no document type declaration: a file with one (or an entity) is refused before
parsing, so no entity can expand."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from infra.imports.files import ImportFileError

ROOTS = ("ONIXMessage", "ONIXmessage")
# reference name -> short tag (ONIX 3.0 short tags are lower-case)
SHORT = {"Product": "product", "RecordReference": "a001", "ProductIdentifier": "productidentifier",
         "ProductIDType": "b221", "IDValue": "b244", "DescriptiveDetail": "descriptivedetail",
         "TitleDetail": "titledetail", "TitleType": "b202", "TitleElement": "titleelement", "TitleText": "b203",
         "TitlePrefix": "b030", "TitleWithoutPrefix": "b031", "Subtitle": "b029", "Contributor": "contributor",
         "PersonName": "b036", "PersonNameInverted": "b037", "CorporateName": "b047", "Subject": "subject",
         "SubjectHeadingText": "b070", "Language": "language", "LanguageRole": "b253", "LanguageCode": "b252"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def is_onix(path: Path) -> bool:
    """Whether the XML file's root element is an ONIX message."""
    try:
        for _, element in ET.iterparse(str(path), events=("start",)):
            return _local(element.tag) in ROOTS
    except ET.ParseError:
        return False
    return False


class _Product:
    """Finding children by reference name whichever tag set the file uses."""

    def __init__(self, element):
        self.element = element

    def all(self, *path: str) -> list:
        found = [self.element]
        for name in path:
            found = [c for e in found for c in e if _local(c.tag) in (name, SHORT.get(name))]
        return found

    def text(self, *path: str) -> str:
        for e in self.all(*path):
            if (e.text or "").strip():
                return e.text.strip()
        return ""


def read_record(path: Path) -> dict:
    """The title record (``TitleRecordV1``'s fields) of the first product, or ImportFileError."""
    raw = Path(path).read_bytes()
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise ImportFileError(f"{path}: an ONIX 3.0 record has no DOCTYPE or entities; this file has one")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ImportFileError(f"{path}: not well-formed XML: {exc}") from None
    if _local(root.tag) not in ROOTS:
        raise ImportFileError(f"{path}: not an ONIX message (its root is {_local(root.tag)})")
    products = [c for c in root if _local(c.tag) in ("Product", "product")]
    if not products:
        raise ImportFileError(f"{path}: no Product in the ONIX message")
    p = _Product(products[0])
    record_id = p.text("RecordReference")
    if not record_id:
        raise ImportFileError(f"{path}: the first Product has no RecordReference (the record id)")
    title = ""
    for detail in p.all("DescriptiveDetail", "TitleDetail"):
        d = _Product(detail)
        if d.text("TitleType") in ("01", ""):
            element = _Product(d.all("TitleElement")[0]) if d.all("TitleElement") else d
            title = element.text("TitleText") or " ".join(
                x for x in (element.text("TitlePrefix"), element.text("TitleWithoutPrefix")) if x)
            subtitle = element.text("Subtitle")
            title = f"{title}：{subtitle}" if title and subtitle else title
            if title:
                break
    if not title:
        raise ImportFileError(f"{path}: Product {record_id} has no title (DescriptiveDetail/TitleDetail/TitleText)")
    isbn = next((_Product(i).text("IDValue") for i in p.all("ProductIdentifier")
                 if _Product(i).text("ProductIDType") == "15"), None)
    authors = [name for c in p.all("DescriptiveDetail", "Contributor")
               for name in [_Product(c).text("PersonName") or _Product(c).text("CorporateName")
                            or _Product(c).text("PersonNameInverted")] if name][:20]
    subjects = [s.text.strip() for s in p.all("DescriptiveDetail", "Subject", "SubjectHeadingText")
                if (s.text or "").strip()][:50]
    language = next((_Product(lang).text("LanguageCode") for lang in p.all("DescriptiveDetail", "Language")
                     if _Product(lang).text("LanguageRole") in ("01", "")), None)
    record = {"record_id": record_id, "title": title, "authors": authors, "subjects": subjects}
    if isbn:
        record["isbn"] = isbn
    if language:
        record["language"] = language
    return record
