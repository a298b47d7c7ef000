"""Bearer tokens: the local shared secret and an identity provider's JWKS, and the usual
attacks on them (forged signature, expired, wrong audience or issuer, alg none, alg confusion)."""
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway import auth

LOCAL = auth.TokenConfig("a-local-secret-of-at-least-32-bytes!!", "suite-dev", "smart-community-suite")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(**overrides):
    now = int(time.time())
    out = {"sub": "r1", "role": "resident", "iss": "idp.example", "aud": "smart-community-suite",
           "iat": now, "exp": now + 600}
    out.update(overrides)
    return out


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    """An identity provider: an RSA key, its JWKS file, and a token config that trusts it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    path = tmp_path_factory.mktemp("idp") / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    tokens = auth.with_identity_provider(auth.TokenConfig("", "idp.example", "smart-community-suite"), str(path), None)
    return key, tokens


def bearer(token):
    return f"Bearer {token}"


def test_local_tokens_round_trip_and_tampering_is_refused():
    token = auth.mint(LOCAL, "staff", "clerk-1", committee="C0101")
    who = auth.verify(LOCAL, bearer(token))
    assert (who.subject, who.role, who.committee) == ("clerk-1", "staff", "C0101")
    header, payload, signature = token.split(".")
    forged = ".".join([header, _b64({**jwt.decode(token, options={"verify_signature": False}), "role": "admin"}),
                       signature])
    with pytest.raises(auth.Unauthenticated):
        auth.verify(LOCAL, bearer(forged))
    assert auth.verify(LOCAL, None) is None
    with pytest.raises(auth.Unauthenticated):
        auth.verify(LOCAL, "Basic dXNlcjpwdw==")


@pytest.mark.parametrize("bad", [
    {"exp": int(time.time()) - 10},
    {"aud": "someone-else"},
    {"iss": "evil"},
    {"role": "superuser"},
])
def test_local_tokens_with_bad_claims_are_refused(bad):
    token = jwt.encode({**claims(iss="suite-dev"), **bad}, LOCAL.key, algorithm="HS256")
    with pytest.raises(auth.Unauthenticated):
        auth.verify(LOCAL, bearer(token))


def test_alg_none_is_refused():
    unsigned = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims(iss="suite-dev")) + "."
    with pytest.raises(auth.Unauthenticated):
        auth.verify(LOCAL, bearer(unsigned))


def test_identity_provider_tokens_are_checked_against_its_keys(idp):
    key, tokens = idp
    good = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    assert auth.verify(tokens, bearer(good)).subject == "r1"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (jwt.encode(claims(), other, algorithm="RS256", headers={"kid": "k1"}),      # not their key
                jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k9"}),        # unknown key id
                jwt.encode(claims(exp=int(time.time()) - 5), key, algorithm="RS256", headers={"kid": "k1"})):
        with pytest.raises(auth.Unauthenticated):
            auth.verify(tokens, bearer(bad))


def test_alg_confusion_with_the_public_key_as_a_secret_is_refused(idp):
    key, tokens = idp
    public_pem = key.public_key().public_bytes(encoding=serialization.Encoding.PEM,
                                               format=serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": "k1"})
    body = _b64(claims())
    sig = base64.urlsafe_b64encode(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
                                   ).rstrip(b"=").decode()
    with pytest.raises(auth.Unauthenticated):
        auth.verify(tokens, bearer(f"{header}.{body}.{sig}"))
