"""Load for the fault tests, and the books that say how it must end.

- kiosks: ``infra.kiosk.simulator`` (duplicates, reordering, an offline kiosk; its oracle);
- residents: cases submitted through the GraphQL gateway (each with a note of its own, so
  that a case applied twice shows), registrations by RPC (each becomes a library patron
  through the outbox and the library's inbox) and wallet charges by school terminals (a
  terminal asks again with the same transaction id until it gets an answer, as real ones do).

``Books.check()`` compares the end state with what was accepted: every acknowledged kiosk
event and every accepted mutation applied exactly once.
"""
from __future__ import annotations

import itertools
import random
import time
import uuid
from dataclasses import dataclass, field

import eventlet
import pymongo
from nameko.exceptions import RemoteError

from infra import rabbitmq_admin, school_terminals, topology
from infra.kiosk import simulator
from services.common.config import SERVICES
from services.elearning import wallet_store
from support import id_number

PATIENCE = 120   # seconds a caller keeps asking (a broker restart takes the node away for several)

UNKNOWN_OUTCOME = ("StoreUnavailable", "OutcomeUnknown")   # ask again, with the same key


@dataclass(frozen=True)
class Scale:
    name: str
    kiosks: int
    copies: int
    patrons: int
    events: int
    rate: float          # kiosk events a second
    pause: float         # between two resident requests of one green thread


@dataclass
class Books:
    """What the load was told: accepted, refused, or unknown (no answer)."""
    cases_accepted: dict[str, str] = field(default_factory=dict)   # note -> case id
    cases_unknown: set[str] = field(default_factory=set)            # notes without an answer
    registrations: dict[str, str] = field(default_factory=dict)    # id number -> resident id
    charges: dict[str, int] = field(default_factory=dict)          # txn -> amount, charged
    no_answer: int = 0          # requests that got no answer in time (asked again where that is safe)
    requests: int = 0


class ResidentTraffic:
    def __init__(self, suite, scale: Scale, seed: int = 0):
        self.suite, self.scale = suite, scale
        self.rng = random.Random(seed)
        self.books = Books()
        self._running = False
        self._threads: list = []

    def prepare(self) -> None:
        with self.suite.rpc(timeout=30) as rpc:
            self.resident = rpc.community.register_resident({
                "id_number": id_number(), "name": "负载居民", "registered_committee": "C0101",
                "residence_committee": "C0101", "address": "负载路1号"})["resident_id"]
            self.school, self.student, self.terminal = (f"sch-{uuid.uuid4().hex[:8]}", f"stu-{uuid.uuid4().hex[:8]}",
                                                        f"pos-{uuid.uuid4().hex[:8]}")
            self.terminal_key = school_terminals.add_terminal(rpc, self.terminal, self.school, "canteen")
            teacher = f"{self.school}-office"   # the school's staff tops the wallet up
            rpc.elearning.roster_import([
                {"kind": "org", "sourced_id": self.school, "name": "负载学校", "type": "school"},
                {"kind": "teacher", "sourced_id": teacher, "name": "财务老师", "school_ids": [self.school]}])
            rpc.elearning.wallet_link_guardian(self.student, self.resident, self.school)
            self.initial_fen = 100_000
            rpc.elearning.wallet_staff_top_up({"role": "teacher", "id": teacher}, self.student, self.initial_fen,
                                              "负载测试充值", f"pay-{uuid.uuid4().hex[:8]}")
        self.token = self.suite.token("resident", self.resident)

    def start(self) -> None:
        self._running = True
        self._threads = [eventlet.spawn(self._loop, self._submit_case), eventlet.spawn(self._loop, self._submit_case),
                         eventlet.spawn(self._loop, self._register), eventlet.spawn(self._loop, self._charge)]

    def stop(self) -> None:
        self._running = False
        for gt in self._threads:
            gt.wait()

    def _loop(self, step) -> None:
        proxy = _Proxy(self.suite)
        try:
            while self._running:
                step(proxy)
                eventlet.sleep(self.scale.pause)
        finally:
            proxy.close()

    # ---- the three kinds of resident traffic ------------------------------------------------

    def _submit_case(self, _proxy: "_Proxy") -> None:
        """Through the gateway, as a resident does; no retry (a case has no idempotency key)."""
        note = uuid.uuid4().hex
        self.books.requests += 1
        try:
            answer = self.suite.graphql('mutation($n: String) { submitCase(matterCode: "ELDERLY_ALLOWANCE", '
                                        'note: $n) { id } }', self.token, {"n": note},
                                        timeout=self.suite.settings.rpc_timeout + 5)
        except Exception:  # noqa: BLE001 - the gateway itself was away
            answer = {}
        case = (answer.get("data") or {}).get("submitCase")
        if case:
            self.books.cases_accepted[note] = case["id"]
        else:
            self.books.cases_unknown.add(note)
            self.books.no_answer += 1

    def _register(self, proxy: "_Proxy") -> None:
        """Asked again with the same ID number until answered: a Conflict on a second try means the
        first one was applied."""
        request = {"id_number": id_number(), "name": "负载新居民", "registered_committee": "C0101",
                   "residence_committee": "C0101", "address": "负载路2号"}
        deadline, last = time.monotonic() + PATIENCE, None
        for attempt in itertools.count():
            if time.monotonic() > deadline:
                raise AssertionError(f"a registration got no answer within {PATIENCE} s; last: {last!r}")
            self.books.requests += 1
            try:
                rid = proxy.get().community.register_resident(request)["resident_id"]
            except RemoteError as exc:
                if exc.exc_type == "Conflict" and attempt:
                    rid = proxy.get().community.find_resident(request["id_number"])["resident_id"]
                elif exc.exc_type in UNKNOWN_OUTCOME:
                    self.books.no_answer += 1
                    last = exc
                    eventlet.sleep(0.5)
                    continue
                else:
                    raise
            except Exception as exc:  # noqa: BLE001 - no answer in time: ask again on a fresh connection
                self.books.no_answer += 1
                last = exc
                proxy.refresh()
                continue
            self.books.registrations[request["id_number"]] = rid
            return

    def _charge(self, proxy: "_Proxy") -> None:
        txn, amount = f"t{uuid.uuid4().hex[:12]}", self.rng.randrange(10, 100)
        deadline, last = time.monotonic() + PATIENCE, None
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"a charge got no answer within {PATIENCE} s; last: {last!r}")
            self.books.requests += 1
            try:
                # signed again on every try (a fresh sent_at); the transaction id keeps it one charge
                answer = proxy.get().elearning.wallet_charge(*school_terminals.signed_charge(
                    self.terminal, self.terminal_key, self.student, amount, txn))
            except RemoteError as exc:
                if exc.exc_type not in UNKNOWN_OUTCOME:
                    raise
                self.books.no_answer += 1
                last = exc
                eventlet.sleep(0.5)
                continue
            except Exception as exc:  # noqa: BLE001
                self.books.no_answer += 1
                last = exc
                proxy.refresh()
                continue
            assert answer["status"] == "charged", answer
            self.books.charges[txn] = amount
            return



class _Proxy:
    """A standalone RPC proxy per green thread, made anew after a call got no answer (a
    client's connection may have gone with the broker)."""

    def __init__(self, suite):
        self.suite, self._cluster, self._proxy = suite, None, None

    def get(self):
        if self._proxy is None:
            self._cluster = self.suite.rpc(timeout=self.suite.settings.rpc_timeout + 2)
            self._proxy = self._cluster.start()
        return self._proxy

    def refresh(self) -> None:
        self.close()
        eventlet.sleep(0.3)

    def close(self) -> None:
        if self._cluster is not None:
            try:
                self._cluster.stop()
            except Exception:  # noqa: BLE001 - its connection is gone already
                pass
        self._cluster = self._proxy = None


# ---- checking the end ------------------------------------------------------------------------

@dataclass
class Figures:
    run: str
    seconds: float = 0.0
    kiosk_sent: int = 0
    kiosk_resent: int = 0        # extra copies the kiosks sent (duplicates, replays)
    kiosk_applied: int = 0       # events recorded in the copies they changed
    redelivered: int = 0         # deliveries the broker repeated (after a kill, a lost connection)
    mutations_accepted: int = 0
    mutations_applied: int = 0
    no_answer: int = 0
    dead_lettered: int = 0
    doubled: int = 0
    lost: int = 0
    restarts: str = ""
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.run}: kiosk events sent {self.kiosk_sent} (+{self.kiosk_resent} sent again), "
                f"applied {self.kiosk_applied}; mutations accepted {self.mutations_accepted}, applied "
                f"{self.mutations_applied} (+{self.no_answer} requests with no answer in time); duplicates "
                f"absorbed {self.kiosk_resent + self.redelivered}; dead-lettered {self.dead_lettered}; "
                f"doubled {self.doubled}; lost {self.lost}; {self.seconds:.0f} s{self.restarts}")


def run_load(suite, scale: Scale, faults, seed: int = 1) -> tuple[Figures, simulator.Report, ResidentTraffic]:
    """Kiosks and residents at once while ``faults()`` runs; then wait for the suite to settle."""
    started = time.monotonic()
    redelivered_before = sum(_redelivered(suite, q) for q in _event_queues())   # the broker counts per vhost
    with suite.rpc(timeout=30) as rpc:
        fixtures = simulator.prepare_fixtures(rpc, kiosks=scale.kiosks, copies=scale.copies, patrons=scale.patrons,
                                              committee="C0101")
    traffic = ResidentTraffic(suite, scale, seed)
    traffic.prepare()
    sim = eventlet.spawn(simulator.simulate, suite.amqp_uri, kiosks=scale.kiosks, events=scale.events,
                         rate=scale.rate, duplicates=0.1, reorder=0.1, offline=0.34, seed=seed,
                         copies=fixtures.copies, patrons=fixtures.patrons, kiosk_ids=fixtures.kiosk_ids,
                         titles=fixtures.titles, search_texts=fixtures.search_texts)
    traffic.start()
    try:
        faults()
        report = sim.wait()
    finally:
        traffic.stop()
    figures = check(suite, report, traffic, fixtures.copies)
    figures.redelivered -= redelivered_before
    figures.seconds = time.monotonic() - started
    return figures, report, traffic


def check(suite, report: simulator.Report, traffic: ResidentTraffic, copies: dict) -> Figures:
    f = Figures(run="")
    books = traffic.books
    client = pymongo.MongoClient(suite.mongo_uri, serverSelectionTimeoutMS=5000)
    db = {s: client[suite.database_name(s)] for s in SERVICES}
    try:
        with suite.rpc(timeout=30) as rpc:
            mismatches = simulator.verify_until(report, rpc, timeout=60, amqp_uri=suite.amqp_uri)
            patrons = _wait_for_patrons(rpc, list(books.registrations.values()))
        f.kiosk_sent, f.kiosk_resent = report.sent, report.duplicates
        f.lost += report.lost + len(mismatches)
        f.problems += mismatches[:10]
        # counts, not only the end: each loan and return taken exactly once (applied, seen late, or kept)
        missing, twice = simulator.account(report, db["library"].copies.find({"_id": {"$in": list(copies)}}),
                                           db["library"].conflicts.find({"barcode": {"$in": list(copies)}}))
        f.lost += len(missing)
        f.doubled += len(twice)
        f.problems += [f"kiosk event {k} taken nowhere" for k in sorted(missing)[:5]]
        f.problems += [f"kiosk event {k} taken twice" for k in twice[:5]]
        for barcode in copies:
            copy = db["library"].copies.find_one({"_id": barcode})
            inbox = copy.get("inbox") or []
            f.kiosk_applied += len(inbox)
            if not simulator.applied_once(copy):
                f.doubled += 1
                f.problems.append(f"{barcode}: inbox {inbox}, version {copy['version']}")
            loans = list(db["library"].loan_history.find({"barcode": barcode}))
            if len({h["loaned_at"] for h in loans}) != len(loans):
                f.doubled += 1
                f.problems.append(f"{barcode}: one loan recorded twice")

        # cases: each accepted once, none twice
        notes: dict[str, int] = {}
        for case in db["community"].cases.find({"resident_id": traffic.resident}, {"trail": 1}):
            note = case["trail"][0].get("note")   # the submission's own note
            notes[note] = notes.get(note, 0) + 1
        for note in books.cases_accepted:
            if notes.get(note, 0) == 0:
                f.lost += 1
                f.problems.append(f"accepted case {books.cases_accepted[note]} is not stored")
        twice = [n for n, k in notes.items() if k > 1]
        f.doubled += len(twice)
        f.problems += [f"case with note {n} stored {notes[n]} times" for n in twice]
        strangers = set(notes) - set(books.cases_accepted) - books.cases_unknown
        f.problems += [f"a case nobody submitted: {n}" for n in strangers]
        f.lost += len(strangers)
        applied_cases = sum(1 for n in books.cases_accepted if notes.get(n) == 1)

        # registrations: one resident and one patron each
        residents = {d["_id"] for d in db["community"].residents.find(
            {"_id": {"$in": list(books.registrations.values())}}, {"_id": 1})}
        missing = set(books.registrations.values()) - residents - set()
        missing_patrons = set(books.registrations.values()) - {p["resident_id"] for p in patrons}
        f.lost += len(missing) + len(missing_patrons)
        f.problems += [f"registered resident {r} has no library card" for r in sorted(missing_patrons)[:5]]

        # charges: each charged once, the balance to the fen
        # read only (a checker that repaired first would hide what it checks); parked entries count
        seen = wallet_store.audit(db["elearning"], traffic.student)
        by_txn = seen["charges"]
        f.doubled += sum(1 for k in by_txn.values() if k > 1)
        f.lost += len(set(books.charges) - set(by_txn)) + len(set(by_txn) - set(books.charges))
        expected = traffic.initial_fen - sum(books.charges.values())
        if seen["balance"] != expected or seen["ledger_sum"] != seen["balance"]:
            f.problems.append(f"wallet balance {seen['balance']}, ledger {seen['ledger_sum']}, expected {expected}")
            f.lost += 1

        f.mutations_accepted = len(books.cases_accepted) + len(books.registrations) + len(books.charges)
        f.mutations_applied = (applied_cases + len(residents & {p["resident_id"] for p in patrons})
                               + sum(1 for t in books.charges if by_txn.get(t) == 1))
        f.no_answer = books.no_answer
        f.dead_lettered = sum(queue_depth(suite, f"dlq.{s}") for s in SERVICES)
        f.redelivered = sum(_redelivered(suite, q) for q in _event_queues())
    finally:
        client.close()
    return f


def _wait_for_patrons(rpc, resident_ids: list[str], timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = [p for i in range(0, len(resident_ids), 500) for p in rpc.library.get_patrons(resident_ids[i:i + 500])]
        if len(found) == len(resident_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _event_queues() -> list[str]:
    return [q.name for s in topology.subscriptions() for q in s.queues]


def queue_depth(suite, queue: str) -> int:
    """Messages ready in ``queue`` now, as the broker counts them for a passive declare (the
    management API's figure is sampled every few seconds and read 0 for a message just queued)."""
    from kombu import Connection

    with Connection(suite.amqp_uri) as conn:
        return conn.channel().queue_declare(queue, passive=True).message_count


def _redelivered(suite, queue: str) -> int:
    stats = rabbitmq_admin.queue_info(suite.vhost, queue).get("message_stats") or {}
    return int(stats.get("redeliver") or 0)
