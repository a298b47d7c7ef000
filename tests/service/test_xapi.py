"""The xAPI Learning Record Store on the elearning service's HTTP port, over real HTTP with the
real store and broker: statements (POST, PUT, GET, queries with more links, voiding), both
xAPI versions, the specification's error codes, attachment data, the alternate request
syntax, and the CLI that makes clients. State documents: ``test_xapi_state``; the progress
feed: ``test_xapi_progress_feed``."""
import base64
import hashlib
import json
import uuid

import pytest
import requests

from infra import xapi_clients
from infra.cli import main as cli
from services.elearning.xapi import attachments, timestamps, values, versions
from support.lrs import EXPERIENCED, Lrs, agent, state, statement
from support.lrs import container, lrs  # noqa: F401 - the fixtures

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
ANSWERED = "http://adlnet.gov/expapi/verbs/answered"


# ---- about, versions, auth ------------------------------------------------------------------------------

def test_about_needs_no_credentials_and_lists_both_versions(lrs):
    r = lrs.request("GET", "about", auth=None, version=None)
    assert r.status_code == 200 and r.json() == {"version": ["1.0.3", "2.0.0"]}
    assert r.headers["X-Experience-API-Version"] == "2.0.0"
    assert lrs.request("GET", "about", auth=None, version="1.0.3").headers["X-Experience-API-Version"] == "1.0.3"
    preflight = requests.options(f"{lrs.base}/xapi/statements", timeout=10,
                                 headers={"Origin": "https://player.example", "Access-Control-Request-Method": "PUT"})
    assert preflight.status_code == 204 and "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    elsewhere = lrs.request("GET", "agents/groups")
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["code"] == 404
    assert elsewhere.headers["X-Experience-API-Version"] == "1.0.3"
    wrong_method = lrs.request("DELETE", "statements")
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["Allow"]


def test_version_header_is_required_and_answered(lrs):
    r = lrs.get(version=None)
    assert r.status_code == 400 and "X-Experience-API-Version" in r.json()["error"]["message"]
    assert lrs.get(version="0.95").status_code == 400
    for sent, answered in (("1.0.3", "1.0.3"), ("1.0", "1.0.3"), ("2.0.0", "2.0.0")):
        r = lrs.get(version=sent)
        assert r.status_code == 200 and r.headers["X-Experience-API-Version"] == answered
        assert timestamps.parse_timestamp(r.headers["X-Experience-API-Consistent-Through"], versions.V2)


def test_credentials_401_and_read_only_403(lrs, rpc):
    r = lrs.request("GET", "statements", auth=None)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    assert lrs.request("GET", "statements", auth=(lrs.auth[0], "wrong")).status_code == 401
    assert lrs.request("GET", "statements", auth=("nobody", "x")).status_code == 401
    reader = Lrs(lrs.base, xapi_clients.add_client(rpc, f"reader-{uuid.uuid4().hex[:8]}", read_only=True))
    assert reader.get().status_code == 200
    r = reader.post(statement(agent()))
    assert r.status_code == 403
    assert reader.request("PUT", "activities/state", data=b"x", params={
        "activityId": "http://x.org/a", "agent": json.dumps(agent()), "stateId": "s"}).status_code == 403


# ---- statements ---------------------------------------------------------------------------------------

def test_post_put_and_get_statements(lrs):
    me = agent()
    one = statement(me)
    r = lrs.post(one)
    assert r.status_code == 200 and r.json() == [one["id"]]
    assert "X-Experience-API-Consistent-Through" in r.headers
    batch = [statement(me, verb=ANSWERED), {k: v for k, v in statement(me).items() if k != "id"}]
    ids = lrs.post(batch).json()
    assert ids[0] == batch[0]["id"] and values.is_uuid(ids[1]) and len(ids) == 2

    got = lrs.get(statementId=one["id"])
    assert got.status_code == 200 and got.headers["Last-Modified"]
    body = got.json()
    assert body["id"] == one["id"] and body["actor"] == me and body["version"] == "1.0.0"
    assert body["authority"]["account"]["name"] == lrs.auth[0]
    assert body["timestamp"] == body["stored"] and body["stored"].endswith("Z")
    assert lrs.get(statementId=one["id"].upper()).json()["id"] == one["id"]
    ids = lrs.get(statementId=one["id"], format="ids").json()
    assert ids["verb"] == {"id": EXPERIENCED} and ids["object"] == {"id": one["object"]["id"]}   # no objectType

    put = statement(me)
    sid = put.pop("id")
    assert lrs.put(put, sid).status_code == 204
    assert lrs.put(put, sid).status_code == 204                      # the same statement again: fine
    changed = dict(put, result={"success": True})
    assert lrs.put(changed, sid).status_code == 409                  # immutable
    assert lrs.post(dict(changed, id=sid)).status_code == 409
    assert "result" not in lrs.get(statementId=sid).json()
    # a batch with a conflict stores nothing of itself
    fresh = statement(me)
    assert lrs.post([fresh, dict(changed, id=sid)]).status_code == 409
    assert lrs.get(statementId=fresh["id"]).status_code == 404
    # attachments=true answers multipart/mixed with the JSON part
    r = lrs.get(statementId=one["id"], attachments="true")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("multipart/mixed")
    assert one["id"] in r.text


def test_queries_by_agent_verb_activity_registration_and_time_with_more_links(lrs):
    me, other = agent(), agent()
    registration = str(uuid.uuid4())
    course = f"http://example.com/courses/{uuid.uuid4().hex[:6]}"
    mine = [statement(me, verb=ANSWERED if i % 2 else EXPERIENCED, activity=f"{course}/q{i % 3}",
                      context={"registration": registration,
                               "contextActivities": {"parent": {"id": course}}}) for i in range(7)]
    theirs = [statement(other, activity=f"{course}/q0") for _ in range(2)]
    for s in mine[:4] + theirs + mine[4:]:
        assert lrs.post(s).status_code == 200                       # one at a time: distinct stored times
    mine_ids = [s["id"] for s in mine]

    by_agent = lrs.query_all(agent=json.dumps(me), limit=2)          # pages of 2, newest first
    assert [s["id"] for s in by_agent] == mine_ids[::-1]
    assert [s["id"] for s in lrs.query_all(agent=json.dumps(me), ascending="true", limit=3)] == mine_ids
    # the more link ends: a page of exactly the limit says no more
    r = lrs.get(agent=json.dumps(me), limit=7)
    assert len(r.json()["statements"]) == 7 and r.json()["more"] == ""

    answered = lrs.query_all(agent=json.dumps(me), verb=ANSWERED)
    assert [s["id"] for s in answered] == [mine_ids[i] for i in (5, 3, 1)]
    q0 = lrs.query_all(activity=f"{course}/q0")
    assert {s["id"] for s in q0} == {mine_ids[0], mine_ids[3], mine_ids[6], *(s["id"] for s in theirs)}
    assert lrs.query_all(activity=course) == []                      # the parent is a context activity...
    assert len(lrs.query_all(activity=course, related_activities="true")) == 7   # ...found when related
    assert len(lrs.query_all(registration=registration)) == 7
    assert lrs.query_all(registration=registration, agent=json.dumps(other)) == []

    stored = [lrs.get(statementId=i).json()["stored"] for i in mine_ids]
    window = lrs.query_all(agent=json.dumps(me), since=stored[1], until=stored[4], ascending="true")
    assert [s["id"] for s in window] == mine_ids[2:5]               # since exclusive, until inclusive
    # format=ids in a query, Accept-Language in canonical
    ids_only = lrs.get(agent=json.dumps(me), limit=1, format="ids").json()["statements"][0]
    assert ids_only["actor"] == me and ids_only["verb"] == {"id": mine[-1]["verb"]["id"]}


def test_agent_filter_matches_group_members_and_related_agents(lrs):
    member, teacher = agent(), agent()
    group = {"objectType": "Group", "member": [member, agent()]}
    taught = statement(agent(), context={"instructor": teacher})
    as_group = statement(group)
    lrs.post([taught, as_group])
    assert [s["id"] for s in lrs.query_all(agent=json.dumps(member))] == [as_group["id"]]
    assert lrs.query_all(agent=json.dumps(teacher)) == []
    assert [s["id"] for s in lrs.query_all(agent=json.dumps(teacher), related_agents="true")] == [taught["id"]]


def test_voiding(lrs):
    me = agent()
    target, kept = statement(me), statement(me)
    lrs.post([target, kept])
    void = statement(me, verb=VOIDED)
    void["object"] = {"objectType": "StatementRef", "id": target["id"]}
    assert lrs.post(void).status_code == 200
    assert lrs.get(statementId=target["id"]).status_code == 404
    assert lrs.get(voidedStatementId=target["id"]).json()["id"] == target["id"]
    assert lrs.get(voidedStatementId=kept["id"]).status_code == 404
    found = [s["id"] for s in lrs.query_all(agent=json.dumps(me))]
    assert target["id"] not in found and kept["id"] in found and void["id"] in found
    # statements referring to a statement meet its filters: the voiding one is found by the target's activity too
    by_verb = [s["id"] for s in lrs.query_all(verb=EXPERIENCED, agent=json.dumps(me))]
    assert void["id"] in by_verb and target["id"] not in by_verb
    # a voiding statement cannot be voided
    again = statement(me, verb=VOIDED)
    again["object"] = {"objectType": "StatementRef", "id": void["id"]}
    r = lrs.post(again)
    assert r.status_code == 400 and "cannot be voided" in r.json()["error"]["message"]
    assert lrs.get(statementId=void["id"]).status_code == 200
    # a target arriving after the statement that voids it is voided on arrival
    late = statement(me)
    early_void = statement(me, verb=VOIDED)
    early_void["object"] = {"objectType": "StatementRef", "id": late["id"]}
    assert lrs.post(early_void).status_code == 200
    assert lrs.post(late).status_code == 200
    assert lrs.get(statementId=late["id"]).status_code == 404
    assert lrs.get(voidedStatementId=late["id"]).status_code == 200


def test_both_versions_differ_where_the_specifications_do(lrs):
    me = agent()
    with_context_agents = statement(me, context={"contextAgents": [
        {"objectType": "contextAgent", "agent": agent(), "relevantTypes": ["https://example.com/types/tutor"]}]})
    r = lrs.post(with_context_agents, version="1.0.3")
    assert r.status_code == 400 and "contextAgents" in r.json()["error"]["message"]
    r = lrs.post(with_context_agents, version="2.0.0")
    assert r.status_code == 200 and r.headers["X-Experience-API-Version"] == "2.0.0"
    assert lrs.get(statementId=with_context_agents["id"], version="2.0.0").json()["version"] == "2.0.0"

    local_time = statement(me, timestamp="2026-11-25T18:00:00")
    assert lrs.post(local_time, version="2.0.0").status_code == 400  # 2.0.0: a time zone is required
    assert lrs.post(local_time, version="1.0.3").status_code == 200  # 1.0.3: read as UTC
    assert lrs.get(statementId=local_time["id"]).json()["timestamp"] == "2026-11-25T18:00:00.000Z"
    assert lrs.post(statement(me, version="2.0.0"), version="1.0.3").status_code == 400
    assert lrs.post(statement(me, version="1.0.0"), version="2.0.0").status_code == 200


STATUS_TABLE = [
    # (case, method, params, body, content type, expected status)
    ("malformed JSON", "POST", {}, b"{not json", "application/json", 400),
    ("not JSON content", "POST", {}, b"x", "text/plain", 400),
    ("malformed multipart", "POST", {}, b"--b\r\n", "multipart/mixed; boundary=b", 400),
    ("unknown property", "POST", {}, {"extra": True}, None, 400),
    ("no actor", "POST", {}, {"actor": None}, None, 400),
    ("scaled out of range", "POST", {}, {"result": {"score": {"scaled": 2}}}, None, 400),
    ("alternate syntax not a form", "POST", {"method": "PUT"}, {}, None, 400),
    ("PUT without statementId", "PUT", {}, {}, None, 400),
    ("PUT id mismatch", "PUT", {"statementId": str(uuid.uuid4())}, {}, None, 400),
    ("PUT an array", "PUT", {"statementId": str(uuid.uuid4())}, [], None, 400),
    ("unknown query parameter", "GET", {"actor": "x"}, None, None, 400),
    ("statementId with a filter", "GET", {"statementId": str(uuid.uuid4()), "verb": EXPERIENCED}, None, None, 400),
    ("both ids", "GET", {"statementId": str(uuid.uuid4()), "voidedStatementId": str(uuid.uuid4())}, None, None, 400),
    ("statementId not a UUID", "GET", {"statementId": "42"}, None, None, 400),
    ("unknown statement", "GET", {"statementId": str(uuid.uuid4())}, None, None, 404),
    ("forged more link", "GET", {"more": "bm9wZQ"}, None, None, 400),
    ("agent without identifier", "GET", {"agent": '{"name": "x"}'}, None, None, 400),
    ("too large", "POST", {}, b"[" + b" " * (2 * 1024 * 1024 + 10) + b"]", "application/json", 413),
]


@pytest.mark.parametrize("case,method,params,body,content_type,status", STATUS_TABLE,
                         ids=[c[0] for c in STATUS_TABLE])
def test_statement_refusals_have_the_specification_status(lrs, case, method, params, body, content_type, status):
    if isinstance(body, (dict, list)):
        if isinstance(body, dict):
            body = {**statement(agent()), **body}
            if method == "PUT":
                body["id"] = str(uuid.uuid4())
            body = {k: v for k, v in body.items() if not (k == "actor" and v is None)}
        body, content_type = json.dumps(body).encode(), "application/json"
    r = lrs.request(method, "statements", params=params, data=body,
                    headers={"Content-Type": content_type} if content_type else {})
    assert r.status_code == status, r.text
    assert r.headers["X-Experience-API-Version"] == "1.0.3"
    assert r.json()["error"]["code"] == status


# ---- attachment data ------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\r\n--not-the-boundary\r\n"


def with_attachment(me, data=PNG, **extra):
    s = statement(me)
    s["attachments"] = [{"usageType": "http://id.tincanapi.com/attachment/certificate",
                         "display": {"zh-CN": "结业证书"}, "contentType": "image/png", "length": len(data),
                         "sha2": hashlib.sha256(data).hexdigest(), **extra}]
    return s


def multipart(statements, *parts, boundary="abcABC0123'()+_,-./:=?"):
    chunks = [f"--{boundary}\r\nContent-Type:application/json\r\n\r\n".encode(), json.dumps(statements).encode()]
    for data, sha2 in parts:
        chunks += [f"\r\n--{boundary}\r\nContent-Type:image/png\r\nContent-Transfer-Encoding:binary\r\n"
                   f"X-Experience-API-Hash:{sha2}\r\n\r\n".encode(), data]
    chunks.append(f"\r\n--{boundary}--".encode())
    return b"".join(chunks), {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}


def parts_of(response):
    boundary = response.headers["Content-Type"].split("boundary=", 1)[1].strip('"')
    return attachments.split_multipart(response.content, boundary)


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_statements_with_attachment_data_are_stored_and_given_back(lrs, db, version):
    me, sha = agent(), hashlib.sha256(PNG).hexdigest()
    one, two = with_attachment(me), with_attachment(me)         # the same data, sent once
    body, headers = multipart([one, two], (PNG, sha))
    r = lrs.request("POST", "statements", data=body, headers=headers, version=version)
    assert r.status_code == 200, r.text
    assert r.json() == [one["id"], two["id"]]
    plain = lrs.get(statementId=one["id"], version=version)
    assert plain.headers["Content-Type"].startswith("application/json")
    assert plain.json()["attachments"][0]["sha2"] == sha

    got = lrs.get(statementId=one["id"], attachments="true", version=version)
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("multipart/mixed")
    (json_headers, statement_json), (data_headers, data) = parts_of(got)
    assert json.loads(statement_json)["id"] == one["id"]
    assert data == PNG and data_headers["x-experience-api-hash"] == sha
    assert data_headers["content-transfer-encoding"] == "binary" and data_headers["content-type"] == "image/png"
    page = lrs.get(agent=json.dumps(me), attachments="true", version=version)
    first, *rest = parts_of(page)
    assert {s["id"] for s in json.loads(first[1])["statements"]} == {one["id"], two["id"]}
    assert [d for _, d in rest] == [PNG]                         # each SHA-2 once

    put = with_attachment(me)
    sid = put.pop("id")
    body, headers = multipart(put, (PNG, sha))
    r = lrs.request("PUT", "statements", params={"statementId": sid}, data=body, headers=headers, version=version)
    assert r.status_code == 204, r.text
    assert parts_of(lrs.get(statementId=sid, attachments="true", version=version))[1][1] == PNG
    assert db("elearning")["xapi_attachments"].find_one({"_id": f"{sid}|{sha}"})["length"] == len(PNG)


def test_attachment_data_refusals_store_nothing(lrs, db):
    me, sha = agent(), hashlib.sha256(PNG).hexdigest()
    wanting = with_attachment(me)
    cases = [
        ("json without the data", json.dumps(wanting).encode(), {"Content-Type": "application/json"}, "multipart"),
        ("data not of its hash", *multipart([wanting], (PNG + b"x", sha)), "SHA-2"),
        ("no part for the attachment", *multipart([wanting]), "multipart"),
        ("a part for no attachment", *multipart([statement(me)], (PNG, sha)), "no attachment"),
        ("no hash header", *multipart([wanting], (PNG, "")), "X-Experience-API-Hash"),
    ]
    for name, body, headers, message in cases:
        r = lrs.request("POST", "statements", data=body, headers=headers)
        assert r.status_code == 400 and message in r.json()["error"]["message"], (name, r.text)
    assert lrs.get(statementId=wanting["id"]).status_code == 404
    assert db("elearning")["xapi_attachments"].find_one({"_id": f"{wanting['id']}|{sha}"}) is None
    big = b"\0" * (8 * 1024 * 1024 + 1)
    body, headers = multipart([with_attachment(me, big)], (big, hashlib.sha256(big).hexdigest()))
    assert lrs.request("POST", "statements", data=body, headers=headers).status_code == 413
    # a fileUrl attachment needs no data, in either content type
    linked = with_attachment(me, fileUrl="https://files.example/cert.png")
    assert lrs.post(linked).status_code == 200


# ---- the alternate request syntax (1.0.3) ------------------------------------------------------------------

def alternate(lrs, resource, method, form, *, query=None, version="1.0.3", credentials=True):
    """A POST ?method=... with everything else in a form, as IE-era players send it: no
    xAPI headers, no Basic header (both in the form)."""
    fields = dict(form)
    if version:
        fields["X-Experience-API-Version"] = version
    if credentials:
        fields["Authorization"] = "Basic " + base64.b64encode(":".join(lrs.auth).encode()).decode()
    return requests.post(f"{lrs.base}/xapi/{resource}", params=query or {"method": method}, data=fields, timeout=10)


def test_the_alternate_request_syntax_under_1_0_3(lrs):
    me = agent()
    put = statement(me)
    sid = put.pop("id")
    r = alternate(lrs, "statements", "PUT", {"statementId": sid, "content": json.dumps(put)})
    assert r.status_code == 204, r.text
    assert r.headers["X-Experience-API-Version"] == "1.0.3"
    assert lrs.get(statementId=sid).json()["id"] == sid
    posted = statement(me)
    r = alternate(lrs, "statements", "POST", {"content": json.dumps([posted])})
    assert r.status_code == 200 and r.json() == [posted["id"]]
    got = alternate(lrs, "statements", "GET", {"statementId": posted["id"]})
    assert got.status_code == 200 and got.json()["id"] == posted["id"]
    found = alternate(lrs, "statements", "GET", {"agent": json.dumps(me), "ascending": "true"})
    assert [s["id"] for s in found.json()["statements"]] == [sid, posted["id"]]

    doc = {"activityId": "http://example.com/activities/lesson", "agent": json.dumps(me), "stateId": "bookmark"}
    r = alternate(lrs, "activities/state", "PUT", {**doc, "content": "第3页", "Content-Type": "text/plain"})
    assert r.status_code == 204 and r.headers["ETag"]
    assert state(lrs, "GET", who=me).content == "第3页".encode()
    assert alternate(lrs, "activities/state", "GET", doc).content == "第3页".encode()
    assert alternate(lrs, "activities/state", "DELETE", doc).status_code == 204
    assert state(lrs, "GET", who=me).status_code == 404


def test_alternate_request_refusals(lrs):
    me = agent()
    content = json.dumps(statement(me))
    sid = str(uuid.uuid4())
    cases = [
        ("a parameter in the query", alternate(lrs, "statements", "PUT", {"content": content},
                                               query={"method": "PUT", "statementId": sid}), 400),
        ("an unknown method", alternate(lrs, "statements", "PATCH", {"content": content}), 400),
        ("a version in the form that is none", alternate(lrs, "statements", "POST", {"content": content},
                                                         version="0.8"), 400),
        ("xAPI 2.0.0 has no alternate syntax", alternate(lrs, "statements", "POST", {"content": content},
                                                         version="2.0.0"), 400),
        ("no credentials", alternate(lrs, "statements", "POST", {"content": content}, credentials=False), 401),
        ("PUT without content", alternate(lrs, "statements", "PUT", {"statementId": sid}), 400),
        ("DELETE of statements", alternate(lrs, "statements", "DELETE", {"statementId": sid}), 405),
        ("not a form", requests.post(f"{lrs.base}/xapi/statements", params={"method": "PUT"}, json={},
                                     auth=lrs.auth, headers={"X-Experience-API-Version": "1.0.3"}, timeout=10), 400),
    ]
    for name, r, status in cases:
        assert r.status_code == status, (name, r.text)
        assert r.json()["error"]["code"] == status
    assert "2.0.0" in cases[3][1].json()["error"]["message"]
    assert cases[3][1].headers["X-Experience-API-Version"] == "2.0.0"
    assert lrs.get(statementId=sid).status_code == 404


# ---- the CLI --------------------------------------------------------------------------------------------

def test_cli_adds_a_client_and_prints_key_and_secret_alone_on_the_last_line(lrs, settings, monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    name = f"lms-{uuid.uuid4().hex[:8]}"
    assert cli.main(["xapi", "client", "add", name]) == 0
    credentials = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert credentials.startswith(f"{name}:") and len(credentials) > len(name) + 30
    assert Lrs(lrs.base, credentials).get().status_code == 200
    assert cli.main(["xapi", "client", "add", name]) == 1
    assert "exists" in capsys.readouterr().err
    assert cli.main(["xapi", "client", "add", "no:colons"]) == 1
