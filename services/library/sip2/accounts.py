"""SIP2 accounts: one per self-check machine (or group of machines) — its login, the
location it lends at, its character set — and the password, stored only as a salted
scrypt hash. ``infra/cli/sip2.py`` makes the password and sends only the hash here.
"""
from __future__ import annotations

import re
import secrets

from eventlet import tpool

from services.common import clock, passwords
from services.common.errors import BadInput, Conflict
from services.common.rpc import rpc
from services.library import locations_store
from services.library.sip2 import accounts_store

CHARSETS = ("utf-8", "gb18030", "cp850")
# a new account speaks a charset that carries Chinese: a cp850 machine shows every Chinese
# title and name as "?", so cp850 is only for machines that ask for it
DEFAULT_CHARSET = "utf-8"
# a login is ASCII; read before one with cp850, where every byte is a character (a machine's
# charset is known only once it has logged in)
BEFORE_LOGIN_CHARSET = "cp850"
LOGIN = re.compile(r"[A-Za-z0-9_.-]{1,32}")
IF_EXISTS = ("refuse", "replace", "keep")


def new_password() -> str:
    # URL-safe characters only: none of them can end a SIP2 field ("|")
    return secrets.token_urlsafe(12)


# the suite's one hashing helper (services/common/passwords.py): salted scrypt, about 50 ms a
# check — cheap for a login, dear for a guesser
hash_password = passwords.hash_secret
verify_password = passwords.matches


def authenticate(db, login: str, password: str) -> dict | None:
    """The account when ``login``/``password`` match an enabled account, else None."""
    doc = accounts_store.find(db, login) if login and LOGIN.fullmatch(login) else None
    # an unknown login costs the same time as a wrong password: logins cannot be probed; the
    # hashing runs in an OS thread so that guessers cannot stall the service's green threads
    ok = tpool.execute(verify_password, password or "", doc["password_hash"] if doc else passwords.dummy_record())
    return doc if ok and doc and not doc.get("disabled") else None


def check_login(login) -> str:
    if not isinstance(login, str) or not LOGIN.fullmatch(login):
        raise BadInput("a SIP2 login is 1-32 letters, digits, '.', '-' or '_'")
    return login


class Sip2AccountRpc:
    """Mixed into LibraryService (which gives ``self.db``)."""

    @rpc
    def sip2_add_account(self, login: str, location: str, password_hash: str, charset: str = DEFAULT_CHARSET,
                         if_exists: str = "refuse") -> dict:
        """Add a machine's account; ``if_exists``: refuse (Conflict), replace (new password,
        location and charset) or keep (the stored account stays as it is: for seeding)."""
        check_login(login)
        if charset not in CHARSETS:
            raise BadInput(f"charset must be one of {', '.join(CHARSETS)}")
        try:
            passwords.parse_hash(password_hash)
        except BadInput:
            raise BadInput("password_hash must be made by services.library.sip2.accounts.hash_password") from None
        if if_exists not in IF_EXISTS:
            raise BadInput(f"if_exists must be one of {', '.join(IF_EXISTS)}")
        locations_store.by_code(self.db, location)  # BadInput for an unknown location
        doc = {"location": location, "charset": charset, "password_hash": password_hash,
               "created_at": clock.now().isoformat()}
        if if_exists == "replace":
            accounts_store.put(self.db, login, doc)
        elif not accounts_store.add(self.db, login, doc):
            if if_exists == "refuse":
                raise Conflict(f"a SIP2 account {login!r} exists already")
            kept = accounts_store.find(self.db, login)
            return {"login": login, "location": kept["location"], "charset": kept["charset"], "created": False}
        return {"login": login, "location": location, "charset": charset, "created": True}
