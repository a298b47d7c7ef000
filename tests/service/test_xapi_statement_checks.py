"""Statements the LRS must refuse, over real HTTP with the real store and broker: a value of
the wrong type at every property of a statement (never a 5xx), authority, and signed
statements (a JWS over the statement: algorithms, payload, x5c chains)."""
import base64
import copy
import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from support.lrs import agent, statement
from support.lrs import container, lrs  # noqa: F401 - the fixtures

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
WRONG = (1, 2.5, True, "text", [], {}, [{}], {"x": 1})


def rich_statements():
    """Two statements that use every property (2.0.0): one about an Activity, one whose
    object is a SubStatement."""
    me = dict(agent(), name="Ann")
    activity = {"objectType": "Activity", "id": "http://example.com/q1", "definition": {
        "name": {"en-US": "Q1"}, "description": {"zh-CN": "第一题"},
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        "moreInfo": "http://example.com/more", "extensions": {"http://example.com/x": 1},
        "interactionType": "choice", "correctResponsesPattern": ["a"],
        "choices": [{"id": "a", "description": {"en-US": "A"}}]}}
    context = {"registration": str(uuid.uuid4()), "instructor": agent(), "revision": "r1", "platform": "web",
               "team": {"objectType": "Group", "member": [agent()]}, "language": "zh-CN",
               "contextActivities": {"parent": [{"id": "http://example.com/course"}]},
               "statement": {"objectType": "StatementRef", "id": str(uuid.uuid4())},
               "extensions": {"http://example.com/ctx": "v"},
               "contextAgents": [{"objectType": "contextAgent", "agent": agent(),
                                  "relevantTypes": ["http://example.com/role"]}],
               "contextGroups": [{"objectType": "contextGroup", "group": {"objectType": "Group", "member": [agent()]}}]}
    result = {"score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10}, "success": True, "completion": True,
              "response": "a", "duration": "PT1M", "extensions": {"http://example.com/r": True}}
    attachment = {"usageType": "http://example.com/usage", "display": {"en-US": "file"}, "contentType": "text/plain",
                  "length": 4, "sha2": hashlib.sha256(b"data").hexdigest(), "fileUrl": "http://example.com/f"}
    first = statement(me, timestamp="2026-01-02T03:04:05Z", result=result, context=context,
                      attachments=[attachment])
    first["object"] = activity
    sub = {"objectType": "SubStatement", "actor": agent(), "verb": {"id": "http://example.com/v"},
           "object": copy.deepcopy(activity), "result": copy.deepcopy(result), "timestamp": "2026-01-02T03:04:05Z"}
    second = statement(me, authority=agent())
    second["object"] = sub
    return [first, second]


def paths(value, prefix=()):
    """Every property and array item of a JSON value, as a path of keys and indices."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def replaced(value, path, new):
    out = copy.deepcopy(value)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return out


def kind(value):
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def test_a_wrong_type_anywhere_in_a_statement_is_a_clear_400_never_a_5xx(lrs):
    """Each property (and array item) of two statements that use them all, given each JSON
    type in turn: one of another type than the property's is refused with a message
    (extension values excepted: they may be anything), and no answer is a 5xx."""
    answered = 0
    for base in rich_statements():
        assert lrs.post(dict(base, id=str(uuid.uuid4())), version="2.0.0").status_code == 200   # valid as it is
        for path in paths(base):
            if path == ("id",):
                continue
            original = base
            for key in path:
                original = original[key]
            for wrong in WRONG:
                mutated = replaced(base, path, wrong)
                mutated["id"] = str(uuid.uuid4())
                r = lrs.post(mutated, version="2.0.0")
                answered += 1
                assert r.status_code in (200, 400), (path, wrong, r.status_code, r.text)
                if kind(wrong) != kind(original) and "extensions" not in path[:-1]:
                    assert r.status_code == 400 and r.json()["error"]["message"], (path, wrong, r.text)
    assert answered > 500


def test_authority_is_an_agent_or_an_anonymous_group_of_two(lrs):
    me = agent()
    two = {"objectType": "Group", "member": [agent(), agent()]}
    stored = lrs.post(statement(me, authority=two))
    assert stored.status_code == 200
    for authority in ({"objectType": "Group", "mbox": "mailto:g@example.com", "member": [agent(), agent()]},
                      {"objectType": "Group", "member": [agent()]},
                      {"objectType": "Group", "member": [agent(), agent(), agent()]},
                      {"name": "no identifier"}, ["not", "an", "agent"]):
        s = statement(me, authority=authority)
        r = lrs.post(s)
        assert r.status_code == 400 and "authority" in r.json()["error"]["message"], (authority, r.text)
        assert lrs.get(statementId=s["id"]).status_code == 404                 # nothing stored
    # what a client claims is replaced by the client's own authority
    assert lrs.get(statementId=stored.json()[0]).json()["authority"]["account"]["name"] == lrs.auth[0]


# ---- signed statements ------------------------------------------------------------------------------------

def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(subject_key, issuer_key, subject, issuer, *, days=30):
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
            .sign(issuer_key, hashes.SHA256()))


def _der(cert):
    from cryptography.hazmat.primitives.serialization import Encoding
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode()


def signed(s, key, *, algorithm="RS256", x5c=None, payload=None, content_type="application/octet-stream"):
    """(body, boundary): ``s`` with its signature attachment, as multipart/mixed."""
    s = copy.deepcopy(s)
    signed_bytes = json.dumps(payload if payload is not None else s).encode()
    headers = {"x5c": x5c} if x5c else None
    token = jwt.api_jws.PyJWS().encode(signed_bytes, key, algorithm=algorithm, headers=headers).encode()
    s["attachments"] = [{"usageType": SIGNATURE, "display": {"en-US": "signature"}, "contentType": content_type,
                         "length": len(token), "sha2": hashlib.sha256(token).hexdigest()}]
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode() + json.dumps(s).encode()
            + f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
              f"X-Experience-API-Hash: {hashlib.sha256(token).hexdigest()}\r\n\r\n".encode()
            + token + f"\r\n--{boundary}--\r\n".encode())
    return body, boundary


def post_signed(lrs, s, key, **kw):
    body, boundary = signed(s, key, **kw)
    return lrs.request("POST", "statements", data=body,
                       headers={"Content-Type": f"multipart/mixed; boundary={boundary}"})


def test_signed_statements_are_verified(lrs):
    me = agent()
    ca_key, leaf_key, stranger_key = _key(), _key(), _key()
    ca = _cert(ca_key, ca_key, "Suite test CA", "Suite test CA")
    leaf = _cert(leaf_key, ca_key, "Content player", "Suite test CA")
    self_signed = _cert(leaf_key, leaf_key, "Content player", "Content player")

    accepted = []
    for key, kw in ((leaf_key, {}), (leaf_key, {"algorithm": "RS384"}), (leaf_key, {"algorithm": "RS512"}),
                    (leaf_key, {"x5c": [_der(leaf), _der(ca)]}), (leaf_key, {"x5c": [_der(self_signed)]})):
        s = statement(me, result={"duration": "PT1.25S"})
        r = post_signed(lrs, s, key, **kw)
        assert r.status_code == 200, (kw, r.text)
        accepted.append(s["id"])
    # the signature is stored with the statement, for readers to verify
    got = lrs.get(statementId=accepted[3], attachments="true")
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("multipart/mixed")
    token = got.content.split(b"X-Experience-API-Hash: ")[1].split(b"\r\n\r\n", 1)[1].split(b"\r\n--")[0]
    assert json.loads(jwt.api_jws.PyJWS().decode(token, leaf_key.public_key(), algorithms=["RS256"]))["id"] \
        == accepted[3]

    # a payload more precise than the hundredth of a second is the same statement
    s = statement(me, result={"duration": "PT1.25S"})
    assert post_signed(lrs, s, leaf_key, payload=dict(s, result={"duration": "PT1.2567S"})).status_code == 200

    refusals = {
        "another algorithm": dict(algorithm="HS256"),
        "another statement": dict(payload=statement(me)),
        "a changed result": dict(payload={**statement(me), "result": {"success": False}}),
        "another content type": dict(content_type="text/plain"),
        "a key the certificate does not hold": dict(x5c=[_der(_cert(stranger_key, ca_key, "Other", "Suite test CA"))]),
        "a chain out of order": dict(x5c=[_der(ca), _der(leaf)]),
        "an x5c that is no certificate": dict(x5c=["bm90IGEgY2VydA=="]),
    }
    for case, kw in refusals.items():
        s = statement(me)
        key = b"a shared secret, long enough for HS256 keys" if kw.get("algorithm") == "HS256" else leaf_key
        if "payload" in kw and kw["payload"].get("id") is not None and case == "a changed result":
            kw["payload"]["id"] = s["id"]
        r = post_signed(lrs, s, key, **kw)
        assert r.status_code == 400 and r.json()["error"]["message"], (case, r.text)
        assert lrs.get(statementId=s["id"]).status_code == 404, case     # nothing stored

    # a signature that is no JWS at all
    s = statement(me)
    boundary = uuid.uuid4().hex
    junk = b"not.a-jws"
    s["attachments"] = [{"usageType": SIGNATURE, "display": {"en-US": "signature"},
                         "contentType": "application/octet-stream", "length": len(junk),
                         "sha2": hashlib.sha256(junk).hexdigest()}]
    body = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode() + json.dumps(s).encode()
            + f"\r\n--{boundary}\r\nX-Experience-API-Hash: {hashlib.sha256(junk).hexdigest()}\r\n\r\n".encode()
            + junk + f"\r\n--{boundary}--\r\n".encode())
    r = lrs.request("POST", "statements", data=body, headers={"Content-Type": f"multipart/mixed; boundary={boundary}"})
    assert r.status_code == 400 and "JWS" in r.json()["error"]["message"]


def test_json_nested_too_deep_is_a_400_wherever_it_comes(lrs):
    """Deep nesting (which recursion in the JSON decoder, the checks and the copies would
    turn into a 500) is refused wherever JSON comes: a body, an extension value, a document
    merged, an agent parameter; a statement with extensions nested a little is stored."""
    me = agent()
    deep = "[" * 5000 + "]" * 5000
    for depth in (100, 900, 100_000):
        r = lrs.request("POST", "statements", data=("[" * depth + "]" * depth).encode(),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "nested" in r.json()["error"]["message"], r.text
    s = statement(me)
    raw = json.dumps(s)[:-1] + ', "result": {"extensions": {"http://x.org/e": ' + deep + "}}}"
    r = lrs.request("POST", "statements", data=raw.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and lrs.get(statementId=s["id"]).status_code == 404
    assert lrs.post(statement(me, result={"extensions": {"http://x.org/e": [[[[{"a": [1]}]]]]}})).status_code == 200
    merged = lrs.request("POST", "activities/profile", params={"activityId": "http://x.org/deep", "profileId": "p"},
                         data=deep.encode(), headers={"Content-Type": "application/json"})
    assert merged.status_code == 400
    assert lrs.request("GET", "agents", params={"agent": "[" * 900 + "]" * 900}).status_code == 400
