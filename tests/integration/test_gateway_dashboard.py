"""The whole dashboard in one query costs the same number of RPCs however much there is to
show: a household with one child, one loan and one case, and one with three children, five
loans and five cases (one overview call per service, all at once, never a call per item).
A part of a service's overview that fails costs only the fields that need it."""
import uuid
from datetime import timedelta

import pytest
import requests

from gateway import auth
from gateway.service import GatewayService
from infra.local import demo_data
from services.common import clock, overview
from services.common.errors import Forbidden
from services.common.rpc import rpc as rpc_entrypoint
from services.community import catalogue
from services.library.service import LibraryService
from support.school_data import school  # noqa: F401 - the fixture
from support import load_working_calendars, wait_for, web_address

SECRET = "dashboard-test-secret-of-at-least-32-bytes"
DASHBOARD = """{ me {
  id name idNumberMasked livesAwayFromRegistration registeredCommittee { name } residenceCommittee { name }
  cases { id number status deadline handlingCommittee { name } trail { action at } }
  notices { kind title createdAt }
  libraryCard { cardNumber patronType homeCommittee { name } }
  loans { barcode title due }
  holds { title status position }
  enrolments { courseId courseTitle completed lessons { lessonId position percent completed channel } }
  credits
  children { id name classes
             assignments { title state submission { mark comment late } }
             wallet { balanceFen frozen recent { kind amountFen } } }
  messageThreads { id subject unread lastMessageAt } } }"""


@pytest.fixture
def dashboard(school, start_service, service_config, settings, rpc):
    start_service(LibraryService)
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=5.0,
                                                      EXPOSE_RPC_COUNT=True))
    tokens = auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience)
    rpc.community.upsert_matters(catalogue.MATTERS)
    load_working_calendars(rpc)
    rpc.library.upsert_locations(demo_data.LOCATIONS)

    def ask(resident_id, query=DASHBOARD):
        token = auth.mint(tokens, "guardian", resident_id)
        return requests.post(web_address(gw) + "/graphql", json={"query": query},
                             headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    return ask


def more_children(rpc, school, count: int) -> list[str]:
    """Pupils added to the first class for guardian g1 (resident A): the roster's own records."""
    tag = uuid.uuid4().hex[:6]
    pupils = [f"u-{tag}-{n}" for n in range(count)]
    records = [{"kind": "student", "sourced_id": p, "name": f"张小{n}", "grade": "03", "school_ids": [school.school]}
               for n, p in enumerate(pupils)]
    records += [{"kind": "enrollment", "sourced_id": f"en-{p}", "class_id": school.c1, "user_id": p, "role": "student"}
                for p in pupils]
    records += [{"kind": "link", "student_id": p, "guardian_id": school.g1} for p in pupils]
    result = rpc.elearning.roster_import(records)
    assert result == {"imported": len(records), "rejected": []}, result
    return pupils


def fill(rpc, resident_id: str, children: list[str], *, loans: int, cases: int, tag: str, teacher: str) -> None:
    """A household's data in every part of the dashboard."""
    wait_for(lambda: rpc.library.get_patrons([resident_id]))  # the card follows the registration event
    rpc.library.import_catalogue([{"record_id": f"{tag}-{n}", "title": f"书 {tag} {n}", "authors": ["某"],
                                   "copies": [{"barcode": f"{tag}-C{n}", "home_location": "MAIN"}]}
                                  for n in range(loans + 1)])
    for n in range(loans):
        rpc.library.checkout(f"{tag}-C{n}", resident_id, "MAIN")
    rpc.library.place_hold(resident_id, f"{tag}-{loans}", "MAIN")
    me = {"id": resident_id, "role": "guardian"}
    for _ in range(cases):
        rpc.community.submit_case(me, {"resident_id": resident_id, "matter_code": "ELDERLY_ALLOWANCE",
                                       "materials": ["居民身份证"]})
    course_id = f"{tag}-course"
    rpc.elearning.upsert_courses([{"course_id": course_id, "title": "家庭教育", "provider": "区社区学院",
                                   "subjects": ["家庭教育"], "credits": 1, "units": [{"title": "一", "lessons": [
                                       {"id": "l1", "title": "第一课", "renditions": {"web": {"url": "https://x"}}}]}]}])
    rpc.elearning.enrol(resident_id, course_id)
    rpc.elearning.record_progress(resident_id, {"course_id": course_id, "lesson_id": "l1", "position": 90,
                                                "percent": 30, "at": "2026-11-25T20:00:00+08:00", "channel": "tv"})
    for n, child in enumerate(children):
        rpc.elearning.wallet_staff_top_up({"role": "teacher", "id": teacher}, child, 1000, "现金充值（测试）",
                                          f"{tag}-pay-{n}")
        rpc.elearning.post_message(me, f"关于孩子 {n}", None, child)


def test_the_full_dashboard_costs_the_same_rpcs_for_one_child_as_for_three(dashboard, school, rpc):
    small, big = school.residents["C"], school.residents["A"]   # C: guardian of u2; A: of u1, and two more
    big_children = [school.u1, *more_children(rpc, school, 2)]
    due = (clock.now() + timedelta(days=7)).isoformat()   # a due time must lie ahead
    assignment = rpc.elearning.publish_assignment(school.t1, school.c1, "口算练习", "第 12 页", due)
    for pupil in (school.u2, *big_children):  # every child submits; the teacher marks each
        submitted = rpc.elearning.submit_assignment(pupil, assignment["assignment_id"], "做完了")
        rpc.elearning.mark_submission(school.t1, submitted["submission_id"], "A", "很好")
    fill(rpc, small, [school.u2], loans=1, cases=1, tag=f"s{uuid.uuid4().hex[:6]}", teacher=school.t1)
    fill(rpc, big, big_children, loans=5, cases=5, tag=f"b{uuid.uuid4().hex[:6]}", teacher=school.t1)

    dashboard(small)   # the gateway keeps place names for a while: this reads them if it has none
    one, three = dashboard(small), dashboard(big)
    for answer in (one, three):
        assert "errors" not in answer, answer
    a, b = one["data"]["me"], three["data"]["me"]
    # the bigger household really has more of everything in the answer
    assert (len(a["children"]), len(a["loans"]), len(a["cases"]), len(a["messageThreads"])) == (1, 1, 1, 1)
    assert (len(b["children"]), len(b["loans"]), len(b["cases"]), len(b["messageThreads"])) == (3, 5, 5, 3)
    assert all(c["wallet"]["balanceFen"] == 1000 and c["assignments"][0]["submission"]["mark"] == "A"
               for c in b["children"])
    assert b["enrolments"][0]["lessons"] == [{"lessonId": "l1", "position": 90, "percent": 30, "completed": False,
                                              "channel": "tv"}]
    assert b["libraryCard"]["cardNumber"] and b["holds"][0]["status"]
    # one call per service whatever the counts (place names are kept): community (profile, cases,
    # notices), library (card, loans and holds), elearning (learning with lesson progress,
    # children with their wallets, threads)
    assert one["extensions"]["rpcCalls"] == three["extensions"]["rpcCalls"] == 3
    # only the parts a query selects are asked for
    assert dashboard(small, "{ me { name } }") == {"data": {"me": {"name": "李强"}}, "extensions": {"rpcCalls": 1}}
    learning = dashboard(small, "{ me { credits children { name } } }")
    assert "errors" not in learning and learning["extensions"]["rpcCalls"] == 1


class CommunityWithFailingParts:
    """Stands in for the community service: its access log refuses (as it refuses anyone but the
    resident), its cases break (a bug), its notices give as many as asked."""
    name = "community"

    @rpc_entrypoint
    def resident_overview(self, actor, resident_id, parts):
        def refused(limit):
            raise Forbidden("residents read their own access log")

        def notices(limit):
            return [{"notice_id": f"n{n}", "kind": "receipt", "title": "回执", "body": "", "case_id": None,
                     "created_at": "2026-11-30T08:00:00+00:00"} for n in range(limit)]
        return overview.answer(parts, {
            "profile": lambda: {"resident_id": resident_id, "name": "王芳", "id_number_masked": "310***********0012",
                                "registered_committee": None, "registered_outside_district": True,
                                "residence_committee": "C0201"},
            "cases": lambda: [][0], "notices": notices, "access_log": refused})


def test_a_failing_part_costs_only_the_fields_that_need_it(start_service, service_config, settings):
    start_service(CommunityWithFailingParts)
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=5.0,
                                                      EXPOSE_RPC_COUNT=True))
    token = auth.mint(auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience), "resident", "r-1")
    query = "{ me { name cases { id } a: notices(limit: 2) { id } b: notices { id } accessLog { by } } }"
    answer = requests.post(web_address(gw) + "/graphql", json={"query": query},
                           headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    me = answer["data"]["me"]
    assert me["name"] == "王芳" and len(me["a"]) == 2 and len(me["b"]) == 20    # one call, the larger page
    assert me["cases"] is None and me["accessLog"] is None
    assert sorted((e["path"], e["extensions"]["code"], e["message"]) for e in answer["errors"]) == [
        (["me", "accessLog"], "FORBIDDEN", "residents read their own access log"),   # as get_access_log says
        (["me", "cases"], "INTERNAL_SERVER_ERROR", "internal error")]
    assert answer["extensions"]["rpcCalls"] == 1
