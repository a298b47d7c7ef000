"""The LRS's clients (content players, LMSs): HTTP Basic credentials ``key:secret`` (the
key is the client's name), only their hash stored, and the authority a client's
statements are stored with."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import Any

from services.elearning.xapi.errors import XapiError

CLIENTS_HOME = "https://suite.local/xapi/clients"

CLIENT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")       # the key: no ':' (it ends at the first one)
KEY_HASH = re.compile(r"^[0-9a-f]{64}$")
SECRET_BYTES = 32
MAX_CREDENTIALS = 300


def check_client_name(name: Any) -> str:
    if not isinstance(name, str) or not CLIENT_NAME.match(name):
        raise ValueError("an xAPI client name is 1-32 letters, digits, '-' or '_'")
    return name


def new_credentials(name: str) -> str:
    """``<name>:<secret>``: the HTTP Basic user is the client name, the password a random secret."""
    return f"{check_client_name(name)}:{secrets.token_urlsafe(SECRET_BYTES)}"


def hash_credentials(credentials: str) -> str:
    return hashlib.sha256(credentials.encode("utf-8")).hexdigest()


def basic_credentials(header: str | None) -> str:
    """``key:secret`` from an ``Authorization: Basic`` header; 401 when missing or malformed."""
    challenge = {"WWW-Authenticate": 'Basic realm="xAPI", charset="UTF-8"'}
    if not header:
        raise XapiError(401, "authentication required (HTTP Basic with an xAPI client's key and secret)",
                        challenge)
    scheme, _, token = header.strip().partition(" ")
    try:
        if scheme.lower() != "basic" or len(token) > 2 * MAX_CREDENTIALS:
            raise ValueError
        credentials = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise XapiError(401, "the Authorization header is not HTTP Basic credentials", challenge) from None
    if ":" not in credentials or not CLIENT_NAME.match(credentials.split(":", 1)[0]):
        raise XapiError(401, "invalid credentials", challenge)
    return credentials


def credentials_match(credentials: str, key_hash: str | None) -> bool:
    """Constant-time comparison of the presented credentials' hash with the stored one."""
    expected = key_hash if isinstance(key_hash, str) else "0" * 64
    return hmac.compare_digest(hash_credentials(credentials).encode(), expected.encode()) and key_hash is not None


def client_authority(client: str) -> dict:
    return {"objectType": "Agent", "name": client, "account": {"homePage": CLIENTS_HOME, "name": client}}
