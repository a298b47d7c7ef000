"""GraphiQL as a developer meets it, in a real browser (Chromium, Playwright, axe-core): the docs
panel loads the schema (GraphiQL's own introspection query passes the limits), a query runs,
nothing a person needs is out of reach (no critical or serious axe-core violation), and on a
phone the result is as wide as the editor, above one another."""
import pytest

from gateway.service import GatewayService
from services.community.service import CommunityService
from support import load_demo_district, web_address
from support.browser import PHONE, run, serious

pytestmark = pytest.mark.timeout(300)

WIDTHS = """(() => { const w = q => Math.round(document.querySelector(q).getBoundingClientRect().width);
  return {editors: w('.graphiql-editors'), response: w('.graphiql-response'), page: document.documentElement.scrollWidth,
          viewport: window.innerWidth} })()"""


@pytest.fixture
def graphiql(start_service, service_config, rpc):
    start_service(CommunityService)
    gateway = start_service(GatewayService, service_config("gateway", RPC_TIMEOUT=3.0))
    load_demo_district(rpc)
    return web_address(gateway) + "/graphql"


def steps(url: str) -> list[dict]:
    return [{"goto": url}, {"waitFor": ".graphiql-query-editor .CodeMirror"},
            {"click": ".graphiql-execute-button"},
            {"until": "document.querySelector('.graphiql-response').innerText.includes('data')"},
            {"eval": "result", "js": "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"},
            {"axe": "axe_editor"}, {"eval": "widths", "js": WIDTHS},
            {"click": "button[aria-label='Show Documentation Explorer']"},
            {"waitFor": ".graphiql-doc-explorer-type-name"},
            {"eval": "docs", "js": "document.querySelector('.graphiql-doc-explorer').innerText"},
            {"axe": "axe_docs"}]


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_graphiql_loads_the_schema_runs_a_query_and_keeps_no_one_out(graphiql, viewport):
    seen = run(steps(graphiql), viewport=viewport, mobile=viewport is not None)
    assert '"matters"' in seen["result"] and "ELDERLY_ALLOWANCE" in seen["result"]
    assert "Query" in seen["docs"] and "Case" in seen["docs"] and "Mutation" in seen["docs"]
    assert serious(seen["axe_editor"]) == [] and serious(seen["axe_docs"]) == [], seen
    assert seen["console"] == [] and seen["failedRequests"] == [] and seen["outside"] == []
    widths = seen["widths"]
    assert widths["page"] <= widths["viewport"] + 1   # nothing to scroll sideways
    if viewport is not None:   # one above the other, each nearly the whole width
        assert widths["response"] >= 0.75 * widths["viewport"] and widths["editors"] >= 0.75 * widths["viewport"]
