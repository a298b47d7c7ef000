"""The gateway: the only edge for people. A nameko ``@http`` service that answers GraphQL
and reaches the services through RPC proxies (one per worker: thread-safe)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from nameko.web.handlers import http

from gateway import auth
from gateway.calls import Calls
from gateway.errors import format_error
from gateway.schema import schema
from services.common.logs import Correlation

MAX_BODY = 1 << 20


@dataclass
class Context:
    principal: auth.Principal | None
    calls: Calls


def _json(status: int, payload: dict):
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(payload, ensure_ascii=False)


class GatewayService:
    name = "gateway"

    community = RpcProxy("community")
    library = RpcProxy("library")
    elearning = RpcProxy("elearning")
    correlation_id = Correlation()
    authenticate = auth.Authenticator()
    config = Config()

    @http("GET", "/health")
    def health(self, request):
        return _json(200, {"service": "gateway", "status": "up"})

    @http("POST", "/graphql")
    def graphql_post(self, request):
        if request.content_length and request.content_length > MAX_BODY:
            return _json(413, {"errors": [{"message": "request body too large",
                                           "extensions": {"code": "BAD_USER_INPUT"}}]})
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            return _json(400, {"errors": [{"message": f"invalid JSON body: {exc}",
                                           "extensions": {"code": "BAD_USER_INPUT"}}]})
        return self._execute(request, body)

    @http("GET", "/graphql")
    def graphql_get(self, request):
        if "query" not in request.args:
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, (
                "Smart Community Suite GraphQL endpoint: POST a JSON body {\"query\": ...} here.\n")
        body = {"query": request.args["query"], "operationName": request.args.get("operationName")}
        try:
            body["variables"] = json.loads(request.args.get("variables") or "null")
        except ValueError:
            return _json(400, {"errors": [{"message": "variables must be JSON",
                                           "extensions": {"code": "BAD_USER_INPUT"}}]})
        return self._execute(request, body)

    def _execute(self, request, body: dict):
        query, variables = body.get("query"), body.get("variables")
        if not isinstance(query, str) or not query.strip():
            return _json(400, {"errors": [{"message": "a query is required",
                                           "extensions": {"code": "BAD_USER_INPUT"}}]})
        if variables is not None and not isinstance(variables, dict):
            return _json(400, {"errors": [{"message": "variables must be an object",
                                           "extensions": {"code": "BAD_USER_INPUT"}}]})
        try:
            principal = self.authenticate(request.headers.get("Authorization"))
        except auth.Unauthenticated as exc:
            return _json(401, {"errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}]})
        proxies = {"community": self.community, "library": self.library, "elearning": self.elearning}
        context = Context(principal=principal, calls=Calls(proxies, float(self.config.get("RPC_TIMEOUT", 5.0))))
        result = schema.execute(query, variable_values=variables, context_value=context,
                                operation_name=body.get("operationName"))
        payload = {}
        if self.config.get("EXPOSE_RPC_COUNT"):  # tests and benchmarks count what a query costs
            payload["extensions"] = {"rpcCalls": len(context.calls.made)}
        if result.errors:
            payload["errors"] = [format_error(e) for e in result.errors]
        if result.data is not None or not result.errors:
            payload["data"] = result.data
        status = 200 if result.data is not None else 400
        return _json(status, payload)
