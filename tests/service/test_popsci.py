"""Popular-science sharing at the library and elearning services, with the real store, broker
and HTTP ports: a provider (its key from ``suite provider add``) uploads a video that waits
for review, cannot publish it, an editor publishes it, a resident plays it with ranges, the
editor places it on TV and the elearning guide shows it, usage is counted; and every bad
upload or credential refused with nothing stored."""
import uuid

import pytest
import requests

from services.elearning.service import ElearningService
from services.library.service import LibraryService
from support import wait_for, web_address
from support.library import MP4, a_digital_resource, a_patron, a_provider, epub, popsci_upload, refused

LIMIT = 64 * 1024
EDITOR = {"role": "editor", "id": "editor-1"}
DAY = "2026-12-09"


@pytest.fixture
def popsci(start_service, service_config, rpc):
    library = start_service(LibraryService, service_config("library", DIGITAL_MAX_BYTES=LIMIT,
                                                           DIGITAL_LOANS_PER_READER=1))
    start_service(ElearningService)
    return rpc.library, web_address(library)


def video(tag: str, **fields) -> dict:
    return {"kind": "video", "title": f"走进深海 {tag}", "description": "深海探测器的故事", "subjects": ["海洋"],
            "audience": ["elderly", "children"], "licence": {"model": "unlimited"}, "tv_minutes": 20, **fields}


def stored(db, provider: str) -> tuple[int, int]:
    """(the provider's items, files in the digital bucket): what a refusal must leave as it was."""
    library = db("library")
    return (len(list(library.popsci_items.find({"provider": provider}, {"_id": 1}))),
            len(list(library["digital.files"].find({}, {"_id": 1}))))


def test_a_provider_uploads_an_editor_publishes_a_resident_plays_and_the_tv_guide_shows_it(
        popsci, db, rpc, settings, monkeypatch, capsys):
    library, base = popsci
    from infra.cli import main as cli
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    provider = "sstm-" + uuid.uuid4().hex[:8]
    assert cli.main(["provider", "add", provider, "--name", "上海科技馆"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    tag = uuid.uuid4().hex[:8]

    answer = popsci_upload(base, provider, key, video(tag), ("深海.mp4", MP4, "video/mp4"))
    assert answer.status_code == 201, answer.text
    item = answer.json()
    item_id = item["item_id"]
    assert (item["status"], item["resource_id"], item["file"]["size"]) == ("pending", None, len(MP4))
    # pending: nowhere for residents, and the provider cannot publish it
    assert library.search(f"深海 {tag}") == [] and item_id not in {i["item_id"] for i in library.popular_science()}
    refused_publish = requests.post(f"{base}/popsci/v1/items/{item_id}/publish", timeout=5,
                                    headers={"X-Provider": provider, "X-Provider-Key": key})
    assert refused_publish.status_code == 403 and "editor" in refused_publish.json()["message"]
    for actor in ({"role": "provider", "id": provider}, {"role": "staff", "id": "clerk-101"}, None):
        assert refused(lambda: library.popsci_review(actor, item_id, {"decision": "publish"})).exc_type == "Forbidden"
    assert refused(lambda: library.popsci_place_on_tv(EDITOR, item_id, {"channel": "区教育台",
                                                                        "starts_at": f"{DAY}T19:30"})).exc_type \
        == "Conflict"   # not published yet
    mine = requests.get(f"{base}/popsci/v1/items/{item_id}", timeout=5,
                        headers={"X-Provider": provider, "X-Provider-Key": key})
    assert mine.json()["status"] == "pending"
    assert item_id in {i["item_id"] for i in library.popsci_queue(EDITOR)}
    # the editor sees the pending file through a link signed for them; it opens nothing else
    preview = library.popsci_preview_link(EDITOR, item_id)["url"]
    assert requests.get(preview, headers={"Range": "bytes=0-7"}, timeout=5).content == MP4[:8]
    assert requests.get(preview, headers={"Range": f"bytes={len(MP4)}-"}, timeout=5).status_code == 416
    for forged in (preview.replace("editor%7Ceditor-1", "editor%7Cother"), preview.replace("sig=", "sig=0")):
        assert requests.get(forged, timeout=5).status_code == 403
    assert requests.get(preview.replace("/popsci/v1/preview/", "/digital/v1/"), timeout=5).status_code == 403
    assert refused(lambda: library.popsci_preview_link({"role": "provider", "id": provider}, item_id)).exc_type \
        == "Forbidden"

    published = library.popsci_review(EDITOR, item_id, {"decision": "publish"})
    assert (published["status"], published["resource_id"]) == ("published", item_id)
    assert published["review"]["by"] == "editor-1"
    assert refused(lambda: library.popsci_review(EDITOR, item_id, {"decision": "publish"})).exc_type == "Conflict"
    hit = next(h for h in library.search(f"深海 {tag}") if h["title_id"] == item_id)
    assert hit["digital"]["kind"] == "video" and "上海科技馆" in hit["authors"]
    assert item_id in {i["item_id"] for i in library.popular_science("elderly")}
    assert item_id not in {i["item_id"] for i in library.popular_science("teenagers")}

    # a resident (a card holder: the licence is unlimited) plays it with ranges
    reader, _ = a_patron(db)
    url = library.digital_link(reader, item_id)["url"]
    whole = requests.get(url, timeout=5)
    assert whole.status_code == 200 and whole.content == MP4
    part = requests.get(url, headers={"Range": "bytes=0-7"}, timeout=5)
    assert part.status_code == 206 and part.content == MP4[:8]
    assert part.headers["Content-Range"] == f"bytes 0-7/{len(MP4)}"
    later_part = requests.get(url, headers={"Range": "bytes=100-"}, timeout=5)
    assert later_part.status_code == 206 and later_part.content == MP4[100:]
    beyond = requests.get(url, headers={"Range": f"bytes={len(MP4)}-"}, timeout=5)
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(MP4)}"

    # placed on TV: the library's event reaches the elearning guide
    bad_time = refused(lambda: library.popsci_place_on_tv(EDITOR, item_id, {"channel": "区教育台",
                                                                             "starts_at": "2026-02-30T19:30"}))
    assert bad_time.exc_type == "BadInput"
    placed = library.popsci_place_on_tv(EDITOR, item_id, {"channel": "区教育台", "starts_at": f"{DAY}T19:30"})
    assert placed["tv"][0]["minutes"] == 20

    def on_tv():
        return [s for s in rpc.elearning.tv_guide(DAY) if s.get("resource_id") == item_id]
    [slot] = wait_for(on_tv, timeout=15)
    assert (slot["channel"], slot["starts_at"], slot["lesson_title"], slot["course_title"]) == \
        ("区教育台", f"{DAY}T19:30", f"走进深海 {tag}", "科普·上海科技馆")

    # usage: plays are fetches from the first byte (the whole file, then 0-7), one reader
    usage = library.usage_statistics(EDITOR, provider)
    [mine_used] = [r for r in usage["resources"] if r["resource_id"] == item_id]
    assert (mine_used["plays"], mine_used["borrows"], mine_used["unique_readers"]) == (2, 0, 1)
    [prov] = usage["providers"]
    assert (prov["provider_id"], prov["published"], prov["pending"], prov["plays"], prov["unique_readers"]) == \
        (provider, 1, 0, 2, 1)
    assert refused(lambda: library.usage_statistics({"role": "resident", "id": reader})).exc_type == "Forbidden"
    # and the district's supervisors read it as a report (its CSV and XLSX come with it)
    report = library.library_report({"id": "sup-1", "role": "supervisor"}, "digital")
    [row] = [r for r in report["rows"] if r["provider_id"] == provider]
    assert (row["published"], row["pending"], row["plays"], row["readers"]) == (1, 0, 2, 1)
    assert [c["key"] for c in report["columns"]][0] == "provider" and "provider_id" not in str(report["columns"])
    assert refused(lambda: library.library_report({"id": "sup-2", "role": "supervisor", "subdistrict": "SD01"},
                                                  "digital")).exc_type == "Forbidden"   # the district's only

    # an article without a TV rendition: rejected with a reason the provider reads, its file gone
    article = popsci_upload(base, provider, key, {"kind": "article", "title": f"潮汐 {tag}", "subjects": ["海洋"],
                                                  "audience": ["teenagers"]}, ("潮汐.epub", epub(), "application/epub+zip"))
    assert article.status_code == 201, article.text
    article_id = article.json()["item_id"]
    files_before = stored(db, provider)[1]
    assert refused(lambda: library.popsci_review(EDITOR, article_id, {"decision": "reject"})).exc_type == "BadInput"
    library.popsci_review(EDITOR, article_id, {"decision": "reject", "reason": "图片版权未注明"})
    seen = requests.get(f"{base}/popsci/v1/items/{article_id}", timeout=5,
                        headers={"X-Provider": provider, "X-Provider-Key": key}).json()
    assert (seen["status"], seen["review"]["reason"]) == ("rejected", "图片版权未注明")
    assert stored(db, provider)[1] == files_before - 1 and library.search(f"潮汐 {tag}") == []

    # revoked: the key opens nothing more
    assert cli.main(["provider", "revoke", provider]) == 0
    gone = popsci_upload(base, provider, key, video(tag), ("深海.mp4", MP4, "video/mp4"))
    assert gone.status_code == 403 and stored(db, provider)[0] == 2


def test_bad_uploads_and_credentials_are_refused_and_nothing_is_stored(popsci, db):
    library, base = popsci
    provider, key = a_provider(library)
    other, other_key = a_provider(library, "某科技公司")
    before = stored(db, provider)
    tag = uuid.uuid4().hex[:8]
    cases = [
        # (item, file, status, words of the message)
        (video(tag), ("深海.mp4", b"%PDF-1.7 not a video", "video/mp4"), 400, "not what its name"),   # content ≠ type
        (video(tag), ("深海.pdf", b"%PDF-1.7 a pdf", "application/pdf"), 400, "a video is video/mp4"),  # kind ≠ file
        (video(tag), ("深海.mp4", MP4[:16] + b"0" * LIMIT, "video/mp4"), 400, "at most"),              # oversized
        (video(tag), ("深海.mp4", MP4[:16] + b"0" * 2 * LIMIT, "video/mp4"), 413, "larger"),           # not even read
        (video(tag), None, 400, "needs its file"),
        ({**video(tag), "kind": "exhibition", "tv_minutes": None, "starts_on": "2026-12-10",
          "ends_on": "2026-12-01", "place": "科技馆"}, None, 400, "ends on or after"),
        ({"kind": "exhibition", "title": "展", "subjects": ["海洋"], "audience": ["children"], "starts_on": "2026-12-10",
          "ends_on": "2026-12-20", "place": "科技馆"}, ("深海.mp4", MP4, "video/mp4"), 400, "has no file"),
        ({**video(tag), "audience": ["pets"]}, ("深海.mp4", MP4, "video/mp4"), 400, "audience"),
        ({**video(tag), "status": "published"}, ("深海.mp4", MP4, "video/mp4"), 400, "status"),   # no self-publishing
    ]
    for item, file, status, words in cases:
        answer = popsci_upload(base, provider, key, item, file)
        assert answer.status_code == status and words in answer.json()["message"], (words, answer.text)
    not_json = requests.post(f"{base}/popsci/v1/items", files={"item": (None, "{not json")}, timeout=5,
                             headers={"X-Provider": provider, "X-Provider-Key": key})
    assert not_json.status_code == 400
    for who, with_key in ((provider, other_key), ("p-unknown", key), (provider, ""), (provider, key[:-1] + ("B" if key[-1] != "B" else "C"))):
        answer = popsci_upload(base, who, with_key, video(tag), ("深海.mp4", MP4, "video/mp4"))
        assert answer.status_code == 403 and answer.json()["error"] == "FORBIDDEN"
    assert stored(db, provider) == before and library.search(f"深海 {tag}") == []

    # a provider reads only its own items
    exhibition = popsci_upload(base, other, other_key, {
        "kind": "exhibition", "title": f"恐龙特展 {tag}", "subjects": ["古生物"], "audience": ["families"],
        "starts_on": "2026-12-10", "ends_on": "2027-01-20", "place": "浦东图书馆一楼展厅"})
    assert exhibition.status_code == 201, exhibition.text
    theirs = exhibition.json()["item_id"]
    assert requests.get(f"{base}/popsci/v1/items/{theirs}", timeout=5,
                        headers={"X-Provider": provider, "X-Provider-Key": key}).status_code == 404
    # an exhibition has no TV rendition: published, it is listed with its dates and place, never on TV
    library.popsci_review(EDITOR, theirs, {"decision": "publish"})
    shown = next(i for i in library.popular_science("families") if i["item_id"] == theirs)
    assert (shown["place"], shown["starts_on"], shown["resource_id"]) == ("浦东图书馆一楼展厅", "2026-12-10", None)
    no_tv = refused(lambda: library.popsci_place_on_tv(EDITOR, theirs, {"channel": "区教育台",
                                                                        "starts_at": f"{DAY}T20:00"}))
    assert no_tv.exc_type == "BadInput" and "no TV rendition" in no_tv.value


def test_a_reader_holds_no_more_digital_loans_than_the_cap_and_borrows_are_counted(popsci, db):
    library, _ = popsci   # DIGITAL_LOANS_PER_READER=1
    reader, _ = a_patron(db)
    first, second = (a_digital_resource(library, title=f"借阅上限 {n}")["resource_id"] for n in (1, 2))
    library.borrow_digital(reader, first)
    over = refused(lambda: library.borrow_digital(reader, second))
    assert over.exc_type == "Conflict" and "return one first" in over.value
    assert library.digital_resource(second)["available"] == 1   # nothing lent
    library.return_digital(reader, first)
    library.borrow_digital(reader, second)
    used = {r["resource_id"]: r for r in library.usage_statistics(EDITOR)["resources"]}
    assert (used[first]["borrows"], used[first]["unique_readers"], used[second]["borrows"]) == (1, 1, 1)
