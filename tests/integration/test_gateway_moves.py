"""人户分离 through GraphQL: a resident declares, clerks of the wrong committee are refused, the
right one confirms, both lists show the resident as their side may see them; bad input gets
BAD_USER_INPUT and changes nothing."""
from datetime import timedelta

import pytest
import requests

from gateway import auth
from gateway.service import GatewayService
from services.common import clock
from services.community.service import CommunityService
from support import id_number, load_demo_district, web_address

SECRET = "moves-graphql-secret-of-at-least-32-bytes"
DECLARE = ("mutation($c: String!, $a: String!, $d: String!) { declareMove(committee: $c, address: $a, movedOn: $d) "
           "{ committee { code } pendingMove { id status toCommittee { name } } } }")
CONFIRM = "mutation($r: ID!) { confirmMove(residentId: $r) { committee { code } moves { confirmedBy declaredByRole } } }"
LIVING = "{ residentsLivingHere { residents { id idNumberMasked address registeredCommittee { code } } } }"
REGISTERED = "{ residentsRegisteredHere { residents { id address residenceCommittee { name } } } }"


@pytest.fixture
def ask(start_service, service_config, settings, rpc):
    start_service(CommunityService)
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=5.0))
    load_demo_district(rpc)
    tokens = auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience)

    def ask(query, variables=None, role="resident", subject="x", committee=None):
        token = auth.mint(tokens, role, subject, committee=committee)
        return requests.post(web_address(gw) + "/graphql", json={"query": query, "variables": variables},
                             headers={"Authorization": f"Bearer {token}"}, timeout=15).json()
    return ask


def codes(answer):
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


def test_declare_confirm_and_the_two_lists(ask, rpc):
    number = id_number()
    rid = rpc.community.register_resident({"id_number": number, "name": "吴迪", "registered_committee": "C0101",
                                           "residence_committee": "C0101", "address": "龙华路1号"})["resident_id"]
    today = clock.today()

    def declare(committee="C0202", day=today):
        return ask(DECLARE, {"c": committee, "a": "东安路30号", "d": day.isoformat()}, subject=rid)
    for bad in (declare(committee="NOWHERE"), declare(day=today + timedelta(days=30))):
        assert codes(bad) == ["BAD_USER_INPUT"] and bad["data"]["declareMove"] is None
    assert ask("{ me { residence { pendingMove { id } } } }", subject=rid)["data"]["me"]["residence"] \
        == {"pendingMove": None}
    declared = declare()["data"]["declareMove"]
    assert declared["committee"]["code"] == "C0101" and declared["pendingMove"]["status"] == "pending"
    assert codes(declare(committee="C0201")) == ["CONFLICT"]

    def clerk(committee):
        return lambda query, variables=None: ask(query, variables, "staff", f"clerk-{committee}", committee)
    assert codes(clerk("C0201")(CONFIRM, {"r": rid})) == ["FORBIDDEN"]
    done = clerk("C0202")(CONFIRM, {"r": rid})["data"]["confirmMove"]
    assert done["committee"]["code"] == "C0202"
    assert done["moves"] == [{"confirmedBy": "clerk-C0202", "declaredByRole": "resident"}]

    living = {r["id"]: r for r in clerk("C0202")(LIVING)["data"]["residentsLivingHere"]["residents"]}
    assert living[rid]["address"] == "东安路30号" and number not in str(living)
    registered = {r["id"]: r for r in clerk("C0101")(REGISTERED)["data"]["residentsRegisteredHere"]["residents"]}
    assert registered[rid]["address"] is None and registered[rid]["residenceCommittee"]["name"] == "牡丹第二居委会"
    assert codes(ask("{ residentsLivingHere(committee: \"C0202\") { residents { id } } }", None, "staff",
                     "clerk-C0101", "C0101")) == ["FORBIDDEN"]
    mine = ask("{ me { residenceCommittee { code } residence { moves { confirmedBy address } } } }", subject=rid)
    assert mine["data"]["me"] == {"residenceCommittee": {"code": "C0202"},
                                  "residence": {"moves": [{"confirmedBy": "staff", "address": "东安路30号"}]}}
