"""Every query and mutation of the gateway against every role, on real data, then who owns
what: the matrix below is the gateway's access policy.

"Allowed" means the operation really ran: no error, and its field answered with data. A
domain error (NOT_FOUND, CONFLICT) is not taken as proof: the community service answers
NOT_FOUND exactly when a case is someone else's (so as not to tell that it exists), so it
cannot tell "ran with the right identity" from "refused". Each allowed cell therefore acts
on data the role's own identity may use; each refused cell names its one expected code, and
UNAVAILABLE, INTERNAL_SERVER_ERROR or BAD_USER_INPUT never pass for either.
"""
import uuid
from dataclasses import dataclass, field

import pytest
import requests

from gateway import auth
from gateway.schema import schema
from gateway.service import GatewayService
from infra.local import demo_data
from services.common import clock
from services.community import catalogue
from services.library import actions
from services.library.service import LibraryService
from support.school_data import school  # noqa: F401 - the fixture
from support import id_number, load_working_calendars, wait_for, web_address
from support.library import a_digital_resource, due_tomorrow

SECRET = "matrix-test-secret-of-at-least-32-bytes"
ROLES = (None, "resident", "guardian", "staff", "librarian", "centre", "supervisor", "editor", "admin")
OK, UNAUTHENTICATED, FORBIDDEN = "ok", "UNAUTHENTICATED", "FORBIDDEN"
PUBLIC = dict.fromkeys(ROLES, OK)
RESIDENTS_ONLY = {None: UNAUTHENTICATED, "resident": OK, "guardian": OK, "staff": FORBIDDEN, "librarian": FORBIDDEN,
                  "centre": FORBIDDEN, "supervisor": FORBIDDEN, "editor": FORBIDDEN, "admin": FORBIDDEN}
# the committees' clerks at their desks: residents' records, moves (a centre and a supervisor read cases only)
STAFF_ONLY = {None: UNAUTHENTICATED, "resident": FORBIDDEN, "guardian": FORBIDDEN, "staff": OK, "librarian": FORBIDDEN,
              "centre": FORBIDDEN, "supervisor": FORBIDDEN, "editor": FORBIDDEN, "admin": OK}
# residents and the committees' staff; a librarian works for the library network, not on cases;
# a centre clerk handles its centre's cases (the resident's is the committee's), a supervisor none
SIGNED_IN = {None: UNAUTHENTICATED, "resident": OK, "guardian": OK, "staff": OK, "librarian": FORBIDDEN,
             "centre": FORBIDDEN, "supervisor": FORBIDDEN, "editor": FORBIDDEN, "admin": OK}
# who reads a case or a queue in scope: the resident, clerks, the sub-district's centre, supervisors
CASE_READERS = {**SIGNED_IN, "centre": OK, "supervisor": OK}
QUEUE_READERS = {**STAFF_ONLY, "centre": OK, "supervisor": OK}
# electronic supervision: the counts for supervisors and centres, 督办 by supervisors, answered by the clerks
SUPERVISION = {**STAFF_ONLY, "staff": FORBIDDEN, "centre": OK, "supervisor": OK}
URGING = {**SUPERVISION, "centre": FORBIDDEN}
ANSWERING = STAFF_ONLY   # the handling committee's clerk; the centre does not handle this case
# the library network's staff: a committee clerk neither sees nor resolves library conflicts
LIBRARIANS = {None: UNAUTHENTICATED, "resident": FORBIDDEN, "guardian": FORBIDDEN, "staff": FORBIDDEN,
              "librarian": OK, "centre": FORBIDDEN, "supervisor": FORBIDDEN, "editor": FORBIDDEN, "admin": OK}
# a plain resident passes the gateway's role check but is nobody's guardian: the e-schoolbag refuses
GUARDIANS = {**RESIDENTS_ONLY, "resident": FORBIDDEN}
MATTER = "ELDERLY_ALLOWANCE"   # handled where the resident lives


@dataclass
class World:
    """Real people and their data: the resident (no children) and the guardian (of u1) each
    own cases, loans, holds and an enrolment; the clerk works for the resident's committee."""
    rpc: object
    school: object
    resident: str
    resident_number: str
    course: str
    subject: dict = field(default_factory=dict)
    barcodes: dict = field(default_factory=dict)
    threads: dict = field(default_factory=dict)
    library_db: object = None

    def owner(self, role):  # whose data a role's operation uses: staff and admin act on the resident's
        return self.subject["guardian"] if role == "guardian" else self.resident

    def case(self, owner):
        return self.rpc.community.submit_case({"id": owner, "role": "resident"},
                                              {"resident_id": owner, "matter_code": MATTER})["case_id"]

    def urged(self, owner):
        """(case, urge) of a 督办 on an open case of the owner's, handled by C0101."""
        case_id = self.case(owner)
        urged = self.rpc.community.urge_case({"id": "sup-1", "role": "supervisor"}, case_id, "请加快办理",
                                             clock.today().isoformat())
        return case_id, urged["urges"][-1]["urge_id"]

    def closed(self, owner):
        """A case of the owner's, completed."""
        case_id = self.case(owner)
        for action in ("accept", "complete"):
            self.rpc.community.act_on_case({"id": "admin-1", "role": "admin"}, {"case_id": case_id, "action": action})
        return case_id

    def declared(self, owner):
        """A declaration of a new residence in C0101 (the clerk's committee) waiting for
        confirmation: a resident of their own, so the owner's residence stays as it is."""
        rid = self.rpc.community.register_resident({
            "id_number": id_number(), "name": "郑爽", "registered_committee": "C0101", "residence_committee": "C0202",
            "address": "东安路2号"})["resident_id"] if owner is None else owner
        self.rpc.community.declare_move({"id": rid, "role": "resident"}, {
            "resident_id": rid, "residence_committee": "C0101", "address": "龙华路8号",
            "moved_on": clock.today().isoformat()})
        return rid

    def title(self):
        tag = uuid.uuid4().hex[:8]
        self.rpc.library.import_catalogue([{"record_id": f"t-{tag}", "title": f"书 {tag}", "authors": ["某"],
                                            "copies": [{"barcode": f"B-{tag}", "home_location": "MAIN"}]}])
        return f"t-{tag}", f"B-{tag}"

    def digital(self, lent_to=None):
        """A digital resource of one licence copy, lent to ``lent_to`` if given."""
        resource_id = a_digital_resource(self.rpc.library)["resource_id"]
        if lent_to:
            self.rpc.library.borrow_digital(lent_to, resource_id)
        return resource_id

    def other_owner(self, role):   # a card holder who is not the role's owner
        return self.resident if role == "guardian" else self.subject["guardian"]

    def notice(self, owner):
        """A notice of the owner's: the receipt of a case accepted (written from the event)."""
        case_id = self.case(owner)
        self.rpc.community.act_on_case({"id": "admin-1", "role": "admin"}, {"case_id": case_id, "action": "accept"})
        return wait_for(lambda: next((n["notice_id"] for n in self.rpc.community.get_notices(
            {"id": owner, "role": "resident"}, owner) if n.get("case_id") == case_id), None))

    def hold(self, owner):
        title_id, _ = self.title()
        return self.rpc.library.place_hold(owner, title_id, "MAIN")["hold_id"]

    def conflict(self):
        """An open conflict, recorded as a kiosk's unknown card is."""
        event = {"id": uuid.uuid4().hex, "type": "cn.library.kiosk.checkout.v1", "time": clock.now().isoformat(),
                 "data": {"barcode": self.title()[1], "card_number": "LC000000099999"}}
        actions.record_conflict(self.library_db, where="K-001", barcode=event["data"]["barcode"], reason="unknown card",
                                event=event, at=clock.now(), conflict_id=f"kiosk:K-001:{event['id']}")
        return f"kiosk:K-001:{event['id']}"


def q(query, **variables):
    return lambda w, role: (query, variables)


OPERATIONS = {
    # root field: (expected answer per role, (world, role) -> (operation, variables))
    "health": (PUBLIC, q("{ health { service } }")),
    "matters": (PUBLIC, q("{ matters { code } }")),
    "places": (PUBLIC, q("{ places { code } }")),
    "catalogue": (PUBLIC, q('{ catalogue(text: "书") { id } }')),
    "courses": (PUBLIC, q("{ courses { id } }")),
    "course": (PUBLIC, lambda w, role: ("query($c: ID!) { course(id: $c) { units { lessons { id } } } }",
                                        {"c": w.course})),
    "libraryLocations": (PUBLIC, q("{ libraryLocations(pickup: true) { code } }")),
    "tvGuide": (PUBLIC, q('{ tvGuide(day: "2026-12-01") { channel } }')),
    "popularScience": (PUBLIC, q('{ popularScience(audience: "elderly", first: 5) { id kind } }')),
    "me": (RESIDENTS_ONLY, q("{ me { id cases { id } } }")),
    "case": (CASE_READERS, lambda w, role: ("query($id: ID!) { case(id: $id) { id } }",
                                            {"id": w.case(w.owner(role))})),
    "staffQueue": (QUEUE_READERS, q('{ staffQueue(committee: "C0101") { nextCursor } }')),
    "submitCase": (SIGNED_IN, lambda w, role: (
        "mutation($m: String!, $r: ID) { submitCase(matterCode: $m, residentId: $r) { id } }",
        {"m": MATTER, "r": w.owner(role) if role in ("staff", "admin") else None})),
    "actOnCase": (SIGNED_IN, lambda w, role: (
        "mutation($id: ID!, $a: CaseActionKind!) { actOnCase(caseId: $id, action: $a) { id } }",
        {"id": w.case(w.owner(role)), "a": "ACCEPT" if role in ("staff", "admin") else "WITHDRAW"})),
    "changePhone": (SIGNED_IN, lambda w, role: (
        "mutation($r: ID) { changePhone(phone: \"13900139000\", residentId: $r) { phoneMasked } }",
        {"r": w.owner(role) if role in ("staff", "admin") else None})),
    "markNoticeRead": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($n: ID!) { markNoticeRead(id: $n) { read } }", {"n": w.notice(w.owner(role))})),
    "registerResident": (STAFF_ONLY, lambda w, role: (
        "mutation($n: String!) { registerResident(idNumber: $n, name: \"赵敏\", residenceCommittee: \"C0101\", "
        "address: \"龙华路3号\") { id } }", {"n": id_number()})),
    "renewLoan": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($b: String!) { renewLoan(barcode: $b) { due } }", {"b": w.barcodes[w.owner(role)]})),
    "placeHold": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($t: ID!) { placeHold(titleId: $t, pickup: \"MAIN\") { id } }", {"t": w.title()[0]})),
    "cancelHold": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($h: ID!) { cancelHold(holdId: $h) { id } }", {"h": w.hold(w.owner(role))})),
    "digitalShelf": (RESIDENTS_ONLY, q("{ digitalShelf { loans { resourceId } holds { id } } }")),
    "borrowDigital": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($r: ID!) { borrowDigital(resourceId: $r) { due } }", {"r": w.digital()})),
    "returnDigital": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($r: ID!) { returnDigital(resourceId: $r) { resourceId } }", {"r": w.digital(w.owner(role))})),
    "holdDigital": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($r: ID!) { holdDigital(resourceId: $r) { position } }", {"r": w.digital(w.other_owner(role))})),
    "openDigital": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($r: ID!) { openDigital(resourceId: $r) { url } }", {"r": w.digital(w.owner(role))})),
    "setLibraryPin": (RESIDENTS_ONLY, q('mutation { setLibraryPin(pin: "5820") { hasPin } }')),
    "enrol": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($c: ID!) { enrol(courseId: $c) { courseId } }", {"c": w.course})),
    "recordProgress": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($c: ID!) { recordProgress(courseId: $c, lessonId: \"l1\", percent: 10, "
        "at: \"2026-11-25T10:00:00+08:00\") { applied } }", {"c": w.course})),
    "topUpWallet": (GUARDIANS, lambda w, role: (
        "mutation($s: ID!) { topUpWallet(studentId: $s, amountFen: 100) { orderId status } }",
        {"s": w.school.u1})),
    "setWalletLimits": (GUARDIANS, lambda w, role: (
        "mutation($s: ID!) { setWalletLimits(studentId: $s, dailyFen: 3000) { status } }", {"s": w.school.u1})),
    "freezeWallet": (GUARDIANS, lambda w, role: (
        "mutation($s: ID!) { freezeWallet(studentId: $s, frozen: false) { status } }", {"s": w.school.u1})),
    "postMessage": (GUARDIANS, lambda w, role: (
        "mutation($s: ID!) { postMessage(studentId: $s, text: \"老师好\") { id } }", {"s": w.school.u1})),
    "markThreadRead": (GUARDIANS, lambda w, role: (
        "mutation($t: ID!) { markThreadRead(threadId: $t) { id } }", {"t": w.threads["u1"]})),
    "residentsLivingHere": (STAFF_ONLY, q('{ residentsLivingHere(committee: "C0101") { nextCursor '
                                          'residents { idNumberMasked } } }')),
    "residentsRegisteredHere": (STAFF_ONLY, q('{ residentsRegisteredHere(committee: "C0101") { nextCursor '
                                              'residents { idNumberMasked } } }')),
    "movesToConfirm": (STAFF_ONLY, q('{ movesToConfirm(committee: "C0101") { residents { pendingMove { id } } } }')),
    # a resident declares for themselves (a new resident each time: one declaration waits at a time)
    "declareMove": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($d: String!) { declareMove(committee: \"C0202\", address: \"东安路9号\", movedOn: $d) "
        "{ pendingMove { status } } }", {"d": clock.today().isoformat()})),
    # after declareMove: a resident withdraws the declaration that row left; staff return a fresh one
    "setAsideMove": (SIGNED_IN, lambda w, role: (
        "mutation($r: ID, $why: String) { setAsideMove(residentId: $r, reason: $why) { pendingMove { id } } }",
        {"r": w.declared(None), "why": "地址不在本社区"} if role in ("staff", "admin") else {})),
    "confirmMove": (STAFF_ONLY, lambda w, role: (
        "mutation($r: ID!) { confirmMove(residentId: $r) { committee { code } } }", {"r": w.declared(None)})),
    "supervision": (SUPERVISION, q("{ supervision { scope subdistricts { code overdue committees { code } } } }")),
    "urgeCase": (URGING, lambda w, role: (
        "mutation($id: ID!, $d: String!) { urgeCase(caseId: $id, note: \"请加快\", replyBy: $d) { urges { id } } }",
        {"id": w.case(w.owner(role)), "d": clock.today().isoformat()})),
    "answerUrge": (ANSWERING, lambda w, role: (
        "mutation($id: ID!, $u: ID!) { answerUrge(caseId: $id, urgeId: $u, answer: \"已办理\") { urges { answer } } }",
        dict(zip(("id", "u"), w.urged(w.owner(role)))))),
    "rateCase": (RESIDENTS_ONLY, lambda w, role: (
        "mutation($id: ID!) { rateCase(caseId: $id, score: 5, comment: \"满意\") { rating { score } } }",
        {"id": w.closed(w.owner(role))})),
    "libraryConflicts": (LIBRARIANS, q("{ libraryConflicts(first: 5) { nextCursor conflicts { id } } }")),
    "libraryKiosks": (LIBRARIANS, q("{ libraryKiosks { kioskId status openConflicts openFaults { code } } }")),
    "libraryConflict": (LIBRARIANS, lambda w, role: (
        "query($id: ID!) { libraryConflict(id: $id) { conflict { id status } loans { relation } } }",
        {"id": w.conflict()})),
    "resolveLibraryConflict": (LIBRARIANS, lambda w, role: (
        "mutation($id: ID!) { resolveLibraryConflict(conflictId: $id, action: CONFIRMED, note: \"已核实\") "
        "{ conflict { status trail { by action note } } } }", {"id": w.conflict()})),
}


def test_the_matrix_names_every_root_field_and_every_role():
    fields = set(schema.graphql_schema.query_type.fields) | set(schema.graphql_schema.mutation_type.fields)
    assert fields == set(OPERATIONS)
    assert all(set(expected) == set(ROLES) for expected, _ in OPERATIONS.values())


@pytest.fixture
def world(school, start_service, service_config, settings, rpc, db):
    # the resident borrows a digital resource for each role's row: more than a reader's default cap
    start_service(LibraryService, service_config("library", DIGITAL_LOANS_PER_READER=100))
    rpc.community.upsert_matters(catalogue.MATTERS)
    load_working_calendars(rpc)
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    number = id_number()
    resident = rpc.community.register_resident({"id_number": number, "name": "周杰", "phone": "13800138010",
                                                "registered_committee": "C0101", "residence_committee": "C0101",
                                                "address": "龙华路5号"})["resident_id"]
    course = f"m-{uuid.uuid4().hex[:8]}"
    rpc.elearning.upsert_courses([{"course_id": course, "title": "测试课程", "provider": "区社区学院",
                                   "subjects": ["测试"], "credits": 1, "units": [{"title": "一", "lessons": [
                                       {"id": "l1", "title": "第一课", "renditions": {"web": {"url": "https://x"}}}]}]}])
    w = World(rpc, school, resident, number, course,
              subject={None: resident, "resident": resident, "guardian": school.residents["A"],
                       "staff": "clerk-101", "librarian": "librarian-1", "centre": "centre-1",
                       "supervisor": "supervisor-1", "editor": "editor-1", "admin": "admin-1"})
    w.library_db = db("library")
    for owner in (resident, school.residents["A"]):
        wait_for(lambda: rpc.library.get_patrons([owner]))
        _, barcode = w.title()
        rpc.library.checkout(barcode, owner, "MAIN")
        due_tomorrow(db, barcode)   # as if lent weeks ago: renewing it moves its due date
        w.barcodes[owner] = barcode
        rpc.elearning.enrol(owner, course)
    for pupil, guardian in (("u1", "A"), ("u2", "C")):
        w.threads[pupil] = rpc.elearning.post_message({"role": "guardian", "id": school.residents[guardian]},
                                                      "老师好", None, getattr(school, pupil))["thread_id"]

    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=5.0))
    tokens = auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience)

    def ask(query, variables=None, role=None, subject=None, committee=None):
        headers = {}
        if role:
            committee = committee or ("C0101" if role == "staff" else None)
            # the centre of the resident's sub-district (C0101 is in SD01); the supervisor the district's
            token = auth.mint(tokens, role, subject or w.subject[role], committee=committee,
                              subdistrict="SD01" if role == "centre" else None)
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(web_address(gw) + "/graphql", json={"query": query, "variables": variables},
                             headers=headers, timeout=15).json()
    w.ask = ask
    return w


def outcome(answer: dict, root: str) -> str:
    """OK when the operation ran and answered; else its error codes."""
    errors = answer.get("errors") or []
    if not errors and (answer.get("data") or {}).get(root) is not None:
        return OK
    return ",".join(sorted({e["extensions"]["code"] for e in errors})) or "no data"


def test_every_operation_against_every_role(world):
    wrong = []
    for root, (expected, make) in OPERATIONS.items():
        for role in ROLES:
            query, variables = make(world, role)
            answer = world.ask(query, variables, role)
            got = outcome(answer, root)
            if got != expected[role]:
                detail = "; ".join(e["message"] for e in answer.get("errors", []))
                wrong.append(f"{root} as {role or 'anonymous'}: expected {expected[role]}, got {got} ({detail})")
            if expected[role] != OK and (answer.get("data") or {}).get(root) is not None:
                wrong.append(f"{root} as {role or 'anonymous'}: refused but answered data")
    assert wrong == []


def codes(answer):
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


def test_my_data_not_another_residents(world, rpc):
    ask, mine = world.ask, world.resident
    other = rpc.community.register_resident({"id_number": id_number(), "name": "吴昊", "residence_committee": "C0101",
                                             "address": "龙华路7号"})["resident_id"]
    wait_for(lambda: rpc.library.get_patrons([other]))
    case_id, hold_id = world.case(mine), world.hold(mine)

    def as_other(query, variables):
        return ask(query, variables, "resident", subject=other)
    assert codes(as_other("query($id: ID!) { case(id: $id) { id } }", {"id": case_id})) == ["NOT_FOUND"]
    assert codes(as_other("mutation($id: ID!) { actOnCase(caseId: $id, action: WITHDRAW) { id } }",
                          {"id": case_id})) == ["NOT_FOUND"]
    assert codes(as_other('mutation($r: ID!) { submitCase(matterCode: "ELDERLY_ALLOWANCE", residentId: $r) { id } }',
                          {"r": mine})) == ["FORBIDDEN"]
    assert codes(as_other("mutation($b: String!) { renewLoan(barcode: $b) { due } }",
                          {"b": world.barcodes[mine]})) == ["CONFLICT"]   # the library: not on loan to you
    assert codes(as_other("mutation($h: ID!) { cancelHold(holdId: $h) { id } }", {"h": hold_id})) == ["NOT_FOUND"]
    ebook = world.digital(lent_to=mine)
    assert codes(as_other("mutation($r: ID!) { openDigital(resourceId: $r) { url } }", {"r": ebook})) == ["FORBIDDEN"]
    assert codes(as_other("mutation($r: ID!) { returnDigital(resourceId: $r) { due } }", {"r": ebook})) \
        == ["NOT_FOUND"]
    assert as_other("{ digitalShelf { loans { resourceId } } }", None)["data"]["digitalShelf"]["loans"] == []
    theirs = as_other("{ me { cases { id } loans { barcode } holds { id } } }", None)["data"]["me"]
    assert theirs == {"cases": [], "loans": [], "holds": []}
    # nothing of mine changed
    me = ask("{ me { cases { id status } loans { barcode renewals } holds { id status } } }", None, "resident")
    me = me["data"]["me"]
    assert {c["id"]: c["status"] for c in me["cases"]}[case_id] == "submitted"
    assert me["loans"] == [{"barcode": world.barcodes[mine], "renewals": 0}]
    assert [h["id"] for h in me["holds"]] == [hold_id]
    shelf = ask("{ digitalShelf { loans { resourceId } } }", None, "resident")["data"]["digitalShelf"]
    assert [x["resourceId"] for x in shelf["loans"]] == [ebook]


def test_my_child_not_another_guardians_child(world, rpc):
    ask, school = world.ask, world.school
    theirs, their_thread = school.u2, world.threads["u2"]      # 李强's child, not 张伟's

    def as_zhang(query, variables):
        return ask(query, variables, "guardian")
    for mutation in ("mutation($s: ID!) { topUpWallet(studentId: $s, amountFen: 100) { status } }",
                     "mutation($s: ID!) { setWalletLimits(studentId: $s, dailyFen: 1) { status } }",
                     "mutation($s: ID!) { freezeWallet(studentId: $s, frozen: true) { status } }",
                     "mutation($s: ID!) { postMessage(studentId: $s, text: \"你好\") { id } }"):
        assert codes(as_zhang(mutation, {"s": theirs})) == ["FORBIDDEN"], mutation
    read = as_zhang("query($t: ID!) { me { thread(id: $t) { messages { text } } } }", {"t": their_thread})
    assert codes(read) == ["FORBIDDEN"] and read["data"]["me"]["thread"] is None
    assert codes(as_zhang("mutation($t: ID!) { markThreadRead(threadId: $t) { id } }", {"t": their_thread})) \
        == ["FORBIDDEN"]
    assert codes(as_zhang("mutation($t: ID!) { postMessage(threadId: $t, text: \"你好\") { id } }",
                          {"t": their_thread})) == ["FORBIDDEN"]
    mine = as_zhang("{ me { children { id } messageThreads { id } } }", None)["data"]["me"]
    assert [c["id"] for c in mine["children"]] == [school.u1]
    assert their_thread not in [t["id"] for t in mine["messageThreads"]]
    # the other child's wallet and thread are as they were
    wallet = rpc.elearning.wallet_for_students([theirs], 5)[theirs]
    assert (wallet["balance_fen"], bool(wallet["frozen"]), wallet["limits"].get("daily_fen")) == (0, False, None)
    thread = rpc.elearning.thread_messages({"role": "teacher", "id": school.t1}, their_thread)
    assert len(thread["messages"]) == 1
    assert [r["id"] for r in thread["read_receipts"]] == [school.residents["C"]]


def test_my_committees_cases_not_another_committees(world):
    ask, case_id = world.ask, world.case(world.resident)   # handled by C0101, where the resident lives

    def clerk(committee):
        return lambda query, variables=None: ask(query, variables, "staff", subject=f"clerk-{committee}",
                                                 committee=committee)
    ours, theirs = clerk("C0101"), clerk("C0202")
    read = "query($id: ID!) { case(id: $id) { id status } }"
    accept = "mutation($id: ID!) { actOnCase(caseId: $id, action: ACCEPT) { status } }"
    queue = "query($c: String) { staffQueue(committee: $c, first: 100) { cases { id } } }"
    assert codes(theirs(read, {"id": case_id})) == ["NOT_FOUND"]
    assert codes(theirs(accept, {"id": case_id})) == ["NOT_FOUND"]
    assert case_id not in [c["id"] for c in theirs(queue)["data"]["staffQueue"]["cases"]]
    assert codes(theirs(queue, {"c": "C0101"})) == ["FORBIDDEN"]
    assert ours(read, {"id": case_id})["data"]["case"]["status"] == "submitted"   # untouched by the other clerk
    assert case_id in [c["id"] for c in ours(queue)["data"]["staffQueue"]["cases"]]
    assert ours(accept, {"id": case_id})["data"]["actOnCase"]["status"] == "accepted"


def test_staff_reach_a_resident_only_through_a_case(world):
    ask, resident = world.ask, world.resident
    case_id = world.case(resident)

    def as_clerk(query, variables=None, committee="C0101"):
        return ask(query, variables, "staff", subject=f"clerk-{committee}", committee=committee)
    assert codes(as_clerk("{ me { id } }")) == ["FORBIDDEN"]   # no way to a resident's own view
    seen = as_clerk("query($id: ID!) { case(id: $id) { residentId residentName } }", {"id": case_id})
    assert seen["data"]["case"]["residentId"] == resident and world.resident_number not in str(seen)
    # on the resident's behalf only at the clerk's own desk
    submit = ('mutation($r: ID!, $d: String) { submitCase(matterCode: "ELDERLY_ALLOWANCE", residentId: $r, '
              'desk: $d) { acceptingDesk { code } } }')
    assert as_clerk(submit, {"r": resident})["data"]["submitCase"]["acceptingDesk"]["code"] == "D010101"
    assert codes(as_clerk(submit, {"r": resident, "d": "D020201"})) == ["FORBIDDEN"]
    # the clerk's look is in the resident's access log, the refused one of another committee is not
    assert codes(as_clerk("query($id: ID!) { case(id: $id) { id } }", {"id": case_id}, committee="C0202")) \
        == ["NOT_FOUND"]
    log = ask("{ me { accessLog { by purpose caseId } } }", None, "resident")["data"]["me"]["accessLog"]
    assert {"by": "clerk-C0101", "purpose": "case", "caseId": case_id} in log
    assert all(e["by"] != "clerk-C0202" for e in log)
