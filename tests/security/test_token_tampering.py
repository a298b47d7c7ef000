"""Tampered bearer tokens over HTTP against running gateways (the shared secret, and an
identity provider's JWKS): each is answered 401 UNAUTHENTICATED and never with data.
How tokens are parsed is proven in tests/unit/test_auth.py; this proves the gateway uses it."""
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.service import GatewayService
from hostile_suite import SECRET, codes, driver, suite  # noqa: F401  (fixtures)
from support import web_address

ME = "{ me { name idNumberMasked } }"


def b64(part) -> str:
    raw = part if isinstance(part, bytes) else json.dumps(part).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(suite, **overrides) -> dict:
    now = int(time.time())
    out = {"sub": suite.resident["resident_id"], "role": "resident", "iss": suite.tokens.issuer,
           "aud": suite.tokens.audience, "iat": now, "exp": now + 600}
    out.update(overrides)
    return out


def refused(url: str, token: str):
    r = requests.post(url, json={"query": ME}, headers={"Authorization": f"Bearer {token}"}, timeout=15)
    body = r.json()
    assert r.status_code == 401 and codes(body) == ["UNAUTHENTICATED"], (r.status_code, body)
    assert "data" not in body and "王芳" not in r.text
    return body["errors"][0]["message"]


def test_tampered_shared_secret_tokens_are_refused(suite):
    good = jwt.encode(claims(suite), SECRET, algorithm="HS256")
    answer = suite.ask(ME, token=good)
    assert answer["data"]["me"]["name"] == "王芳"                          # the control: a good token is served
    header, payload, signature = good.split(".")
    tampered = {
        "wrong signature": jwt.encode(claims(suite), "another-secret-of-at-least-32-bytes!!", algorithm="HS256"),
        "payload changed": ".".join([header, b64(claims(suite, role="admin")), signature]),
        "expired": jwt.encode(claims(suite, exp=int(time.time()) - 60), SECRET, algorithm="HS256"),
        "wrong audience": jwt.encode(claims(suite, aud="another-app"), SECRET, algorithm="HS256"),
        "wrong issuer": jwt.encode(claims(suite, iss="evil.example"), SECRET, algorithm="HS256"),
        "no expiry": jwt.encode({k: v for k, v in claims(suite).items() if k != "exp"}, SECRET, algorithm="HS256"),
        "alg none": b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims(suite)) + ".",
        "alg none, old signature": b64({"alg": "none", "typ": "JWT"}) + "." + payload + "." + signature,
        "unknown role": jwt.encode(claims(suite, role="superuser"), SECRET, algorithm="HS256"),
        "garbage": "not-a-token",
    }
    messages = {what: refused(suite.url, token) for what, token in tampered.items()}
    assert "expired" in messages["expired"].lower() and "audience" in messages["wrong audience"].lower()


@pytest.fixture
def idp_gateway(suite, start_service, service_config, tmp_path):
    """A second gateway that trusts only an identity provider's public keys (JWKS file)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="idp-1", use="sig", alg="RS256")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, JWT_JWKS_FILE=str(jwks),
                                                      RPC_TIMEOUT=3.0))
    return web_address(gw) + "/graphql", key


def test_identity_provider_tokens_cannot_be_forged_with_its_public_key_or_the_old_secret(suite, idp_gateway):
    url, key = idp_gateway
    good = jwt.encode(claims(suite), key, algorithm="RS256", headers={"kid": "idp-1"})
    ok = requests.post(url, json={"query": ME}, headers={"Authorization": f"Bearer {good}"}, timeout=15).json()
    assert ok["data"]["me"]["name"] == "王芳"                                # the control
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    head, body = b64({"alg": "HS256", "typ": "JWT", "kid": "idp-1"}), b64(claims(suite))
    confused = f"{head}.{body}." + b64(hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (confused,                                                                   # HS256, public key
                  jwt.encode(claims(suite), SECRET, algorithm="HS256"),                       # the shared secret
                  jwt.encode(claims(suite), other_key, algorithm="RS256", headers={"kid": "idp-1"}),  # another key
                  b64({"alg": "none", "kid": "idp-1"}) + "." + body + "."):                   # unsigned
        refused(url, token)
