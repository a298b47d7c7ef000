"""A load generator for the kiosk network, and the oracle that says how it must end.

``plan()`` makes a consistent story of what happened at N kiosks (patrons borrow copies
that stand at a kiosk and return them at any kiosk, kiosks beat their heart), in time
order. ``simulate()`` tells that story to the broker through one ``KioskClient`` per
kiosk the way a real network does: a share of the events twice (``duplicates``), a share
swapped with that kiosk's next event (``reorder``), and a share of the kiosks cut off for
the middle half of the run (``offline``: they buffer, then replay). ``oracle()`` applies
the story once, in time order: a pure function, and what the library must end with.
``verify()`` compares that with what the library says.

``prepare_fixtures()`` makes kiosks, copies and patrons through the public RPCs (patrons
are residents registered in community, who become patrons through the broker).
"""
from __future__ import annotations

import random
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Mapping, Sequence

from infra.kiosk import accounts
from infra.kiosk.client import KioskClient

AVAILABLE, ON_LOAN = "available", "on_loan"
STEP = timedelta(seconds=7)  # logical time between two events of the story
SEARCH_GROUP = 50            # copies per search text (the library's search returns at most 50)


# ---- the story and the oracle (pure) ----------------------------------------------------------

@dataclass(frozen=True)
class LogicalEvent:
    at: datetime
    kiosk: str
    kind: str   # checkout | checkin | heartbeat
    data: dict


@dataclass(frozen=True)
class CopyState:
    status: str
    patron: str | None   # a card number, when on loan
    location: str


def plan(rng: random.Random, kiosk_ids: Sequence[str], cards: Sequence[str], copies: Mapping[str, str],
         n: int, start: datetime, step: timedelta = STEP, heartbeat_share: float = 0.08) -> list[LogicalEvent]:
    """``n`` events that could really have happened, in time order: a copy is borrowed
    only where it stands and while it is on the shelf, returned anywhere while on loan."""
    if not kiosk_ids or not cards or not copies:
        raise ValueError("a plan needs kiosks, patrons and copies")
    state = {b: CopyState(AVAILABLE, None, home) for b, home in sorted(copies.items())}
    out = []
    for i in range(n):
        at = start + step * i
        kiosk = rng.choice(list(kiosk_ids))
        here = [b for b, s in state.items() if s.status == AVAILABLE and s.location == kiosk]
        lent = [b for b, s in state.items() if s.status == ON_LOAN]
        roll = rng.random()
        if roll < heartbeat_share or not (here or lent):
            out.append(LogicalEvent(at, kiosk, "heartbeat", {"interval_seconds": 60}))
        elif lent and (not here or roll < 0.5):
            barcode = rng.choice(lent)
            state[barcode] = CopyState(AVAILABLE, None, kiosk)
            out.append(LogicalEvent(at, kiosk, "checkin", {"barcode": barcode}))
        else:
            barcode, card = rng.choice(here), rng.choice(list(cards))
            state[barcode] = CopyState(ON_LOAN, card, kiosk)
            out.append(LogicalEvent(at, kiosk, "checkout", {"barcode": barcode, "card_number": card}))
    return out


def replay_in_time_order(events: Iterable[LogicalEvent], copies: Mapping[str, str]
                         ) -> tuple[dict[str, CopyState], int, int]:
    """Apply each event once, in time order (ties keep their order): the final state per
    copy, how many events changed a copy, and how many were conflicts (a checkout of a
    copy on loan to someone else, or of an unknown copy), which change nothing."""
    state = {b: CopyState(AVAILABLE, None, home) for b, home in copies.items()}
    applied = conflicts = 0
    for ev in sorted(events, key=lambda e: e.at):
        barcode = ev.data.get("barcode")
        if ev.kind not in ("checkout", "checkin"):
            continue
        if barcode not in state:
            conflicts += 1
            continue
        now = state[barcode]
        if ev.kind == "checkout":
            card = ev.data["card_number"]
            if now.status == ON_LOAN:
                conflicts += now.patron != card  # the same patron again changes nothing
                continue
            state[barcode] = CopyState(ON_LOAN, card, ev.kiosk)
        else:
            state[barcode] = CopyState(AVAILABLE, None, ev.kiosk)
        applied += 1
    return state, applied, conflicts


def completed_loans(events: Iterable[LogicalEvent]) -> list[tuple[str, str, datetime]]:
    """(barcode, card, lent at) of every loan the story ends: a checkout, then its copy's next
    check-in. Each must be in the loan history once, however late or often its events came."""
    open_loans: dict[str, tuple[str, datetime]] = {}
    done = []
    for ev in sorted(events, key=lambda e: e.at):
        barcode = ev.data.get("barcode")
        if ev.kind == "checkout":
            open_loans[barcode] = (ev.data["card_number"], ev.at)
        elif ev.kind == "checkin" and barcode in open_loans:
            card, lent = open_loans.pop(barcode)
            done.append((barcode, card, lent))
    return done


def oracle(events: Iterable[LogicalEvent], copies: Mapping[str, str]) -> dict[str, CopyState]:
    """The final state of every copy once each event is applied once, in time order."""
    return replay_in_time_order(events, copies)[0]


# ---- the run ------------------------------------------------------------------------------------

@dataclass
class Report:
    kiosk_ids: list[str]
    events: list[LogicalEvent]
    oracle: dict[str, CopyState]
    patrons: dict[str, str | None]       # card number -> resident id (None when not known)
    sent: int = 0              # events of the story published (each at least once)
    duplicates: int = 0        # extra copies of events sent again
    reordered: int = 0         # events published after their kiosk's next event
    replayed: int = 0          # events that waited in a kiosk's buffer, then went out
    buffered_peak: int = 0     # the most events waiting in buffers at one moment
    offline_kiosks: list[str] = field(default_factory=list)
    lost: int = 0              # events still in a buffer at the end (should be 0)
    ids: list[str] = field(default_factory=list)   # each story event's envelope id, in story order
    applied: int = 0           # events that change a copy, per the oracle
    oracle_conflicts: int = 0
    titles: dict[str, str] = field(default_factory=dict)    # barcode -> title id (when known)
    search_texts: list[str] = field(default_factory=list)   # library searches that find those titles
    seconds: float = 0.0


@dataclass
class Fixtures:
    run: str
    kiosk_ids: list[str]
    copies: dict[str, str]              # barcode -> home kiosk
    patrons: dict[str, str]             # card number -> resident id
    titles: dict[str, str]              # barcode -> title id
    search_texts: list[str]


def simulate(amqp_uri: str, kiosks: int = 3, events: int = 60, rate: float = 50.0, duplicates: float = 0.1,
             reorder: float = 0.1, offline: float = 0.2, seed: int = 0, *,
             copies: Mapping[str, str] | Sequence[tuple[str, str]],
             patrons: Mapping[str, str | None] | Sequence[str],
             kiosk_ids: Sequence[str] | None = None, titles: Mapping[str, str] | None = None,
             search_texts: Sequence[str] = (), buffer_dir: str | None = None, keep_accounts: bool = False,
             start: datetime | None = None, log: Callable[[str], None] | None = None) -> Report:
    """Run the story for ``kiosks`` kiosks through the broker at ``amqp_uri`` (an admin
    URI: each kiosk gets its own broker user, removed at the end unless ``keep_accounts``).

    ``copies``: barcode -> the kiosk it stands at (that kiosk must be a library location);
    ``patrons``: card numbers, or card number -> resident id (``verify`` needs the ids).
    ``rate``: events a second (0: as fast as the broker confirms).
    """
    copies = dict(copies)
    patrons = dict(patrons) if isinstance(patrons, Mapping) else {c: None for c in patrons}
    ids = list(kiosk_ids) if kiosk_ids else sorted(set(copies.values()))
    if len(ids) < kiosks:
        raise ValueError(f"{kiosks} kiosks asked for, {len(ids)} known")
    ids = ids[:kiosks]
    copies = {b: home for b, home in copies.items() if home in ids}
    for name, share in (("duplicates", duplicates), ("reorder", reorder), ("offline", offline)):
        if not 0 <= share <= 1:
            raise ValueError(f"{name} is a share between 0 and 1, not {share}")
    say = log or (lambda _msg: None)
    rng = random.Random(seed)
    started = time.monotonic()
    start = start or datetime.now(timezone.utc) - STEP * (events + 10)
    story = plan(rng, ids, sorted(patrons), copies, events, start)
    final, applied, conflicts = replay_in_time_order(story, copies)
    report = Report(kiosk_ids=ids, events=story, oracle=final, patrons=patrons, applied=applied,
                    oracle_conflicts=conflicts, titles=dict(titles or {}), search_texts=list(search_texts))
    n_offline = min(len(ids), max(1, round(offline * len(ids)))) if offline > 0 else 0
    report.offline_kiosks = sorted(rng.sample(ids, n_offline))
    window = range(int(events * 0.2), max(int(events * 0.2) + 1, int(events * 0.7)))

    own_buffers = buffer_dir is None
    root = tempfile.mkdtemp(prefix="kiosk-sim-") if own_buffers else buffer_dir
    clients: dict[str, KioskClient] = {}
    try:
        for kid in ids:
            user, password = accounts.add_kiosk(amqp_uri, kid)
            clients[kid] = KioskClient(accounts.kiosk_uri(amqp_uri, user, password), kid, f"{root}/{kid}",
                                       retry_interval=0)
        held: dict[str, dict] = {}
        resend: list[tuple[int, dict]] = []   # (due at step, envelope)

        def replay(kid: str) -> None:
            clients[kid].offline = False
            done = clients[kid].flush()
            say(f"kiosk {kid} back online: replayed {done} buffered events")

        for i, ev in enumerate(story):
            if i == window.start:
                for kid in report.offline_kiosks:
                    clients[kid].offline = True
                    say(f"kiosk {kid} goes offline")
            if i == window.stop:
                for kid in report.offline_kiosks:
                    replay(kid)
            client = clients[ev.kiosk]
            envelope = client.build(ev.kind, ev.data, ev.at)
            report.ids.append(envelope["id"])
            report.sent += 1
            if ev.kiosk in held:                      # the one held back goes after this one
                client.send(envelope)
                client.send(held.pop(ev.kiosk))
                report.reordered += not client.offline   # a buffer replays in sequence order
            elif not client.offline and rng.random() < reorder:
                held[ev.kiosk] = envelope
            else:
                client.send(envelope)
            if rng.random() < duplicates:
                resend.append((i + rng.randint(1, 4), envelope))
            for item in [r for r in resend if r[0] <= i and not clients[kid_of(r[1])].offline]:
                resend.remove(item)
                clients[kid_of(item[1])].send(item[1])
                report.duplicates += 1
            report.buffered_peak = max(report.buffered_peak, sum(c.pending_count() for c in clients.values()))
            if rate > 0:
                time.sleep(1.0 / rate)
        for kid, envelope in list(held.items()):
            clients[kid].send(envelope)
        for kid in ids:
            if clients[kid].offline:
                replay(kid)
        for _, envelope in resend:
            clients[kid_of(envelope)].send(envelope)
            report.duplicates += 1
        for client in clients.values():
            client.flush()
        report.replayed = sum(c.replayed for c in clients.values())
        report.lost = sum(c.pending_count() for c in clients.values())
    finally:
        for client in clients.values():
            client.close()
        if not keep_accounts:
            for kid in clients:
                accounts.remove_kiosk(kid)
        if own_buffers:
            shutil.rmtree(root, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def kid_of(envelope: dict) -> str:
    return envelope["source"].rsplit("/", 1)[-1]


# ---- test data through the public RPCs ------------------------------------------------------------

def chinese_numeral(n: int) -> str:
    """``n`` in Chinese digits (12 → 一二): a name holds letters, not digits."""
    return "".join("零一二三四五六七八九"[int(d)] for d in str(n))


def prepare_fixtures(rpc, kiosks: int, copies: int, patrons: int, *, committee: str | None = None,
                     run: str | None = None, timeout: float = 30.0) -> Fixtures:
    """Kiosk locations and one title per copy in library, residents in community (they
    become patrons through the broker: wait for their cards)."""
    from nameko.exceptions import RemoteError
    from stdnum.cn import ric

    run = run or uuid.uuid4().hex[:6]
    if committee is None:
        committees = rpc.community.list_places("committee")
        if not committees:
            raise RuntimeError("community knows no committee: load places first (suite seed)")
        committee = committees[0]["code"]
    kiosk_ids = [f"SIM{run}-{i + 1}" for i in range(kiosks)]
    rpc.library.upsert_locations([{"code": k, "kind": "kiosk", "name": f"模拟自助图书馆 {k}", "committee": committee,
                                   "hold_shelf": False} for k in kiosk_ids])
    homes = {f"SIM{run}{i + 1:05d}": kiosk_ids[i % kiosks] for i in range(copies)}
    titles = {b: f"sim-{run}-{i + 1}" for i, b in enumerate(homes)}
    records = [{"record_id": titles[b], "title": f"模拟图书 sim{run} g{i // SEARCH_GROUP} 第{i + 1}册",
                "subjects": ["模拟"], "copies": [{"barcode": b, "home_location": home}]}
               for i, (b, home) in enumerate(homes.items())]
    for i in range(0, len(records), 500):
        result = rpc.library.import_catalogue(records[i:i + 500])
        if result["rejected"]:
            raise RuntimeError(f"the library refused simulation titles: {result['rejected'][:3]}")
    rng = random.Random()
    resident_ids = []
    while len(resident_ids) < patrons:
        birth = (datetime(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))).strftime("%Y%m%d")
        body = "310104" + birth + f"{rng.randrange(1000):03d}"
        n = len(resident_ids) + 1
        try:
            resident = rpc.community.register_resident({
                "id_number": body + ric.calc_check_digit(body + "0"), "name": "模拟读者" + chinese_numeral(n),
                "registered_committee": committee, "residence_committee": committee, "address": f"模拟路{n}号"})
        except RemoteError as exc:
            if exc.exc_type == "Conflict":
                continue  # that ID number is taken: draw another
            raise
        resident_ids.append(resident["resident_id"])
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for i in range(0, len(resident_ids), 500):
            found += rpc.library.get_patrons(resident_ids[i:i + 500])
        if len(found) == len(resident_ids):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(found)} of {len(resident_ids)} residents became patrons "
                               f"within {timeout:.0f} s")
        time.sleep(0.1)
    return Fixtures(run=run, kiosk_ids=kiosk_ids, copies=homes,
                    patrons={p["card_number"]: p["resident_id"] for p in found}, titles=titles,
                    search_texts=[f"sim{run} g{g}" for g in range((copies + SEARCH_GROUP - 1) // SEARCH_GROUP)])


# ---- comparing with the library -------------------------------------------------------------------

def applied_once(copy: dict) -> bool:
    """Each event the copy took is in its inbox once, and each that changed it moved its
    version once (one seen late, ``late:``, changed nothing): nothing was applied twice."""
    inbox = copy.get("inbox") or []
    changed = [k for k in inbox if not k.startswith("late:")]
    return len(inbox) == len(set(inbox)) and copy["version"] == 1 + len(changed)


def account(report: Report, copies: Iterable[dict], conflicts: Iterable[dict]) -> tuple[set[str], list[str]]:
    """Where each loan and return of the story ended up, by its key (kiosk and id): in its
    copy's inbox (applied, or seen late) or kept as a conflict (an implied return's note stands
    beside a loan applied, and is not counted). Returns the keys found nowhere and those found
    more than once: both empty when every event was taken exactly once."""
    from collections import Counter

    from services.library import kiosks

    keys = {kiosks.event_key(ev.kiosk, event_id) for ev, event_id in zip(report.events, report.ids)
            if ev.kind in ("checkout", "checkin")}
    found = Counter(k.removeprefix("late:") for c in copies for k in c.get("inbox") or [])
    found = Counter({k: n for k, n in found.items() if k in keys})
    found.update(c["_id"] for c in conflicts if c["_id"] in keys and c.get("kind") != "implied_return")
    return keys - set(found), [k for k, n in found.items() if n > 1]


def verify(report: Report, rpc) -> list[str]:
    """Where the library disagrees with the oracle: loans per copy (through
    ``loans_and_holds`` of the simulation's patrons) and, when the titles are known, each
    copy's availability and location (through ``search``). Empty when they agree."""
    if any(rid is None for rid in report.patrons.values()):
        raise ValueError("verify needs the resident id of every card number")
    card_of = {rid: card for card, rid in report.patrons.items()}
    actual: dict[str, tuple[str, str]] = {}   # barcode -> (status, card)
    rids = sorted(card_of)
    for i in range(0, len(rids), 500):
        for rid, found in rpc.library.loans_and_holds(rids[i:i + 500]).items():
            for loan in found["loans"]:
                if loan["barcode"] in report.oracle:
                    actual[loan["barcode"]] = (loan["status"], card_of[rid])
    mismatches = []
    for barcode, want in sorted(report.oracle.items()):
        got = actual.get(barcode)
        if want.status == ON_LOAN and got != (ON_LOAN, want.patron):
            mismatches.append(f"{barcode}: expected on loan to {want.patron}, library has "
                              + (f"{got[0]} to {got[1]}" if got else "no loan to any simulated patron"))
        elif want.status == AVAILABLE and got:
            mismatches.append(f"{barcode}: expected available at {want.location}, library has {got[0]} to {got[1]}")
    if report.titles and report.search_texts:
        barcode_of = {t: b for b, t in report.titles.items()}
        seen = set()
        for text in report.search_texts:
            for hit in rpc.library.search(text, limit=SEARCH_GROUP):
                barcode = barcode_of.get(hit["title_id"])
                if barcode is None or barcode not in report.oracle:
                    continue
                seen.add(barcode)
                want = report.oracle[barcode]
                expect = [{"location": want.location, "available": int(want.status == AVAILABLE), "total": 1}]
                if hit["availability"] != expect:
                    mismatches.append(f"{barcode}: expected {want.status} at {want.location}, library shows "
                                      f"{hit['availability']}")
        missing = set(report.oracle) & set(report.titles) - seen
        mismatches += [f"{b}: its title is not found in the library" for b in sorted(missing)]
    return mismatches


def verify_until(report: Report, rpc, timeout: float = 20.0, settle: float = 1.0,
                 amqp_uri: str | None = None) -> list[str]:
    """``verify`` until the library agrees and still agrees ``settle`` seconds later, or
    ``timeout`` passes; the last mismatches. With ``amqp_uri`` (an admin URI), also stop
    once the library's kiosk queue is empty and the answer has not changed for
    ``settle`` seconds: the library has said its last word."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while True:
        mismatches = verify(report, rpc)
        if not mismatches:
            time.sleep(settle)
            mismatches = verify(report, rpc)
            if not mismatches:
                return []
        now = time.monotonic()
        if mismatches != last:
            last, since = mismatches, now
        elif amqp_uri and now - since >= settle and kiosk_queue_depth(amqp_uri) == 0:
            return mismatches
        if now > deadline:
            return mismatches
        time.sleep(0.25)


def kiosk_queue_names() -> list[str]:
    """The library's queues of kiosk events (its partitions)."""
    from infra import topology

    [sub] = [s for s in topology.subscriptions() if s.service == "library" and s.method == "on_kiosk_event"]
    return [q.name for q in sub.queues]


def kiosk_queue_depth(amqp_uri: str) -> int:
    """Kiosk events waiting in the library's queues (not counting those being handled)."""
    from kombu import Connection

    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        return sum(channel.queue_declare(name, passive=True).message_count for name in kiosk_queue_names())


def library_conflicts(report: Report, rpc) -> list[dict]:
    """Open conflicts the library recorded for the simulation's kiosks (the oracle's story
    has none unless ``report.oracle_conflicts``)."""
    ours = set(report.kiosk_ids)
    found, after = [], None
    while True:   # every page of the open conflicts
        page = rpc.library.conflicts("open", after, 200)
        found += [c for c in page["conflicts"] if c.get("where") in ours]
        if not page["next"]:
            return found
        after = page["next"]
