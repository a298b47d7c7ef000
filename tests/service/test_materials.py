"""Materials residents upload to their cases, with the real store (GridFS) and broker: PDF,
JPEG and PNG taken by their content; a mislabelled, foreign, empty or oversized file refused
with nothing stored; only the resident and the clerks of the case's committees read them, and
a clerk's download is logged as an opening of the resident's record."""
import base64

import pytest
from nameko.exceptions import RemoteError

from services.community.service import CommunityService
from support import id_number, load_demo_district

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
FENGLIN = {"id": "clerk-fl", "role": "staff", "committee": "C0201"}
DONGAN = {"id": "clerk-da", "role": "staff", "committee": "C0202"}


@pytest.fixture
def community(start_service, rpc):
    start_service(CommunityService)
    load_demo_district(rpc)
    return rpc.community


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def resident_with_case(community):
    me = community.register_resident({"id_number": id_number(), "name": "吴芳", "registered_committee": "C0101",
                                      "residence_committee": "C0201", "address": "枫林路5号"})["resident_id"]
    case = community.submit_case({"id": me, "role": "resident"}, {"resident_id": me, "matter_code": "RESIDENCE_PERMIT"})
    return {"id": me, "role": "resident"}, case["case_id"]


def refused(call) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value


def test_a_resident_uploads_and_the_clerk_downloads(community, db):
    me, case_id = resident_with_case(community)
    for name, kind, data in (("身份证.pdf", "application/pdf", PDF), ("照片.PNG", "image/png", PNG),
                             ("租赁合同.jpeg", "", JPEG)):
        stored = community.upload_material(me, case_id, name, kind, b64(data))
        assert stored["name"] == name and stored["size"] == len(data)
    listed = community.list_materials(me, case_id)
    assert [(f["name"], f["content_type"]) for f in listed] == [
        ("身份证.pdf", "application/pdf"), ("照片.PNG", "image/png"), ("租赁合同.jpeg", "image/jpeg")]
    file_id = listed[0]["file_id"]
    opened_before = db("community").access_log.count_documents({"resident_id": me["id"], "by": "clerk-fl"})
    got = community.download_material(FENGLIN, file_id)
    assert base64.b64decode(got["data_base64"]) == PDF and got["case_id"] == case_id
    logged = list(db("community").access_log.find({"resident_id": me["id"], "by": "clerk-fl"}))
    assert len(logged) == opened_before + 1 and logged[-1]["case_id"] == case_id   # the clerk's opening
    assert community.download_material(me, file_id)["name"] == "身份证.pdf"


@pytest.mark.parametrize("name, kind, data, why", [
    ("scan.pdf", "application/pdf", PNG, "not what its name"),          # PNG content named .pdf
    ("scan.png", "image/png", PDF, "not what its name"),
    ("scan.pdf", "image/png", PDF, "not what its name"),                # a PDF claiming to be a PNG
    ("scan.gif", "image/gif", b"GIF89a" + b"\x00" * 10, "only PDF, JPEG and PNG"),
    ("notes.txt", "text/plain", b"hello", "only PDF, JPEG and PNG"),
    ("page.pdf", "application/pdf", b"", "empty"),
    ("../../etc/passwd", "application/pdf", PDF, "not what its name"),   # the name loses its path, then has no .pdf
    ("", "application/pdf", PDF, "needs a name"),
])
def test_bad_files_are_refused_and_nothing_is_stored(community, db, name, kind, data, why):
    me, case_id = resident_with_case(community)
    error = refused(lambda: community.upload_material(me, case_id, name, kind, b64(data)))
    assert error.exc_type == "BadInput" and why in error.value
    assert community.list_materials(me, case_id) == []
    assert db("community")["materials.files"].find_one({"metadata.case_id": case_id}) is None


def test_oversized_and_not_base64_are_refused(community):
    me, case_id = resident_with_case(community)
    big = PDF + b"0" * (10 * 1024 * 1024)
    assert "10 MB" in refused(lambda: community.upload_material(me, case_id, "big.pdf", "", b64(big))).value
    assert "base64" in refused(lambda: community.upload_material(me, case_id, "a.pdf", "", "%%%")).value
    assert community.list_materials(me, case_id) == []


def test_only_those_who_may_see_the_case_reach_its_files(community):
    me, case_id = resident_with_case(community)
    other, _ = resident_with_case(community)
    file_id = community.upload_material(me, case_id, "a.pdf", "", b64(PDF))["file_id"]
    for stranger in (other, DONGAN):
        assert refused(lambda: community.download_material(stranger, file_id)).exc_type == "NotFound"
        assert refused(lambda: community.list_materials(stranger, case_id)).exc_type == "NotFound"
    assert refused(lambda: community.upload_material(other, case_id, "b.pdf", "", b64(PDF))).exc_type == "NotFound"
    for forged in ("0" * 24, '{"$ne": null}', "x", None):
        assert refused(lambda: community.download_material(FENGLIN, forged)).exc_type == "NotFound"
    assert [f["name"] for f in community.list_materials(me, case_id)] == ["a.pdf"]


def test_a_closed_case_takes_no_more_files(community):
    me, case_id = resident_with_case(community)
    community.act_on_case(me, {"case_id": case_id, "action": "withdraw"})
    assert "closed" in refused(lambda: community.upload_material(me, case_id, "a.pdf", "", b64(PDF))).value
