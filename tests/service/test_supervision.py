"""Electronic supervision with the real store and broker: red and yellow counts per committee and
sub-district against counts made here from the cases this module makes (in two sub-districts of
its own, so the session's other cases do not count), the 督办 and its answer, the roles' reach
(a supervisor acts on no case, a clerk sees no other sub-district), the SUBDISTRICT matter handled
by the centre, and residents' ratings; bad input refused with nothing stored."""
import dataclasses
import uuid
from collections import Counter

import pymongo
import pytest
from nameko.containers import ServiceContainer
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from services.common import clock
from services.common import config as suite_config
from services.common.storage import due_key
from services.community.service import CommunityService
from support import free_port, id_number, load_demo_district, wait_for

TAG = uuid.uuid4().hex[:4].upper()
SD_A, SD_B = f"SA{TAG}", f"SB{TAG}"
COMMITTEES = {f"CA1{TAG}": SD_A, f"CA2{TAG}": SD_A, f"CB1{TAG}": SD_B}
PLACES = ([{"code": SD_A, "kind": "subdistrict", "name": "甲街道"}, {"code": SD_B, "kind": "subdistrict", "name": "乙镇"}]
          + [{"code": c, "kind": "committee", "name": f"{c}居委会", "parent": sd} for c, sd in COMMITTEES.items()]
          + [{"code": f"D{c}", "kind": "desk", "name": f"{c}受理点", "parent": c} for c in COMMITTEES])
DAY, NEXT_WORKING_DAY, EARLIER = "2026-10-12", "2026-10-13", "2026-10-09"   # a Monday; the Friday before
SUPERVISOR = {"id": "sup-district", "role": "supervisor"}
SUPERVISOR_A = {"id": "sup-a", "role": "supervisor", "subdistrict": SD_A}
CENTRE_A = {"id": "centre-a", "role": "centre", "subdistrict": SD_A}
SUBDISTRICT_MATTER = {"code": "OLD_AGE_CARD", "name": "敬老卡申领", "jurisdiction": "SUBDISTRICT",
                      "materials": ["居民身份证"], "promised_days": 5}


def clerk(committee):
    return {"id": f"clerk-{committee}", "role": "staff", "committee": committee}


@pytest.fixture(scope="module")
def own(settings):
    """A database of this module's own: the counts are then exactly the cases made here, and
    its matter and places stay out of the session's other tests."""
    return dataclasses.replace(settings, db_prefix=f"{settings.db_prefix}_sup")


@pytest.fixture(scope="module")
def community(own):
    config = suite_config.nameko_config(own, "community", web_port=free_port())
    config.pop("LOGGING")
    container = ServiceContainer(CommunityService, config)
    container.start()
    with ClusterRpcProxy({"AMQP_URI": own.amqp_uri}, timeout=10) as rpc:
        load_demo_district(rpc)
        rpc.community.upsert_places(PLACES)
        rpc.community.upsert_matters([SUBDISTRICT_MATTER])
        yield rpc.community
    container.stop()


def refused(call) -> str:
    with pytest.raises(RemoteError) as err:
        call()
    return err.value.exc_type


def accepted_case(community, committee, matter="ELDERLY_ALLOWANCE"):
    rid = community.register_resident({"id_number": id_number(), "name": "孙丽", "residence_committee": committee,
                                       "address": "某路1号"})["resident_id"]
    case = community.submit_case(clerk(committee), {"resident_id": rid, "matter_code": matter})
    handler = clerk(committee) if matter != SUBDISTRICT_MATTER["code"] else None
    community.act_on_case(clerk(committee), {"case_id": case["case_id"], "action": "accept"})
    return case["case_id"], rid, handler


def with_deadline(store, case_id, day):
    """As if accepted weeks ago: its deadline ``day`` (what the timer then raises)."""
    store("community").cases.update_one({"_id": case_id}, {"$set": {"deadline": day, "watch": due_key(day)}})


@pytest.fixture(scope="module")
def store(own):
    client = pymongo.MongoClient(own.mongo_uri, serverSelectionTimeoutMS=2000, tz_aware=True)
    yield lambda service: client[own.database_name(service)]
    client.close()


@pytest.fixture(scope="module")
def flagged(community, store):
    """Cases of this module's committees with deadlines before, at and after DAY; the timer run
    for DAY. Returns {case_id: (committee, expected flag or None)}."""
    made = {}
    plan = [(f"CA1{TAG}", EARLIER), (f"CA1{TAG}", EARLIER), (f"CA1{TAG}", NEXT_WORKING_DAY),
            (f"CA2{TAG}", NEXT_WORKING_DAY), (f"CA2{TAG}", "2026-11-30"), (f"CB1{TAG}", EARLIER),
            (f"CB1{TAG}", NEXT_WORKING_DAY), (f"CB1{TAG}", NEXT_WORKING_DAY)]
    for committee, deadline in plan:
        case_id, _, _ = accepted_case(community, committee)
        with_deadline(store, case_id, deadline)
        made[case_id] = (committee, "overdue" if deadline < DAY else "due_soon" if deadline == NEXT_WORKING_DAY else None)
    community.check_deadlines_now(DAY)
    # one overdue case paused for a supplement: its clock stopped, so it is not counted
    paused = next(c for c, (committee, flag) in made.items() if committee == f"CB1{TAG}" and flag == "overdue")
    community.act_on_case(clerk(f"CB1{TAG}"), {"case_id": paused, "action": "request_supplement",
                                               "missing_materials": ["户口簿"]})
    made[paused] = (f"CB1{TAG}", None)
    return made


def expected_counts(made, places, scope=None):
    """{place: {due_soon, overdue}} of every committee and centre in scope, from the cases made."""
    tally = Counter((c, f) for c, f in made.values() if f)
    parent = {p["code"]: p.get("parent") or p["code"] for p in places if p["kind"] in ("committee", "subdistrict")}
    return {code: {f: tally[(code, f)] for f in ("due_soon", "overdue")}
            for code, sd in parent.items() if scope in (None, sd)}


def counted(answer):
    return {c["code"]: {"due_soon": c["due_soon"], "overdue": c["overdue"]}
            for sd in answer["subdistricts"] for c in sd["committees"]}


def test_counts_per_committee_and_subdistrict_are_the_cases_made(community, flagged):
    places = community.list_places()
    district = community.supervision_counts(SUPERVISOR)
    assert counted(district) == expected_counts(flagged, places)   # every place of the district, the demo's too
    assert sorted(s["code"] for s in district["subdistricts"]) == sorted(
        p["code"] for p in places if p["kind"] == "subdistrict")
    for sd in district["subdistricts"]:
        mine = [f for c, f in flagged.values() if f and COMMITTEES[c] == sd["code"]]
        assert (sd["due_soon"], sd["overdue"]) == (mine.count("due_soon"), mine.count("overdue"))
    assert sum(s["overdue"] for s in district["subdistricts"]) == 2   # the paused one is not counted
    # a sub-district's supervisor and centre see their sub-district only
    for who in (SUPERVISOR_A, CENTRE_A):
        scoped = community.supervision_counts(who)
        assert [s["code"] for s in scoped["subdistricts"]] == [SD_A]
        assert counted(scoped) == expected_counts(flagged, places, SD_A)
    for who in (clerk(f"CA1{TAG}"), {"id": "r", "role": "resident"}):
        assert refused(lambda: community.supervision_counts(who)) == "Forbidden"


def test_a_supervisor_urges_and_the_committee_answers_in_its_inbox(community, flagged, store):
    case_id = next(c for c, (committee, flag) in flagged.items() if flag == "overdue" and committee == f"CA1{TAG}")
    before = store("community").cases.find_one({"_id": case_id})
    # a supervisor acts on no case: no action offered, every step refused
    assert community.get_case(SUPERVISOR_A, case_id)["actions"] == []
    for action in ("start", "complete"):
        assert refused(lambda: community.act_on_case(SUPERVISOR_A, {"case_id": case_id, "action": action})) \
            == "Forbidden"
    # a clerk issues no 督办, and another sub-district's supervisor does not see the case
    assert refused(lambda: community.urge_case(clerk(f"CA1{TAG}"), case_id, "请加快", DAY)) == "Forbidden"
    assert refused(lambda: community.urge_case({**SUPERVISOR_A, "subdistrict": SD_B}, case_id, "请加快", DAY)) \
        == "NotFound"
    assert store("community").cases.find_one({"_id": case_id})["version"] == before["version"]
    reply_by = clock.today().isoformat()
    view = community.urge_case(SUPERVISOR_A, case_id, "已超期，请说明原因并加快办理。", reply_by)
    urge = view["urges"][-1]
    assert (urge["by"], urge["reply_by"], urge["answer"]) == ("sup-a", reply_by, None)
    assert view["trail"][-1]["action"] == "urge" and view["trail"][-1]["by"] == "sup-a"
    inbox = community.committee_notices(clerk(f"CA1{TAG}"))
    notice = next(n for n in inbox if n["case_id"] == case_id and n["kind"] == "case_urged")
    assert reply_by in notice["title"]
    assert all(n["case_id"] != case_id for n in community.committee_notices(clerk(f"CA2{TAG}")))
    # answered by the handling committee's clerk, once; not by another committee's, nor by the supervisor
    assert refused(lambda: community.answer_urge(clerk(f"CA2{TAG}"), case_id, urge["urge_id"], "x")) == "NotFound"
    assert refused(lambda: community.answer_urge(SUPERVISOR_A, case_id, urge["urge_id"], "x")) == "Forbidden"
    answered = community.answer_urge(clerk(f"CA1{TAG}"), case_id, urge["urge_id"], "材料已齐，明日办结。")
    assert answered["urges"][-1]["answer"] == "材料已齐，明日办结。"
    assert answered["urges"][-1]["answered_by"] == f"clerk-CA1{TAG}"
    assert refused(lambda: community.answer_urge(clerk(f"CA1{TAG}"), case_id, urge["urge_id"], "again")) == "Conflict"
    # the resident sees neither the 督办 nor its answer
    mine = community.get_case({"id": before["resident_id"], "role": "resident"}, case_id)
    assert mine["urges"] == [] and all(e["action"] not in ("urge", "urge_answered") for e in mine["trail"])


def test_bad_urges_are_refused_and_store_nothing(community, flagged, store):
    case_id = next(c for c, (committee, flag) in flagged.items() if flag == "due_soon" and committee == f"CA2{TAG}")
    version = store("community").cases.find_one({"_id": case_id})["version"]
    yesterday = "2020-01-01"
    for note, reply_by, code in (("请加快", yesterday, "BadInput"), ("请加快", "2026/12/31", "BadInput"),
                                 ("", "2099-01-01", "BadInput"), ("x" * 501, "2099-01-01", "BadInput")):
        assert refused(lambda: community.urge_case(SUPERVISOR, case_id, note, reply_by)) == code
    assert refused(lambda: community.urge_case(SUPERVISOR, "no-such-case", "请加快", "2099-01-01")) == "NotFound"
    closed, _, _ = accepted_case(community, f"CA2{TAG}")
    community.act_on_case(clerk(f"CA2{TAG}"), {"case_id": closed, "action": "complete"})
    assert refused(lambda: community.urge_case(SUPERVISOR, closed, "请加快", "2099-01-01")) == "Conflict"
    assert store("community").cases.find_one({"_id": case_id})["version"] == version
    assert "urges" not in store("community").cases.find_one({"_id": closed})
    assert store("community").committee_notices.count_documents({"case_id": {"$in": [case_id, closed]}}) == 0


def test_a_clerk_sees_no_other_subdistricts_cases_and_a_centre_all_of_its_own(community, flagged):
    theirs = next(c for c, (committee, _) in flagged.items() if committee == f"CB1{TAG}")
    ours = next(c for c, (committee, _) in flagged.items() if committee == f"CA2{TAG}")
    assert refused(lambda: community.get_case(clerk(f"CA1{TAG}"), theirs)) == "NotFound"
    assert refused(lambda: community.staff_queue(clerk(f"CA1{TAG}"), f"CB1{TAG}")) == "Forbidden"
    assert refused(lambda: community.get_case(CENTRE_A, theirs)) == "NotFound"
    assert refused(lambda: community.staff_queue(CENTRE_A, f"CB1{TAG}")) == "Forbidden"
    assert community.get_case(CENTRE_A, ours)["actions"] == []   # reads its committees' cases, acts on none
    assert ours in [c["case_id"] for c in community.staff_queue(CENTRE_A, f"CA2{TAG}", limit=100)["cases"]]
    assert community.get_case(SUPERVISOR, theirs)["case_id"] == theirs   # the district's supervisor sees all
    assert refused(lambda: community.submit_case(SUPERVISOR, {"resident_id": "x", "matter_code": "ELDERLY_ALLOWANCE"})) \
        == "Forbidden"


def test_a_subdistrict_matter_is_handled_by_the_centre(community):
    case_id, _, _ = accepted_case(community, f"CA1{TAG}", SUBDISTRICT_MATTER["code"])
    case = community.get_case(CENTRE_A, case_id)
    assert case["handling_committee"] == SD_A and "start" in case["actions"]
    assert refused(lambda: community.act_on_case(clerk(f"CA1{TAG}"), {"case_id": case_id, "action": "start"})) \
        == "Forbidden"
    assert community.act_on_case(CENTRE_A, {"case_id": case_id, "action": "complete"})["status"] == "completed"
    wait_for(lambda: any(n["case_id"] == case_id for n in community.committee_notices(CENTRE_A)))


def test_a_resident_rates_a_closed_case_once(community, store):
    case_id, rid, _ = accepted_case(community, f"CB1{TAG}")
    me = {"id": rid, "role": "resident"}
    assert refused(lambda: community.rate_case(me, case_id, 5, "")) == "Conflict"   # still open
    community.act_on_case(clerk(f"CB1{TAG}"), {"case_id": case_id, "action": "complete"})
    other = {"id": "someone-else", "role": "resident"}
    assert refused(lambda: community.rate_case(other, case_id, 5, "")) == "NotFound"
    assert refused(lambda: community.rate_case(clerk(f"CB1{TAG}"), case_id, 5, "")) == "Forbidden"
    for score in (0, 6, "5", True, 4.5):
        assert refused(lambda: community.rate_case(me, case_id, score, "")) == "BadInput"
    assert refused(lambda: community.rate_case(me, case_id, 4, "长" * 501)) == "BadInput"
    assert "rating" not in store("community").cases.find_one({"_id": case_id})
    rated = community.rate_case(me, case_id, 4, "办理及时，态度很好。")
    assert (rated["rating"]["score"], rated["rating"]["comment"]) == (4, "办理及时，态度很好。")
    assert store("community").cases.find_one({"_id": case_id})["rating"]["score"] == 4
    assert refused(lambda: community.rate_case(me, case_id, 1, "")) == "Conflict"


def test_staff_accounts_of_the_new_roles_are_bound_to_a_subdistrict(community):
    from services.community import staff
    hashed = staff.hash_password("a-long-password-9")
    login = "sup-" + uuid.uuid4().hex[:6]
    for committee, role, sd in ((None, "centre", None), ("C0101", "supervisor", None), (None, "centre", "C0101"),
                                (None, "supervisor", "NOPE"), (None, "staff", SD_A)):
        assert refused(lambda: community.staff_add(login, "监察员", committee, hashed, role, sd)) == "BadInput"
    added = community.staff_add(login, "监察员", None, hashed, "supervisor", SD_B)
    assert (added["role"], added["subdistrict"], added["committee"]) == ("supervisor", SD_B, None)
    session = community.staff_session_get(community.staff_session_open(login))
    assert (session["role"], session["subdistrict"]) == ("supervisor", SD_B)
    assert community.staff_add("dsup-" + login[4:], "区监察员", None, hashed, "supervisor")["subdistrict"] is None


def test_a_supervisor_and_a_centre_reach_no_residents_record_through_the_service(community):
    number = id_number()
    rid = community.register_resident({"id_number": number, "name": "孙丽", "residence_committee": f"CA1{TAG}",
                                       "address": "某路1号", "phone": "13900139002"})["resident_id"]
    for who in (SUPERVISOR, SUPERVISOR_A, CENTRE_A):
        assert refused(lambda: community.change_phone(who, {"resident_id": rid, "phone": "13900139003"})) \
            == "Forbidden"
        assert refused(lambda: community.get_notices(who, rid)) == "Forbidden"
        assert refused(lambda: community.confirm_move(who, {"resident_id": rid})) == "Forbidden"
        assert refused(lambda: community.living_here(who, f"CA1{TAG}")) == "Forbidden"
    assert refused(lambda: community.find_resident(number, SUPERVISOR)) == "Forbidden"
    assert community.get_resident(rid)["phone_masked"].endswith("9002")

