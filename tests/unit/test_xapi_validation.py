"""The xAPI rules without a store or broker: statement validation per version (table-driven),
comparison, match keys, query ranges and cursors, ETags and preconditions, the progress a
statement reports."""
import base64
import copy
import hashlib
import json
import urllib.parse
from datetime import datetime, timezone

import pytest

from services.common import clock
from services.elearning.xapi import (activities, agents, alternate_syntax, attachments, clients, documents,
                                     progress_feed, queries, statements, timestamps, validation, values, versions)
from services.elearning.xapi.errors import XapiError
from services.elearning.xapi.versions import V1, V2

SID = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
REG = "ec531277-b57b-4c15-8d91-d292c5b2b8f7"


def statement(**changes):
    s = {"id": SID, "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@Example.com"},
         "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
         "object": {"objectType": "Activity", "id": "http://example.com/activities/a1",
                    "definition": {"name": {"en-US": "A one", "zh-CN": "一"}}},
         "timestamp": "2026-11-25T18:00:00.123+08:00"}
    for path, value in changes.items():
        target, *keys = path.split("__")
        parent = s
        for k in [target, *keys][:-1]:
            parent = parent.setdefault(k, {})
        last = [target, *keys][-1]
        if value is DELETE:
            parent.pop(last, None)
        else:
            parent[last] = value
    return s


DELETE = object()
GROUP = {"objectType": "Group", "member": [{"mbox": "mailto:b@example.com"}]}

VALID = [
    ("minimal", {"id": DELETE, "timestamp": DELETE, "object__objectType": DELETE}, V1),
    ("group actor", {"actor": GROUP}, V1),
    ("identified group", {"actor": {"objectType": "Group", "account": {"homePage": "https://x.org", "name": "g"}}}, V1),
    ("openid agent", {"actor": {"openid": "https://openid.example.org/ann"}}, V1),
    ("sha1 agent", {"actor": {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}}, V1),
    ("score", {"result": {"score": {"scaled": -1, "raw": 5, "min": 0, "max": 10}, "success": True,
                          "duration": "PT4H35M59.14S"}}, V1),
    ("single context activity", {"context": {"contextActivities": {"parent": {"id": "http://x.org/p"}}}}, V1),
    ("context agents in 2.0", {"context": {"contextAgents": [
        {"objectType": "contextAgent", "agent": {"mbox": "mailto:t@example.com"},
         "relevantTypes": ["https://example.com/teacher"]}]}}, V2),
    ("context groups in 2.0", {"context": {"contextGroups": [
        {"objectType": "contextGroup", "group": GROUP}]}}, V2),
    ("no time zone in 1.0.3", {"timestamp": "2026-11-25T10:00:00"}, V1),
    ("no seconds, comma fraction", {"timestamp": "2026-11-25T10:00Z"}, V2),
    ("comma fraction", {"timestamp": "2026-11-25T10:00:00,5+08:00"}, V2),
    ("substatement", {"object": {"objectType": "SubStatement", "actor": {"mbox": "mailto:a@example.com"},
                                 "verb": {"id": "http://example.com/visited"},
                                 "object": {"id": "http://example.com/website"}}}, V1),
    ("statement ref", {"object": {"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}}, V1),
    ("voiding", {"verb": {"id": validation.VOIDED}, "object": {"objectType": "StatementRef", "id": REG}}, V1),
    ("interaction", {"object__definition": {"interactionType": "choice", "correctResponsesPattern": ["a"],
                                            "choices": [{"id": "a", "description": {"en": "A"}}]}}, V1),
    ("extensions may hold null", {"result": {"extensions": {"https://x.org/e": None}}}, V1),
    ("version 1.0.0", {"version": "1.0.0"}, V1),
    ("version 2.0.0 in 2.0", {"version": "2.0.0"}, V2),
    ("fileUrl attachment", {"attachments": [{"usageType": "http://x.org/u", "display": {"en": "d"},
                                             "contentType": "text/plain", "length": 3, "sha2": "a" * 64,
                                             "fileUrl": "https://x.org/f"}]}, V1),
    ("attachment whose data comes as a part", {"attachments": [{"usageType": "http://x.org/u", "display": {"en": "d"},
                                                                "contentType": "text/plain", "length": 3,
                                                                "sha2": "a" * 64}]}, V2),
    ("stored and authority given (overwritten later)", {"stored": "2026-01-01T00:00:00Z",
                                                        "authority": {"mbox": "mailto:x@example.com"}}, V1),
]

INVALID = [
    ("not a uuid", {"id": "not-a-uuid"}, V1, "UUID"),
    ("no actor", {"actor": DELETE}, V1, "actor is required"),
    ("two identifiers", {"actor": {"mbox": "mailto:a@x.org", "openid": "https://x.org/a"}}, V1, "exactly one"),
    ("no identifier", {"actor": {"name": "nobody"}}, V1, "exactly one"),
    ("bad mbox", {"actor": {"mbox": "ann@example.com"}}, V1, "mailto"),
    ("account without name", {"actor": {"account": {"homePage": "https://x.org"}}}, V1, "homePage and name"),
    ("anonymous group without members", {"actor": {"objectType": "Group"}}, V1, "members"),
    ("group in a group", {"actor": {"objectType": "Group", "member": [GROUP]}}, V1, "not a Group"),
    ("verb without iri", {"verb": {"id": "experienced"}}, V1, "IRI"),
    ("no verb", {"verb": DELETE}, V1, "verb is required"),
    ("unknown top-level", {"extra": 1}, V1, "'extra' is not allowed"),
    ("wrong case key", {"Actor": {"mbox": "mailto:a@x.org"}}, V1, "not allowed"),
    ("null value", {"result": {"success": None}}, V1, "null"),
    ("string for boolean", {"result": {"success": "true"}}, V1, "true or false"),
    ("string for number", {"result": {"score": {"raw": "5"}}}, V1, "number"),
    ("scaled above 1", {"result": {"score": {"scaled": 1.5}}}, V1, "between -1 and 1"),
    ("raw above max", {"result": {"score": {"raw": 11, "min": 0, "max": 10}}}, V1, "between min and max"),
    ("min above max", {"result": {"score": {"min": 5, "max": 1}}}, V1, "less than max"),
    ("bad duration", {"result": {"duration": "4 hours"}}, V1, "duration"),
    ("bad timestamp", {"timestamp": "25/11/2026"}, V1, "ISO 8601"),
    ("no time zone in 2.0", {"timestamp": "2026-11-25T10:00:00"}, V2, "time zone"),
    ("negative zero offset", {"timestamp": "2026-11-25T10:00:00-00:00"}, V1, "negative zero"),
    ("revision with an agent object", {"object": {"objectType": "Agent", "mbox": "mailto:a@x.org"},
                                        "context": {"revision": "1"}}, V1, "only be used"),
    ("platform with a statement ref", {"object": {"objectType": "StatementRef", "id": REG},
                                        "context": {"platform": "web"}}, V1, "only be used"),
    ("team not a group", {"context": {"team": {"mbox": "mailto:a@x.org"}}}, V1, "Group"),
    ("bad registration", {"context": {"registration": "abc"}}, V1, "UUID"),
    ("bad context activity kind", {"context": {"contextActivities": {"sibling": []}}}, V1, "not allowed"),
    ("bad language", {"context": {"language": "english!"}}, V1, "RFC 5646"),
    ("bad language map key", {"verb__display": {"not a tag": "x"}}, V1, "RFC 5646"),
    ("context agents in 1.0.3", {"context": {"contextAgents": []}}, V1, "'contextAgents' is not allowed"),
    ("context agent of wrong type", {"context": {"contextAgents": [
        {"objectType": "Agent", "agent": {"mbox": "mailto:t@x.org"}}]}}, V2, "contextAgent"),
    ("context group holding an agent", {"context": {"contextGroups": [
        {"objectType": "contextGroup", "group": {"mbox": "mailto:t@x.org"}}]}}, V2, "Group"),
    ("empty relevant types", {"context": {"contextAgents": [
        {"objectType": "contextAgent", "agent": {"mbox": "mailto:t@x.org"}, "relevantTypes": []}]}}, V2, "non-empty"),
    ("voiding without a statement ref", {"verb": {"id": validation.VOIDED}}, V1, "StatementRef"),
    ("nested substatement", {"object": {"objectType": "SubStatement", "actor": {"mbox": "mailto:a@x.org"},
                                        "verb": {"id": "http://x.org/v"},
                                        "object": {"objectType": "SubStatement"}}}, V1, "cannot contain"),
    ("substatement with an id", {"object": {"objectType": "SubStatement", "id": SID,
                                            "actor": {"mbox": "mailto:a@x.org"}, "verb": {"id": "http://x.org/v"},
                                            "object": {"id": "http://x.org/o"}}}, V1, "'id' is not allowed"),
    ("unknown object type", {"object": {"objectType": "Thing", "id": "http://x.org"}}, V1, "objectType"),
    ("extension key not an iri", {"result": {"extensions": {"progress": 5}}}, V1, "IRI"),
    ("interaction without type", {"object__definition": {"correctResponsesPattern": ["a"]}}, V1, "interactionType"),
    ("components for the wrong type", {"object__definition": {"interactionType": "true-false",
                                                              "choices": [{"id": "a"}]}}, V1, "only for"),
    ("duplicate component ids", {"object__definition": {"interactionType": "choice",
                                                        "choices": [{"id": "a"}, {"id": "a"}]}}, V1, "distinct"),
    ("version 2.0 under 1.0.3", {"version": "2.0.0"}, V1, "1.0.x"),
    ("version 0.95", {"version": "0.95"}, V2, "version"),
    ("attachment sha2 not hex", {"attachments": [{"usageType": "http://x.org/u", "display": {"en": "d"},
                                                  "contentType": "text/plain", "length": 3,
                                                  "sha2": "z" * 64}]}, V1, "SHA-2"),
]


@pytest.mark.parametrize("name,changes,version", VALID, ids=[c[0] for c in VALID])
def test_valid_statements_are_taken(name, changes, version):
    checked = validation.validate_statement(statement(**changes), version)
    assert checked["actor"]


@pytest.mark.parametrize("name,changes,version,message", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_statements_are_refused_with_400(name, changes, version, message):
    with pytest.raises(XapiError) as err:
        validation.validate_statement(statement(**changes), version)
    assert err.value.status == 400
    assert message in err.value.message


def test_normalisation_uuid_case_timestamp_utc_and_context_arrays():
    s = validation.validate_statement(statement(id=SID.upper(), context={"contextActivities": {"parent": {"id": "http://x.org/p"}}}), V1)
    assert s["id"] == SID
    assert s["timestamp"] == "2026-11-25T10:00:00.123Z"
    assert s["context"]["contextActivities"]["parent"] == [{"id": "http://x.org/p"}]


@pytest.mark.parametrize("header,version", [("1.0.3", V1), ("1.0", V1), ("1.0.0", V1), ("2.0.0", V2), ("2.0", V2)])
def test_versions_are_negotiated(header, version):
    assert versions.negotiate_version(header) == version


@pytest.mark.parametrize("header", [None, "", "0.95", "1.1.0", "3.0.0", "latest"])
def test_missing_or_unknown_version_is_a_400(header):
    with pytest.raises(XapiError) as err:
        versions.negotiate_version(header)
    assert err.value.status == 400


def test_about_lists_both_versions():
    assert versions.about() == {"version": ["1.0.3", "2.0.0"]}


def test_batches_get_ids_and_refuse_a_repeated_id():
    body = json.dumps([statement(id=DELETE), statement(id=DELETE)]).encode()
    batch, single = validation.parse_statements(body, V1)
    assert not single and all(values.is_uuid(s["id"]) for s in batch) and batch[0]["id"] != batch[1]["id"]
    with pytest.raises(XapiError) as err:
        validation.parse_statements(json.dumps([statement(), statement()]).encode(), V1)
    assert err.value.status == 400 and "two statements" in err.value.message
    for body in (b"[]", b"{not json", b'"text"', b"[1]", b'{"a": NaN}'):
        with pytest.raises(XapiError):
            validation.parse_statements(body, V1)


def test_the_lrs_sets_stored_authority_version_and_a_missing_timestamp():
    stored = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=timezone.utc)
    received = validation.validate_statement(statement(timestamp=DELETE, stored="2000-01-01T00:00:00Z"), V2)
    s, assigned = statements.complete(received, version=V2, stored=stored, authority=clients.client_authority("player"))
    assert assigned and s["stored"] == s["timestamp"] == "2026-11-25T10:00:00.123Z"
    assert s["version"] == "2.0.0" and s["authority"]["account"]["name"] == "player"
    s1, _ = statements.complete(validation.validate_statement(statement(), V1), version=V1, stored=stored, authority={})
    assert s1["version"] == "1.0.0"


def test_comparison_ignores_what_the_lrs_may_change_and_nothing_else():
    stored, _ = statements.complete(validation.validate_statement(statement(), V1), version=V1,
                                    stored=clock.now(), authority=clients.client_authority("p"))
    same = statement(timestamp="2026-11-25T10:00:00.123Z", verb={"id": "http://adlnet.gov/expapi/verbs/experienced"})
    same["actor"]["mbox"] = "mailto:ann@example.COM"
    same["object"]["definition"] = {"name": {"fr": "autre"}}
    assert statements.same_statement(stored, False, validation.validate_statement(same, V1))
    for different in (statement(result={"success": True}), statement(timestamp="2026-11-25T10:00:01Z"),
                      statement(actor={"mbox": "mailto:Ann@example.com"})):
        assert not statements.same_statement(stored, False, validation.validate_statement(different, V1))
    # a statement sent without a timestamp matches whatever the LRS assigned
    assert statements.same_statement(stored, False, validation.validate_statement(statement(timestamp=DELETE), V1))


def test_match_keys_cover_agents_members_verbs_activities_and_registration():
    s = validation.validate_statement(statement(
        actor={"objectType": "Group", "mbox": "mailto:team@x.org", "member": [{"mbox": "mailto:m@x.org"}]},
        context={"registration": REG, "instructor": {"mbox": "mailto:teacher@x.org"},
                 "contextActivities": {"grouping": [{"id": "http://x.org/course"}]}}), V1)
    keys = statements.match_keys(s)
    d = agents.digest
    assert f"a:{d('mbox=mailto:team@x.org')}" in keys and f"a:{d('mbox=mailto:m@x.org')}" in keys
    assert f"a:{d('mbox=mailto:teacher@x.org')}" not in keys
    assert f"ra:{d('mbox=mailto:teacher@x.org')}" in keys
    assert f"o:{d('http://example.com/activities/a1')}" in keys and f"o:{d('http://x.org/course')}" not in keys
    assert f"ro:{d('http://x.org/course')}" in keys
    assert f"v:{d('http://adlnet.gov/expapi/verbs/experienced')}" in keys and f"r:{d(REG)}" in keys
    assert statements.inherited(keys) == keys


def test_query_parameters_are_checked():
    q = queries.parse_query({"agent": json.dumps({"mbox": "mailto:ann@EXAMPLE.com"}), "verb": "http://x.org/v",
                             "limit": "0", "ascending": "true"}, V1)
    assert q.limit == queries.MAX_LIMIT and q.ascending
    assert q.drive() == f"a:{agents.digest('mbox=mailto:ann@example.com')}"   # the agent drives, the verb filters
    for params in ({"agent": "{}"}, {"agent": "not json"}, {"verb": "v"}, {"limit": "-1"}, {"ascending": "yes"},
                   {"format": "full"}, {"since": "yesterday"}, {"Verb": "http://x.org/v"}, {"registration": "1"}):
        with pytest.raises(XapiError) as err:
            queries.parse_query(params, V1)
        assert err.value.status == 400


def test_key_range_since_exclusive_until_inclusive_and_after_the_cursor():
    q = queries.parse_query({"since": "2026-01-01T00:00:00.000Z", "until": "2026-01-02T00:00:00.000Z"}, V2)
    assert queries.key_range("s|", q) == {"$gte": "s|2026-01-01T00:00:00.001000Z",
                                          "$lt": "s|2026-01-02T00:00:00.001000Z"}
    after = "2026-01-01T12:00:00.000000Z|" + SID
    desc = queries.key_range("s|", queries.Query(after=after))
    assert desc == {"$gt": "s|", "$lt": "s|" + after}
    asc = queries.key_range("v:ab|", queries.Query(after=after, ascending=True))
    assert asc == {"$gt": "v:ab|" + after, "$lt": "v:ab|~"}


def test_cursors_round_trip_and_refuse_forgeries():
    q = queries.parse_query({"verb": "http://x.org/v", "limit": "2"}, V1)
    after = "2026-01-01T12:00:00.000000Z|" + SID
    link = queries.more_link(q, after)
    again = queries.decode_cursor(link.split("more=", 1)[1], V1)
    assert again.required == q.required and again.limit == 2 and again.after == after
    forged = base64.urlsafe_b64encode(json.dumps({"p": {"verb": "http://x.org/v"}, "after": "s|x"}).encode()).decode()
    for cursor in ("nonsense", forged):
        with pytest.raises(XapiError):
            queries.decode_cursor(cursor, V1)


def test_ids_and_canonical_formats():
    s = validation.validate_statement(statement(), V1)
    ids = queries.render(s, "ids")
    assert ids["actor"] == {"objectType": "Agent", "mbox": "mailto:ann@Example.com"}
    assert ids["verb"] == {"id": "http://adlnet.gov/expapi/verbs/experienced"}
    assert ids["object"] == {"id": "http://example.com/activities/a1"}        # an Activity's objectType left out
    canonical = queries.render(s, "canonical", queries.accepted_languages("zh-CN,zh;q=0.9,en;q=0.5"))
    assert canonical["object"]["definition"]["name"] == {"zh-CN": "一"}
    assert queries.render(s, "exact") == s


def test_etag_and_preconditions():
    tag = documents.etag(b'{"a":1}')
    assert tag.startswith('"') and tag.endswith('"') and len(tag) == 42
    assert documents.precondition_holds(None, None, tag) and documents.precondition_holds(None, None, None)
    assert documents.precondition_holds(tag, None, tag) and not documents.precondition_holds('"other"', None, tag)
    assert not documents.precondition_holds(tag, None, None) and documents.precondition_holds("*", None, tag)
    assert not documents.precondition_holds("*", None, None)
    assert not documents.precondition_holds(None, "*", tag) and documents.precondition_holds(None, "*", None)
    assert documents.precondition_holds(tag.strip('"'), None, tag)       # an unquoted ETag is read as the same
    write = documents.write_precondition
    for resource in documents.RESOURCES:
        for version in (V1, V2):
            with pytest.raises(XapiError) as err:
                write(resource, version, "PUT", '"stale"', None, tag)
            assert err.value.status == 412
            write(resource, version, "PUT", tag, None, tag)
            write(resource, version, "POST", None, None, tag)             # a merge needs no header
            write(resource, version, "DELETE", None, None, tag)
    write(documents.STATE, V1, "PUT", None, None, tag)                  # 1.0.3 exempts State: replaced
    write(documents.STATE, V1, "PUT", None, None, None)
    write(documents.STATE, V2, "PUT", None, None, None)                 # a new document: stored
    for resource, version, current, status in ((documents.STATE, V2, tag, 409),
                                               (documents.ACTIVITY_PROFILE, V1, tag, 409),
                                               (documents.AGENT_PROFILE, V2, tag, 409),
                                               (documents.AGENT_PROFILE, V1, None, 400)):
        with pytest.raises(XapiError) as err:
            write(resource, version, "PUT", None, None, current)
        assert err.value.status == status
    write(documents.ACTIVITY_PROFILE, V2, "PUT", None, None, None)


def test_json_documents_merge_their_top_level_properties():
    merged = documents.merge_json(b'{"x":"foo","y":"bar"}', "application/json", b'{"x":"bash","z":"faz"}',
                                  "application/json; charset=utf-8")
    assert json.loads(merged) == {"x": "bash", "y": "bar", "z": "faz"}
    for args in ((b'{"a":1}', "text/plain", b'{"b":2}', "application/json"),
                 (b'{"a":1}', "application/json", b'[1]', "application/json"),
                 (b'{"a":1}', "application/json", b'{"b":2}', "text/plain")):
        with pytest.raises(XapiError) as err:
            documents.merge_json(*args)
        assert err.value.status == 400


def test_document_parameters():
    agent = json.dumps({"mbox": "mailto:ann@example.com"})
    parse = documents.parse_document_params
    scope = parse(documents.STATE, {"activityId": "http://x.org/a", "agent": agent, "stateId": "bookmark"}, V1,
                  method="PUT")
    same_other_case = parse(documents.STATE, {"activityId": "http://x.org/a", "stateId": "bookmark",
                                              "agent": json.dumps({"mbox": "mailto:ann@EXAMPLE.com"})}, V1, method="GET")
    assert scope.key == same_other_case.key and scope.context_key == same_other_case.context_key
    with_registration = parse(documents.STATE, {"activityId": "http://x.org/a", "agent": agent, "stateId": "bookmark",
                                                "registration": REG}, V1, method="GET")
    assert with_registration.key != scope.key
    # the three resources never share a key, even for the same activity, agent and id
    activity_profile = parse(documents.ACTIVITY_PROFILE, {"activityId": "http://x.org/a", "profileId": "bookmark"}, V1,
                             method="GET")
    agent_profile = parse(documents.AGENT_PROFILE, {"agent": agent, "profileId": "bookmark"}, V1, method="GET")
    assert len({scope.key, activity_profile.key, agent_profile.key}) == 3
    assert len({scope.context_key, activity_profile.context_key, agent_profile.context_key}) == 3
    for resource, params, method in (
            (documents.ACTIVITY_PROFILE, {"profileId": "p"}, "GET"),
            (documents.ACTIVITY_PROFILE, {"activityId": "http://x.org/a"}, "DELETE"),
            (documents.ACTIVITY_PROFILE, {"activityId": "http://x.org/a", "agent": agent, "profileId": "p"}, "GET"),
            (documents.AGENT_PROFILE, {"agent": agent}, "PUT"),
            (documents.AGENT_PROFILE, {"agent": json.dumps(GROUP), "profileId": "p"}, "GET"),
            (documents.AGENT_PROFILE, {"agent": agent, "profileId": "p", "since": "2026-01-01T00:00:00Z"}, "GET")):
        with pytest.raises(XapiError) as err:
            parse(resource, params, V2, method=method)
        assert err.value.status == 400
    for params, method in (({"agent": agent, "stateId": "s"}, "GET"),
                           ({"activityId": "http://x.org/a", "agent": agent}, "PUT"),
                           ({"activityId": "x", "agent": agent, "stateId": "s"}, "GET"),
                           ({"activityId": "http://x.org/a", "agent": json.dumps(GROUP), "stateId": "s"}, "GET"),
                           ({"activityId": "http://x.org/a", "agent": agent, "stateId": "s", "since": "2026-01-01T00:00:00Z"}, "GET"),
                           ({"activityId": "http://x.org/a", "agent": agent, "other": "1"}, "GET")):
        with pytest.raises(XapiError) as err:
            parse(documents.STATE, params, V1, method=method)
        assert err.value.status == 400


def resident_statement(verb, **result):
    s = statement(actor=progress_feed.resident_agent("r-1"), verb={"id": verb},
                  object={"id": progress_feed.lesson_activity_id("c-1", "l1")})
    if result:
        s["result"] = result
    return validation.validate_statement(s, V2)


def test_progress_report_of_a_resident_on_a_suite_lesson():
    report = progress_feed.progress_report(resident_statement(
        "http://adlnet.gov/expapi/verbs/progressed",
        extensions={progress_feed.EXT_PROGRESS: 42.6, progress_feed.EXT_TIME: 301.9}))
    assert report == {"resident_id": "r-1", "course_id": "c-1", "lesson_id": "l1", "percent": 43, "position": 301,
                      "completed": False, "at": datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=timezone.utc)}
    scaled = progress_feed.progress_report(resident_statement("http://adlnet.gov/expapi/verbs/progressed",
                                                              score={"scaled": 0.5}))
    assert scaled["percent"] == 50
    for verb in ("http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/passed"):
        assert progress_feed.progress_report(resident_statement(verb))["completed"] is True


def test_statements_about_anything_else_report_no_progress():
    assert progress_feed.progress_report(resident_statement("http://adlnet.gov/expapi/verbs/experienced")) is None
    other = copy.deepcopy(resident_statement("http://adlnet.gov/expapi/verbs/completed"))
    other["object"]["id"] = "https://suite.local/courses/c-1"
    assert progress_feed.progress_report(other) is None
    stranger = copy.deepcopy(resident_statement("http://adlnet.gov/expapi/verbs/completed"))
    stranger["actor"] = {"account": {"homePage": "https://elsewhere.example", "name": "r-1"}}
    assert progress_feed.progress_report(stranger) is None
    assert progress_feed.progress_report(validation.validate_statement(statement(), V1)) is None


def test_basic_credentials():
    creds = clients.new_credentials("player-1")
    header = "Basic " + base64.b64encode(creds.encode()).decode()
    assert clients.basic_credentials(header) == creds
    assert clients.credentials_match(creds, clients.hash_credentials(creds))
    assert not clients.credentials_match(creds + "x", clients.hash_credentials(creds))
    assert not clients.credentials_match(creds, None)
    for bad_header in (None, "", "Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        with pytest.raises(XapiError) as err:
            clients.basic_credentials(bad_header)
        assert err.value.status == 401 and "WWW-Authenticate" in err.value.headers
    with pytest.raises(ValueError):
        clients.new_credentials("bad:name")


# ---- attachment data (multipart/mixed) ---------------------------------------------------------------

DATA = b"\x89PNG\r\n\x1a\n\x00\xff binary,\r\n--not-a-boundary\r\n"
SHA = hashlib.sha256(DATA).hexdigest()


def with_attachment(sha2=SHA, **extra):
    return statement(id="fd41c918-b88b-4b20-a0a5-a4c32391aaa0", attachments=[{
        "usageType": "http://id.tincanapi.com/attachment/certificate", "display": {"en-US": "certificate"},
        "contentType": "image/png", "length": len(DATA), "sha2": sha2, **extra}])


def multipart(parts, boundary="b0und4ry'()+_,-./:=?"):
    body = b""
    for headers, data in parts:
        body += f"--{boundary}\r\n".encode() + "".join(f"{k}:{v}\r\n" for k, v in headers.items()).encode() \
            + b"\r\n" + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), boundary


def statements_part(*statements):
    return {"Content-Type": "application/json"}, json.dumps(list(statements)).encode()


def data_part(data=DATA, sha2=SHA, **headers):
    return {"Content-Type": "image/png", "Content-Transfer-Encoding": "binary", "X-Experience-API-Hash": sha2,
            **headers}, data


def test_multipart_statements_and_their_attachment_data_are_read_octet_for_octet():
    body, boundary = multipart([statements_part(with_attachment()), data_part(), data_part()])
    statements, received = attachments.read_multipart(b"preamble\r\n" + body, boundary, 10_000)
    assert json.loads(statements)[0]["attachments"][0]["sha2"] == SHA
    assert list(received) == [SHA] and received[SHA].data == DATA and received[SHA].content_type == "image/png"
    parsed = [validation.validate_statement(s, V1) for s in json.loads(statements)]
    attachments.check_attachment_data(parsed, received)            # every attachment has its data


@pytest.mark.parametrize("parts,message", [
    ([data_part()], "first part"),
    ([statements_part(with_attachment()), data_part(sha2="")], "X-Experience-API-Hash"),
    ([statements_part(with_attachment()), data_part(sha2="ab" * 10)], "SHA-224"),
    ([statements_part(with_attachment()), data_part(data=DATA + b"!")], "does not have the SHA-2"),
    ([statements_part(with_attachment()), data_part(**{"Content-Transfer-Encoding": "base64"})], "binary"),
])
def test_bad_multipart_parts_are_refused(parts, message):
    body, boundary = multipart(parts)
    with pytest.raises(XapiError) as err:
        attachments.read_multipart(body, boundary, 10_000)
    assert err.value.status == 400 and message in err.value.message


def test_malformed_multipart_bodies_and_a_large_statements_part_are_refused():
    body, boundary = multipart([statements_part(with_attachment())])
    for broken in (body[:-12], b"no boundary here", body.replace(b"\r\n\r\n", b"\r\n", 1)):
        with pytest.raises(XapiError) as err:
            attachments.read_multipart(broken, boundary, 10_000)
        assert err.value.status == 400
    with pytest.raises(XapiError) as err:
        attachments.read_multipart(body, boundary, 10)
    assert err.value.status == 413


def test_attachment_data_must_match_the_statements_by_hash():
    needs_data = validation.validate_statement(with_attachment(), V1)
    by_url = validation.validate_statement(with_attachment(fileUrl="https://x.org/cert.png"), V1)
    part = {SHA: attachments.AttachmentData(SHA, "image/png", DATA)}
    attachments.check_attachment_data([by_url], {})                  # a fileUrl needs no data
    attachments.check_attachment_data([by_url], part)                # but may come with it
    for batch, received, message in (([needs_data], {}, "multipart/mixed"),
                                     ([needs_data], {"ab" * 32: part[SHA]}, "no part carries"),
                                     ([statement()], part, "data of no attachment")):
        with pytest.raises(XapiError) as err:
            attachments.check_attachment_data(batch, received)
        assert err.value.status == 400 and message in err.value.message


# ---- the alternate request syntax ------------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"


def test_an_alternate_request_is_unpacked_into_method_params_headers_and_content():
    content = json.dumps(statement())
    form = urllib.parse.urlencode({"statementId": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0", "content": content,
                                   "Authorization": "Basic eDp5", "x-experience-api-version": "1.0.3"}).encode()
    alt = alternate_syntax.unpack_alternate({"method": ["put"]}, FORM + "; charset=UTF-8", form)
    assert alt.method == "PUT" and alt.params == {"statementId": ["fd41c918-b88b-4b20-a0a5-a4c32391aaa0"]}
    assert alt.headers == {"Authorization": "Basic eDp5", "X-Experience-API-Version": "1.0.3",
                           "Content-Type": "application/json"}
    assert alt.content == content.encode("utf-8")
    query = alternate_syntax.unpack_alternate({"method": ["GET"]}, FORM, b"agent=%7B%7D&limit=5")
    assert (query.method, query.params, query.content) == ("GET", {"agent": ["{}"], "limit": ["5"]}, None)


@pytest.mark.parametrize("query,content_type,form,message", [
    ({"method": ["PUT"], "statementId": ["x"]}, FORM, b"content=%7B%7D", "alone"),
    ({"method": ["PATCH"]}, FORM, b"", "method must be"),
    ({"method": ["PUT"]}, "application/json", b"{}", "x-www-form-urlencoded"),
    ({"method": ["PUT"]}, FORM, b"content=\xff", "UTF-8"),
    ({"method": ["PUT"]}, FORM, b"content=a&content=b", "2 times"),
    ({"method": ["PUT"]}, FORM, b"content=x&Content-Type=multipart%2Fmixed%3B+boundary%3Db", "attachment data"),
])
def test_bad_alternate_requests_are_refused(query, content_type, form, message):
    with pytest.raises(XapiError) as err:
        alternate_syntax.unpack_alternate(query, content_type, form)
    assert err.value.status == 400 and message in err.value.message


def test_the_alternate_syntax_is_xapi_1_0_3_only():
    alternate_syntax.check_alternate_allowed(V1)
    with pytest.raises(XapiError) as err:
        alternate_syntax.check_alternate_allowed(V2)
    assert err.value.status == 400 and "2.0.0" in err.value.message


def test_a_timestamp_that_leaves_the_calendar_in_utc_is_refused_not_an_internal_error():
    for edge in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"):
        with pytest.raises(XapiError, match="outside the calendar"):
            timestamps.parse_timestamp(edge, versions.V2)
    assert timestamps.parse_timestamp("9999-12-31T23:59:59Z", versions.V2).year == 9999


def test_activity_definitions_merge_language_maps_and_take_the_latest_of_the_rest():
    first = {"name": {"en-US": "Fractions"}, "type": "http://x.org/lesson", "extensions": {"http://x.org/a": 1}}
    later = {"name": {"zh-CN": "分数", "en-US": "Fractions 2"}, "type": "http://x.org/module",
             "extensions": {"http://x.org/b": 2}}
    assert activities.merge_definition(first, later) == {
        "name": {"en-US": "Fractions 2", "zh-CN": "分数"}, "type": "http://x.org/module",
        "extensions": {"http://x.org/a": 1, "http://x.org/b": 2}}
    assert activities.merge_definition(None, later) == later and activities.activity_object("http://x.org/z", None) \
        == {"objectType": "Activity", "id": "http://x.org/z"}


def test_durations_compare_to_the_hundredth_of_a_second():
    same = statements.comparable_duration
    assert same("P1DT12H36M0.1237S") == same("P1DT12H36M0.12S")
    assert same("PT5S") == same("PT5.0S") != same("PT5.01S")
    assert same("P1D") == "P1D"


@pytest.mark.parametrize("raw", [b"[" * 65 + b"]" * 65, b'{"a":' * 65 + b"1" + b"}" * 65, b"[" * 100_000 + b"]" * 100_000])
def test_json_deeper_than_the_limit_is_refused(raw):
    with pytest.raises(XapiError) as err:
        values.parse_json(raw, "the body")
    assert err.value.status == 400 and "nested" in err.value.message
    assert values.parse_json(b"[" * 64 + b"]" * 64, "the body")
