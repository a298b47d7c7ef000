"""Kiosks as devices: who may speak for which kiosk, when an event is stale, and whether a
kiosk is online. Pure: no I/O."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from contracts.events.kiosk import BY_KIND, broker_user
from services.common import outbox
from services.common.keyed_lock import OrderedTurns
from services.common.storage import merge_updates

OFFLINE_AFTER_BEATS = 3
DEFAULT_INTERVAL = 60   # seconds between heartbeats, unless a kiosk's heartbeat says otherwise
SEEN_EVERY = 10.0       # seconds: how often one process rewrites a busy kiosk's status at most
SKEW_BOUND = timedelta(minutes=5)   # an event stamped further ahead of its arrival was stamped by a wrong clock


def kiosk_of(routing_key: str) -> str:
    parts = routing_key.split(".")
    if len(parts) != 3 or parts[0] != "kiosk":
        raise ValueError(f"not a kiosk routing key: {routing_key!r}")
    return parts[1]


def sender_problem(routing_key: str, user_id: str | None, source: str, event_type: str) -> str | None:
    """Why this message may not be taken as the kiosk it names says, or None. The broker has
    checked ``user_id`` against the signed-in user; the routing key and the envelope must
    name the same kiosk and the same kind of event (a checkout sent on the heartbeat key is
    no heartbeat and no checkout)."""
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
    kind = routing_key.split(".")[2]
    if kind not in BY_KIND:
        return f"routing key {routing_key!r} names no kind of kiosk event ({', '.join(BY_KIND)})"
    if BY_KIND[kind].TYPE != event_type:
        return f"routing key {routing_key!r} is for {BY_KIND[kind].TYPE}, not the envelope's {event_type}"
    return None


def event_key(kiosk_id: str, event_id: str) -> str:
    """An event's identity is its source and its id (CloudEvents): two kiosks may use one id."""
    return f"kiosk:{kiosk_id}:{event_id}"


def placed_at(stamped: datetime, received: datetime, bound: timedelta = SKEW_BOUND) -> tuple[datetime, float | None]:
    """When an event is taken to have happened, and by how many seconds its kiosk's clock ran
    ahead (None when it did not). Nothing happens after it arrives: an event stamped more than
    ``bound`` ahead of its arrival is placed at its arrival, or a kiosk whose clock runs a day
    ahead would make every later correct event on its copies look older."""
    ahead = (stamped - received).total_seconds()
    if ahead > bound.total_seconds():
        return received, ahead
    return stamped, None


def first_checkin_after(moment: datetime, checkins: list[str] | None) -> str | None:
    """The earliest recorded check-in after ``moment`` (the return that ended a loan begun then)."""
    later = sorted(c for c in (checkins or []) if datetime.fromisoformat(c) > moment)
    return later[0] if later else None


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


class RecentlySeen:
    """Kiosks whose status this process wrote lately. Every event used to rewrite it: one
    store round trip of about seven per loan. A busy kiosk's status is now rewritten at most
    every ``SEEN_EVERY`` seconds (and at least once a heartbeat interval, well inside the
    ``OFFLINE_AFTER_BEATS`` that mark it offline); heartbeats and faults always write."""

    def __init__(self, every: float = SEEN_EVERY, clock=time.monotonic):
        self.every, self.clock = every, clock
        self._written: dict[str, tuple[float, float]] = {}

    def due(self, kiosk_id: str) -> bool:
        written = self._written.get(kiosk_id)
        return written is None or self.clock() - written[0] >= min(self.every, written[1])

    def wrote(self, kiosk_id: str, interval_seconds: float | None) -> None:
        if len(self._written) > 10_000:
            self._written.clear()
        self._written[kiosk_id] = (self.clock(), float(interval_seconds or DEFAULT_INTERVAL))


recently_seen = RecentlySeen()
# One kiosk event per copy at a time in this process, in order of their time: registered as
# they arrive (``kiosk_inbox``), each taking its turn when it is applied (``kiosk_events``).
copy_turns = OrderedTurns()


FAULT_CODE = re.compile(r"^[A-Z0-9_]{1,64}$")   # as the fault report contract says: safe as a field name


def open_fault(data: dict, at: datetime, fault_event: dict) -> dict:
    """The update that opens a fault on the kiosk and stores its event (one write)."""
    when = at.astimezone(timezone.utc).isoformat()
    fault = {"code": data["fault_code"], "description": data.get("description", ""),
             "severity": data.get("severity"), "at": when}
    return merge_updates({"$set": {"fault": fault, f"open_faults.{data['fault_code']}": {
        **fault, "since": when, "last_reported": when, "reports": 1}}}, outbox.record(fault_event))


def repeated_fault(code: str, at: datetime) -> dict:
    return {"$max": {f"open_faults.{code}.last_reported": at.astimezone(timezone.utc).isoformat()},
            "$inc": {f"open_faults.{code}.reports": 1}}


def open_faults_view(kiosk: dict) -> list[dict]:
    return [{"code": code, "since": f.get("since"), "last_reported": f.get("last_reported"),
             "reports": f.get("reports", 1), "severity": f.get("severity")}
            for code, f in sorted((kiosk.get("open_faults") or {}).items())]


def status_view(kiosk: dict, open_conflicts: int = 0) -> dict:
    """A kiosk's health: heard from lately, its faults, how far its clock was last found ahead,
    what became of its events (applied, duplicate, late, conflict), as counted so far, and how
    many of its conflicts staff have still to settle."""
    return {"kiosk_id": kiosk["_id"], "status": kiosk.get("status", "offline"), "last_seen": kiosk.get("last_seen"),
            "fault": kiosk.get("fault"), "open_faults": open_faults_view(kiosk), "committee": kiosk.get("committee"),
            "clock_skew": kiosk.get("clock_skew"), "events": dict(kiosk.get("events") or {}),
            "open_conflicts": open_conflicts}
