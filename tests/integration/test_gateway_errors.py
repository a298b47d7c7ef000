"""Errors that tell the caller the true story, in words written for them: a code from the
documented set, the service or the broker that is missing, never a library's internals; and
the caller's own mistakes are not logged as the gateway's failures."""
import logging

import pytest
import requests

from gateway import auth
from gateway.service import GatewayService
from services.community.service import CommunityService
from support import load_demo_district, web_address
from support.tcp_proxy import TcpProxy

SECRET = "errors-test-secret-of-at-least-32-bytes"
CODES = {"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "UNAVAILABLE",
         "QUERY_TOO_COMPLEX", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "PERSISTED_QUERY_NOT_FOUND",
         "PERSISTED_QUERY_NOT_ALLOWED", "INTERNAL_SERVER_ERROR"}


@pytest.fixture
def broker_proxy(settings):
    """A proxy to the broker, for the services given its URI. Ask for it before ``start_service``:
    it must outlive the containers (one stopped while its broker is gone never stops)."""
    host, port = settings.amqp_uri.split("@", 1)[1].split("/", 1)[0].split(":")
    proxy = TcpProxy(host, int(port))
    yield proxy
    proxy.close()


def post(url, query, token=None, **kwargs):
    headers = {"Authorization": token} if token else {}
    return requests.post(url, json={"query": query, **kwargs}, headers=headers, timeout=30)


def test_a_broker_outage_is_unavailable_not_an_internal_error(broker_proxy, start_service, service_config, rpc,
                                                              settings):
    start_service(CommunityService)
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=2.0,
                                                      AMQP_URI=broker_proxy.uri(settings.amqp_uri)))
    load_demo_district(rpc)
    url = web_address(gw) + "/graphql"
    assert post(url, "{ matters { code } }").status_code == 200
    broker_proxy.cut()
    try:
        r = post(url, "{ matters { code } }")
        assert r.status_code == 503, r.text
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "UNAVAILABLE" and "broker" in error["message"], error
        assert post(url, "{ __typename }").json() == {"data": {"__typename": "Query"}}   # what needs no service
    finally:
        broker_proxy.restore()


@pytest.mark.parametrize("header, says", [
    ("Bearer \xff\xfe.abc.def", "malformed"),
    ("Bearer not-a-token", "malformed"),
    ("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "algorithm"),
    ("Basic dXNlcjpwdw==", "Bearer"),
])
def test_a_bad_token_is_refused_in_the_callers_words(start_service, service_config, header, says):
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET))
    r = requests.post(web_address(gw) + "/graphql", json={"query": "{ __typename }"}, timeout=10,
                      headers={"Authorization": header.encode("latin-1")})
    assert r.status_code == 401
    [error] = r.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED" and says in error["message"], error
    for internal in ("codec", "Invalid header", "Traceback", "Error"):
        assert internal not in error["message"], error


def test_tokens_that_are_whole_but_wrong_say_what_is_wrong(start_service, service_config, settings):
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET))
    url = web_address(gw) + "/graphql"
    right = auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience)
    cases = [
        (auth.mint(right, "resident", "r1", lifetime=-60), "expired"),
        (auth.mint(auth.TokenConfig("another-secret-of-at-least-32-bytes!!", settings.jwt_issuer,
                                    settings.jwt_audience), "resident", "r1"), "signature"),
        (auth.mint(auth.TokenConfig(SECRET, "someone-else", settings.jwt_audience), "resident", "r1"), "issuer"),
        (auth.mint(auth.TokenConfig(SECRET, settings.jwt_issuer, "another-app"), "resident", "r1"), "audience"),
    ]
    for token, says in cases:
        [error] = post(url, "{ __typename }", f"Bearer {token}").json()["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED" and says in error["message"], error


def test_the_callers_mistakes_are_not_logged_as_the_gateways_failures(start_service, service_config, rpc,
                                                                      settings, caplog):
    start_service(CommunityService)
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET))
    load_demo_district(rpc)
    url = web_address(gw) + "/graphql"
    staff = "Bearer " + auth.mint(auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience), "staff",
                                  "clerk-1", committee="C0101")
    with caplog.at_level(logging.INFO):
        answers = [
            post(url, 'mutation { registerResident(idNumber: "110101199003070000", name: "赵敏", '
                      'residenceCommittee: "C0101", address: "龙华路2号") { id } }', staff),
            post(url, '{ case(id: "no-such-case") { id } }', staff),
            post(url, '{ staffQueue(status: "lost") { nextCursor } }', staff),
            post(url, "{ me { name } }", staff),
            post(url, "{ nosuchfield }"),
        ]
    codes = [e["extensions"]["code"] for a in answers for e in a.json()["errors"]]
    assert codes == ["BAD_USER_INPUT", "NOT_FOUND", "BAD_USER_INPUT", "FORBIDDEN", "GRAPHQL_VALIDATION_FAILED"]
    assert set(codes) <= CODES
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == [], [(r.name, r.levelname, r.getMessage()[:200]) for r in loud]
