"""The suite's one hashing helper (staff passwords, SIP2 machine passwords, patron PINs)."""
import base64
import hashlib
import secrets

import pytest

from services.common import passwords
from services.common.errors import BadInput


def test_hashes_are_salted_and_checked():
    first, second = passwords.hash_secret("2468"), passwords.hash_secret("2468")
    assert first != second and first.startswith("scrypt$16384$8$1$") and "2468" not in first
    assert passwords.check_secret("2468", first) and not passwords.check_secret("2469", first)
    assert passwords.matches("2468", second) and not passwords.matches("2468", "plain")
    with pytest.raises(BadInput, match="hash record"):
        passwords.check_secret("2468", "scrypt$1048576$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
    assert not passwords.matches("x", passwords.dummy_record())


def test_records_made_with_padded_standard_base64_still_check():
    """SIP2 machine accounts stored before the helper was shared hold standard base64."""
    salt = b"\xfb\xff" + secrets.token_bytes(14)   # '+' and '/' in its base64
    digest = hashlib.scrypt(b"machine-secret", salt=salt, n=2 ** 14, r=8, p=1, dklen=32)
    record = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert "+" in record or "/" in record
    assert passwords.matches("machine-secret", record) and not passwords.matches("machine-secreT", record)
