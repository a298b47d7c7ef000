"""Digital resources at the library service with the real store, broker and HTTP port: a
licence copy borrowed, read through a signed link (ranges), returned by its timer and handed
on to the queue with a notice; and every bad input refused with nothing stored."""
import json
import uuid

import pytest
import requests

from services.library.service import LibraryService
from support import bind_probe_queue, drain, wait_for
from support.library import ONIX_RECORD, a_digital_resource, a_patron, epub, refused

LIMIT = 64 * 1024   # the service under test takes files up to 64 KiB (DIGITAL_MAX_BYTES)


MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40


@pytest.fixture
def digital_library(start_service, service_config, rpc):
    start_service(LibraryService, service_config("library", DIGITAL_MAX_BYTES=LIMIT))
    return rpc.library


def add(library, data, name, content_type, licence, title="数字图书：三体"):
    return a_digital_resource(library, licence, title, data, name, content_type)


def files_stored(db) -> int:
    return len(list(db("library")["digital.files"].find({}, {"_id": 1})))


def test_a_licence_copy_is_borrowed_read_returned_by_its_timer_and_handed_to_the_queue(
        digital_library, db, settings, later):
    library = digital_library
    book = epub()
    tag = uuid.uuid4().hex[:8]   # the session's store holds other tests' 三体: find this one by its own words
    res = add(library, book, "三体.epub", "application/epub+zip", {"model": "one_reader", "copies": 1, "loan_days": 3},
              title=f"数字图书：三体 {tag}")
    rid = res["resource_id"]
    assert (res["kind"], res["licence"], res["available"], res["size"]) == ("ebook", "one_reader", 1, len(book))
    hit = next(h for h in library.search(f"三体 {tag}") if h["title_id"] == rid)
    assert hit["digital"]["licence"] == "one_reader" and hit["digital"]["available"] == 1

    first, second = a_patron(db)[0], a_patron(db)[0]
    assert refused(lambda: library.digital_link(first, rid)).exc_type == "Forbidden"   # not borrowed yet
    loan = library.borrow_digital(first, rid)
    assert loan["resource_id"] == rid
    busy = refused(lambda: library.borrow_digital(second, rid))
    assert busy.exc_type == "Conflict" and "place a hold" in busy.value
    hold = library.hold_digital(second, rid)
    assert hold["position"] == 1 and hold["pickup"] == "online"
    assert library.digital_shelf(second)["holds"][0]["hold_id"] == hold["hold_id"]
    assert library.loans_and_holds([second])[second]["holds"] == []   # not among the print holds

    link = library.digital_link(first, rid)
    whole = requests.get(link["url"], timeout=5)
    assert whole.status_code == 200 and whole.content == book and whole.headers["Accept-Ranges"] == "bytes"
    part = requests.get(link["url"], headers={"Range": "bytes=100-199"}, timeout=5)
    assert part.status_code == 206 and part.content == book[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(book)}"
    tail = requests.get(link["url"], headers={"Range": "bytes=-10"}, timeout=5)
    assert tail.status_code == 206 and tail.content == book[-10:]
    beyond = requests.get(link["url"], headers={"Range": f"bytes={len(book)}-"}, timeout=5)
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(book)}"
    assert refused(lambda: library.digital_link(second, rid)).exc_type == "Forbidden"   # waiting is not reading

    probe = bind_probe_queue(settings.amqp_uri, "library.events", "cn.library.hold.ready.v1")
    library.run_timers_now()   # not due yet: still the first reader's
    assert [x["resource_id"] for x in library.digital_shelf(first)["loans"]] == [rid]
    later(days=3, minutes=1)
    assert library.run_timers_now()["digital_returned"] >= 1   # the session's store holds other tests' loans
    # the session's store holds other tests' due loans: rounds go on (200 loans each) until this
    # hold's event has come, among the others
    mine = []

    def handed_on():
        mine.extend(d for d in (json.loads(m.body)["data"] for m in drain(settings.amqp_uri, probe, 0, 0.5))
                    if d["hold_id"] == hold["hold_id"])
        if not mine:
            library.run_timers_now()
        return mine
    wait_for(handed_on, timeout=20)
    [data] = mine
    assert (data["patron"], data["hold_id"], data["digital"]) == (second, hold["hold_id"], True)
    assert library.digital_shelf(first)["loans"] == []
    assert [x["resource_id"] for x in library.digital_shelf(second)["loans"]] == [rid]
    assert library.digital_shelf(second)["holds"] == []
    gone = requests.get(link["url"], timeout=5)   # the first reader's link (still unexpired) no longer reads
    assert gone.status_code == 403
    again = requests.get(library.digital_link(second, rid)["url"], headers={"Range": "bytes=0-3"}, timeout=5)
    assert again.status_code == 206 and again.content == b"PK\x03\x04"

    # returned early: free again, nobody waiting
    library.return_digital(second, rid)
    assert library.digital_resource(rid)["available"] == 1
    assert refused(lambda: library.return_digital(second, rid)).exc_type == "NotFound"


def test_bad_files_links_and_readers_are_refused_and_nothing_is_stored(digital_library, db, later):
    library = digital_library
    reader, _ = a_patron(db)
    before = files_stored(db)
    mislabelled = [(b"%PDF-1.7 not an epub", "书.epub", "application/epub+zip"),   # content says PDF
                   (MP4, "歌.mp3", "audio/mpeg"),                                  # content says MP4
                   (b"PK\x03\x04" + b"\x00" * 60, "书.epub", "application/epub+zip"),  # a zip, not an EPUB
                   (b"plain text", "a.pdf", "application/pdf")]
    for data, name, kind in mislabelled:
        err = refused(lambda: add(library, data, name, kind, {"model": "open"}, title="标错的文件"))
        assert err.exc_type == "BadInput"
    oversized = refused(lambda: add(library, b"%PDF-" + b"0" * LIMIT, "大.pdf", "application/pdf", {"model": "open"},
                                    title="标错的文件"))
    assert oversized.exc_type == "BadInput" and "at most" in oversized.value
    assert refused(lambda: add(library, b"%PDF-1", "a.pdf", "application/pdf", {"model": "rent"})).exc_type == "BadInput"
    assert files_stored(db) == before and library.search("标错") == []

    video = add(library, MP4, "科普.mp4", "video/mp4", {"model": "unlimited"}, title="科普视频")
    assert (video["kind"], video["available"]) == ("video", None)
    stranger = uuid.uuid4().hex   # signed in, but with no library card
    assert refused(lambda: library.digital_link(stranger, video["resource_id"])).exc_type == "Forbidden"
    assert refused(lambda: library.borrow_digital(reader, video["resource_id"])).exc_type == "BadInput"
    url = library.digital_link(reader, video["resource_id"])["url"]
    assert requests.get(url, headers={"Range": "bytes=0-7"}, timeout=5).content == MP4[:8]
    for bad in (url.replace(f"reader={reader}", f"reader={stranger}"),   # for another reader
                url[:-4] + ("0000" if not url.endswith("0000") else "1111"),   # tampered signature
                url.replace("expires=", "expires=9")):                          # a longer life forged
        answer = requests.get(bad, timeout=5)
        assert answer.status_code == 403 and answer.json()["error"] == "FORBIDDEN"
    later(minutes=31)
    expired = requests.get(url, timeout=5)
    assert expired.status_code == 403 and "expired" in expired.json()["message"]


def test_an_operator_imports_from_a_marc_record_or_json_with_the_file(digital_library, db, settings, tmp_path,
                                                                     monkeypatch, capsys):
    from pymarc import Field, Indicators, Record, Subfield

    from infra.cli import main as cli
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    record_id = "m-" + uuid.uuid4().hex[:10]
    marc = Record(leader="00000nam a2200000 a 4500", force_utf8=True)
    marc.add_field(Field(tag="001", data=record_id))
    marc.add_field(Field(tag="245", indicators=Indicators("1", "0"), subfields=[Subfield("a", "流浪地球 /")]))
    marc.add_field(Field(tag="100", indicators=Indicators("1", " "), subfields=[Subfield("a", "刘慈欣,")]))
    (tmp_path / "r.mrc").write_bytes(marc.as_marc())
    (tmp_path / "流浪地球.epub").write_bytes(epub())
    assert cli.main(["import", "digital", str(tmp_path / "r.mrc"), "--media", str(tmp_path / "流浪地球.epub"),
                     "--copies", "2", "--loan-days", "7"]) == 0
    assert "licence one_reader, 2/2 copies free" in capsys.readouterr().out
    stored = digital_library.digital_resource(record_id)
    assert (stored["title"], stored["copies"], stored["loan_days"]) == ("流浪地球", 2, 7)
    # a JSON record with a file that is not what its name says: refused, nothing stored
    (tmp_path / "r.json").write_text(json.dumps({"record_id": record_id + "-x", "title": "假的音频"}), encoding="utf-8")
    (tmp_path / "假.mp3").write_bytes(b"%PDF-1.7")
    before = files_stored(db)
    assert cli.main(["import", "digital", str(tmp_path / "r.json"), "--media", str(tmp_path / "假.mp3"),
                     "--licence", "open"]) == 1
    assert "mislabelled" in capsys.readouterr().err
    # an ONIX 3.0 record: imported; one without a title: refused before anything is sent
    onix_id = "o-" + uuid.uuid4().hex[:10]
    (tmp_path / "onix.xml").write_text(ONIX_RECORD.replace("cn.sstp.2026.0042", onix_id), encoding="utf-8")
    assert cli.main(["import", "digital", str(tmp_path / "onix.xml"), "--media", str(tmp_path / "流浪地球.epub"),
                     "--licence", "unlimited"]) == 0
    capsys.readouterr()
    assert digital_library.digital_resource(onix_id)["title"] == "海洋的秘密：写给孩子的科普"
    before = files_stored(db)
    (tmp_path / "bad.xml").write_text(ONIX_RECORD.replace("cn.sstp.2026.0042", onix_id + "-x").replace(
        "<TitleText>海洋的秘密</TitleText>", ""), encoding="utf-8")
    assert cli.main(["import", "digital", str(tmp_path / "bad.xml"), "--media", str(tmp_path / "流浪地球.epub")]) == 1
    assert "has no title" in capsys.readouterr().err
    assert refused(lambda: digital_library.digital_resource(onix_id + "-x")).exc_type == "NotFound"
    monkeypatch.setenv("DIGITAL_MAX_BYTES", "100")   # the operator's limit: refused before it is sent
    assert cli.main(["import", "digital", str(tmp_path / "r.json"), "--media", str(tmp_path / "流浪地球.epub")]) == 1
    assert "the library takes files up to 100" in capsys.readouterr().err
    assert files_stored(db) == before and digital_library.search("假的音频") == []
