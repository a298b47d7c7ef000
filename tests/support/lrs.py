"""The LRS as its clients see it, for the xAPI tests: ``Lrs`` (Basic credentials and a version
header on every request), the ``lrs`` fixture (a running elearning service and a client of
its own; tests import ``container`` with it), agents and statements to send, and state
documents to read and write."""
import json
import uuid

import pytest
import requests

from infra import xapi_clients
from services.elearning.service import ElearningService
from support import web_address

EXPERIENCED = "http://adlnet.gov/expapi/verbs/experienced"


class Lrs:
    """An xAPI client: Basic credentials and a version header on every request."""

    def __init__(self, base, credentials, version="1.0.3"):
        self.base, self.version = base, version
        key, secret = credentials.split(":", 1)
        self.auth = (key, secret)

    def request(self, method, path, *, version=..., auth=..., headers=None, **kw):
        h = dict(headers or {})
        v = self.version if version is ... else version
        if v is not None:
            h["X-Experience-API-Version"] = v
        return requests.request(method, f"{self.base}/xapi/{path}", auth=self.auth if auth is ... else auth,
                                headers=h, timeout=10, **kw)

    def post(self, statements, **kw):
        return self.request("POST", "statements", json=statements, **kw)

    def put(self, statement, sid, **kw):
        return self.request("PUT", "statements", params={"statementId": sid}, json=statement, **kw)

    def get(self, **params):
        version = params.pop("version", ...)
        return self.request("GET", "statements", params=params, version=version)

    def query_all(self, **params):
        """Every page of a query, following the more links."""
        out, r = [], self.get(**params)
        while True:
            assert r.status_code == 200, r.text
            body = r.json()
            out += body["statements"]
            if not body["more"]:
                return out
            assert body["more"].startswith("/xapi/statements?more=")
            r = requests.get(self.base + body["more"], auth=self.auth, timeout=10,
                             headers={"X-Experience-API-Version": self.version})


@pytest.fixture
def container(start_service):
    return start_service(ElearningService)


@pytest.fixture
def lrs(container, rpc):
    return Lrs(web_address(container), xapi_clients.add_client(rpc, f"player-{uuid.uuid4().hex[:8]}"))


def agent(tag=None):
    return {"objectType": "Agent", "mbox": f"mailto:{tag or uuid.uuid4().hex[:10]}@example.com"}


def statement(actor, verb=EXPERIENCED, activity="http://example.com/activities/a1", **extra):
    return {"id": str(uuid.uuid4()), "actor": actor, "verb": {"id": verb, "display": {"en-US": "did"}},
            "object": {"objectType": "Activity", "id": activity}, **extra}


def state(lrs, method, *, activity="http://example.com/activities/lesson", who=None, state_id="bookmark",
          registration=None, since=None, body=None, content_type="application/json", headers=None, version=...):
    params = {"activityId": activity, "agent": json.dumps(who)}
    if state_id is not None:
        params["stateId"] = state_id
    if registration:
        params["registration"] = registration
    if since:
        params["since"] = since
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = content_type
    return lrs.request(method, "activities/state", params=params, data=body, headers=h, version=version)
