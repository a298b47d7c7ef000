"""The gateway refuses abusive queries before they run, speaks Apollo's persisted-query
protocol and serves GraphiQL with its own assets."""
import concurrent.futures
import hashlib
import json

import pytest
import requests

from gateway import auth
from gateway.service import GatewayService
from services.community.service import CommunityService
from support import web_address

SECRET = "limits-test-secret-of-at-least-32-bytes"


@pytest.fixture
def gateway(start_service, service_config, tmp_path, settings):
    def start(**config):
        gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=2.0, **config))
        url = web_address(gw) + "/graphql"

        def post(body):
            return requests.post(url, json=body, timeout=10)
        post.url = url
        return post
    start.staff_token = auth.mint(auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience), "staff",
                                  "clerk-1", committee="C0101")
    return start


def code(response):
    return [e["extensions"]["code"] for e in response.json()["errors"]]


def test_depth_and_cost_limits_refuse_before_running(gateway):
    post = gateway(GRAPHQL_MAX_DEPTH=3, GRAPHQL_MAX_COST=50)
    deep = "{ me { cases { handlingCommittee { name } trail { action } } } }"
    r = post({"query": deep})
    assert r.status_code == 400 and "QUERY_TOO_COMPLEX" in code(r) and "depth" in r.text
    costly = "{ a: matters { code } b: matters { code } c: matters { code } }"
    r = post({"query": costly})
    assert r.status_code == 400 and code(r) == ["QUERY_TOO_COMPLEX"] and "cost" in r.text


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next twice: 2^levels fields from a query of a few KB."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query {{ ...F0 }} {chain} fragment F{levels} on Query {{ __typename }}"


def test_a_fragment_bomb_is_refused_at_once_while_others_are_answered(gateway):
    """Depth and cost are worked out once per fragment: 2^60 expansions would never end."""
    post = gateway()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        bombs = [pool.submit(post, {"query": fragment_bomb(60)}) for _ in range(3)]
        plain = pool.submit(post, {"query": "{ __typename }"})
        assert plain.result().json() == {"data": {"__typename": "Query"}}
        for bomb in bombs:
            r = bomb.result()
            assert r.status_code == 400 and code(r) == ["QUERY_TOO_COMPLEX"] and "cost" in r.text


def test_a_flood_of_aliases_is_refused_by_the_service_calls_it_would_make(gateway, start_service):
    """300 searches cost 600 fields (under the cost limit) but would make 300 RPCs."""
    from services.library.service import LibraryService
    start_service(LibraryService)
    post = gateway(EXPOSE_RPC_COUNT=True)
    flood = "{ " + " ".join(f'a{i}: catalogue(text: "三体{i}", first: 1) {{ title }}' for i in range(300)) + " }"
    r = post({"query": flood})
    assert r.status_code == 400 and code(r) == ["QUERY_TOO_COMPLEX"] and "300 service calls" in r.text
    cases = "{ " + " ".join(f'c{i}: case(id: "x{i}") {{ id }}' for i in range(100)) + " }"
    assert code(post({"query": cases})) == ["QUERY_TOO_COMPLEX"]
    few = post({"query": "{ " + " ".join(f'a{i}: catalogue(text: "三体{i}", first: 1) {{ title }}'
                                          for i in range(3)) + " }"})
    assert few.status_code == 200 and few.json()["extensions"]["rpcCalls"] == 3


def test_graphiqls_schema_question_is_answered_and_a_nested_one_refused(gateway):
    from graphql import get_introspection_query
    post = gateway()
    full = post({"query": get_introspection_query(descriptions=True, input_value_deprecation=True)})
    assert full.status_code == 200, full.text
    assert {t["name"] for t in full.json()["data"]["__schema"]["types"]} >= {"Query", "Me", "Case"}
    nested = "{ __schema { types { " + "fields { type { " * 6 + "name" + " } }" * 6 + " } } }"
    r = post({"query": nested})
    assert r.status_code == 400 and "QUERY_TOO_COMPLEX" in code(r) and "schema question" in r.text


def test_a_query_of_too_many_tokens_is_refused_before_it_is_parsed(gateway):
    r = gateway()({"query": "{ " + "__typename " * 6000 + "}"})
    assert r.status_code == 400 and code(r) == ["QUERY_TOO_COMPLEX"] and "tokens" in r.text


def test_introspection_can_be_turned_off(gateway, start_service):
    start_service(CommunityService)
    on = gateway()({"query": "{ __schema { queryType { name } } }"})
    assert on.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    off = gateway(GRAPHQL_INTROSPECTION="false")({"query": "{ __type(name: \"Me\") { name } }"})
    assert code(off) == ["FORBIDDEN"]


def test_persisted_queries_apollo_protocol(gateway, start_service):
    start_service(CommunityService)
    post = gateway()
    query = "{ places { code } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    first = post({"extensions": ext})
    assert code(first) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "places" in post({"query": query, "extensions": ext}).json()["data"]
    assert "places" in post({"extensions": ext}).json()["data"]   # the hash alone now
    wrong = post({"query": query, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}})
    assert code(wrong) == ["BAD_USER_INPUT"]
    get = requests.get(post.url, params={"extensions": json.dumps(ext)}, timeout=10)
    assert "places" in get.json()["data"]


def test_one_client_sending_new_queries_forgets_only_its_own(gateway, start_service):
    start_service(CommunityService)
    post = gateway()

    def persisted(query: str, text: bool):
        digest = hashlib.sha256(query.encode()).hexdigest()
        body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
        return requests.post(post.url, json={**body, **({"query": query} if text else {})}, timeout=10)

    mine = "{ places { code } }"
    assert "places" in persisted(mine, True).json()["data"]   # learned for this address
    flooder = requests.Session()
    for i in range(120):   # another client (signed in) sends 120 new queries
        q = f"{{ a{i}: __typename }}"
        digest = hashlib.sha256(q.encode()).hexdigest()
        flooder.post(post.url, timeout=10, headers={"Authorization": f"Bearer {gateway.staff_token}"},
                     json={"query": q, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}})
    assert "places" in persisted(mine, False).json()["data"]  # still known by its hash
    early = "{ a0: __typename }"
    forgotten = persisted(early, False).json()               # the flooder's oldest went first
    assert forgotten["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    invalid = "{ nosuchfield }"                               # never learned: it never ran
    persisted(invalid, True)
    assert persisted(invalid, False).json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_only_json_or_graphql_bodies_are_run(gateway):
    post = gateway()
    plain = requests.post(post.url, data='{"query": "{ __typename }"}', headers={"Content-Type": "text/plain"},
                          timeout=10)
    assert plain.status_code == 415 and code(plain) == ["BAD_USER_INPUT"]
    form = requests.post(post.url, data={"query": "{ __typename }"}, timeout=10)
    assert form.status_code == 415
    as_graphql = requests.post(post.url, data="{ __typename }", headers={"Content-Type": "application/graphql"},
                               timeout=10)
    assert as_graphql.json() == {"data": {"__typename": "Query"}}


def test_allow_list_only_in_production(gateway, tmp_path, start_service):
    start_service(CommunityService)
    allowed = "{ places { code } }"
    path = tmp_path / "persisted.json"
    path.write_text(json.dumps({"health": allowed}), encoding="utf-8")
    post = gateway(PERSISTED_QUERIES_FILE=str(path), PERSISTED_QUERIES_ONLY="true")
    assert code(post({"query": "{ matters { code } }"})) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    digest = hashlib.sha256(allowed.encode()).hexdigest()
    ok = post({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}})
    assert "data" in ok.json()


def test_graphiql_page_and_its_assets_come_from_the_gateway(gateway):
    post = gateway()
    page = requests.get(post.url, headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "graphiql.min.js" in page.text
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()
    for asset in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"):
        r = requests.get(post.url + "/assets/" + asset, timeout=10)
        assert r.status_code == 200 and len(r.content) > 1000
    assert requests.get(post.url + "/assets/..%2Fservice.py", timeout=10).status_code == 404


def test_mutations_are_not_run_over_get(gateway):
    post = gateway()
    r = requests.get(post.url, params={"query": 'mutation { submitCase(matterCode: "X") { id } }'}, timeout=10)
    assert r.status_code == 405 and code(r) == ["BAD_USER_INPUT"]


def test_limits_come_from_the_environment_as_under_suite_up(gateway, monkeypatch):
    # `suite up` passes no GRAPHQL_* keys in the nameko config: the process environment must count
    monkeypatch.setenv("GRAPHQL_MAX_DEPTH", "2")
    monkeypatch.setenv("GRAPHQL_INTROSPECTION", "false")
    post = gateway()
    r = post({"query": "{ me { cases { trail { action } } } }"})
    assert r.status_code == 400 and "QUERY_TOO_COMPLEX" in code(r)
    assert code(post({"query": "{ __type(name: \"Me\") { name } }"})) == ["FORBIDDEN"]


def cost_of(query: str) -> int:
    from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

    from gateway.limits import operation_cost
    from gateway.schema import schema
    document = parse(query)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    [op] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operation_cost(op, fragments, schema.graphql_schema)


def test_cost_counts_lists_by_the_schema_and_pages_at_what_resolvers_really_return():
    from gateway.schema.paging import PAGE_CAPS
    # a page size in a variable counts at the resolver's cap: catalogue gives at most 50
    assert cost_of("query($n: Int) { catalogue(first: $n) { id availability { location } } }") == 1 + 50 * 22
    assert cost_of("{ catalogue(first: 5) { id availability { location } } }") == 1 + 5 * 22
    assert cost_of("{ catalogue(first: 5000) { id } }") == 1 + 5000       # written out: counted as asked
    # the staff queue's page object: its page multiplies what it holds, the list inside once
    assert cost_of("query($n: Int) { staffQueue(first: $n) { cases { id } nextCursor } }") == 1 + 100 * 3
    assert cost_of("{ staffQueue { cases { id } } }") == 1 + 20 * 2
    assert cost_of("{ staffQueue(first: 100000) { nextCursor } }") == 1 + 100000
    # a list is a list whatever its name: `children` is one, `credits` is not
    assert cost_of("{ me { children { assignments { title } } } }") == 1 + 1 + 5 * (1 + 20)
    assert cost_of("{ me { credits } }") == 2
    # through fragments, on the fragment's own type
    assert cost_of("{ me { ...Kids } } fragment Kids on Me { children { ...W } } "
                   "fragment W on Child { wallet { recent { kind } } }") == 1 + 1 + 5 * (1 + 1 + 5)
    # every page argument of the schema has a cap the resolvers use, and no cap is stale
    schema = __import__("gateway.schema", fromlist=["schema"]).schema.graphql_schema
    paged = {f"{name}.{field}" for name, t in schema.type_map.items() if not name.startswith("__")
             for field, d in getattr(t, "fields", {}).items() if {"first", "limit"} & set(getattr(d, "args", {}))}
    assert paged == set(PAGE_CAPS)


STAFF_PAGE = """query($after: String) { staffQueue(first: 100, after: $after) { nextCursor cases {
    id number version status statusName matterCode matterName residentName assignee submittedAt acceptedOn
    deadline deadlineMark actions materials missingMaterials
    acceptingDesk { code name } handlingCommittee { code name }
    trail { at action fromStatus toStatus note by role } } } }"""


def test_a_clerks_whole_page_with_trails_fits_the_default_limits():
    from gateway.engine import Engine
    assert cost_of(STAFF_PAGE) <= 10_000
    Engine({})._valid(STAFF_PAGE)   # raises if the limits (or any rule) refuse it


def test_a_page_size_in_a_variable_cannot_dodge_the_cost_limit(gateway):
    post = gateway(GRAPHQL_MAX_COST=600)
    by_variable = "query($n: Int) { catalogue(first: $n) { id availability { location } } }"
    for n in (5, 50):   # its value is not looked at: the most it can fetch is what counts
        r = post({"query": by_variable, "variables": {"n": n}})
        assert r.status_code == 400 and code(r) == ["QUERY_TOO_COMPLEX"] and "1101" in r.text
    small = post({"query": "{ catalogue(first: 5) { id availability { location } } }"})
    assert "QUERY_TOO_COMPLEX" not in small.text   # runs (the library is not running here: UNAVAILABLE)
    # `children` is a list (5 counted) though its name has no plural s: 3 x (me 1 + 246)
    household = "fragment H on Me { children { classes assignments { title state } wallet { recent { kind } } } }"
    r = post({"query": "{ a: me { ...H } b: me { ...H } c: me { ...H } } " + household})
    assert r.status_code == 400 and code(r) == ["QUERY_TOO_COMPLEX"] and "cost 741 " in r.text
