"""The library service started for a test, and what its tests make: patrons, titles with
copies, kiosk events published as a kiosk does (its own broker user, raw kombu)."""
import base64
import io
import json
import uuid
import zipfile
from datetime import datetime, timezone

import pytest
from kombu import Connection
from nameko.exceptions import RemoteError

from infra.local import demo_data
from services.library import patrons
from services.library.service import LibraryService


@pytest.fixture
def library(start_service, rpc, db):
    start_service(LibraryService)
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    return rpc.library


def a_patron(db, patron_type="adult", **fields):
    """A patron shaped as the registration event makes them (``fields`` overrides, e.g. an
    old document's shape)."""
    rid = uuid.uuid4().hex
    doc = {"_id": rid, **patrons.patron_from_registration({"resident_id": rid, "name": "读者",
                                                            "residence_committee": "C0101"},
                                                           patrons.card_number(uuid.uuid4().int % 10 ** 11 or 1)),
           "patron_type": patron_type, **fields}
    db("library").patrons.insert_one(doc)
    return rid, doc["card_number"]


def a_title(library, copies=("MAIN",), title="三体 第二部"):
    record_id = "t-" + uuid.uuid4().hex[:10]
    barcodes = [f"B{uuid.uuid4().hex[:10]}" for _ in copies]
    result = library.import_catalogue([{"record_id": record_id, "title": title, "authors": ["测试作者"],
                                        "subjects": ["科幻"], "copies": [{"barcode": b, "home_location": loc}
                                                                        for b, loc in zip(barcodes, copies)]}])
    assert result == {"stored": 1, "rejected": []}
    return record_id, barcodes


def due_tomorrow(db, barcode: str) -> None:
    """The loan of ``barcode`` as if lent weeks ago: due tomorrow, so a renewal moves it (one
    the day it was lent would not, and is refused)."""
    from datetime import timedelta

    from services.common import clock
    db("library").copies.update_one({"_id": barcode}, {"$set": {
        "loan.due": (clock.today() + timedelta(days=1)).isoformat()}})


def conflict_id(kiosk_id: str, event: dict) -> str:
    """The id of the conflict a kiosk event became: the event's identity is its kiosk and its id."""
    return f"kiosk:{kiosk_id}:{event['id']}"


def refused(call):
    with pytest.raises(RemoteError) as err:
        call()
    return err.value


def publish_kiosk(uri, kiosk_id, kind, data, *, event_id=None, at=None, seq=1, user="auto", source=None,
                  routing_key=None, event_type=None, body=None, headers=None):
    """Publish as a kiosk does (raw kombu, its own broker user, confirms): the wire contract
    only. ``routing_key``, ``event_type``, ``body`` and ``headers`` let a test send what a
    faulty or hostile kiosk would."""
    from contracts.events.kiosk import BY_KIND, broker_user
    envelope = {"specversion": "1.0", "id": event_id or uuid.uuid4().hex, "source": source or f"/kiosks/{kiosk_id}",
                "type": event_type or BY_KIND[kind].TYPE, "time": (at or datetime.now(timezone.utc)).isoformat(),
                "sequence": seq, "data": data}
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(body if body is not None else json.dumps(envelope), exchange="kiosk.events",
                                routing_key=routing_key or f"kiosk.{kiosk_id}.{kind}",
                                content_type="application/json", delivery_mode=2, headers=headers or {},
                                user_id=broker_user(kiosk_id) if user == "auto" else user)
    return envelope


def epub(body: bytes = "<html>第一章</html>".encode() * 200) -> bytes:
    """An EPUB as OCF makes it: ``mimetype`` first, stored, then the content."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("OEBPS/ch1.xhtml", body, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def a_digital_resource(library, licence=None, title="数字图书：三体", data=None, name="三体.epub",
                       content_type="application/epub+zip") -> dict:
    """A digital resource added as an operator adds one (an EPUB, one licence copy by default)."""
    record = {"record_id": "d-" + uuid.uuid4().hex[:10], "title": title, "authors": ["刘慈欣"]}
    return library.add_digital_resource(record, licence or {"model": "one_reader", "copies": 1, "loan_days": 3},
                                        name, content_type, base64.b64encode(epub() if data is None else data).decode())


MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40   # an ISO ftyp box, then bytes


def a_provider(library, name="上海科技馆") -> tuple[str, str]:
    """A popular-science provider with its key, registered as ``suite provider add`` does."""
    import secrets

    from services.common import passwords
    provider_id, key = "p-" + uuid.uuid4().hex[:10], secrets.token_urlsafe(32)
    library.popsci_provider_add(provider_id, name, passwords.hash_secret(key))
    return provider_id, key


def popsci_upload(base_url: str, provider: str, key: str, item: dict, file: tuple | None = None, path: str = ""):
    """POST an item as a provider does (multipart: ``item`` JSON and ``file`` = (name, bytes, type))."""
    import requests
    files = {"item": (None, json.dumps(item, ensure_ascii=False), "application/json")}
    if file:
        files["file"] = file
    return requests.post(f"{base_url}/popsci/v1/items{path}", files=files, timeout=10,
                         headers={"X-Provider": provider, "X-Provider-Key": key})


# an ONIX for Books 3.0 record (reference tags) of an e-book, for `suite import digital`
ONIX_RECORD = """<?xml version="1.0" encoding="UTF-8"?>
<ONIXMessage release="3.0" xmlns="http://ns.editeur.org/onix/3.0/reference">
  <Header><Sender><SenderName>上海科技出版社</SenderName></Sender><SentDateTime>20261201</SentDateTime></Header>
  <Product>
    <RecordReference>cn.sstp.2026.0042</RecordReference>
    <NotificationType>03</NotificationType>
    <ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>9787532312345</IDValue></ProductIdentifier>
    <DescriptiveDetail>
      <ProductComposition>00</ProductComposition><ProductForm>ED</ProductForm>
      <TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>
        <TitleText>海洋的秘密</TitleText><Subtitle>写给孩子的科普</Subtitle></TitleElement></TitleDetail>
      <Contributor><SequenceNumber>1</SequenceNumber><ContributorRole>A01</ContributorRole><PersonName>林海</PersonName></Contributor>
      <Contributor><SequenceNumber>2</SequenceNumber><ContributorRole>B01</ContributorRole><CorporateName>上海科技馆</CorporateName></Contributor>
      <Language><LanguageRole>01</LanguageRole><LanguageCode>chi</LanguageCode></Language>
      <Subject><SubjectSchemeIdentifier>20</SubjectSchemeIdentifier><SubjectHeadingText>海洋</SubjectHeadingText></Subject>
    </DescriptiveDetail>
  </Product>
</ONIXMessage>"""
