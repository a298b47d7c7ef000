"""A batch of kiosk events applied at once (``apply``): the copies, patrons and holds it
touches read with one query per collection, the plain loans and returns worked out in memory
with the circulation rules (``circulation``, as at a desk), and the copies' new states, their
inbox keys, their outbox events and the loans that ended written with one bulk write per
collection. What a batch gives back is what became of each event, in the batch's order.

- Plain means: a checkout of an available copy by a known card, or a return of a copy on
  loan whose title nobody waits for, neither older than the copy's last change. Everything
  else (conflicts, late events, implied returns, holds, faults, heartbeats, inventories, a
  duplicate) is applied one event at a time by ``kiosk_events.apply``, after the plain ones
  (its copy's events from there on too, so a copy's events keep their order).
- Each copy's events are applied in order of their time (``kiosk_events.turn_order``), as one
  process applies the events of a copy that are in flight together.
- Exactly once as one at a time: each copy is written with a version check and its events'
  keys in its inbox by the same write. A copy changed meanwhile (at a desk) is not written:
  its events are applied one at a time after all. A batch delivered again (the process died
  before its acks) finds its keys in the inbox: duplicates, and ``kiosk_events`` finishes what
  the first try may have left (the loan history).
- An event whose application fails gives its exception in its place; the others apply.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import pymongo
from pymongo import UpdateOne
from pymongo.database import Database

from contracts.events.kiosk import KioskCheckinV1, KioskCheckoutV1
from contracts.events.library import LoanCheckedInV1, LoanCheckedOutV1
from services.common import clock, outbox
from services.common.inbox import INBOX_KEEP
from services.common.storage import diff_update, merge_updates
from services.library import (actions, circulation, copies_store, kiosk_events, kiosks, locations_store,
                              reference)
from services.library.policy import open_on
from services.library.reads import rule
from services.library.store import COPIES, HOLDS, LOAN_HISTORY, PATRONS, TITLES

log = logging.getLogger(__name__)
WRITTEN_BY = "batch_written"   # the last batch write a copy took (its token)
NO_STANDING = circulation.PatronStanding((), 0, 0, 0)   # a kiosk's loan happened offline: recorded whatever


@dataclass
class _Copy:
    """A copy through the batch: as read, as it becomes, and what its plain events add."""
    read: dict
    now: dict
    keys: list = field(default_factory=list)      # inbox keys of the events applied in memory
    events: list = field(default_factory=list)    # outbox events
    ended: list = field(default_factory=list)     # loans ended (to the loan history)
    applied: list = field(default_factory=list)   # positions in the batch of the events applied in memory


def apply(db: Database, events: list[dict]) -> list:
    """What became of each event (``applied``, ``duplicate``, ``late``, ``conflict``), or the
    exception its application raised."""
    outcomes: list = [None] * len(events)
    placed = [_placed(e) for e in events]
    by_copy: dict[str, list[int]] = {}
    one_by_one: list[int] = []
    for i, event in enumerate(events):
        barcode = kiosk_events.copy_of(event)
        if barcode is None or placed[i][1] is not None:   # not a loan or return, or a clock running ahead
            one_by_one.append(i)
        else:
            by_copy.setdefault(barcode, []).append(i)
    try:
        copies, written = _plain(db, events, placed, by_copy, outcomes)
    except Exception:   # the store failed mid-batch: each event once more by itself (the inbox absorbs)
        log.exception("kiosk batch failed; applying its events one at a time")
        copies, written = {}, set()
        outcomes = [None] * len(events)
    for barcode, positions in by_copy.items():
        done = set(copies[barcode].applied) if barcode in written else set()
        for i in positions:
            if i not in done:
                outcomes[i] = None
                one_by_one.append(i)
    # what is left, a copy's events in order of their time (after its plain ones, written above)
    for i in sorted(one_by_one, key=lambda i: (kiosk_events.copy_of(events[i]) is not None,
                                               kiosk_events.turn_order(events[i], placed[i][2]))):
        try:
            outcomes[i] = kiosk_events.apply(db, events[i])
        except Exception as exc:
            outcomes[i] = exc
    return outcomes


def _placed(event: dict) -> tuple[datetime, float | None, datetime]:
    """(when it happened as placed, how far its kiosk's clock ran ahead or None, when it came)."""
    received = datetime.fromisoformat(event.get(kiosk_events.RECEIVED) or clock.now().isoformat())
    return *kiosks.placed_at(datetime.fromisoformat(event["time"]), received), received


def _plain(db: Database, events: list[dict], placed: list, by_copy: dict[str, list[int]], outcomes: list
           ) -> tuple[dict[str, _Copy], set[str]]:
    """Apply the plain loans and returns in memory, write them; (the copies, those written)."""
    if not by_copy:
        return {}, set()
    copies = {c["_id"]: _Copy(c, c) for c in db[COPIES].find({"_id": {"$in": list(by_copy)}})}
    cards = {events[i]["data"]["card_number"] for ps in by_copy.values() for i in ps
             if events[i]["type"] == KioskCheckoutV1.TYPE}
    borrowers = {(c.read.get("loan") or {}).get("patron") for c in copies.values()} - {None}
    patrons = list(db[PATRONS].find({"$or": [{"card_number": {"$in": sorted(cards)}},
                                             {"_id": {"$in": sorted(borrowers)}}]}))
    by_card = {p["card_number"]: p for p in patrons if p.get("card_number")}
    by_id = {p["_id"]: p for p in patrons}
    titles = sorted({c.read["title_id"] for c in copies.values()})
    waiting: dict[str, list[dict]] = {}
    for hold in db[HOLDS].find({"queue": {"$in": titles}}):
        waiting.setdefault(hold["queue"], []).append(hold)
    reference.warm(db, TITLES, titles, lambda ids: {t["_id"]: t for t in db[TITLES].find(
        {"_id": {"$in": ids}}, {"title": 1})})

    for barcode, positions in by_copy.items():
        copy = copies.get(barcode)
        if copy is None:
            continue   # unknown barcode: a conflict, one at a time
        for i in sorted(positions, key=lambda i: kiosk_events.turn_order(events[i], placed[i][2])):
            outcome = _in_memory(db, copy, events[i], placed[i][0], by_card, by_id, waiting)
            if outcome is None:
                break   # this one and the copy's later ones: one at a time
            copy.applied.append(i)
            outcomes[i] = outcome
    changed = {b: c for b, c in copies.items() if c.keys}
    written = _write(db, changed)
    for barcode in written:
        for i in changed[barcode].applied:
            kiosk_events.count(events[i]["source"].rsplit("/", 1)[-1], outcomes[i])
    _seen(db, events, placed, [i for b in written for i in changed[b].applied])
    return copies, written


def _in_memory(db: Database, copy: _Copy, event: dict, at: datetime, by_card: dict, by_id: dict,
               waiting: dict) -> str | None:
    """A plain loan or return applied to ``copy.now``; None when it is not plain."""
    kiosk_id = event["source"].rsplit("/", 1)[-1]
    key = kiosks.event_key(kiosk_id, event["id"])
    now = copy.now
    if key in copy.keys:
        return "duplicate"   # twice in this batch: the first is applied here
    if kiosk_events.applied_to(now, event, key) or kiosks.is_stale(at, now.get("state_at")):
        return None
    try:
        loc = locations_store.by_code(db, kiosk_id)
    except Exception:
        return None   # an unknown location: one at a time says why
    source = f"kiosk:{kiosk_id}"
    if event["type"] == KioskCheckoutV1.TYPE:
        patron = by_card.get(event["data"]["card_number"])
        if patron is None or now["status"] != circulation.AVAILABLE:
            return None
        others = any(h["patron"] != patron["_id"] for h in waiting.get(now["title_id"], ()))
        try:
            new = circulation.checkout(
                now, patron["_id"], NO_STANDING, rule(db, patron, now, loc), location=kiosk_id, now=at,
                loan_id=uuid.uuid4().hex, is_open=open_on(loc.get("closed_weekdays", ()), loc.get("closed_dates", ())),
                holds_waiting=others)
        except circulation.Refused:
            return None
        copy.events.append(actions.loan_event(LoanCheckedOutV1, db, new, new["loan"], at, source, hold_id=None))
    elif event["type"] == KioskCheckinV1.TYPE:
        if now["status"] != circulation.ON_LOAN or waiting.get(now["title_id"]):
            return None
        new, ended = circulation.checkin(now, location=kiosk_id, now=at, first_hold=None,
                                         rule=rule(db, by_id.get(now["loan"]["patron"]), now, loc))
        overdue_days = max(0, (circulation.day_of(at) - date.fromisoformat(ended["due"])).days)
        copy.events.append(actions.loan_event(LoanCheckedInV1, db, new, ended, at, source, overdue_days=overdue_days,
                                              fine_cents=ended["fine_cents"]))
        copy.ended.append(ended)
    else:
        return None
    new["state_at"] = at.astimezone(timezone.utc).isoformat()
    copy.now = new
    copy.keys.append(key)
    return "applied"


def _write(db: Database, changed: dict[str, _Copy]) -> set[str]:
    """Each changed copy in one bulk write, version-checked, with its inbox keys, its events
    and the loans it ended (waiting in the copy until they are in the history); then the
    history in one insert, then the copies cleared of them. The barcodes written."""
    if not changed:
        return set()
    ops = []
    token = uuid.uuid4().hex   # which copies took this write, not another process's of the same events
    for c in changed.values():
        update = merge_updates(diff_update(c.read, {**copies_store.with_watch_fields(c.now), WRITTEN_BY: token}),
                               outbox.record(*c.events), {"$push": {"inbox": {"$each": c.keys, "$slice": -INBOX_KEEP}}})
        if c.ended:
            update = merge_updates(update, {
                "$set": {f"{copies_store.PENDING_HISTORY}.{e['loan_id']}": e for e in c.ended},
                "$inc": {copies_store.PENDING_HISTORY_COUNT: len(c.ended)}})
        ops.append(UpdateOne({"_id": c.read["_id"], "version": c.read["version"]}, update))
    result = db[COPIES].bulk_write(ops, ordered=False)
    written = set(changed)
    if result.matched_count != len(ops):   # changed meanwhile (a desk): which ones took our write?
        written = {d["_id"] for d in db[COPIES].find({"_id": {"$in": list(changed)}}, {WRITTEN_BY: 1})
                   if d.get(WRITTEN_BY) == token}
    ended = [(b, e) for b in written for e in changed[b].ended]
    if ended:
        try:
            db[LOAN_HISTORY].insert_many([{"_id": e["loan_id"], "barcode": b, "title_id": changed[b].read["title_id"],
                                           **e} for b, e in ended], ordered=False)
        except pymongo.errors.BulkWriteError as exc:   # some there already: kept once
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise
        db[COPIES].bulk_write([UpdateOne(
            {"_id": b, f"{copies_store.PENDING_HISTORY}.{e['loan_id']}": {"$exists": True}},
            {"$unset": {f"{copies_store.PENDING_HISTORY}.{e['loan_id']}": ""},
             "$inc": {copies_store.PENDING_HISTORY_COUNT: -1}}) for b, e in ended], ordered=False)
    return written


def _seen(db: Database, events: list[dict], placed: list, applied: list[int]) -> None:
    """Each kiosk of the batch's plain events is seen once, at its latest (as each event would)."""
    latest: dict[str, int] = {}
    for i in applied:
        kiosk_id = events[i]["source"].rsplit("/", 1)[-1]
        if kiosk_id not in latest or placed[i][0] > placed[latest[kiosk_id]][0]:
            latest[kiosk_id] = i
    for kiosk_id, i in latest.items():
        kiosk_events.seen(db, kiosk_id, placed[i][0], events[i])
