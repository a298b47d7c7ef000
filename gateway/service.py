"""The gateway: the only edge for people. A nameko ``@http`` service that answers GraphQL
(and serves GraphiQL with its assets, no CDN), the staff console (``/console``) and the
residents' portal (``/``), and reaches the services through RPC proxies."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from nameko.web.handlers import http
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from gateway import auth
from gateway.calls import Calls
from gateway.console.entrypoints import ConsoleEntrypoints
from gateway.console.intake_entrypoints import IntakeConsoleEntrypoints
from gateway.console.library_entrypoints import LibraryConsoleEntrypoints
from gateway.console.oidc_entrypoints import ConsoleOidcEntrypoints
from gateway.console.report_entrypoints import ReportConsoleEntrypoints
from gateway.console.residence_entrypoints import ResidenceConsoleEntrypoints
from gateway.console.popsci_entrypoints import PopsciConsoleEntrypoints
from gateway.console.supervision_entrypoints import SupervisionConsoleEntrypoints
from gateway.portal.entrypoints import PortalEntrypoints
from gateway.engine import GraphqlEngine
from gateway.errors import format_error
from services.common.health import broker_problem
from services.common.logs import Correlation
from services.common.tracing import Tracing
from services.common.metrics import Metrics, MetricsEntrypoints

MAX_BODY = 1 << 20
STATIC = Path(__file__).with_name("static") / "graphiql"
# read once at start-up: a few files, served often
ASSETS = {p.name: p.read_bytes() for p in STATIC.iterdir() if p.suffix in (".js", ".css")}
PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True)
DEFAULT_QUERY = "# 智慧社区 GraphQL\n{\n  health { service status }\n  matters { code name promisedDays }\n}\n"


@dataclass
class Context:
    principal: auth.Principal | None
    calls: Calls


def _json(status: int, payload: dict):
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(payload, ensure_ascii=False)


def _error(status: int, message: str, code: str):
    return _json(status, {"errors": [{"message": message, "extensions": {"code": code}}]})


class GatewayService(ConsoleEntrypoints, IntakeConsoleEntrypoints, ConsoleOidcEntrypoints, LibraryConsoleEntrypoints,
                     ResidenceConsoleEntrypoints, SupervisionConsoleEntrypoints, PopsciConsoleEntrypoints,
                     ReportConsoleEntrypoints, PortalEntrypoints, MetricsEntrypoints):
    name = "gateway"

    community = RpcProxy("community")
    library = RpcProxy("library")
    elearning = RpcProxy("elearning")
    correlation_id = Correlation()
    tracing = Tracing()
    authenticate = auth.Authenticator()
    engine = GraphqlEngine()
    config = Config()
    metrics = Metrics(graphql_url="/graphql")

    @http("GET", "/health")
    def health(self, request):
        """The gateway itself: up when it can reach the broker (every answer goes through it);
        the services' own health is the `health` query."""
        problem = broker_problem(self.config["AMQP_URI"])
        report = {"service": "gateway", "status": "down" if problem else "up", "broker": "down" if problem else "up"}
        if problem:
            report["detail"] = {"broker": problem}
        return _json(503 if problem else 200, report)

    @http("POST", "/graphql")
    def graphql_post(self, request):
        if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            # werkzeug reads no body the server does not delimit: say so rather than "a query is required"
            return _error(411, "send the body with a Content-Length (chunked bodies are not read)", "BAD_USER_INPUT")
        request.max_content_length = MAX_BODY  # also bounds a body a server delimits itself
        if request.mimetype not in ("application/json", "application/graphql"):
            # a form or text/plain POST is what a page of another site can send unasked (CSRF)
            return _error(415, "send the request as application/json (or application/graphql)", "BAD_USER_INPUT")
        try:
            text = request.get_data(as_text=True)
            body = {"query": text} if request.mimetype == "application/graphql" else json.loads(text or "{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
        except RequestEntityTooLarge:
            return _error(413, "request body too large", "BAD_USER_INPUT")
        except ValueError as exc:
            return _error(400, f"invalid JSON body: {exc}", "BAD_USER_INPUT")
        return self._execute(request, body, "POST")

    @http("GET", "/graphql")
    def graphql_get(self, request):
        args = request.args
        if "query" not in args and "extensions" not in args:
            page = PAGES.get_template("graphiql.html").render(
                assets="/graphql/assets", endpoint="/graphql", default_query=DEFAULT_QUERY)
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page
        try:
            body = {"query": args.get("query"), "operationName": args.get("operationName"),
                    "variables": json.loads(args.get("variables") or "null"),
                    "extensions": json.loads(args.get("extensions") or "null")}
        except ValueError:
            return _error(400, "variables and extensions must be JSON", "BAD_USER_INPUT")
        return self._execute(request, body, "GET")

    @http("GET", "/favicon.ico")
    def favicon(self, request):
        """Browsers ask every site for one: no icon, and no 404 in their consoles."""
        return Response(b"", status=204, headers={"Cache-Control": "public, max-age=86400"})

    @http("GET", "/graphql/assets/<string:name>")
    def graphiql_asset(self, request, name):
        content = ASSETS.get(name)  # only the files shipped: no path from the request reaches the disk
        if content is None:
            return _error(404, "no such asset", "NOT_FOUND")
        kind = "text/css" if name.endswith(".css") else "application/javascript"
        return Response(content, status=200, content_type=f"{kind}; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=86400"})

    def _execute(self, request, body: dict, method: str):
        try:
            principal = self.authenticate(request.headers.get("Authorization"))
        except auth.Unauthenticated as exc:
            return _error(401, str(exc), "UNAUTHENTICATED")
        client = f"{principal.role}:{principal.subject}" if principal else f"addr:{request.remote_addr}"
        outcome = self._run_graphql(principal, body, method, client)
        payload = {}
        if self.config.get("EXPOSE_RPC_COUNT"):  # tests and benchmarks count what a query costs
            payload["extensions"] = {"rpcCalls": outcome.rpc_calls}
        if outcome.errors:
            payload["errors"] = [format_error(e) for e in outcome.errors]
        if outcome.data is not None or not outcome.errors:
            payload["data"] = outcome.data
        return _json(outcome.status, payload)

    def _run_graphql(self, principal: auth.Principal | None, body: dict, method: str, client: str):
        """One GraphQL request as ``principal`` (``/graphql`` and the portal's pages)."""
        proxies = {"community": self.community, "library": self.library, "elearning": self.elearning}
        context = Context(principal=principal, calls=Calls.configured(proxies, self.config))
        outcome = self.engine.run(body, context, method, client)
        outcome.rpc_calls = len(context.calls.made)
        return outcome
