"""The gateway keeps valid query texts parsed (bench/RESULTS.md: a fifth of its CPU per
dashboard went to parsing and validating): a repeated query is served from the cache, and
a query that fails validation is refused every time, never cached as if it were valid."""
from gateway import engine


def test_a_repeated_valid_query_is_parsed_once():
    e = engine.Engine({})
    first = e.run({"query": "{ __typename }"}, context=None)
    again = e.run({"query": "{ __typename }"}, context=None)
    assert first.data == again.data == {"__typename": "Query"} and not again.errors
    info = e._valid_cached.cache_info()
    assert (info.hits, info.misses) == (1, 1)


def test_an_invalid_query_is_refused_every_time():
    e = engine.Engine({"GRAPHQL_MAX_DEPTH": 2})
    deep = "{ me { children { wallet { balanceFen } } } }"
    for _ in range(2):
        outcome = e.run({"query": deep}, context=None)
        assert outcome.status == 400 and outcome.data is None and outcome.errors
    unknown = e.run({"query": "{ noSuchField }"}, context=None)
    assert unknown.status == 400 and "noSuchField" in unknown.errors[0].message
    assert e._valid_cached.cache_info().currsize == 0


def test_long_queries_are_not_kept():
    e = engine.Engine({})
    long_query = "{ __typename " + " " * engine.CACHED_QUERY_CHARS + "}"
    assert e.run({"query": long_query}, context=None).data == {"__typename": "Query"}
    assert e._valid_cached.cache_info().currsize == 0
