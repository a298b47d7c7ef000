"""Kiosks as devices: who may speak for which kiosk, when an event is stale, and whether a
kiosk is online. Pure: no I/O."""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta

from eventlet.semaphore import Semaphore

from contracts.events.kiosk import broker_user

OFFLINE_AFTER_BEATS = 3


def kiosk_of(routing_key: str) -> str:
    parts = routing_key.split(".")
    if len(parts) != 3 or parts[0] != "kiosk":
        raise ValueError(f"not a kiosk routing key: {routing_key!r}")
    return parts[1]


def sender_problem(routing_key: str, user_id: str | None, source: str) -> str | None:
    """Why this message may not speak for the kiosk it names, or None. The broker has
    checked ``user_id`` against the signed-in user; the routing key and the envelope must
    name the same kiosk."""
    try:
        kiosk = kiosk_of(routing_key)
    except ValueError as exc:
        return str(exc)
    if not user_id:
        return "kiosk messages must carry the user_id property"
    if user_id != broker_user(kiosk):
        return f"user {user_id!r} may not speak for kiosk {kiosk!r}"
    if source != f"/kiosks/{kiosk}":
        return f"source {source!r} does not name kiosk {kiosk!r}"
    return None


def is_stale(event_time: datetime, state_at: str | None) -> bool:
    """An event older than the item's last applied change would undo newer facts."""
    return state_at is not None and event_time < datetime.fromisoformat(state_at)


def checked_in_since(event_time: datetime, checked_in_at: str | None) -> bool:
    """Whether the item was checked in after ``event_time``: a loan begun then has ended."""
    return is_stale(event_time, checked_in_at)


def is_offline(last_seen: str | None, interval_seconds: int, now: datetime) -> bool:
    if last_seen is None:
        return True
    return now - datetime.fromisoformat(last_seen) > timedelta(seconds=interval_seconds * OFFLINE_AFTER_BEATS)


_locks: defaultdict[str, Semaphore] = defaultdict(Semaphore)


@contextmanager
def item_lock(barcode: str):
    """One kiosk event per item at a time in this process (workers run concurrently), so
    events of one item that arrive together are applied one after the other."""
    lock = _locks[barcode]
    with lock:
        yield
    if lock.balance >= 1 and len(_locks) > 10_000:  # idle: forget it, keep the map small
        _locks.pop(barcode, None)
