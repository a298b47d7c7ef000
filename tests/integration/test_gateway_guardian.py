"""A guardian through the gateway: their own children only, with assignments and wallets,
in a bounded number of RPCs; wallet and message mutations; learning for any resident."""
import pytest
import requests

from gateway import auth
from gateway.service import GatewayService
from school_data import school  # noqa: F401 - the fixture
from support import web_address

SECRET = "guardian-test-secret-of-at-least-32-bytes"
CHILDREN = "{ me { children { id name classes assignments { title state } wallet { balanceFen frozen recent { kind amountFen } } } } }"


@pytest.fixture
def ask(school, start_service, service_config, settings, rpc):
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0,
                                                      EXPOSE_RPC_COUNT=True))
    tokens = auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience)

    def post(query, who, variables=None):
        token = auth.mint(tokens, "guardian", who)
        return requests.post(web_address(gw) + "/graphql", json={"query": query, "variables": variables},
                             headers={"Authorization": f"Bearer {token}"}, timeout=15).json()
    return post


def test_a_guardian_sees_only_their_own_children_at_a_bounded_cost(ask, school):
    zhang = school.residents["A"]
    answer = ask(CHILDREN, zhang)
    assert "errors" not in answer, answer
    [child] = answer["data"]["me"]["children"]
    assert child["id"] == school.u1 and child["name"] == "张小明"
    assert child["wallet"] is not None and child["wallet"]["balanceFen"] == 0
    assert answer["extensions"]["rpcCalls"] <= 3   # children, then every wallet in one call
    stranger = ask(CHILDREN, school.residents["stranger"])
    assert stranger["data"]["me"]["children"] == []


def test_top_up_limits_freeze_and_message(ask, school):
    zhang = school.residents["A"]
    top_up = 'mutation($s: ID!, $a: Int!, $r: String!) { topUpWallet(studentId: $s, amountFen: $a, paymentRef: $r) { balanceFen } }'
    assert ask(top_up, zhang, {"s": school.u1, "a": 5000, "r": "pay-1"})["data"]["topUpWallet"]["balanceFen"] == 5000
    assert ask(top_up, zhang, {"s": school.u1, "a": 5000, "r": "pay-1"})["data"]["topUpWallet"]["balanceFen"] == 5000
    bad = ask(top_up, zhang, {"s": school.u1, "a": -5, "r": "pay-2"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    other = ask(top_up, school.residents["stranger"], {"s": school.u1, "a": 100, "r": "pay-3"})
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    limits = 'mutation($s: ID!) { setWalletLimits(studentId: $s, perPaymentFen: 1500, dailyFen: 3000) { status } }'
    assert "errors" not in ask(limits, zhang, {"s": school.u1})
    freeze = 'mutation($s: ID!) { freezeWallet(studentId: $s, frozen: true) { status } }'
    assert ask(freeze, zhang, {"s": school.u1})["data"]["freezeWallet"]["status"] == "frozen"
    wallet = ask(CHILDREN, zhang)["data"]["me"]["children"][0]["wallet"]
    assert wallet["frozen"] is True and wallet["balanceFen"] == 5000
    post = 'mutation($s: ID!) { postMessage(studentId: $s, text: "老师您好，小明今天请假一天。") { id } }'
    thread = ask(post, zhang, {"s": school.u1})["data"]["postMessage"]
    threads = ask("{ me { messageThreads { id subject unread } } }", zhang)["data"]["me"]["messageThreads"]
    assert thread["id"] in [t["id"] for t in threads]
    assert ask(post, school.residents["stranger"], {"s": school.u1})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
