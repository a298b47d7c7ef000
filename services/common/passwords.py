"""Salted scrypt hashes of secrets — staff passwords, SIP2 machine passwords, patron PINs —
free of I/O: the one hashing helper of the suite.

A record reads ``scrypt$N$r$p$salt$hash`` (base64url, unpadded; standard base64 with
padding, as older SIP2 account records have it, reads too). A stored record must keep
within bounds, so a record cannot make a check cost what it likes. Checks compare in
constant time; callers run them in an OS thread (``eventlet.tpool``) where green threads
must not stall for the tens of milliseconds one costs.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from services.common.errors import BadInput

# parameters of new hashes (about 16 MiB and some tens of ms a check) and the bounds a record must keep
SCRYPT_N, SCRYPT_R, SCRYPT_P, SALT_BYTES, HASH_BYTES = 2 ** 14, 8, 1, 16, 32
N_RANGE, R_RANGE, P_RANGE = (2 ** 14, 2 ** 17), (8, 16), (1, 4)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=128 * r * (n + p + 2) + (1 << 20))


def hash_secret(secret: str) -> str:
    """``scrypt$N$r$p$salt$hash`` with a fresh random salt (callers check the secret's shape)."""
    if not isinstance(secret, str):
        raise BadInput("a secret is a string")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def parse_hash(record: str) -> tuple[int, int, int, bytes, bytes]:
    """The parts of a hash record, checked (BadInput when it is not one we would make)."""
    try:
        scheme, n, r, p, salt, digest = str(record).split("$")
        n, r, p, salt, digest = int(n), int(r), int(p), _unb64(salt), _unb64(digest)
    except (ValueError, TypeError):
        raise BadInput("not a password hash record (expected scrypt$N$r$p$salt$hash)") from None
    if (scheme != "scrypt" or n & (n - 1) or not N_RANGE[0] <= n <= N_RANGE[1]
            or not R_RANGE[0] <= r <= R_RANGE[1] or not P_RANGE[0] <= p <= P_RANGE[1]
            or len(salt) < 16 or not 16 <= len(digest) <= 64):
        raise BadInput("password hash record out of bounds (scrypt, N 2^14..2^17, r 8..16, p 1..4, "
                       "salt of 16 bytes or more)")
    return n, r, p, salt, digest


def check_secret(secret: str, record: str) -> bool:
    """Whether ``secret`` made ``record`` (constant time); BadInput for a record we would not make."""
    n, r, p, salt, digest = parse_hash(record)
    return hmac.compare_digest(_scrypt(str(secret), salt, n, r, p, len(digest)), digest)


def matches(secret: str, record: str) -> bool:
    """``check_secret``, with False for an unusable record."""
    try:
        return check_secret(secret, record)
    except BadInput:
        return False


_DUMMY: list[str] = []


def dummy_record() -> str:
    """A record no secret matches, to spend the same time when there is nothing to check against."""
    if not _DUMMY:
        _DUMMY.append(hash_secret(secrets.token_urlsafe(24)))
    return _DUMMY[0]
