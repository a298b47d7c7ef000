"""Every mutation, asked for every field it can answer with, through the whole suite: a mutation
that has changed something answers it, never an error (``enrol { lessons }`` once stored the
enrolment and answered INTERNAL_SERVER_ERROR with ``data: null``)."""
import uuid

import pytest
import requests
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, is_leaf_type

from gateway import auth
from gateway.schema import schema
from gateway.service import GatewayService
from services.common import clock
from services.library.service import LibraryService
from support import id_number, load_working_calendars, wait_for, web_address
from support.library import a_digital_resource, due_tomorrow
from support.school_data import school  # noqa: F401 - the fixture

SECRET = "mutations-test-secret-of-at-least-32-bytes"


def every_field(type_, depth: int = 3) -> str:
    """A selection of every field of ``type_`` that takes no required argument, objects within
    ``depth`` levels."""
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        type_ = type_.of_type
    chosen = []
    for name, field in type_.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) and a.default_value is None for a in field.args.values()):
            continue
        named = field.type
        while isinstance(named, (GraphQLNonNull, GraphQLList)):
            named = named.of_type
        if is_leaf_type(named):
            chosen.append(name)
        elif isinstance(named, GraphQLObjectType) and depth > 0:
            chosen.append(f"{name} {{ {every_field(named, depth - 1)} }}")
    return " ".join(chosen)


@pytest.fixture
def suite(school, start_service, service_config, settings, rpc, db):
    start_service(LibraryService)
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=5.0))
    rpc.library.upsert_locations([{"code": "MAIN", "kind": "library", "name": "浦东图书馆", "committee": "C0101"}])
    from services.community import catalogue
    rpc.community.upsert_matters(catalogue.MATTERS)
    load_working_calendars(rpc)
    tokens = auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience)

    def mutate(name: str, args: str, who: str, role: str = "resident", committee: str | None = None) -> dict:
        output = schema.graphql_schema.mutation_type.fields[name].type
        query = f"mutation {{ {name}{args} {{ {every_field(output)} }} }}"
        token = auth.mint(tokens, role, who, committee=committee)
        answer = requests.post(web_address(gw) + "/graphql", json={"query": query}, timeout=20,
                               headers={"Authorization": f"Bearer {token}"}).json()
        assert "errors" not in answer and answer["data"][name] is not None, (query, answer)
        return answer["data"][name]
    return mutate


def test_every_mutation_answers_every_field_it_can(suite, school, rpc, db):
    zhang, u1 = school.residents["A"], school.u1
    tag = uuid.uuid4().hex[:8]
    wait_for(lambda: rpc.library.get_patrons([zhang]))   # the card follows the registration event
    rpc.library.import_catalogue([{"record_id": f"{tag}-t", "title": "三体", "authors": ["刘慈欣"],
                                   "copies": [{"barcode": f"{tag}-1", "home_location": "MAIN"},
                                              {"barcode": f"{tag}-2", "home_location": "MAIN"}]}])
    rpc.elearning.upsert_courses([{"course_id": f"{tag}-c", "title": "家庭教育", "provider": "区社区学院",
                                   "subjects": ["家庭教育"], "credits": 1, "units": [{"title": "一", "lessons": [
                                       {"id": "l1", "title": "第一课", "renditions": {"web": {"url": "https://x"}}}]}]}])
    done = set()

    case = suite("submitCase", '(matterCode: "ELDERLY_ALLOWANCE", materials: ["居民身份证"])', zhang)
    done.add("submitCase")
    accepted = suite("actOnCase", f'(caseId: "{case["id"]}", action: ACCEPT)', "clerk-1", "staff", "C0101")
    assert accepted["status"] == "accepted" and "START" in accepted["actions"]
    done.add("actOnCase")
    receipt = wait_for(lambda: next((n for n in rpc.community.get_notices({"id": zhang, "role": "resident"}, zhang)
                                     if n.get("case_id") == case["id"]), None))   # the acceptance's notice
    read = suite("markNoticeRead", f'(id: "{receipt["notice_id"]}")', zhang)
    assert read["read"] is True and read["readAt"] and read["caseId"] == case["id"]
    done.add("markNoticeRead")
    today = clock.today().isoformat()
    urged = suite("urgeCase", f'(caseId: "{case["id"]}", note: "请加快办理", replyBy: "{today}")', "sup-1", "supervisor")
    assert urged["urges"][-1]["note"] == "请加快办理" and urged["actions"] == []
    done.add("urgeCase")
    answered = suite("answerUrge", f'(caseId: "{case["id"]}", urgeId: "{urged["urges"][-1]["id"]}", answer: "今日办结")',
                     "clerk-1", "staff", "C0101")
    assert answered["urges"][-1]["answeredBy"] == "clerk-1"
    done.add("answerUrge")
    rpc.community.act_on_case({"id": "clerk-1", "role": "staff", "committee": "C0101"},
                              {"case_id": case["id"], "action": "complete"})
    rated = suite("rateCase", f'(caseId: "{case["id"]}", score: 5, comment: "满意")', zhang)
    assert rated["rating"]["score"] == 5 and rated["urges"] == []   # the resident sees no 督办
    done.add("rateCase")
    suite("registerResident", f'(idNumber: "{id_number()}", name: "赵敏", residenceCommittee: "C0101", '
                              f'registeredCommittee: "C0101", address: "龙华路2号")', "clerk-1", "staff", "C0101")
    done.add("registerResident")
    mover = rpc.community.register_resident({"id_number": id_number(), "name": "陶然", "registered_committee": "C0101",
                                             "residence_committee": "C0101", "address": "龙华路4号"})["resident_id"]
    declared = suite("declareMove", f'(committee: "C0202", address: "东安路1号", movedOn: "{today}")', mover)
    assert declared["pendingMove"]["toCommittee"]["code"] == "C0202" and declared["committee"]["code"] == "C0101"
    done.add("declareMove")
    withdrawn = suite("setAsideMove", "", mover)   # withdrawn by its resident, then declared again
    assert withdrawn["pendingMove"] is None and withdrawn["moves"][0]["status"] == "withdrawn"
    suite("declareMove", f'(committee: "C0202", address: "东安路1号", movedOn: "{today}")', mover)
    done.add("setAsideMove")
    confirmed = suite("confirmMove", f'(residentId: "{mover}")', "clerk-3", "staff", "C0202")
    assert confirmed["committee"]["code"] == "C0202" and confirmed["pendingMove"] is None
    done.add("confirmMove")
    assert suite("changePhone", '(phone: "13912345678")', zhang)["phoneMasked"] == "139****5678"
    done.add("changePhone")
    assert suite("setLibraryPin", '(pin: "2580")', zhang)["hasPin"] is True
    done.add("setLibraryPin")
    rpc.library.checkout(f"{tag}-1", zhang, "MAIN")
    due_tomorrow(db, f"{tag}-1")
    assert suite("renewLoan", f'(barcode: "{tag}-1")', zhang)["title"] == "三体"
    done.add("renewLoan")
    rpc.library.checkout(f"{tag}-2", school.residents["B"], "MAIN")   # no copy free: a hold waits
    hold = suite("placeHold", f'(titleId: "{tag}-t", pickup: "MAIN")', school.residents["C"])
    assert hold["title"] == "三体"
    done.add("placeHold")
    suite("cancelHold", f'(holdId: "{hold["id"]}")', school.residents["C"])
    done.add("cancelHold")
    ebook = a_digital_resource(rpc.library)["resource_id"]
    assert suite("borrowDigital", f'(resourceId: "{ebook}")', zhang)["title"] == "数字图书：三体"
    done.add("borrowDigital")
    assert suite("openDigital", f'(resourceId: "{ebook}")', zhang)["contentType"] == "application/epub+zip"
    done.add("openDigital")
    assert suite("holdDigital", f'(resourceId: "{ebook}")', school.residents["C"])["position"] == 1
    done.add("holdDigital")
    assert suite("returnDigital", f'(resourceId: "{ebook}")', zhang)["resourceId"] == ebook
    done.add("returnDigital")
    assert [x["resource_id"] for x in rpc.library.digital_shelf(school.residents["C"])["loans"]] == [ebook]
    enrolled = suite("enrol", f'(courseId: "{tag}-c")', zhang)
    assert enrolled["courseTitle"] == "家庭教育" and enrolled["lessons"] == []
    done.add("enrol")
    suite("recordProgress", f'(courseId: "{tag}-c", lessonId: "l1", percent: 40, at: "2026-11-25T20:00:00+08:00")',
          zhang)
    done.add("recordProgress")
    order = suite("topUpWallet", f'(studentId: "{u1}", amountFen: 500)', zhang, "guardian")
    assert (order["status"], order["amountFen"], order["studentId"]) == ("pending", 500, u1) and order["orderId"]
    done.add("topUpWallet")
    suite("setWalletLimits", f'(studentId: "{u1}", perPaymentFen: 300, dailyFen: 600)', zhang, "guardian")
    done.add("setWalletLimits")
    suite("freezeWallet", f'(studentId: "{u1}", frozen: true)', zhang, "guardian")
    done.add("freezeWallet")
    thread = suite("postMessage", f'(studentId: "{u1}", text: "老师您好")', zhang, "guardian")
    done.add("postMessage")
    suite("markThreadRead", f'(threadId: "{thread["id"]}")', zhang, "guardian")
    done.add("markThreadRead")
    # a kiosk's late checkout of the copy zhang has on loan, kept for librarians
    from services.library import actions
    event = {"id": f"{tag}-e", "type": "cn.library.kiosk.checkout.v1", "time": clock.now().isoformat(),
             "data": {"barcode": f"{tag}-1", "card_number": "LC000000024680"}}
    actions.record_conflict(db("library"), where="MAIN", barcode=f"{tag}-1", reason="late", event=event,
                            at=clock.now(), kind="stale_checkout", conflict_id=f"kiosk:MAIN:{tag}-e")
    settled = suite("resolveLibraryConflict", f'(conflictId: "kiosk:MAIN:{tag}-e", action: CONFIRMED, note: "已核实")',
                    "lib-1", "librarian")
    assert settled["conflict"]["status"] == "RESOLVED" and settled["title"] == "三体" and settled["loans"]
    done.add("resolveLibraryConflict")

    assert done == set(schema.graphql_schema.mutation_type.fields), "a mutation this test does not run"
