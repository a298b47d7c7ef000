"""Patron PINs (what a self-check machine asks for with the card), free of I/O: which PINs
may be set, when wrong guesses block PIN entry for a while, and what the screen says.

A PIN is stored only as a salted scrypt hash (``services.common.passwords``) and never
logged. Wrong PINs are counted per card: ATTEMPTS of them within WINDOW block PIN entry for
BLOCK_FOR (an automatic block with its reason, lifted by time or by a new PIN set at a desk
or in the app); while blocked a PIN is not even checked, so guessing goes no further. The
LOCK_AFTER_BLOCKS-th block within LOCK_WINDOW does not end by itself: only a new PIN lifts it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_DIGITS, MAX_DIGITS = 4, 8
PIN = re.compile(rf"[0-9]{{{MIN_DIGITS},{MAX_DIGITS}}}")
ATTEMPTS = 5
WINDOW = timedelta(minutes=15)
BLOCK_FOR = timedelta(minutes=30)
LOCK_AFTER_BLOCKS = 3               # blocks within LOCK_WINDOW: PIN entry stays locked until a new PIN
LOCK_WINDOW = timedelta(hours=24)   # (so a card allows 15 guesses per PIN, not 240 a day)

OK, WRONG, EMPTY, NOT_SET, BLOCKED, LOCKED = "ok", "wrong", "empty", "not_set", "blocked", "locked"
DIGITS = "0123456789"


@dataclass(frozen=True)
class PinCheck:
    outcome: str                    # OK, WRONG, EMPTY, NOT_SET, BLOCKED or LOCKED (until a new PIN)
    blocked_until: datetime | None = None   # PIN entry blocked until then (also after the guess that blocked it)

    @property
    def ok(self) -> bool:
        return self.outcome == OK


def pin_problem(pin) -> str | None:
    """Why ``pin`` may not be set (None: it may)."""
    if not isinstance(pin, str) or not PIN.fullmatch(pin):
        return f"a PIN is {MIN_DIGITS} to {MAX_DIGITS} digits"
    if len(set(pin)) == 1 or pin in DIGITS or pin in DIGITS[::-1] or pin == pin[:2] * (len(pin) // 2):
        return ("this PIN is too easy to guess (the same digit, digits in a row or a repeated pair): "
                "choose another")
    return None


def should_block(failures, now: datetime) -> bool:
    """Whether the wrong PINs recorded (ISO times, newest last) block PIN entry now."""
    recent = [f for f in failures or () if _moment(f) is not None and now - _moment(f) <= WINDOW]
    return len(recent) >= ATTEMPTS


def new_block(now: datetime, by: str, earlier_blocks=()) -> dict:
    """The automatic block of PIN entry, with its reason; it ends by itself at ``until``, unless
    it is the LOCK_AFTER_BLOCKS-th within LOCK_WINDOW (``earlier_blocks``: ISO times): then it
    is a lock, lifted only by a new PIN."""
    recent = [b for b in earlier_blocks or () if _moment(b) is not None and now - _moment(b) <= LOCK_WINDOW]
    if len(recent) + 1 >= LOCK_AFTER_BLOCKS:
        return {"reason": f"{LOCK_AFTER_BLOCKS} PIN blocks within {int(LOCK_WINDOW.total_seconds() // 3600)} hours: "
                          "a new PIN is needed", "kind": "automatic", "by": by, "at": now.isoformat(),
                "until": None, "locked": True}
    return {"reason": f"{ATTEMPTS} wrong PINs within {int(WINDOW.total_seconds() // 60)} minutes",
            "kind": "automatic", "by": by, "at": now.isoformat(), "until": (now + BLOCK_FOR).isoformat()}


def is_locked(block) -> bool:
    """PIN entry locked until a new PIN is set."""
    return isinstance(block, dict) and bool(block.get("locked"))


def blocked_until(block, now: datetime) -> datetime | None:
    """The end of a PIN block still in force (None: no block, it has ended, or it is a lock)."""
    until = _moment((block or {}).get("until")) if isinstance(block, dict) else None
    return until if until is not None and until > now else None


def screen_message(check: PinCheck, local_time: str | None = None) -> str:
    """What a self-check machine shows the patron when their PIN was not accepted."""
    if check.outcome == NOT_SET:
        return "no PIN is set for this card: set one in the app or at a library desk"
    if check.outcome == LOCKED:
        return "too many wrong PINs: set a new PIN in the app or at a library desk"
    if check.outcome == BLOCKED or check.blocked_until is not None:  # blocked, or by this very guess
        after = f" after {local_time}" if local_time else " later"
        return f"too many wrong PINs: PIN entry is blocked; try again{after} or ask at a library desk"
    if check.outcome == WRONG:
        return "wrong PIN"
    return "please enter your PIN"


def _moment(text) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None
