"""``suite import marc``: binary MARC and MARCXML files into the running library service."""
import io
import uuid

import pytest
from pymarc import Field, Indicators, Record, Subfield, XMLWriter

from infra.imports import marc
from infra.local import demo_data
from services.library.service import LibraryService

LOCATIONS = [loc["code"] for loc in demo_data.LOCATIONS]
GOOD = 26


@pytest.fixture
def library(start_service, rpc, db):
    start_service(LibraryService)
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    return rpc.library


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(marc, "BATCH", 7)   # several batches, some in flight together


def df(tag, *pairs, ind="  "):
    return Field(tag=tag, indicators=Indicators(*ind),
                 subfields=[Subfield(c, v) for c, v in zip(pairs[::2], pairs[1::2])])


def bib(record_id, title, *fields, subtitle=None):
    r = Record(leader="00000nam a2200000 a 4500", force_utf8=True)
    if record_id:
        r.add_field(Field(tag="001", data=record_id))
    r.add_field(Field(tag="008", data="240101s2020    cc            000 1 chi d"))
    r.add_field(df("245", "a", title + (" :" if subtitle else " /"), *(("b", subtitle + " /") if subtitle else ()),
                   "c", "编者."))
    for f in fields:
        r.add_field(f)
    return r


def catalogue(uid, subtitle="基地"):
    """26 good records (the first Chinese with three copies, one with an invalid ISBN), then
    three that are refused: no id (27), bad barcode (28), a location the library lacks (29)."""
    records = [bib(f"{uid}-0", "银河帝国", df("100", "a", "阿西莫夫,"),
                   df("020", "a", "9787536692930"), df("650", "a", "科幻小说", "x", f"批次{uid}"),
                   df("852", "b", "MAIN", "p", f"{uid}B0a"), df("852", "b", "MAIN", "p", f"{uid}B0b"),
                   df("952", "a", "K-001", "p", f"{uid}B0c"), subtitle=subtitle)]
    for i in range(1, GOOD):
        extra = [df("020", "a", "9787536692931")] if i == 3 else []
        records.append(bib(f"{uid}-{i}", f"社区读本 第{i}册", *extra,
                           df("952", "a", LOCATIONS[i % 5], "p", f"{uid}B{i}")))
    records.append(bib(None, "没有编号", df("852", "b", "MAIN", "p", f"{uid}Bx1")))
    records.append(bib(f"{uid}-bad-barcode", "坏条码", df("852", "b", "MAIN", "p", "B 坏")))
    records.append(bib(f"{uid}-nowhere", "无此馆", df("852", "b", "NOWHERE", "p", f"{uid}Bx2")))
    return records


def barcodes(uid):
    return [f"{uid}B0a", f"{uid}B0b", f"{uid}B0c"] + [f"{uid}B{i}" for i in range(1, GOOD)]


def write_binary(path, records):
    """The records, with an unreadable one (not even a record length) as record 28."""
    chunks = [r.as_marc() for r in records]
    chunks.insert(27, b"#####not a marc record\x1e\x1d")
    path.write_bytes(b"".join(chunks))
    return path


def write_xml(path, records):
    buf = io.BytesIO()
    writer = XMLWriter(buf)
    for r in records:
        writer.write(r)
    writer.close(close_fh=False)
    path.write_bytes(buf.getvalue())
    return path


EXPECTED_REJECTED_BINARY = {27: "no control number", 28: "unreadable record", 29: "barcode 'B 坏' is not valid",
                            30: "unknown location(s) NOWHERE"}


def reasons_ok(rejected, expected):
    assert [n for n, _ in rejected] == sorted(expected), rejected
    for n, reason in rejected:
        assert expected[n] in reason, (n, reason)


def test_binary_marc_import_then_again_stores_nothing_twice(library, rpc, db, tmp_path):
    uid = uuid.uuid4().hex[:8]
    path = write_binary(tmp_path / "catalogue.mrc", catalogue(uid))
    report = io.StringIO()
    imported, rejected = marc.import_marc(rpc, path, report=report)
    assert imported == GOOD
    reasons_ok(rejected, EXPECTED_REJECTED_BINARY)
    assert "record 4: invalid ISBN '9787536692931' in 020 $a dropped" in report.getvalue()

    [hit] = rpc.library.search(f"银河帝国 批次{uid}")
    assert hit["title_id"] == f"{uid}-0" and hit["title"] == "银河帝国 : 基地"
    assert hit["authors"] == ["阿西莫夫"] and hit["isbn"] == "9787536692930" and hit["language"] == "chi"
    assert {a["location"]: (a["available"], a["total"]) for a in hit["availability"]} == {"MAIN": (2, 2),
                                                                                        "K-001": (1, 1)}
    lib = db("library")
    copies = lib.copies.count_documents({"_id": {"$in": barcodes(uid)}})
    titles = lib.titles.count_documents({"_id": {"$regex": f"^{uid}-"}})
    assert (copies, titles) == (GOOD + 2, GOOD)

    again, rejected_again = marc.import_marc(rpc, path, report=io.StringIO())
    assert again == GOOD and rejected_again == rejected
    assert lib.copies.count_documents({"_id": {"$in": barcodes(uid)}}) == copies
    assert lib.titles.count_documents({"_id": {"$regex": f"^{uid}-"}}) == titles
    assert lib.copies.count_documents({"title_id": f"{uid}-0"}) == 3


def test_marcxml_import_updates_titles_in_place(library, rpc, db, tmp_path):
    uid = uuid.uuid4().hex[:8]
    first = write_binary(tmp_path / "catalogue.mrc", catalogue(uid))
    assert marc.import_marc(rpc, first, report=io.StringIO())[0] == GOOD

    records = catalogue(uid, subtitle="基地与帝国")
    xml = write_xml(tmp_path / "catalogue.xml", records).read_bytes()
    # record 2 loses the tag of its control number: unreadable, and the rest goes on
    broken = xml.replace(f'<controlfield tag="001">{uid}-1<'.encode(), f"<controlfield>{uid}-1<".encode())
    assert broken != xml
    path = tmp_path / "catalogue.xml"
    path.write_bytes(broken)
    imported, rejected = marc.import_marc(rpc, path, report=io.StringIO())
    assert imported == GOOD - 1
    reasons_ok(rejected, {2: "unreadable record", 27: "no control number", 28: "barcode 'B 坏' is not valid",
                          29: "unknown location(s) NOWHERE"})

    [hit] = rpc.library.search(f"银河帝国 批次{uid}")
    assert hit["title_id"] == f"{uid}-0" and hit["title"] == "银河帝国 : 基地与帝国"
    lib = db("library")
    assert lib.titles.count_documents({"_id": {"$regex": f"^{uid}-"}}) == GOOD
    assert lib.copies.count_documents({"_id": {"$in": barcodes(uid)}}) == GOOD + 2
    assert {a["location"]: a["total"] for a in hit["availability"]} == {"MAIN": 2, "K-001": 1}
