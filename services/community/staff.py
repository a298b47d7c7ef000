"""Staff accounts of the committees and the library network, and their console sessions,
free of I/O: logins, passwords, roles, profiles, session keys and time stamps.

Five roles (``ACCOUNT_ROLES``), each bound to a place of the hierarchy (``place_hierarchy``):

- ``staff``: a committee clerk, bound to one committee: its case queue, its residents' cases.
- ``centre``: a clerk of a sub-district's acceptance centre (社区事务受理服务中心), bound to the
  sub-district: handles the SUBDISTRICT matters (``jurisdiction``) and reads every case of its
  committees.
- ``supervisor``: electronic supervision (电子监察), bound to one sub-district or, with none, to
  the whole district: reads every case in scope, acts on none, issues 督办 (``supervision``).
- ``librarian``: the 24-hour library network's staff, bound to the whole network and to no
  committee: library conflicts and the kiosks' health, never residents' cases or records.
  The whole network rather than some locations, because a copy is borrowed anywhere and
  returned anywhere (通借通还): the two sides of a conflict (a kiosk's late checkout, the loan
  lent at a branch it collides with) are mostly at two locations, so a librarian bound to one
  would see half of it; the console and GraphQL filter by location instead.
- ``editor``: a library or learning editor, bound to no place: reviews what popular-science
  providers upload (publishes or rejects), places it on TV, reads its usage; never a case, a
  resident's record or a library conflict.

Passwords are hashed by the caller that makes them (``suite staff add``), so a new password
crosses no broker and is stored nowhere; signing in sends the typed password to
``staff_verify``, which compares in constant time (an unknown login costs the same scrypt).
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from services.common.errors import BadInput
from services.common.passwords import check_secret as check_password
from services.common.passwords import dummy_record, hash_secret, parse_hash
from services.community.sessions import new_session_id, session_key, stamp

log = logging.getLogger(__name__)

SESSION_HOURS = 8
LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
PASSWORD_MAX = 256


# ---- passwords (the suite's one helper, services/common/passwords.py) ---------------------

def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64url) with a fresh random salt."""
    if not isinstance(password, str) or not 8 <= len(password) <= PASSWORD_MAX:
        raise BadInput(f"a password has 8 to {PASSWORD_MAX} characters")
    return hash_secret(password)


def password_matches(password: str, account: dict | None) -> bool:
    """Whether ``password`` is the account's; with no account, after the same work."""
    record = account["password_hash"] if account else dummy_record()
    try:
        return check_password(password, record)
    except BadInput:
        log.error("staff account %s has an unusable password hash", account and account["_id"])
        return False


# ---- accounts -----------------------------------------------------------------------------

def is_login(login) -> bool:
    return isinstance(login, str) and bool(LOGIN.match(login))


def check_login(login) -> str:
    if not is_login(login):
        raise BadInput("a login is 2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
    return login


def check_name(name) -> str:
    name = str(name or "").strip()
    if not 1 <= len(name) <= 50:
        raise BadInput("a name has 1 to 50 characters")
    return name


ACCOUNT_ROLES = ("staff", "librarian", "centre", "supervisor", "editor")
NETWORK_ROLES = ("librarian", "editor")   # bound to no committee and no sub-district


def check_role(role, committee, subdistrict=None) -> tuple[str, str | None, str | None]:
    """(role, committee, sub-district) of a new account: a clerk belongs to a committee, a
    librarian or an editor to the whole library network, a centre clerk to a sub-district, a supervisor to
    a sub-district or (none) to the whole district."""
    if role not in ACCOUNT_ROLES:
        raise BadInput(f"a staff account's role is one of {', '.join(ACCOUNT_ROLES)}")
    if role != "staff" and committee:
        raise BadInput(f"a {role} works for no committee")
    if role in ("staff", *NETWORK_ROLES) and subdistrict:
        raise BadInput(f"a {role} works for no sub-district")
    if role in NETWORK_ROLES:
        return role, None, None
    if role == "centre" and not (isinstance(subdistrict, str) and subdistrict):
        raise BadInput("a centre clerk works for a sub-district's centre: give its code")
    if role in ("centre", "supervisor"):
        if subdistrict is not None and not isinstance(subdistrict, str):
            raise BadInput("a sub-district is given by its code")
        return role, None, subdistrict or None
    if not isinstance(committee, str) or not committee:
        raise BadInput("a clerk works for a committee: give its code")
    return role, committee, None


def new_account(login: str, name: str, committee: str | None, password_hash: str, now: datetime,
                role: str = "staff", subdistrict: str | None = None) -> dict:
    """The account document of a new member of staff (``password_hash`` made by ``hash_password``)."""
    login, name = check_login(login), check_name(name)
    role, committee, subdistrict = check_role(role, committee, subdistrict)
    parse_hash(password_hash)
    return {"_id": login, "name": name, "committee": committee, "subdistrict": subdistrict, "role": role,
            "password_hash": str(password_hash), "active": True, "created_at": stamp(now)}


def is_active(account: dict | None) -> bool:
    return account is not None and account.get("active", True)


def profile(doc: dict) -> dict:
    """A staff member as the gateway sees them (never the hash); accounts made before roles
    are clerks."""
    return {"login": doc["_id"], "name": doc["name"], "committee": doc.get("committee"),
            "subdistrict": doc.get("subdistrict"), "role": doc.get("role", "staff"),
            "active": bool(doc.get("active", True))}


# ---- sessions -----------------------------------------------------------------------------

def new_session(account: dict, now: datetime) -> tuple[str, dict]:
    """A new session's id (32 random bytes urlsafe) and its document, valid for SESSION_HOURS."""
    session_id = new_session_id()
    return session_id, {"_id": session_key(session_id), "login": account["_id"],
                        "committee": account.get("committee"), "created_at": stamp(now),
                        "expires_at": stamp(now + timedelta(hours=SESSION_HOURS))}
