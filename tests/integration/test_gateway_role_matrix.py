"""Every query and mutation of the gateway against every role: allowed ones pass the
gateway's checks (what the service then says about the data is its own business), refused
ones answer UNAUTHENTICATED or FORBIDDEN. The matrix below is the gateway's access policy."""
import pytest
import requests

from gateway import auth
from gateway.schema import schema
from gateway.service import GatewayService
from services.community.service import CommunityService
from services.elearning.service import ElearningService
from services.library.service import LibraryService
from support import web_address

SECRET = "matrix-test-secret-of-at-least-32-bytes"
ROLES = (None, "resident", "guardian", "staff", "admin")
PUBLIC, ANYONE_SIGNED_IN = set(ROLES), {"resident", "guardian", "staff", "admin"}
RESIDENTS, STAFF = {"resident", "guardian"}, {"staff", "admin"}

OPERATIONS = {
    # root field: (who may, operation)
    "health": (PUBLIC, "{ health { service } }"),
    "matters": (PUBLIC, "{ matters { code } }"),
    "places": (PUBLIC, "{ places { code } }"),
    "catalogue": (PUBLIC, '{ catalogue(text: "三体") { id } }'),
    "courses": (PUBLIC, "{ courses { id } }"),
    "tvGuide": (PUBLIC, '{ tvGuide(day: "2026-12-01") { channel } }'),
    "me": (RESIDENTS, "{ me { id } }"),
    "case": (ANYONE_SIGNED_IN, '{ case(id: "nope") { id } }'),
    "staffQueue": (STAFF, "{ staffQueue { nextCursor } }"),
    "submitCase": (RESIDENTS | STAFF, 'mutation { submitCase(matterCode: "NOPE") { id } }'),
    "actOnCase": (ANYONE_SIGNED_IN, 'mutation { actOnCase(caseId: "nope", action: ACCEPT) { id } }'),
    "registerResident": (STAFF, 'mutation { registerResident(idNumber: "1", name: "x", residenceCommittee: "C", '
                                'address: "a") { id } }'),
    "renewLoan": (RESIDENTS, 'mutation { renewLoan(barcode: "nope") { due } }'),
    "placeHold": (RESIDENTS, 'mutation { placeHold(titleId: "nope", pickup: "MAIN") { id } }'),
    "cancelHold": (RESIDENTS, 'mutation { cancelHold(holdId: "nope") { id } }'),
    "enrol": (RESIDENTS, 'mutation { enrol(courseId: "nope") { courseId } }'),
    "recordProgress": (RESIDENTS, 'mutation { recordProgress(courseId: "nope", lessonId: "l", '
                                  'at: "2026-11-25T10:00:00+08:00") { applied } }'),
    "topUpWallet": (RESIDENTS, 'mutation { topUpWallet(studentId: "nope", amountFen: 100, paymentRef: "p") '
                               '{ balanceFen } }'),
    "setWalletLimits": (RESIDENTS, 'mutation { setWalletLimits(studentId: "nope", dailyFen: 100) { status } }'),
    "freezeWallet": (RESIDENTS, 'mutation { freezeWallet(studentId: "nope", frozen: true) { status } }'),
    "postMessage": (RESIDENTS, 'mutation { postMessage(studentId: "nope", text: "hi") { id } }'),
}


def test_the_matrix_names_every_root_field():
    fields = set(schema.graphql_schema.query_type.fields) | set(schema.graphql_schema.mutation_type.fields)
    assert fields == set(OPERATIONS)


@pytest.fixture
def post(start_service, service_config, settings):
    for cls in (CommunityService, LibraryService, ElearningService):
        start_service(cls)
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0))
    tokens = auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience)

    def ask(query, role):
        headers = {}
        if role:
            headers["Authorization"] = "Bearer " + auth.mint(tokens, role, f"matrix-{role}",
                                                             committee="C0101" if role == "staff" else None)
        return requests.post(web_address(gw) + "/graphql", json={"query": query}, headers=headers, timeout=15).json()
    return ask


def test_every_operation_against_every_role(post):
    wrong = []
    for field, (allowed, operation) in OPERATIONS.items():
        for role in ROLES:
            errors = post(operation, role).get("errors", [])
            codes = {e["extensions"]["code"] for e in errors}
            # the gateway's own gate; a service may still refuse the data ("not your child")
            refused = any(e["extensions"]["code"] == "UNAUTHENTICATED" or e["message"].startswith("this needs the role")
                          for e in errors)
            if refused == (role in allowed):
                wrong.append(f"{field} as {role or 'anonymous'}: {sorted(codes) or 'allowed'}")
            if role is None and role not in allowed and "UNAUTHENTICATED" not in codes:
                wrong.append(f"{field} anonymous should be UNAUTHENTICATED: {sorted(codes)}")
    assert wrong == []
