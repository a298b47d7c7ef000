"""Patron PINs, pure: which PINs may be set, when wrong ones block PIN entry, what the
screen of a self-check machine says."""
from datetime import datetime, timedelta, timezone

import pytest

from services.library import pins

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("pin", ["2468", "73915", "19750412", "0815", "1357"])
def test_pins_that_may_be_set(pin):
    assert pins.pin_problem(pin) is None


@pytest.mark.parametrize("pin, why", [
    ("0000", "too easy"), ("1111", "too easy"), ("1234", "too easy"), ("123456", "too easy"),
    ("4321", "too easy"), ("98765432", "too easy"), ("1212", "too easy"), ("565656", "too easy"),
    ("123", "4 to 8 digits"), ("123456789", "4 to 8 digits"), ("12a4", "4 to 8 digits"), ("", "4 to 8 digits"),
    ("１２３４", "4 to 8 digits"), (1234, "4 to 8 digits"), (None, "4 to 8 digits"), ("2468\n", "4 to 8 digits"),
])
def test_pins_that_are_refused_say_why(pin, why):
    assert why in pins.pin_problem(pin)


def test_five_wrong_pins_within_the_window_block_pin_entry_for_a_while():
    recent = [(NOW - timedelta(minutes=m)).isoformat() for m in (14, 10, 5, 1)]
    assert not pins.should_block(recent, NOW)
    assert pins.should_block(recent + [NOW.isoformat()], NOW)
    old = [(NOW - timedelta(minutes=16)).isoformat()] + recent[1:] + [NOW.isoformat()]
    assert not pins.should_block(old, NOW)                         # one of them is out of the window
    assert not pins.should_block(None, NOW) and not pins.should_block(["garbage"] * 5, NOW)

    block = pins.new_block(NOW, "sip2")
    assert block["kind"] == "automatic" and "5 wrong PINs" in block["reason"]
    assert pins.blocked_until(block, NOW + timedelta(minutes=29)) == NOW + pins.BLOCK_FOR
    assert pins.blocked_until(block, NOW + pins.BLOCK_FOR) is None  # lifted by time
    assert pins.blocked_until(None, NOW) is None and pins.blocked_until({"until": "soon"}, NOW) is None


def test_the_third_block_within_a_day_is_a_lock_that_only_a_new_pin_lifts():
    day = [(NOW - timedelta(hours=h)).isoformat() for h in (20, 3)]
    assert not pins.is_locked(pins.new_block(NOW, "sip2", day[1:]))            # the second block: ends by itself
    lock = pins.new_block(NOW, "sip2", day)
    assert pins.is_locked(lock) and lock["until"] is None
    assert pins.blocked_until(lock, NOW) is None                               # no end of its own
    stale = [(NOW - timedelta(hours=30)).isoformat(), (NOW - timedelta(hours=25)).isoformat()]
    assert not pins.is_locked(pins.new_block(NOW, "sip2", stale))             # older blocks do not count
    assert "set a new PIN" in pins.screen_message(pins.PinCheck(pins.LOCKED))


def test_screen_messages():
    assert "set one in the app or at a library desk" in pins.screen_message(pins.PinCheck(pins.NOT_SET))
    assert pins.screen_message(pins.PinCheck(pins.WRONG)) == "wrong PIN"
    blocked = pins.screen_message(pins.PinCheck(pins.WRONG, NOW + pins.BLOCK_FOR), "10:30")
    assert "blocked" in blocked and "after 10:30" in blocked
    assert "enter your PIN" in pins.screen_message(pins.PinCheck(pins.EMPTY))
