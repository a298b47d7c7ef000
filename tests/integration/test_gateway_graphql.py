"""GraphQL through the gateway to the real services: residents, staff, partial answers."""
import uuid

import pytest
import requests
from nameko.exceptions import RemoteError

from gateway import auth
from gateway.service import GatewayService
from infra.local import demo_data
from services.community.service import CommunityService
from services.library.service import LibraryService
from support.library import due_tomorrow
from support import id_number, load_demo_district, wait_for, web_address

SECRET = "gateway-test-secret-of-at-least-32-bytes"
ME = """{ me { id name idNumberMasked livesAwayFromRegistration
              registeredCommittee { code name } residenceCommittee { code name }
              libraryCard { cardNumber homeCommittee { name } }
              cases { number status statusName handlingCommittee { name } trail { action } }
              notices { kind title } } }"""


@pytest.fixture
def gateway(start_service, service_config, rpc, settings):
    containers = {"community": start_service(CommunityService), "library": start_service(LibraryService)}
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=2.0,
                                                      EXPOSE_RPC_COUNT=True))
    load_demo_district(rpc)
    tokens = auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience)

    def ask(query, token=None, variables=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(web_address(gw) + "/graphql", json={"query": query, "variables": variables},
                             headers=headers, timeout=15).json()

    ask.containers = containers
    ask.url = web_address(gw) + "/graphql"
    ask.token = lambda role, sub, committee=None: auth.mint(tokens, role, sub, committee=committee)
    return ask


@pytest.fixture
def wang(rpc, db):
    """Registered in 龙华一村 (C0101), living in 枫林路 (C0201): 人户分离."""
    number = id_number()
    r = rpc.community.register_resident({"id_number": number, "name": "王芳", "phone": "13800138002",
                                         "registered_committee": "C0101", "residence_committee": "C0201",
                                         "address": "枫林路88弄3号502室"})
    wait_for(lambda: db("library").patrons.find_one({"_id": r["resident_id"]}))
    r["id_number"] = number
    return r


def codes(answer):
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


def test_me_shows_a_resident_their_own_data_masked_with_a_bounded_number_of_rpcs(gateway, wang):
    answer = gateway(ME, gateway.token("resident", wang["resident_id"]))
    assert "errors" not in answer, answer
    me = answer["data"]["me"]
    assert me["name"] == "王芳" and me["livesAwayFromRegistration"] is True
    assert me["idNumberMasked"] == wang["id_number"][:3] + "*" * 11 + wang["id_number"][-4:]
    assert wang["id_number"] not in str(answer)
    assert me["registeredCommittee"]["name"] == "梅园一村居委会" and me["residenceCommittee"]["code"] == "C0201"
    assert me["libraryCard"]["cardNumber"].startswith("LC")
    # profile, places, cases, notices, library card: a fixed number however much data there is
    assert answer["extensions"]["rpcCalls"] <= 5


def test_resident_submits_staff_complete_resident_reads_the_notice(gateway, wang):
    resident = gateway.token("resident", wang["resident_id"])
    clerk = gateway.token("staff", "clerk-fl", committee="C0201")
    submitted = gateway('mutation { submitCase(matterCode: "ELDERLY_ALLOWANCE", materials: ["居民身份证"]) '
                        '{ id status acceptingDesk { code } handlingCommittee { code } } }', resident)
    case = submitted["data"]["submitCase"]
    assert case["status"] == "submitted" and case["acceptingDesk"]["code"] == "D020101"
    assert case["handlingCommittee"]["code"] == "C0201"
    queue = gateway("{ staffQueue { cases { id status } nextCursor } }", clerk)["data"]["staffQueue"]
    assert case["id"] in [c["id"] for c in queue["cases"]]
    step = 'mutation($id: ID!, $a: CaseActionKind!) { actOnCase(caseId: $id, action: $a) { status version } }'
    assert gateway(step, clerk, {"id": case["id"], "a": "ACCEPT"})["data"]["actOnCase"]["status"] == "accepted"
    done = gateway(step, clerk, {"id": case["id"], "a": "COMPLETE"})["data"]["actOnCase"]
    assert done == {"status": "completed", "version": 3}
    again = gateway(step, clerk, {"id": case["id"], "a": "COMPLETE"})
    assert codes(again) == ["CONFLICT"]

    def completion_notice():
        me = gateway("{ me { notices { kind title body } cases { status } } }", resident)["data"]["me"]
        return [n for n in me["notices"] if n["kind"] == "completion"]
    [notice] = wait_for(completion_notice)
    assert "王芳" in notice["body"]


def test_who_may_ask_what(gateway, wang):
    resident = gateway.token("resident", wang["resident_id"])
    other = gateway.token("resident", "someone-else")
    clerk_elsewhere = gateway.token("staff", "clerk-dg", committee="C0202")
    assert codes(gateway("{ me { name } }")) == ["UNAUTHENTICATED"]
    assert codes(gateway("{ staffQueue { nextCursor } }", resident)) == ["FORBIDDEN"]
    assert codes(gateway("{ me { id } }", clerk_elsewhere)) == ["FORBIDDEN"]
    case = gateway('mutation { submitCase(matterCode: "RESIDENCE_PERMIT") { id } }', resident)["data"]["submitCase"]
    assert codes(gateway('{ case(id: "%s") { number } }' % case["id"], other)) == ["NOT_FOUND"]
    assert codes(gateway('{ case(id: "%s") { number } }' % case["id"], clerk_elsewhere)) == ["NOT_FOUND"]
    withdraw = 'mutation($id: ID!) { actOnCase(caseId: $id, action: WITHDRAW) { status } }'
    assert codes(gateway(withdraw, other, {"id": case["id"]})) == ["NOT_FOUND"]
    assert codes(gateway('mutation { submitCase(matterCode: "RESIDENCE_PERMIT", residentId: "x") { id } }',
                         resident)) == ["FORBIDDEN"]
    assert gateway(withdraw, resident, {"id": case["id"]})["data"]["actOnCase"]["status"] == "withdrawn"
    # a public query needs no token
    assert len(gateway("{ matters { code name } }")["data"]["matters"]) >= 12


def test_bad_input_gets_a_coded_error_and_changes_nothing(gateway, wang, db):
    resident = gateway.token("resident", wang["resident_id"])
    submit = 'mutation($m: String!) { submitCase(matterCode: $m) { id } }'
    assert codes(gateway(submit, resident, {"m": {"$ne": None}})) == ["BAD_USER_INPUT"]
    assert codes(gateway(submit, resident, {"m": "NO_SUCH_MATTER"})) == ["NOT_FOUND"]
    assert codes(gateway(submit, resident, {"m": "HOUSEHOLD_CERTIFICATE' || '1"})) == ["BAD_USER_INPUT"]
    assert db("community").cases.find_one({"resident_id": wang["resident_id"]}) is None


def test_a_service_down_costs_only_its_part(gateway, wang):
    gateway.containers["library"].stop()
    answer = gateway("{ me { name libraryCard { cardNumber } } }", gateway.token("resident", wang["resident_id"]))
    assert answer["data"]["me"]["name"] == "王芳"
    assert answer["data"]["me"]["libraryCard"] is None
    [error] = answer["errors"]
    assert error["path"] == ["me", "libraryCard"] and error["extensions"]["code"] == "UNAVAILABLE"
    assert "library" in error["message"]


def test_library_through_the_gateway(gateway, wang, rpc, db):
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    body = f"978{uuid.uuid4().int % 10 ** 9:09d}"   # an ISBN of its own: other tests keep 三体's
    isbn = body + str((10 - sum((3 if i % 2 else 1) * int(d) for i, d in enumerate(body)) % 10) % 10)
    rpc.library.import_catalogue([{"record_id": "gw-1", "isbn": isbn, "title": "三体", "authors": ["刘慈欣"],
                                   "copies": [{"barcode": "GW0001", "home_location": "MAIN"}]},
                                  {"record_id": "gw-2", "title": "流浪地球", "authors": ["刘慈欣"],
                                   "copies": [{"barcode": "GW0002", "home_location": "K-001"}]}])
    token = gateway.token("resident", wang["resident_id"])
    # by ISBN and by a title's words (the session's other tests keep 刘慈欣's books too)
    found = gateway('{ catalogue(isbn: "%s") { id title availability { location available } } }' % isbn)
    assert "gw-1" in {t["id"] for t in found["data"]["catalogue"]}
    found = gateway('{ catalogue(text: "流浪地球 刘慈欣") { id title } }')
    assert "gw-2" in {t["id"] for t in found["data"]["catalogue"]}
    rpc.library.checkout("GW0001", wang["resident_id"], "MAIN")
    other = rpc.community.register_resident({"id_number": id_number(), "name": "赵磊", "residence_committee": "C0101",
                                             "address": "龙华路9号"})
    renew = 'mutation { renewLoan(barcode: "GW0001") { due renewals } }'
    assert codes(gateway(renew, token)) == ["CONFLICT"]   # lent today: renewing would move nothing
    due_tomorrow(db, "GW0001")
    assert gateway(renew, token)["data"]["renewLoan"]["renewals"] == 1
    hold = gateway('mutation { placeHold(titleId: "gw-2", pickup: "B-FL") { id status } }', token)["data"]["placeHold"]
    assert hold["status"] == "in_transit"  # the copy at the kiosk is set aside and sent to the branch
    me = gateway("{ me { loans { barcode title due } holds { title status pickup } } }", token)
    assert me["data"]["me"]["loans"][0]["title"] == "三体"
    assert me["data"]["me"]["holds"][0] == {"title": "流浪地球", "status": "in_transit", "pickup": "B-FL"}
    wait_for(lambda: rpc.library.get_patrons([other["resident_id"]]))
    other_token = gateway.token("resident", other["resident_id"])
    held = gateway('mutation { placeHold(titleId: "gw-1", pickup: "MAIN") { position } }', other_token)
    assert held["data"]["placeHold"]["position"] == 1
    assert codes(gateway(renew, token)) == ["CONFLICT"]  # someone waits for it now
    assert codes(gateway('mutation { renewLoan(barcode: "GW0001") { due } }', other_token)) == ["CONFLICT"]


def test_a_resident_sees_which_staff_opened_their_record(gateway, wang, rpc):
    resident = gateway.token("resident", wang["resident_id"])
    clerk = {"id": "clerk-fl", "role": "staff", "committee": "C0201"}
    assert gateway("{ me { accessLog { by } } }", resident)["data"]["me"]["accessLog"] == []
    rpc.community.find_resident(wang["id_number"], clerk)            # looked up at a desk
    rpc.community.find_resident(wang["id_number"])                   # an import's match: no person looked
    case = gateway('mutation { submitCase(matterCode: "RESIDENCE_PERMIT") { id } }', resident)["data"]["submitCase"]
    gateway('{ case(id: "%s") { number } }' % case["id"], resident)  # the resident's own look: not logged
    staff = gateway.token("staff", "clerk-fl", committee="C0201")
    assert gateway('{ case(id: "%s") { number } }' % case["id"], staff)["data"]["case"]["number"]
    log = gateway("{ me { accessLog { by purpose purposeText caseId committee { name } } } }",
                  resident)["data"]["me"]["accessLog"]
    assert [(e["by"], e["purpose"], e["caseId"]) for e in log] == [("clerk-fl", "case", case["id"]),
                                                                   ("clerk-fl", "lookup", None)]
    assert log[0]["committee"]["name"] == "联洋第一居委会" and log[1]["purposeText"] == "窗口按身份证号查询"
    # the queue lists the resident's name, and so does the answer to a step taken on the case
    queue = gateway("{ staffQueue { cases { id residentName } } }", staff)["data"]["staffQueue"]["cases"]
    assert case["id"] in {c["id"] for c in queue}
    gateway('mutation { actOnCase(caseId: "%s", action: ACCEPT) { residentName } }' % case["id"], staff)
    log = gateway("{ me { accessLog { by purpose caseId } } }", resident)["data"]["me"]["accessLog"]
    assert [(e["purpose"], e["caseId"]) for e in log[:2]] == [("action", case["id"]), ("queue", case["id"])]
    # nobody else reads it: not another resident, not the clerk
    for who in ({"id": "someone-else", "role": "resident"}, clerk):
        with pytest.raises(RemoteError) as err:
            rpc.community.get_access_log(who, wang["resident_id"])
        assert err.value.exc_type == "Forbidden"


def test_a_resident_changes_their_phone_and_finds_lessons_and_pickup_places(gateway, wang, rpc, start_service):
    from services.elearning.service import ElearningService
    start_service(ElearningService)
    resident = gateway.token("resident", wang["resident_id"])
    changed = gateway('mutation { changePhone(phone: "13912345678") { phoneMasked } }', resident)
    assert changed["data"]["changePhone"]["phoneMasked"] == "139****5678"
    assert gateway("{ me { phoneMasked } }", resident)["data"]["me"]["phoneMasked"] == "139****5678"
    bad = gateway('mutation { changePhone(phone: "12345") { phoneMasked } }', resident)
    assert codes(bad) == ["BAD_USER_INPUT"] and "12345" not in str(bad)   # the value is not echoed
    other = gateway('mutation { changePhone(phone: "13900000000", residentId: "someone-else") { phoneMasked } }',
                    resident)
    assert other["data"]["changePhone"]["phoneMasked"] == "139****0000"   # a resident's id is their own
    assert gateway("{ me { phoneMasked } }", resident)["data"]["me"]["phoneMasked"] == "139****0000"
    kinds = gateway('{ places(kind: "library") { code } }')
    assert codes(kinds) == ["BAD_USER_INPUT"] and "libraryLocations" in kinds["errors"][0]["message"]
    rpc.library.upsert_locations([{"code": "MAIN", "kind": "library", "name": "浦东图书馆"},
                                  {"code": "K-9", "kind": "kiosk", "name": "自助图书馆", "hold_shelf": False}])
    pickup = {loc["code"] for loc in gateway("{ libraryLocations(pickup: true) { code } }")["data"]["libraryLocations"]}
    assert "MAIN" in pickup and "K-9" not in pickup
    rpc.elearning.upsert_courses([{"course_id": "GW-C1", "title": "智能手机入门", "provider": "区社区学院",
                                   "units": [{"title": "一", "lessons": [{"id": "l1", "title": "开机", "renditions": {
                                       "tv": {"channel": "区有线4频道", "starts_at": "2026-12-08T19:00",
                                              "minutes": 30}}}]}]}])
    course = gateway('{ course(id: "GW-C1") { units { lessons { id title renditions { channel tvChannel '
                     'startsAt } } } } }')["data"]["course"]
    assert course["units"][0]["lessons"] == [{"id": "l1", "title": "开机", "renditions": [
        {"channel": "tv", "tvChannel": "区有线4频道", "startsAt": "2026-12-08T19:00"}]}]


def test_fields_asked_for_through_fragments_start_together():
    from types import SimpleNamespace

    from graphql import parse

    from gateway.schema import schema
    from gateway.schema.me import _me_parts
    doc = parse("query($n: Int) { me { name ...More ... on Me { loans { barcode } } } } "
                "fragment More on Me { cases { id } notices(limit: 3) { id } ...Deeper } "
                "fragment Deeper on Me { children { name wallet { balanceFen } } notices(limit: $n) { id } }")
    me_node = doc.definitions[0].selection_set.selections[0]
    fragments = {d.name.value: d for d in doc.definitions[1:]}
    info = SimpleNamespace(field_nodes=[me_node], fragments=fragments, schema=schema.graphql_schema,
                           variable_values={"n": 7})
    assert _me_parts(info) == {"community": {"profile": {}, "cases": {}, "notices": {"limit": 7}},
                               "library": {"circulation": {}}, "elearning": {"children": {"wallet_movements": 5}}}


def test_a_plain_get_answers_a_query_in_json(gateway):
    answer = requests.get(gateway.url, params={"query": "query($k: String) { places(kind: $k) { code } }",
                                               "variables": '{"k": "desk"}'}, timeout=15)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    desks = {p["code"] for p in answer.json()["data"]["places"]}
    assert desks >= {"D010101", "D010201", "D020101", "D020201"}   # the demo's; other tests may add desks
    assert all(code.startswith("D") for code in desks)
    bad = requests.get(gateway.url, params={"query": "{ places { code } }", "variables": "{nope"}, timeout=15)
    assert bad.status_code == 400 and codes(bad.json()) == ["BAD_USER_INPUT"]
    secret = requests.get(gateway.url, params={"query": "{ me { name } }"}, timeout=15)
    assert secret.headers["Content-Type"].startswith("application/json") and codes(secret.json()) == ["UNAUTHENTICATED"]


QUEUE = """query($status: String, $matter: String, $after: String, $first: Int) {
  staffQueue(status: $status, matterCode: $matter, after: $after, first: $first) {
    cases { id status matterCode } nextCursor } }"""


def test_the_staff_queue_filters_and_pages_with_a_cursor(gateway, rpc):
    # a committee of its own for this test, so the queue holds only what the test made
    committee = f"Q{uuid.uuid4().hex[:6]}"
    rpc.community.upsert_places([{"code": committee, "kind": "committee", "name": "测试居委会", "parent": "SD02"},
                                 {"code": f"D{committee}", "kind": "desk", "name": "测试受理点", "parent": committee}])
    resident = rpc.community.register_resident({"id_number": id_number(), "name": "陈静", "phone": "13800138009",
                                                "residence_committee": committee, "address": "测试路1号"})
    token = gateway.token("resident", resident["resident_id"])
    submit = 'mutation($m: String!) { submitCase(matterCode: $m) { id } }'
    matters = ["ELDERLY_ALLOWANCE", "HOME_CARE_SUBSIDY", "ELDERLY_ALLOWANCE", "HOME_CARE_SUBSIDY", "ELDERLY_ALLOWANCE"]
    ids = [gateway(submit, token, {"m": m})["data"]["submitCase"]["id"] for m in matters]
    clerk = gateway.token("staff", "clerk-q", committee=committee)
    accept = 'mutation($id: ID!) { actOnCase(caseId: $id, action: ACCEPT) { status } }'
    assert gateway(accept, clerk, {"id": ids[0]})["data"]["actOnCase"]["status"] == "accepted"

    def walk(**filters):
        seen, after, pages = [], None, 0
        while True:
            page = gateway(QUEUE, clerk, {**filters, "after": after, "first": 2})
            assert "errors" not in page, page
            page = page["data"]["staffQueue"]
            assert len(page["cases"]) <= 2
            seen += page["cases"]
            pages += 1
            after = page["nextCursor"]
            if after is None:
                return seen, pages

    everything, pages = walk()
    assert sorted(c["id"] for c in everything) == sorted(ids) and pages == 3   # 2 + 2 + 1, none twice
    assert [c["status"] for c in everything] == ["submitted"] * 4 + ["accepted"]  # waiting for acceptance first
    waiting, _ = walk(status="submitted")
    assert sorted(c["id"] for c in waiting) == sorted(ids[1:])
    care, _ = walk(matter="HOME_CARE_SUBSIDY")
    assert sorted(c["id"] for c in care) == sorted([ids[1], ids[3]])
    both, _ = walk(status="accepted", matter="ELDERLY_ALLOWANCE")
    assert [c["id"] for c in both] == [ids[0]]
    assert codes(gateway(QUEUE, clerk, {"status": "completed"})) == ["BAD_USER_INPUT"]
    other_clerk = gateway.token("staff", "clerk-fl", committee="C0201")
    assert not {c["id"] for c in gateway(QUEUE, other_clerk, {"first": 100})["data"]["staffQueue"]["cases"]} & set(ids)


def test_waits_on_a_silent_service_do_not_add_up(gateway, wang, start_service):
    """Two parts from a service that does not answer (elearning, stopped: its request queue stays
    and nobody consumes it): the request ends one timeout (2 s here) after the calls began, not
    one per part."""
    import time

    from services.elearning.service import ElearningService
    start_service(ElearningService).stop()
    token = gateway.token("resident", wang["resident_id"])
    started = time.monotonic()
    gateway("{ me { name enrolments { courseId } } }", token)   # one part waited for: the measure
    one = time.monotonic() - started
    started = time.monotonic()
    answer = gateway("{ me { name enrolments { courseId } children { name } } }", token)
    elapsed = time.monotonic() - started
    assert answer["data"]["me"]["name"] == "王芳"
    assert sorted(e["path"][-1] for e in answer["errors"]) == ["children", "enrolments"]
    assert all(e["extensions"]["code"] == "UNAVAILABLE" and "within" in e["message"] for e in answer["errors"])
    # two parts of one unavailable service cost one wait, not one each (a ratio: no clock figure)
    assert one > 1.9 and elapsed < 1.5 * one, (one, elapsed)
