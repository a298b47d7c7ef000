"""The LRS's State resource over real HTTP with the real store and broker: state documents
with ETags and preconditions, JSON merge, id lists by context, since and registration,
deletes, refusals."""
import hashlib
import json
import uuid
from datetime import timedelta

from services.common import clock
from support.lrs import agent, state
from support.lrs import container, lrs  # noqa: F401 - the fixtures


def test_state_documents_with_etags_and_preconditions(lrs):
    me = agent()
    first = b'{"position":120,"slide":3}'
    r = state(lrs, "PUT", who=me, body=first, headers={"If-None-Match": "*"})
    assert r.status_code == 204
    tag = '"' + hashlib.sha1(first).hexdigest() + '"'
    assert r.headers["ETag"] == tag
    got = state(lrs, "GET", who=me)
    assert got.status_code == 200 and got.content == first and got.headers["ETag"] == tag
    assert got.headers["Content-Type"] == "application/json" and got.headers["Last-Modified"]
    assert state(lrs, "HEAD", who=me).headers["ETag"] == tag

    assert state(lrs, "PUT", who=me, body=b'{"x":1}', headers={"If-None-Match": "*"}).status_code == 412
    assert state(lrs, "PUT", who=me, body=b'{"x":1}', headers={"If-Match": '"stale"'}).status_code == 412
    assert state(lrs, "GET", who=me).content == first               # nothing changed by a failed precondition
    second = b'{"position":300,"slide":7}'
    assert state(lrs, "PUT", who=me, body=second, headers={"If-Match": tag}).status_code == 204
    # no precondition header on an existing document: replaced under 1.0.3 (its State exemption),
    # 409 under 2.0.0 (its concurrency rules name State), the document unchanged
    assert state(lrs, "PUT", who=me, body=first, version="1.0.3").status_code == 204
    assert state(lrs, "GET", who=me).content == first
    refused = state(lrs, "PUT", who=me, body=second, version="2.0.0")
    assert refused.status_code == 409 and "If-Match" in refused.json()["error"]["message"]
    assert state(lrs, "GET", who=me).content == first
    assert state(lrs, "PUT", who=me, body=second, version="1.0.3").status_code == 204
    assert state(lrs, "PUT", who=me, state_id="fresh", body=b"{}", version="2.0.0").status_code == 204  # a new one

    # POST merges JSON objects, top level
    assert state(lrs, "POST", who=me, body=b'{"slide":8,"done":false}').status_code == 204
    assert json.loads(state(lrs, "GET", who=me).content) == {"position": 300, "slide": 8, "done": False}
    assert state(lrs, "POST", who=me, body=b"[1]").status_code == 400
    assert state(lrs, "PUT", who=me, state_id="notes", body=b"plain words", content_type="text/plain").status_code == 204
    assert state(lrs, "POST", who=me, state_id="notes", body=b'{"a":1}').status_code == 400
    assert state(lrs, "GET", who=me, state_id="notes").content == b"plain words"

    # ids of the context, since, registration scopes
    listed = state(lrs, "GET", who=me, state_id=None)
    assert sorted(listed.json()) == ["bookmark", "fresh", "notes"] and listed.headers["ETag"]
    future = (clock.now() + timedelta(hours=1)).isoformat()
    assert state(lrs, "GET", who=me, state_id=None, since=future).json() == []
    registration = str(uuid.uuid4())
    assert state(lrs, "GET", who=me, registration=registration).status_code == 404
    assert state(lrs, "PUT", who=me, registration=registration, body=b'{"r":1}').status_code == 204
    assert state(lrs, "GET", who=me, state_id=None, registration=registration).json() == ["bookmark"]

    # deletes: one with If-Match, then all of a context
    current = state(lrs, "GET", who=me).headers["ETag"]
    assert state(lrs, "DELETE", who=me, headers={"If-Match": '"stale"'}).status_code == 412
    assert state(lrs, "DELETE", who=me, headers={"If-Match": current}).status_code == 204
    assert state(lrs, "GET", who=me).status_code == 404
    assert state(lrs, "DELETE", who=me, state_id=None).status_code == 204
    assert state(lrs, "GET", who=me, state_id=None).json() == []
    assert state(lrs, "GET", who=me, registration=registration).status_code == 200   # another scope, kept

    # refusals
    assert state(lrs, "GET", who={"name": "nobody"}).status_code == 400
    assert state(lrs, "PUT", who=me, state_id=None, body=b"{}").status_code == 400
    assert state(lrs, "GET", who=me, version=None).status_code == 400
    big = state(lrs, "PUT", who=me, state_id="big", body=b"x" * (1024 * 1024 + 1), content_type="text/plain")
    assert big.status_code == 413
