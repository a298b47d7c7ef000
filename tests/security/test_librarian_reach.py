"""Who may reach library conflicts and who may reach residents' cases, against the whole suite:
a librarian (even holding a token that names a committee) is refused every case and resident
operation and learns nothing of the resident; a committee clerk, a resident and a guardian
are refused the conflicts and their resolution, which stays as it was; what a librarian is
shown carries no whole card number. (The role matrix, tests/integration/test_gateway_role_matrix.py,
has every operation against every role; the console's pages: tests/integration/test_console_library.py.)"""
import uuid

from hostile_suite import codes, driver, suite  # noqa: F401  (fixtures)

from services.common import clock, outbox
from services.library import actions

CARD = "LC000000013579"
CONFLICTS = ("query($k: String) { libraryConflicts(first: 50, location: $k) { conflicts { id reason event { cardMasked } } "
             "} }")
RESOLVE = ('mutation($id: ID!) { resolveLibraryConflict(conflictId: $id, action: VOID, note: "作废") '
           '{ conflict { status } } }')


def a_conflict(db, rpc) -> tuple[str, str]:
    """(its kiosk, its id): a kiosk's unknown card, at a kiosk of this test's own."""
    kiosk = "K" + uuid.uuid4().hex[:8]
    rpc.library.upsert_locations([{"code": kiosk, "kind": "kiosk", "name": "测试", "committee": "C0201"}])
    event = {"id": uuid.uuid4().hex, "type": "cn.library.kiosk.checkout.v1", "time": clock.now().isoformat(),
             "data": {"barcode": "B-SEC-1", "card_number": CARD}}
    cid = f"kiosk:{kiosk}:{event['id']}"
    actions.record_conflict(db("library"), where=kiosk, barcode="B-SEC-1", reason=f"unknown card {CARD}",
                            event=event, at=clock.now(), conflict_id=cid)
    return kiosk, cid


def test_a_librarian_reaches_no_resident_and_no_case(suite, rpc):  # noqa: F811
    resident = suite.resident
    case = rpc.community.submit_case({"id": resident["resident_id"], "role": "resident"},
                                     {"resident_id": resident["resident_id"], "matter_code": "ELDERLY_ALLOWANCE"})
    for committee in (None, "C0201"):   # C0201: the resident's committee, as a mis-issued token might claim
        token = suite.token("librarian", "lib-sec", committee=committee)
        for query, variables in (
                ("query($id: ID!) { case(id: $id) { id residentName } }", {"id": case["case_id"]}),
                ('{ staffQueue(committee: "C0201") { cases { id residentName } } }', None),
                ("{ me { name idNumberMasked } }", None),
                ("mutation($id: ID!) { actOnCase(caseId: $id, action: ACCEPT) { id } }", {"id": case["case_id"]}),
                ('mutation($r: ID!) { submitCase(matterCode: "ELDERLY_ALLOWANCE", residentId: $r) { id } }',
                 {"r": resident["resident_id"]}),
                ('mutation($r: ID!) { changePhone(phone: "13900139000", residentId: $r) { phoneMasked } }',
                 {"r": resident["resident_id"]}),
                ('mutation($n: String!) { registerResident(idNumber: $n, name: "赵敏", residenceCommittee: "C0201", '
                 'address: "枫林路1号") { id } }', {"n": resident["id_number"]})):
            answer = suite.ask(query, variables, token)
            assert codes(answer) == ["FORBIDDEN"], (committee, query, answer)
            assert "王芳" not in str(answer) and resident["id_number"][-4:] not in str(answer)
    assert rpc.community.get_case({"id": "sys", "role": "system"}, case["case_id"])["status"] == "submitted"


def test_clerks_and_residents_reach_no_library_conflict(suite, db, rpc):  # noqa: F811
    kiosk, cid = a_conflict(db, rpc)

    def stored():
        return {k: v for k, v in db("library").conflicts.find_one({"_id": cid}).items() if k not in outbox.FIELDS}
    before = stored()
    for role, subject in (("staff", "clerk-sec"), ("admin", None), ("resident", None), ("guardian", None)):
        token = suite.token(role, subject)
        listed = suite.ask(CONFLICTS, {"k": kiosk}, token)
        opened = suite.ask("query($id: ID!) { libraryConflict(id: $id) { conflict { id } } }", {"id": cid}, token)
        if role == "admin":   # the district's administrators read everything (resolving is tried below by a librarian)
            assert "errors" not in listed and "errors" not in opened
            continue
        resolved = suite.ask(RESOLVE, {"id": cid}, token)
        for answer in (listed, opened, resolved):
            assert codes(answer) == ["FORBIDDEN"], (role, answer)
            assert "B-SEC-1" not in str(answer) and CARD[-4:] not in str(answer)
    assert stored() == before

    librarian = suite.token("librarian", "lib-sec")
    shown = suite.ask(CONFLICTS, {"k": kiosk}, librarian)
    assert CARD not in str(shown) and {"cardMasked": "LC********3579"} in [
        c["event"] for c in shown["data"]["libraryConflicts"]["conflicts"] if c["id"] == cid]
    assert suite.ask(RESOLVE, {"id": cid}, librarian)["data"]["resolveLibraryConflict"]["conflict"]["status"] == \
        "RESOLVED"
    assert stored()["resolved"]["by"] == "lib-sec"
