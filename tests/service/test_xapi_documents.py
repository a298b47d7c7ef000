"""The LRS's Agent Profile, Activity Profile, Agents and Activities resources over real HTTP
with the real store and broker: profile documents with each version's concurrency rules,
JSON merge, id lists with since, deletes; the Person an Agents GET answers; the activity
definitions statements carry, merged; the version a refusal claims when a request names
none; State documents an earlier version kept, moved."""
import json
import uuid
from datetime import timedelta

import pytest

from services.common import clock
from services.common.storage import MIGRATIONS
from services.elearning.xapi import activity_store, document_store, documents
from support.lrs import agent, statement
from support.lrs import container, lrs  # noqa: F401 - the fixtures

ACTIVITY = "http://example.com/activities/course-1"


def profile(lrs, method, resource, *, profile_id="prefs", body=None, headers=None, version=..., since=None,
            who=None, activity=ACTIVITY, content_type="application/json"):
    params = {"agent": json.dumps(who)} if resource == "agents/profile" else {"activityId": activity}
    if profile_id is not None:
        params["profileId"] = profile_id
    if since:
        params["since"] = since
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = content_type
    return lrs.request(method, resource, params=params, data=body, headers=h, version=version)


@pytest.mark.parametrize("resource", ["agents/profile", "activities/profile"])
def test_profile_documents_with_each_versions_concurrency_rules(lrs, resource):
    me = agent()
    activity = f"http://example.com/activities/{uuid.uuid4().hex[:8]}"

    def doc(method, **kw):
        return profile(lrs, method, resource, who=me, activity=activity, **kw)

    assert doc("GET").status_code == 404
    # a new document: 1.0.3 asks for If-None-Match: * (400 without), 2.0.0 stores it
    refused = doc("PUT", body=b'{"a":1}', version="1.0.3")
    assert refused.status_code == 400 and "If-None-Match" in refused.json()["error"]["message"]
    assert doc("GET").status_code == 404
    first = doc("PUT", body=b'{"a":1}', headers={"If-None-Match": "*"}, version="1.0.3")
    assert first.status_code == 204
    got = doc("GET")
    assert got.status_code == 200 and got.json() == {"a": 1} and got.headers["ETag"] == first.headers["ETag"]
    assert got.headers["ETag"].startswith('"') and got.headers["Last-Modified"]
    head = doc("HEAD")
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == got.headers["ETag"]

    # over an existing document: 409 without either header (both versions), 412 on a stale tag
    for version in ("1.0.3", "2.0.0"):
        conflict = doc("PUT", body=b'{"b":2}', version=version)
        assert conflict.status_code == 409 and conflict.json()["error"]["message"]
    assert doc("PUT", body=b'{"b":2}', headers={"If-None-Match": "*"}).status_code == 412
    assert doc("PUT", body=b'{"b":2}', headers={"If-Match": '"stale"'}).status_code == 412
    assert doc("GET").json() == {"a": 1}                                   # nothing changed
    assert doc("PUT", body=b'{"b":2}', headers={"If-Match": got.headers["ETag"]}).status_code == 204
    assert doc("GET").json() == {"b": 2}

    # POST merges JSON objects without a header; a text document is replaced only
    assert doc("POST", body=b'{"c":3,"b":"two"}').status_code == 204
    assert doc("GET").json() == {"b": "two", "c": 3}
    assert doc("POST", body=b"[1]").status_code == 400
    assert doc("PUT", profile_id="notes", body="笔记".encode(), content_type="text/plain; charset=utf-8",
               version="2.0.0").status_code == 204
    assert doc("POST", profile_id="notes", body=b'{"a":1}').status_code == 400
    notes = doc("GET", profile_id="notes")
    assert notes.content.decode() == "笔记" and notes.headers["Content-Type"].startswith("text/plain")

    # ids, since; deletes by id only
    assert sorted(doc("GET", profile_id=None).json()) == ["notes", "prefs"]
    future = (clock.now() + timedelta(hours=1)).isoformat()
    assert doc("GET", profile_id=None, since=future).json() == []
    assert doc("GET", profile_id=None, since="yesterday").status_code == 400
    assert doc("DELETE", profile_id=None).status_code == 400               # a profile DELETE names its document
    current = doc("GET").headers["ETag"]
    assert doc("DELETE", headers={"If-Match": '"stale"'}).status_code == 412
    assert doc("DELETE", headers={"If-Match": current}).status_code == 204
    assert doc("DELETE", profile_id="notes").status_code == 204
    assert doc("GET", profile_id=None).json() == []

    # refusals
    assert doc("GET", version=None).status_code == 400
    missing_scope = lrs.request("GET", resource, params={"profileId": "prefs"})
    assert missing_scope.status_code == 400
    assert profile(lrs, "PUT", resource, who=me, activity=activity, profile_id=None, body=b"{}").status_code == 400


def test_a_profile_belongs_to_its_activity_or_agent_and_never_to_a_state(lrs):
    me, other = agent(), agent()
    assert profile(lrs, "PUT", "agents/profile", who=me, body=b'{"mine":1}', version="2.0.0").status_code == 204
    assert profile(lrs, "GET", "agents/profile", who=other).status_code == 404
    assert profile(lrs, "GET", "activities/profile", activity=ACTIVITY + "/x").status_code == 404
    state = lrs.request("GET", "activities/state",
                        params={"activityId": ACTIVITY, "agent": json.dumps(me), "stateId": "prefs"})
    assert state.status_code == 404
    group = {"objectType": "Group", "mbox": "mailto:team@example.com"}
    assert profile(lrs, "GET", "agents/profile", who=group).status_code == 400   # an Agent's profile


def test_agents_answers_a_person_and_activities_the_merged_definition(lrs):
    me = dict(agent(), name="安 Ann")
    person = lrs.request("GET", "agents", params={"agent": json.dumps(me)})
    assert person.status_code == 200
    assert person.json() == {"objectType": "Person", "name": [me["name"]], "mbox": [me["mbox"]]}
    assert lrs.request("HEAD", "agents", params={"agent": json.dumps(me)}).status_code == 200
    assert lrs.request("GET", "agents").status_code == 400
    assert lrs.request("GET", "agents", params={"agent": '{"name":"no identifier"}'}).status_code == 400
    assert lrs.request("GET", "agents", params={"agent": json.dumps(me), "x": "1"}).status_code == 400
    assert lrs.request("GET", "agents", params={"agent": json.dumps(me)}, auth=None).status_code == 401

    activity = f"http://example.com/activities/{uuid.uuid4().hex[:8]}"
    unknown = lrs.request("GET", "activities", params={"activityId": activity})
    assert unknown.status_code == 200 and unknown.json() == {"objectType": "Activity", "id": activity}
    english = {"name": {"en-US": "Fractions"}, "type": "http://adlnet.gov/expapi/activities/lesson"}
    chinese = {"name": {"zh-CN": "分数"}, "description": {"zh-CN": "第一课"},
               "type": "http://adlnet.gov/expapi/activities/module"}
    assert lrs.post(statement(me, activity=activity) | {"object": {"id": activity, "definition": english}}) \
        .status_code == 200
    parent = {"id": activity, "definition": chinese}                       # as a context activity
    assert lrs.post(statement(me, context={"contextActivities": {"parent": [parent]}})).status_code == 200
    known = lrs.request("GET", "activities", params={"activityId": activity}).json()
    assert known["definition"] == {"name": {"en-US": "Fractions", "zh-CN": "分数"}, "description": {"zh-CN": "第一课"},
                                   "type": "http://adlnet.gov/expapi/activities/module"}   # the later type
    assert lrs.request("GET", "activities").status_code == 400
    assert lrs.request("GET", "activities", params={"activityId": "not an iri"}).status_code == 400
    assert lrs.request("PUT", "activities", params={"activityId": activity}).status_code == 405


def test_a_refusal_of_a_request_naming_no_version_claims_the_one_its_client_speaks(lrs):
    for version in ("2.0.0", "1.0.3", "2.0.0"):
        assert lrs.get(version=version).status_code == 200
        refused = lrs.get(version=None)
        assert refused.status_code == 400 and refused.headers["X-Experience-API-Version"] == version
    stranger = lrs.request("GET", "statements", version=None, auth=("nobody", "x"))
    assert stranger.status_code == 400 and stranger.headers["X-Experience-API-Version"] == "2.0.0"


def test_state_documents_an_earlier_version_kept_are_moved(lrs, db):
    me = agent()
    params = {"activityId": ACTIVITY, "agent": json.dumps(me), "stateId": "bookmark"}
    assert lrs.request("PUT", "activities/state", params=params, data=b'{"slide":4}',
                       headers={"Content-Type": "application/json"}).status_code == 204
    store = db("elearning")
    key = documents.parse_document_params(documents.STATE, params, "1.0.3", method="GET").key
    kept = store[document_store.DOCUMENTS].find_one({"_id": key})
    # as the earlier version kept it: in xapi_state, its id as state_id
    old = {k: v for k, v in kept.items() if k not in ("doc_id", "resource")} | {"state_id": "bookmark"}
    store[document_store.DOCUMENTS].delete_one({"_id": kept["_id"]})
    store[document_store.OLD_STATE].insert_one(old)
    assert lrs.request("GET", "activities/state", params=params).status_code == 404
    assert document_store.move_old_state(store) >= 1
    moved = lrs.request("GET", "activities/state", params=params)
    assert moved.status_code == 200 and moved.json() == {"slide": 4}
    assert store[document_store.OLD_STATE].find_one({"_id": kept["_id"]}) is None


def test_definitions_of_statements_stored_before_the_lrs_kept_them_are_built_once(lrs, db):
    me = agent()
    activity = f"http://example.com/activities/{uuid.uuid4().hex[:8]}"
    definition = {"name": {"zh-CN": "旧课"}}
    assert lrs.post(statement(me, activity=activity) | {"object": {"id": activity, "definition": definition}}) \
        .status_code == 200
    store = db("elearning")
    store[activity_store.ACTIVITIES].delete_many({})                     # as before this version
    store[MIGRATIONS].delete_one({"_id": "xapi_activity_definitions"})
    assert lrs.request("GET", "activities", params={"activityId": activity}).json().get("definition") is None
    assert activity_store.build_definitions(store) >= 1
    assert lrs.request("GET", "activities", params={"activityId": activity}).json()["definition"] == definition
    assert activity_store.build_definitions(store) is None               # once
