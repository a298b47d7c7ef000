"""From an import file to a completion notice, through the real broker: residents imported
in community become library patrons; a case taken at one desk, handled at the residence
committee, ends in the resident's notice inbox."""
import pytest

from infra.imports import community as community_import
from infra.local import demo_data
from services.community.service import CommunityService
from services.library.service import LibraryService
from support import id_number, load_demo_district, wait_for


@pytest.fixture
def suite(start_service, rpc):
    start_service(CommunityService)
    start_service(LibraryService)
    load_demo_district(rpc)
    return rpc


def test_import_then_case_then_completion_notice(suite, tmp_path, db):
    numbers = [id_number() for _ in range(3)]
    path = tmp_path / "residents.csv"
    path.write_text("id_number,name,phone,registered_committee,residence_committee,address\n"
                    f"{numbers[0]},陈静,13700000001,C0101,C0201,枫林路100号\n"
                    f"{numbers[1]},周强,13700000002,C0102,C0102,龙华二村1号\n"
                    f"{numbers[2]},吴敏,,,C0202,东安路8号\n", encoding="utf-8")
    imported, rejected = community_import.import_residents(suite, path)
    assert (imported, rejected) == (3, [])

    residents = [suite.community.find_resident(n) for n in numbers]
    for r in residents:  # each became a library patron through the broker
        wait_for(lambda: db("library").patrons.find_one({"_id": r["resident_id"]}))

    chen = residents[0]
    clerk_desk = {"id": "clerk-lh", "role": "staff", "committee": "C0101"}      # where she walks in
    clerk_home = {"id": "clerk-fl", "role": "staff", "committee": "C0201"}      # where she lives
    case = suite.community.submit_case(clerk_desk, {"resident_id": chen["resident_id"],
                                                    "matter_code": "HOME_CARE_SUBSIDY",
                                                    "materials": ["居民身份证", "评估结果通知书"]})
    assert case["handling_committee"] == "C0201"
    suite.community.act_on_case(clerk_desk, {"case_id": case["case_id"], "action": "accept"})
    queue = suite.community.staff_queue(clerk_home)["cases"]
    assert case["case_id"] in [c["case_id"] for c in queue]
    suite.community.act_on_case(clerk_home, {"case_id": case["case_id"], "action": "start"})
    suite.community.act_on_case(clerk_home, {"case_id": case["case_id"], "action": "complete",
                                             "note": "补贴自下月起发放"})
    resident = {"id": chen["resident_id"], "role": "resident"}
    notices = wait_for(lambda: (lambda n: n if len(n) == 2 else None)(
        suite.community.get_notices(resident, chen["resident_id"])))
    completion = next(n for n in notices if n["kind"] == "completion")
    assert "陈静" in completion["body"] and "居家养老服务补贴申请" in completion["title"] + completion["body"]
    assert "补贴自下月起发放" in completion["body"]


def test_credits_awarded_in_elearning_become_a_notice_in_community(start_service, rpc):
    from services.elearning.service import ElearningService

    start_service(CommunityService)
    start_service(ElearningService)
    rpc.community.upsert_places(demo_data.PLACES)
    r = rpc.community.register_resident({"id_number": id_number(), "name": "钱芳", "residence_committee": "C0101",
                                         "address": "龙华路3号"})
    cid = "notice-course"
    rpc.elearning.upsert_courses([{"course_id": cid, "title": "社区急救常识", "provider": "区红十字会", "credits": 1,
                                   "units": [{"title": "一", "lessons": [{"id": "l1", "title": "心肺复苏"}]}]}])
    rpc.elearning.enrol(r["resident_id"], cid)
    rpc.elearning.record_progress(r["resident_id"], {"course_id": cid, "lesson_id": "l1", "completed": True,
                                                     "at": "2026-11-25T10:00:00+08:00"})
    me = {"id": r["resident_id"], "role": "resident"}
    [notice] = wait_for(lambda: [n for n in rpc.community.get_notices(me, r["resident_id"])
                                 if n["kind"] == "credits_awarded"])
    assert notice["kind"] == "credits_awarded" and "社区急救常识" in notice["body"] and "钱芳" in notice["body"]
