"""Residents signing in to the portal with a phone number and a one-time code, and their
portal sessions, free of I/O.

- A code is 6 digits, good for 5 minutes and 5 tries; only its salted HMAC is stored, so a
  copy of the database signs nobody in. A new code replaces the old one.
- Codes are sent at most once a minute and 5 times an hour to a number, and 20 times an hour
  for one client address (what stops someone making the district text strangers).
- A code is sent to any well-formed mainland mobile number: whether a number is in the
  registry is told only to whoever proves they hold it (no list of residents' numbers can be
  read by asking). After a good code: the one resident with that number is signed in; a
  number in no record, or in several (a family sharing one), gets a page saying what to do.
- A portal session ends after 30 minutes unused or 12 hours in all, at sign-out, or when its
  resident signs out everywhere.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.errors import BadInput, RateLimited
from services.community.sessions import new_session_id, session_key, stamp

MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
CODE = re.compile(r"^[0-9]{6}$")
CODE_SECONDS = 300
CODE_TRIES = 5
RESEND_GAP_SECONDS = 60
SENDS_PER_HOUR_TO_NUMBER = 5
SENDS_PER_HOUR_FROM_ADDRESS = 20
IDLE_MINUTES = 30
SESSION_HOURS = 12
TOUCH_AFTER_SECONDS = 60     # a session's idle clock is moved at most once a minute (fewer writes)


def check_phone(phone) -> str:
    """A mainland mobile number as people type it (spaces, dashes, +86) -> 11 digits."""
    if not isinstance(phone, str) or len(phone) > 32:
        raise BadInput("请输入11位手机号码 (an 11-digit mainland mobile number)")
    digits = re.sub(r"[\s-]", "", phone)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not MOBILE.match(digits):
        raise BadInput("请输入11位手机号码 (an 11-digit mainland mobile number)")
    return digits


def check_code(code) -> str:
    if not isinstance(code, str) or not CODE.match(code.strip()):
        raise BadInput("验证码是6位数字 (the code is 6 digits)")
    return code.strip()


# ---- codes ----------------------------------------------------------------------------------

def _digest(salt: str, phone: str, code: str) -> str:
    return hmac.new(salt.encode(), f"{phone}|{code}".encode(), hashlib.sha256).hexdigest()


def new_challenge(phone: str, now: datetime) -> tuple[str, dict]:
    """A new code for ``phone`` and what is stored of it (``_id`` = the number)."""
    code = f"{secrets.randbelow(10 ** 6):06d}"
    salt = secrets.token_hex(16)
    return code, {"_id": phone, "salt": salt, "digest": _digest(salt, phone, code), "tries": 0,
                  "sent_at": stamp(now), "expires_at": stamp(now + timedelta(seconds=CODE_SECONDS))}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    why: str = ""            # for a refusal: words for the person
    spent: bool = False      # the code can no longer be used: delete it


def judge(challenge: dict | None, phone: str, code: str, now: datetime) -> Verdict:
    """Whether ``code`` is the live code of ``phone`` (``challenge``: what is stored; its
    ``tries`` already counts this try)."""
    if challenge is None:
        return Verdict(False, "验证码已失效，请重新获取 (no live code: ask for a new one)")
    if str(challenge["expires_at"]) <= stamp(now):
        return Verdict(False, "验证码已过期，请重新获取 (the code has expired: ask for a new one)", spent=True)
    if challenge["tries"] > CODE_TRIES:
        return Verdict(False, "尝试次数过多，请重新获取验证码 (too many tries: ask for a new code)", spent=True)
    if hmac.compare_digest(_digest(challenge["salt"], phone, code), challenge["digest"]):
        return Verdict(True, spent=True)
    left = CODE_TRIES - challenge["tries"]
    if left <= 0:
        return Verdict(False, "验证码错误，请重新获取 (wrong code; no tries left: ask for a new one)", spent=True)
    return Verdict(False, f"验证码错误，还可尝试{left}次 (wrong code: {left} tries left)")


def hour_bucket(now: datetime) -> str:
    return now.strftime("%Y%m%d%H")


def check_gap(last_sent: str | None, now: datetime) -> None:
    """Refuse a new code within a minute of the last one to the number (before anything is counted)."""
    if last_sent and stamp(now - timedelta(seconds=RESEND_GAP_SECONDS)) < last_sent:
        raise RateLimited(f"请{RESEND_GAP_SECONDS}秒后再获取验证码 (wait a minute before asking again)")


def check_counts(to_number: int, from_address: int, per_address: int = SENDS_PER_HOUR_FROM_ADDRESS) -> None:
    """Refuse a new code over the hour's counts (which include this one); ``per_address`` is
    the setting ``SIGNIN_CODES_PER_ADDRESS_HOUR`` (a service centre's tablets share one address)."""
    if to_number > SENDS_PER_HOUR_TO_NUMBER:
        raise RateLimited("该号码本小时获取验证码次数已达上限，请稍后再试 (too many codes for this number this hour)")
    if from_address > per_address:
        raise RateLimited("本设备获取验证码过于频繁，请稍后再试 (too many codes from this address this hour)")


def message(code: str) -> str:
    return f"【智慧社区】您的登录验证码为{code}，{CODE_SECONDS // 60}分钟内有效。请勿将验证码告诉他人。"


# ---- who signs in -------------------------------------------------------------------------------

NOT_REGISTERED = "not_registered"
SHARED_NUMBER = "shared_number"


def outcome(residents: list[dict]) -> tuple[str | None, str | None]:
    """(resident id, None) for the one resident holding the number, else (None, why)."""
    if len(residents) == 1:
        return residents[0]["_id"], None
    return None, NOT_REGISTERED if not residents else SHARED_NUMBER


# ---- portal sessions ----------------------------------------------------------------------------

def new_session(resident_id: str, via: str, now: datetime) -> tuple[str, dict]:
    session_id = new_session_id()
    return session_id, {"_id": session_key(session_id), "resident_id": resident_id, "via": via,
                        "created_at": stamp(now), "seen_at": stamp(now),
                        "idle_until": stamp(now + timedelta(minutes=IDLE_MINUTES)),
                        "expires_at": stamp(now + timedelta(hours=SESSION_HOURS))}


def live(session: dict | None, now: datetime) -> bool:
    current = stamp(now)
    return session is not None and current < str(session["idle_until"]) and current < str(session["expires_at"])


def touch(session: dict, now: datetime) -> dict | None:
    """The fields to move a live session's idle clock, or None when it moved under a minute ago."""
    if stamp(now - timedelta(seconds=TOUCH_AFTER_SECONDS)) < str(session["seen_at"]):
        return None
    return {"seen_at": stamp(now), "idle_until": stamp(now + timedelta(minutes=IDLE_MINUTES))}
