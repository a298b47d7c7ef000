"""Running one GraphQL request: persisted queries, parse, validate with the limits, execute.
Built once per gateway process from configuration."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, execute, parse, specified_rules, validate
from nameko.extensions import DependencyProvider

from gateway.fanout import Unavailable
from gateway.limits import limit_rules
from gateway.persisted import PersistedQueries, PersistedQueryError
from gateway.schema import schema
from services.common.config import flag, option


@dataclass
class Outcome:
    data: dict | None
    errors: list
    status: int
    rpc_calls: int = 0     # service calls the request made (set by the gateway)


CACHED_QUERIES = 128        # valid query texts kept parsed, per gateway process
CACHED_QUERY_CHARS = 4000   # longer ones are parsed every time (bounds the cache's memory)
MAX_TOKENS = 5000           # GraphiQL's schema question is about 400; the dashboard about 150


class Engine:
    def __init__(self, config: dict):
        self.rules = list(specified_rules) + limit_rules(
            int(option(config, "GRAPHQL_MAX_DEPTH", 10)), int(option(config, "GRAPHQL_MAX_COST", 10_000)),
            flag(option(config, "GRAPHQL_INTROSPECTION", ""), True),
            max_calls=int(option(config, "GRAPHQL_MAX_CALLS", 20)),
            max_introspection=int(option(config, "GRAPHQL_MAX_INTROSPECTION", 50_000)))
        self.persisted = PersistedQueries(option(config, "PERSISTED_QUERIES_FILE", "") or None,
                                          flag(option(config, "PERSISTED_QUERIES_ONLY", ""), False))
        # Parsing and validating the dashboard cost a fifth of the gateway's CPU per request
        # (bench/RESULTS.md); the outcome depends on the text alone, and clients repeat theirs.
        self._valid_cached = lru_cache(maxsize=CACHED_QUERIES)(self._valid)

    def run(self, body: dict, context, method: str = "POST", client: str = "-") -> Outcome:
        try:
            query = self.persisted.resolve(body.get("query"), body.get("extensions"))
        except PersistedQueryError as exc:
            return Outcome(None, [GraphQLError(str(exc), extensions={"code": exc.code})], 200
                           if exc.code == "PERSISTED_QUERY_NOT_FOUND" else 400)
        if not isinstance(query, str) or not query.strip():
            return Outcome(None, [GraphQLError("a query is required", extensions={"code": "BAD_USER_INPUT"})], 400)
        if len(query) > 100_000:
            return Outcome(None, [GraphQLError("the query is too long", extensions={"code": "BAD_USER_INPUT"})], 400)
        try:
            document = (self._valid_cached if len(query) <= CACHED_QUERY_CHARS else self._valid)(query)
        except GraphQLError as exc:
            exc.extensions = {"code": "GRAPHQL_PARSE_FAILED"}
            return Outcome(None, [exc], 400)
        except _Invalid as invalid:
            return Outcome(None, invalid.errors, 400)
        if (digest := self.persisted.to_learn(body.get("query"), body.get("extensions"))) is not None:
            self.persisted.learn(digest, query, client)   # valid: worth keeping for this client
        if method == "GET" and any(isinstance(d, OperationDefinitionNode) and d.operation.value != "query"
                                   for d in document.definitions):
            return Outcome(None, [GraphQLError("mutations are sent with POST",
                                               extensions={"code": "BAD_USER_INPUT"})], 405)
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return Outcome(None, [GraphQLError("variables must be an object",
                                               extensions={"code": "BAD_USER_INPUT"})], 400)
        result = execute(schema.graphql_schema, document, context_value=context, variable_values=variables,
                         operation_name=body.get("operationName"))
        errors = list(result.errors or [])
        return Outcome(result.data, errors, 200 if result.data is not None else _status_without_data(errors))

    def _valid(self, query: str) -> DocumentNode:
        """The parsed document, or raise: an invalid query raises, so it is never cached."""
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as exc:
            if "tokens. Parsing aborted" in exc.message:   # bounds the parser's and the rules' work alike
                raise _Invalid([GraphQLError(f"the query has more than {MAX_TOKENS} tokens",
                                             extensions={"code": "QUERY_TOO_COMPLEX"})]) from None
            raise
        errors = validate(schema.graphql_schema, document, self.rules)
        if errors:
            raise _Invalid(errors)
        return document


def _status_without_data(errors: list) -> int:
    """503 when nothing could be answered because a part of the suite is unavailable (a caller
    may retry), 400 when the request itself was refused."""
    if errors and all(isinstance(e.original_error, Unavailable) for e in errors):
        return 503
    return 400


class _Invalid(Exception):
    def __init__(self, errors: list):
        self.errors = errors


class GraphqlEngine(DependencyProvider):
    def setup(self):
        self.engine = Engine(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.engine
