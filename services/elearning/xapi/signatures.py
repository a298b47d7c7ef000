"""Signed statements (Data 2.6), free of I/O: a statement's signature is an attachment of
usage ``.../attachments/signature``, ``application/octet-stream``, whose data (a part of the
multipart/mixed request) is a JWS in compact serialisation, RS256, RS384 or RS512, whose
payload is the statement as it was before the signature was added.

With an ``x5c`` header the signature is verified with the first certificate's key, and each
certificate of the chain must be issued by the next and valid now; without one there is no
key to verify with (the LRS is not told whose key it is), so the JWS's form, algorithm and
payload are checked. The signature stays stored with the statement, for readers to verify.
"""
from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Mapping

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.api_jws import PyJWS

from services.elearning.xapi.attachments import AttachmentData, mimetype
from services.elearning.xapi.errors import bad
from services.elearning.xapi.statements import same_statement
from services.elearning.xapi.validation import validate_statement
from services.elearning.xapi.values import parse_json

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
ALGORITHMS = ("RS256", "RS384", "RS512")
MAX_CHAIN = 10


def check_signatures(statements: list[dict], received: Mapping[str, AttachmentData], version: str,
                     now: datetime) -> None:
    """400 unless every signed statement's signature is as the module says."""
    for s in statements:
        signatures = [a for a in s.get("attachments") or [] if a["usageType"] == SIGNATURE]
        if not signatures:
            continue
        what = f"statement {s['id']}"
        if len(signatures) > 1:
            raise bad(f"{what} has {len(signatures)} signature attachments; a signed statement has one")
        signature = signatures[0]
        if mimetype(signature["contentType"]) != "application/octet-stream":
            raise bad(f"{what}: a signature attachment's contentType is application/octet-stream")
        data = received.get(signature["sha2"].lower())
        if data is None:
            raise bad(f"{what}: the signature's JWS comes as a part of the multipart/mixed request")
        signed = validate_statement(jws_payload(data.data, now), version, "the signed statement")
        if "id" in signed and signed["id"] != s["id"]:
            raise bad(f"{what}: the signed statement has another id ({signed['id']})")
        unsigned = dict(s)
        unsigned["attachments"] = [a for a in s["attachments"] if a is not signature]
        if not unsigned["attachments"]:
            del unsigned["attachments"]
        if not same_statement(unsigned, False, signed):
            raise bad(f"{what}: the JWS payload is not this statement as it was before it was signed")


def jws_payload(token_bytes: bytes, now: datetime) -> Any:
    """The payload of a compact JWS, checked as the module says: 400 otherwise."""
    try:
        token = token_bytes.decode("ascii").strip()
        header = jwt.get_unverified_header(token)
    except (UnicodeDecodeError, jwt.exceptions.PyJWTError) as exc:
        raise bad(f"the signature is not a JWS in compact serialisation: {str(exc)[:80]}") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise bad(f"a statement signature uses RS256, RS384 or RS512, not {str(alg)[:20]!r}")
    key = _chain_key(header["x5c"], now) if "x5c" in header else None
    try:
        decoded = PyJWS().decode_complete(token, key=key or "", algorithms=[alg],
                                          options={"verify_signature": key is not None})
    except jwt.exceptions.InvalidSignatureError:
        raise bad("the statement signature does not verify with the key of its x5c certificate") from None
    except jwt.exceptions.PyJWTError as exc:
        raise bad(f"the signature is not a valid JWS: {str(exc)[:80]}") from None
    payload = parse_json(decoded["payload"], "the JWS payload")
    if not isinstance(payload, dict):
        raise bad("the JWS payload is not a statement (a JSON object)")
    return payload


def _chain_key(x5c: Any, now: datetime) -> RSAPublicKey:
    """The RSA key of the first certificate of an x5c chain, each certificate issued by the
    next and valid at ``now``."""
    if not isinstance(x5c, list) or not x5c or len(x5c) > MAX_CHAIN or not all(isinstance(c, str) for c in x5c):
        raise bad(f"the JWS header's x5c is an array of 1 to {MAX_CHAIN} base64 certificates")
    try:
        chain = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c]
    except (ValueError, binascii.Error):
        raise bad("a certificate of the JWS header's x5c is not base64 DER") from None
    for i, cert in enumerate(chain):
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise bad(f"certificate {i} of the signature's x5c chain is not valid now")
        if i + 1 < len(chain):
            try:
                cert.verify_directly_issued_by(chain[i + 1])
            except (ValueError, TypeError, InvalidSignature):
                raise bad(f"certificate {i} of the signature's x5c chain is not issued by certificate {i + 1}") \
                    from None
    key = chain[0].public_key()
    if not isinstance(key, RSAPublicKey):
        raise bad("the signature's certificate does not carry an RSA key (RS256, RS384, RS512)")
    return key
