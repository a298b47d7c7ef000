"""Property-based fuzzing of the gateway with queries and mutations generated from its own
schema (hypothesis-graphql): valid documents with arbitrary argument values, and documents
with one schema violation, as a resident, a clerk and nobody.

Whatever comes in, the gateway answers JSON, never a 500, every error carries
``extensions.code`` and no answer shows a Python traceback.

``FUZZ_EXAMPLES`` sets how many documents are sent (default 100, with a fixed seed so that
`make test` is quick and repeatable); a larger number (e.g. ``FUZZ_EXAMPLES=2000``) draws a
random seed each run, for the reliability target.
"""
import collections
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from gateway.schema import schema
from hostile_suite import driver, suite  # noqa: F401  (fixtures)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
TRACE_SIGNS = ("Traceback", 'File "')
GRAPHQL = schema.graphql_schema


def documents():
    # one root field at a time reaches the resolvers more often (a document of many fields
    # mostly meets one its role may not ask for); whole documents and broken ones too
    one_query = st.sampled_from(sorted(GRAPHQL.query_type.fields)).flatmap(lambda f: queries(GRAPHQL, fields=[f]))
    one_mutation = st.sampled_from(sorted(GRAPHQL.mutation_type.fields)).flatmap(
        lambda f: mutations(GRAPHQL, fields=[f]))
    return st.one_of(one_query, one_mutation, queries(GRAPHQL), mutations(GRAPHQL),
                     queries(GRAPHQL, mode=Mode.NEGATIVE), mutations(GRAPHQL, mode=Mode.NEGATIVE))


def problems_with(status: int, text: str) -> list[str]:
    found = []
    if status >= 500:
        found.append(f"status {status}")
    found += [f"shows {sign!r}" for sign in TRACE_SIGNS if sign in text]
    try:
        body = json.loads(text)
    except ValueError:
        return found + ["not JSON"]
    for error in body.get("errors", []):
        code = (error.get("extensions") or {}).get("code")
        if not code:
            found.append(f"an error without a code: {error}")
        elif code == "INTERNAL_SERVER_ERROR":
            found.append(f"an internal error: {error}")
    if "errors" not in body and "data" not in body:
        found.append("neither data nor errors")
    return found


def test_generated_queries_and_mutations_never_crash_the_gateway(suite):
    tokens = {"resident": suite.token("resident"), "staff": suite.token("staff"), "nobody": None}
    seen = collections.Counter()
    failures = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize="FUZZ_EXAMPLES" not in os.environ,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(document=documents(), role=st.sampled_from(sorted(tokens)))
    def probe(document, role):
        response = suite.post(document, token=tokens[role])
        found = problems_with(response.status_code, response.text)
        try:
            seen.update(f"{response.status_code} {c}" for c in
                        [e["extensions"]["code"] for e in response.json().get("errors", [])] or ["ok"])
        except (ValueError, KeyError, TypeError):
            seen[f"{response.status_code} unreadable"] += 1
        if found:
            failures.append((role, document, found))
        assert not found, f"as {role}: {document}\n-> {response.status_code} {response.text[:500]}"

    probe()
    print(f"\nGraphQL fuzz: {sum(seen.values())} answers by status and code: {dict(sorted(seen.items()))}")
    assert not failures
    # the fuzzing reached the services through the resolvers (data, or a service's own refusal
    # of the arguments it drew: executed, answered 200), not only the checks before execution
    reached = {"200 ok", "200 NOT_FOUND", "200 BAD_USER_INPUT", "200 CONFLICT"}
    assert set(seen) & reached and any(not k.endswith(" ok") for k in seen), seen
