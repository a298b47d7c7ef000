"""Teachers and pupils signing in to the e-schoolbag's pages, and what a child's consent
allows, free of I/O.

- A school sign-in code (校园登录码) is 8 characters of an alphabet without look-alikes
  (shown ``ABCD-2345``), for one roster user: a pupil (issued by a teacher of their class or
  by ``suite school code``) or a teacher (``suite school code``: the local way in where no
  identity provider is configured). Only its SHA-256 is stored (the code is looked up by it:
  ~2^39 codes, alive minutes, so a copy of the store signs nobody in before they expire).
  Good once, for CODE_MINUTES; a new code for the same person replaces the old one.
- Tries are limited like the portal's phone codes: WRONG_PER_HOUR wrong codes an hour from
  one address (a shared terminal) and the address is refused until the hour turns.
- Sessions end after IDLE_MINUTES unused, SESSION_HOURS in all, or at sign-out; a pupil's
  also ends when their guardian withdraws consent (checked at every page).
- Children's data (《儿童个人信息网络保护规定》): a pupil presumed under 14 (every grade below
  10, or none given: the roster holds no birth date) signs in, and is named to a teacher,
  only with a guardian's recorded consent; without it the teacher sees a placeholder.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from services.common.errors import BadInput, RateLimited

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_MINUTES = 30
WRONG_PER_HOUR = 10
IDLE_MINUTES = 30
SESSION_HOURS = 8
OVER_14_GRADES = {"10", "11", "12", "13"}    # 高中: 15 and older
PLACEHOLDER = "（待监护人同意）"


def stamp(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


# ---- codes ----------------------------------------------------------------------------------

def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def shown(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normal_code(raw) -> str:
    """A code as people type it (lower case, spaces, a dash) -> its 8 characters."""
    code = re.sub(r"[\s-]", "", raw.upper()) if isinstance(raw, str) and len(raw) <= 32 else ""
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise BadInput("登录码是8位字母和数字，如 ABCD-2345 (a sign-in code is 8 letters and digits)")
    return code


def digest(code: str) -> str:
    return hashlib.sha256(f"school-code|{code}".encode()).hexdigest()


def code_record(code: str, user: dict, issued_by: dict, now: datetime) -> dict:
    return {"_id": digest(code), "user_id": user["_id"], "role": user["role"], "issued_by": issued_by,
            "issued_at": stamp(now), "expires_at": stamp(now + timedelta(minutes=CODE_MINUTES))}


def hour_bucket(now: datetime) -> str:
    return now.strftime("%Y%m%d%H")


def check_wrong_count(wrong: int) -> None:
    if wrong >= WRONG_PER_HOUR:
        raise RateLimited("本设备输错登录码次数过多，请一小时后再试或请老师帮助 (too many wrong codes from this device)")


def expired(record: dict, now: datetime) -> bool:
    return str(record["expires_at"]) <= stamp(now)


WRONG_CODE = "登录码不正确、已使用或已过期，请向老师重新领取 (the code is wrong, used or expired)"


# ---- consent ------------------------------------------------------------------------------

def presumed_under_14(student: dict) -> bool:
    return (student.get("grade") or "").lstrip("0").rjust(2, "0") not in OVER_14_GRADES


def consented(student: dict) -> bool:
    """Whether a pupil's data may be used: 14 or older, or a guardian's consent recorded."""
    return not presumed_under_14(student) or bool(student.get("consent"))


def name_for_teacher(student: dict) -> str:
    return student.get("name", "") if consented(student) else PLACEHOLDER


# ---- sessions -------------------------------------------------------------------------------

def session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def new_session(user: dict, via: str, now: datetime, guardian: str | None = None) -> tuple[str, dict]:
    session_id = secrets.token_urlsafe(32)
    return session_id, {"_id": session_key(session_id), "user_id": user["_id"], "role": user["role"], "via": via,
                        "guardian": guardian, "created_at": stamp(now),
                        "idle_until": stamp(now + timedelta(minutes=IDLE_MINUTES)),
                        "expires_at": stamp(now + timedelta(hours=SESSION_HOURS))}


def live(session: dict | None, now: datetime) -> bool:
    current = stamp(now)
    return session is not None and current < str(session["idle_until"]) and current < str(session["expires_at"])


def touched(now: datetime) -> dict:
    return {"idle_until": stamp(now + timedelta(minutes=IDLE_MINUTES))}
