"""Kiosk events end to end, with 1, 2 and 4 library processes: kiosk clients publish with
confirms (infra/kiosk/client.py, buffered on disk) -> the library applies each with its
inbox and outbox -> the resulting loan event is published by the relay. Events per second
as a share of the raw kombu publish-and-consume rate of the same messages on the same
broker (the baseline, measured in the same run). At the end of every run the simulator's
oracle checks that nothing was lost and nothing applied twice. Also: resident set size of
every service process idle and under this load, and the CPU the whole machine spends per
event, end to end and for the baseline (both are bound by CPU on 2 cores).

    python -m bench.bench_kiosk_ingest [--events 1000 4000] [--processes 1 2 4] [--catch-up 1 2]
                                       [--past-holds 0 50000] [--no-ceiling]

It also times the library catching up after an outage (``--catch-up``): stopped while the
kiosks publish, then started, against raw kombu consuming the same messages already queued;
and, with ``--past-holds``, the smallest size again with that many holds a library network
keeps over the years (fulfilled and cancelled ones stay) already in the store: what it
costs per event should not grow with them. And the ceiling (``--ceiling``, on unless
``--no-ceiling``): the smallest size with a pass-through that costs nothing in the library's
place, which is as far as any library could go with these kiosk clients on this broker.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pymongo
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from bench.common import MachineCpu, broker_pid, cpu_seconds, machine
from bench.suite_processes import profiled, running_suite, wait_quiet
from contracts.events.kiosk import BY_KIND
from infra import dlq
from infra.kiosk import simulator
from infra.local import demo_data
from services.library import store as library_store

KIOSKS = 8
PUBLISHERS = 4          # kiosk groups publishing at once (kiosks are separate devices)
COPIES_PER_KIOSK = 25
PATRONS = 40
DUPLICATES = 0.05       # share of events a kiosk sends twice (the inbox must absorb them)
REORDER = 0.05          # share swapped with that kiosk's next event
PREFETCH = 10           # nameko's max_workers: what one library process takes at a time


# ---- the baseline: the same messages, raw kombu, same broker ------------------------------------

def envelopes_like(story: list[simulator.LogicalEvent]) -> list[tuple[str, str]]:
    """(routing key, body) as a kiosk client would publish them, without its disk buffer."""
    out = []
    seq: dict[str, int] = {}
    for ev in story:
        seq[ev.kiosk] = seq.get(ev.kiosk, 0) + 1
        model = BY_KIND[ev.kind]
        body = {"specversion": "1.0", "id": uuid.uuid4().hex, "source": f"/kiosks/{ev.kiosk}", "type": model.TYPE,
                "time": ev.at.isoformat(), "datacontenttype": "application/json", "sequence": seq[ev.kiosk],
                "data": model.model_validate(ev.data).model_dump(mode="json")}
        out.append((f"kiosk.{ev.kiosk}.{ev.kind}", json.dumps(body)))
    return out


def raw_rate(amqp_uri: str, messages: list[tuple[str, str]], publishers: int, queued: bool = False
             ) -> tuple[float, MachineCpu]:
    """Messages a second, and the whole machine's CPU meanwhile: ``publishers`` threads publish
    persistent messages with confirms; one consumer (prefetch as a nameko worker pool)
    acknowledges each. First publish to last ack; with ``queued``, everything is published
    first and the consumer is timed alone, first delivery to last ack (the library catching
    up after an outage)."""
    exchange = Exchange(f"bench.raw.{uuid.uuid4().hex[:6]}", type="topic", durable=True)
    queue = Queue(f"{exchange.name}.q", exchange=exchange, routing_key="kiosk.#", durable=True)
    with Connection(amqp_uri) as conn:
        queue(conn.channel()).declare()
    done = threading.Event()
    got = [0]
    first, last = [0.0], [0.0]

    def consume():
        with Connection(amqp_uri) as conn:
            def on_message(body, message):
                message.ack()
                if not got[0]:
                    first[0] = time.perf_counter()
                got[0] += 1
                if got[0] == len(messages):
                    last[0] = time.perf_counter()
                    done.set()
            with conn.Consumer(queue, callbacks=[on_message], prefetch_count=PREFETCH, accept=["json", "text/plain"]):
                while not done.is_set():
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass

    def publish(part):
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
            producer = conn.Producer()
            for key, body in part:
                producer.publish(body, exchange=exchange, routing_key=key, content_type="application/json",
                                 content_encoding="utf-8", delivery_mode=2, retry=False)

    consumer = threading.Thread(target=consume, daemon=True)
    if not queued:
        consumer.start()
        time.sleep(0.3)
    def publish_all():
        with ThreadPoolExecutor(publishers) as pool:
            list(pool.map(publish, [messages[i::publishers] for i in range(publishers)]))

    if queued:
        publish_all()
    with MachineCpu() as cpu:   # what is timed: with ``queued`` the consumer alone
        started = time.perf_counter()
        if queued:
            consumer.start()
        else:
            publish_all()
        if not done.wait(120):
            raise RuntimeError(f"the raw consumer got {got[0]} of {len(messages)}")
    with Connection(amqp_uri) as conn:
        queue(conn.channel()).delete()
        exchange(conn.channel()).delete()
    return len(messages) / (last[0] - (first[0] if queued else started)), cpu


# ---- watching what comes out --------------------------------------------------------------------

class Probe(threading.Thread):
    """Consumes a throwaway queue bound to ``exchange``; records when each message came."""

    def __init__(self, amqp_uri: str, exchange: str, routing_key: str = "#", on_first=None):
        super().__init__(daemon=True)
        self.on_first = on_first     # called as the first message comes
        self.amqp_uri = amqp_uri
        self.queue = Queue(f"probe-{uuid.uuid4().hex[:8]}", exchange=Exchange(exchange, type="topic", durable=True),
                           routing_key=routing_key, durable=False, auto_delete=True)
        self.arrivals: list[tuple[float, str]] = []   # (perf_counter, message id)
        self.stopping = threading.Event()
        self.ready = threading.Event()

    def run(self):
        with Connection(self.amqp_uri) as conn:
            def on_message(body, message):
                if not self.arrivals and self.on_first is not None:
                    self.on_first()
                self.arrivals.append((time.perf_counter(), message.properties.get("message_id")
                                      or _body_id(message.body)))
                message.ack()
            with conn.Consumer(self.queue, callbacks=[on_message], prefetch_count=200, accept=["json", "text/plain"]):
                self.ready.set()
                while not self.stopping.is_set():
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass


class PassThrough:
    """A library that costs nothing: takes each kiosk message from the library's queue (the
    library stopped), publishes one small event for it to ``library.events`` (persistent,
    with confirm, as the outbox relay does) and acknowledges it. No rules, no store: what the
    kiosk clients and the broker allow end to end, the ceiling of any library. A process of
    its own, as the library is, so that it does not share the kiosk clients' interpreter."""

    ROUTING_KEY = "bench.passthrough"   # subscribed by no service: only the probe sees these

    def __init__(self, amqp_uri: str, queue_names: list[str]):
        context = multiprocessing.get_context("spawn")
        self._passed = context.Value("i", 0)
        self._ready, self._stopping = context.Event(), context.Event()
        self._process = context.Process(target=_pass_through, daemon=True,
                                        args=(amqp_uri, queue_names, self._passed, self._ready, self._stopping))

    def start(self, timeout: float = 30) -> None:
        self._process.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the pass-through did not start consuming")

    def stop(self) -> None:
        self._stopping.set()
        self._process.join(10)

    @property
    def passed(self) -> int:
        return self._passed.value

    @property
    def pid(self) -> int | None:
        return self._process.pid


def _pass_through(amqp_uri: str, queue_names: list[str], passed, ready, stopping) -> None:
    exchange = Exchange("library.events", type="topic", durable=True)
    with Connection(amqp_uri) as conn, Connection(amqp_uri, transport_options={"confirm_publish": True}) as out:
        producer = out.Producer()

        def on_message(body, message):
            event_id = _body_id(message.body) or uuid.uuid4().hex
            producer.publish(json.dumps({"id": f"{event_id}-out"}), exchange=exchange,
                             routing_key=PassThrough.ROUTING_KEY, content_type="application/json",
                             delivery_mode=2, retry=False)
            message.ack()
            passed.value += 1
        queues = [Queue(name, no_declare=True) for name in queue_names]   # the library's, as it declared them
        with conn.Consumer(queues, callbacks=[on_message], prefetch_count=PREFETCH, accept=["json", "text/plain"]):
            ready.set()
            while not stopping.is_set():
                try:
                    conn.drain_events(timeout=0.2)
                except TimeoutError:
                    pass


def _body_id(body) -> str | None:
    try:
        return json.loads(body)["id"]
    except (ValueError, KeyError, TypeError):
        return None


class RssSampler(threading.Thread):
    def __init__(self, suite, every: float = 0.5):
        super().__init__(daemon=True)
        self.suite, self.every = suite, every
        self.peak: dict[str, float] = {}
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            for name, mib in self.suite.rss().items():
                self.peak[name] = max(self.peak.get(name, 0.0), mib)
            self.stopping.wait(self.every)


# ---- one run ------------------------------------------------------------------------------------

def doubled(db, copies) -> list[str]:
    """Copies where an event was applied twice: a repeated inbox entry, a version that moved
    more than once per applied event, or one loan recorded twice (as the kiosk test checks)."""
    bad = []
    for barcode in copies:
        copy = db[library_store.COPIES].find_one({"_id": barcode})
        if not simulator.applied_once(copy):
            bad.append(barcode)
        loans = list(db[library_store.LOAN_HISTORY].find({"barcode": barcode}))
        if len({h["loaned_at"] for h in loans}) != len(loans):
            bad.append(barcode)
    return bad


def seed_past_holds(db, count: int) -> None:
    """Holds of other titles and patrons, as years of use leave them: three in four ended
    (fulfilled or cancelled, out of any queue), one in four still waiting."""
    holds = db[library_store.HOLDS]
    for start in range(0, count, 10_000):
        holds.insert_many([{
            "_id": f"past-{i}", "title_id": f"past-title-{i % 20_000}", "patron": f"past-patron-{i % 5_000}",
            "pickup": "L01", "placed_at": "2025-01-01T00:00:00+00:00",
            "status": "waiting" if i % 4 == 0 else ("fulfilled" if i % 4 < 3 else "cancelled"),
            "queue": f"past-title-{i % 20_000}" if i % 4 == 0 else None,
            "queue_key": f"2025-01-01T00:00:00+00:00|past-{i}"} for i in range(start, min(count, start + 10_000))])


def run_once(events: int, library_processes: int, catch_up: bool = False, past_holds: int = 0,
             ceiling: bool = False) -> dict:
    """One run. ``catch_up``: the library is stopped while the kiosks publish (an outage),
    then started; timed from its first loan event to its last, against raw kombu consuming
    the same messages already queued. ``past_holds``: that many holds of other titles are
    in the store first. ``ceiling``: the library is stopped and ``PassThrough`` stands in."""
    counts = {"community": 1, "library": library_processes, "elearning": 1, "gateway": 1}
    with running_suite("benchkiosk", counts) as suite:
        client = pymongo.MongoClient(suite.mongo_uri)
        db = client[suite.settings.database_name("library")]
        with ClusterRpcProxy({"AMQP_URI": suite.amqp_uri}, timeout=60) as rpc:
            rpc.community.upsert_places(demo_data.PLACES)
            fx = simulator.prepare_fixtures(rpc, kiosks=KIOSKS, copies=KIOSKS * COPIES_PER_KIOSK, patrons=PATRONS,
                                            timeout=120)
            seed_past_holds(db, past_holds)
            time.sleep(2.0)
            idle = suite.rss()

            groups = [fx.kiosk_ids[i::PUBLISHERS] for i in range(PUBLISHERS)]
            per_group = events // PUBLISHERS
            rng = random.Random(5)
            story = []
            for g in groups:
                story += simulator.plan(rng, g, sorted(fx.patrons), {b: k for b, k in fx.copies.items() if k in g},
                                        per_group, datetime.now(timezone.utc))
            messages = envelopes_like(story)
            messages += rng.sample(messages, round(len(messages) * DUPLICATES))
            raw, raw_cpu = raw_rate(suite.amqp_uri, messages, PUBLISHERS, queued=catch_up)
            baseline = raw * len(story) / len(messages)

            kiosk_in = Probe(suite.amqp_uri, "kiosk.events", "kiosk.#")
            cpu_at_first: dict = {}
            results = Probe(suite.amqp_uri, "library.events", "#", on_first=lambda: cpu_at_first.update(suite.cpu()))
            sampler = RssSampler(suite)
            for t in (kiosk_in, results):
                t.start()
                t.ready.wait(10)
            sampler.start()

            def publish(i):
                group = groups[i]
                return simulator.simulate(
                    suite.amqp_uri, kiosks=len(group), events=per_group, rate=0, duplicates=DUPLICATES,
                    reorder=REORDER, offline=0, seed=100 + i, copies={b: k for b, k in fx.copies.items() if k in group},
                    patrons=fx.patrons, kiosk_ids=group)
            def publish_all():
                with ThreadPoolExecutor(PUBLISHERS) as pool:
                    return list(pool.map(publish, range(PUBLISHERS))), time.perf_counter()
            label = f"kiosk-{events}-{library_processes}"
            passer = None
            if ceiling:
                suite.stop("library")
                passer = PassThrough(suite.amqp_uri, simulator.kiosk_queue_names())
                passer.start()
            if catch_up:
                suite.stop("library")
                reports, published_at = publish_all()
                waiting = simulator.kiosk_queue_depth(suite.amqp_uri)
                suite.start_again("library")
                with profiled(suite, label + "-catch-up"):
                    wait_quiet(suite, timeout=600)
                # the library's CPU counts from its first loan event, not from its start-up
                cpu = {k: v - cpu_at_first.get(k, 0.0) for k, v in suite.cpu().items()}
            else:
                # beside the suite: the kiosk clients and probes (threads of this process), the
                # broker when it runs here, and the pass-through when it stands in
                others = {"(kiosk clients, probes)": os.getpid(), "(broker)": broker_pid(),
                          "(pass-through)": passer.pid if passer else None}
                others = {name: pid for name, pid in others.items() if pid}

                def cpu_now():
                    return {**suite.cpu(), **{name: cpu_seconds(pid) for name, pid in others.items()}}
                cpu_before = cpu_now()
                with profiled(suite, label), MachineCpu() as machine_cpu:
                    reports, published_at = publish_all()
                    wait_quiet(suite, timeout=600)
                cpu = {k: v - cpu_before[k] for k, v in cpu_now().items()}
            sampler.stopping.set()
            kiosk_in.stopping.set()
            results.stopping.set()
            if passer:
                passer.stop()

            start = (results if catch_up else kiosk_in).arrivals[0][0]
            end = results.arrivals[-1][0]
            sent = sum(r.sent for r in reports)
            # zero lost, zero doubled: kiosk buffers empty, the library ends as the oracle says,
            # no copy took an event twice, no conflict or dead letter for a story that has none
            lost = sum(r.lost for r in reports)
            if ceiling:   # nothing was applied: only what was passed through can be checked
                mismatches = [] if passer.passed == len(kiosk_in.arrivals) else [
                    f"passed through {passer.passed} of {len(kiosk_in.arrivals)} kiosk messages"]
                twice, dead, conflicts = [], [], []
            else:
                mismatches = [m for r in reports for m in simulator.verify_until(r, rpc, timeout=30, settle=0.5,
                                                                                  amqp_uri=suite.amqp_uri)]
                twice = doubled(db, fx.copies)
                dead = [d["reason"] for d in dlq.peek(suite.amqp_uri, "library", limit=1000)]  # left in place
                conflicts = [c for r in reports for c in simulator.library_conflicts(r, rpc)]
            result_ids = [mid for _, mid in results.arrivals]
            row = {
                "events": sent, "processes": library_processes, "where": suite.where, "catch_up": catch_up,
                "ceiling": ceiling,
                "past_holds": past_holds,
                "waiting": waiting if catch_up else None,
                "baseline": baseline, "rate": sent / (end - start),
                "kiosk_rate": len(kiosk_in.arrivals) / (kiosk_in.arrivals[-1][0] - kiosk_in.arrivals[0][0]),
                "drain_after_publish": end - published_at,
                "messages": len(kiosk_in.arrivals), "duplicates": sum(r.duplicates for r in reports),
                "applied": sum(r.applied for r in reports), "results": len(result_ids),
                "results_distinct": len(set(result_ids)),
                "lost": lost, "mismatches": mismatches, "doubled": twice, "conflicts": conflicts, "dead": dead,
                "idle_rss": idle, "load_rss": sampler.peak, "cpu": cpu,
                # the whole machine's CPU seconds per event, raw kombu and end to end, and the
                # share of its cores each kept busy (end to end: over first message to last event)
                "raw_machine": (raw_cpu.busy / len(story), raw_cpu.share),
                "machine": None if catch_up else (machine_cpu.busy / sent,
                                                  machine_cpu.busy / ((end - start) * (os.cpu_count() or 1))),
            }
        client.close()
    return row


def report(row: dict) -> str:
    suite_cpu = {k: v for k, v in row["cpu"].items() if not k.startswith("(")}   # services and store
    ok = not (row["lost"] or row["mismatches"] or row["doubled"] or row["conflicts"] or row["dead"])
    head = f"\nkiosk ingest: {row['events']:,} events ({row['messages']:,} messages with duplicates), " \
           f"{row['processes']} library process(es), {row['past_holds']:,} past holds in the store, " \
           f"on {row['where']}; {machine()}"
    if row["catch_up"]:
        lines = [
            head + f"\ncatching up after an outage: the library was stopped while the kiosks published "
                   f"({row['waiting']:,} messages waiting when it started)",
            f"baseline: raw kombu consume (ack) of the same messages, queued  {row['baseline']:8,.0f} events/s",
            f"library: first loan event to last                              {row['rate']:8,.0f} events/s"
            f"   = {row['rate'] / row['baseline']:6.1%} of the baseline",
        ]
    else:
        path = ("ceiling: kiosk client -> pass-through (no library, no store) -> event" if row["ceiling"]
                else "end to end: kiosk client -> library -> loan event      ")
        lines = [
            head,
            f"baseline: raw kombu publish (confirms) + consume (ack)  {row['baseline']:8,.0f} events/s",
            f"{path} {row['rate']:8,.0f} events/s"
            f"   = {row['rate'] / row['baseline']:6.1%} of the baseline",
            f"  (kiosk clients alone published {row['kiosk_rate']:,.0f} messages/s = "
            f"{row['kiosk_rate'] / row['baseline']:.1%} of the baseline; the "
            f"{'pass-through' if row['ceiling'] else 'library'} finished "
            f"{max(0.0, row['drain_after_publish']):.1f} s after the last publish)",
        ]
    lines += [
        f"  passed through: {row['results']:,} events for {row['messages']:,} kiosk messages" if row["ceiling"] else
        f"  oracle: {row['applied']:,} changes applied; resulting events {row['results']:,} "
        f"({row['results_distinct']:,} distinct)",
        f"  check: lost {row['lost']}, wrong end states {len(row['mismatches'])}, doubled {len(row['doubled'])}, "
        f"conflicts {len(row['conflicts'])}, dead-lettered {len(row['dead'])}  -> {'OK' if ok else 'FAILED'}",
        "  CPU per event: " + (", ".join(f"{k} {v / row['events'] * 1000:.1f} ms" for k, v in sorted(suite_cpu.items())
                                         if v / row["events"] >= 0.0001) or "services idle")
        + f" (all: {sum(suite_cpu.values()) / row['events'] * 1000:.1f} ms)"
        + "".join(f"; {k[1:-1]} {v / row['events'] * 1000:.1f} ms" for k, v in sorted(row["cpu"].items())
                  if k.startswith("(")),
    ]
    if row["machine"]:
        (raw_ms, raw_busy), (e2e_ms, e2e_busy) = row["raw_machine"], row["machine"]
        lines.append(f"  whole machine CPU per event: raw kombu {raw_ms * 1000:.2f} ms ({raw_busy:.0%} of the cores "
                     f"busy), end to end {e2e_ms * 1000:.2f} ms ({e2e_busy:.0%} busy) = {e2e_ms / raw_ms:.1f} x; both bound "
                     f"by CPU, the share follows: {raw_ms / e2e_ms * e2e_busy / raw_busy:.1%} at these shares busy")
    lines += [
        "  RSS MiB idle -> under kiosk load: " + ", ".join(
            f"{name} {row['idle_rss'][name]:.0f} -> {row['load_rss'].get(name, 0):.0f}" for name in sorted(row["idle_rss"])),
    ]
    if not ok:
        lines += [f"    {m}" for m in (row["mismatches"] + row["doubled"])[:10]]
        lines += [f"    conflict: {c.get('barcode')} {c.get('kind')}: {c.get('reason')}" for c in row["conflicts"][:10]]
        lines += [f"    dead letter: {reason}" for reason in row["dead"][:10]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 4000],
                        help="sizes run with one library process; the largest also with more")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--catch-up", type=int, nargs="*", default=[1, 2], metavar="PROCESSES",
                        help="also catch up after an outage, the largest size, with these numbers of "
                             "library processes (none: skip)")
    parser.add_argument("--ceiling", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the smallest size with a pass-through in the library's place: "
                             "the most any library could reach with these kiosk clients and this broker")
    parser.add_argument("--past-holds", type=int, nargs="*", default=[50_000], metavar="HOLDS",
                        help="also run the smallest size, one process, with this many past holds in the "
                             "store (none: skip)")
    args = parser.parse_args()
    size = max(args.events)
    plan_ = [(n, 1, False, 0, False) for n in args.events] \
        + [(size, p, False, 0, False) for p in args.processes if p != 1] \
        + [(size, p, True, 0, False) for p in args.catch_up] \
        + [(min(args.events), 1, False, h, False) for h in args.past_holds if h] \
        + [(min(args.events), 1, False, 0, True)] * args.ceiling
    rows = []
    for events, procs, catch_up, past_holds, ceiling in plan_:
        rows.append(run_once(events, procs, catch_up, past_holds, ceiling))
        print(report(rows[-1]), flush=True)
    print("\nsummary (events/s as a share of the raw rate):")
    for row in rows:
        who = "no library (pass-through)" if row["ceiling"] else f"{row['processes']} process(es)"
        print(f"  {row['events']:>6,} events, {who}{', catching up' if row['catch_up'] else ''}"
              f"{', %s past holds' % format(row['past_holds'], ',') if row['past_holds'] else ''}: "
              f"{row['rate']:7,.0f}/s = {row['rate'] / row['baseline']:6.1%}")
    ceiling = next((r["rate"] / r["baseline"] for r in rows if r["ceiling"]), None)
    if ceiling:   # what the library makes of what the kiosk clients and the broker leave it
        for row in rows:
            if not (row["ceiling"] or row["catch_up"]):
                print(f"  {row['events']:>6,} events, {row['processes']} process(es): "
                      f"{row['rate'] / row['baseline'] / ceiling:6.1%} of the ceiling (no library: "
                      f"{ceiling:.1%} of the raw rate)")
    failed = [r for r in rows if r["lost"] or r["mismatches"] or r["doubled"] or r["conflicts"] or r["dead"]]
    print("\nbars (issue 23; ratios within this run):")
    for line in bars(rows):
        print(line)
    print(f"checks: {'OK' if not failed else 'FAILED'} in {len(rows) - len(failed)} of {len(rows)} runs", flush=True)
    return 1 if failed else 0


CPU_BEFORE_MS = 3.2   # library + store per event before batches (bench/RESULTS.md, third run)


def bars(rows: list[dict]) -> list[str]:
    """The issue's bars as final lines, one figure each, for a reader and a script."""
    def part_ms(row, prefix):
        return sum(v for k, v in row["cpu"].items() if k.split("-")[0] == prefix) / row["events"] * 1000

    lines = []
    plain = [r for r in rows if not r["past_holds"]]
    caught = {r["processes"]: r for r in plain if r["catch_up"]}
    if 1 in caught:
        one = caught[1]
        lines.append(f"catch-up 1 process: {one['rate'] / one['baseline']:.1%} of raw consume "
                     f"({one['rate']:,.0f}/s against {one['baseline']:,.0f}/s; bar >= 25%)")
        for n in sorted(p for p in caught if p != 1):
            lines.append(f"catch-up {n} processes: {caught[n]['rate'] / one['rate']:.2f}× one process "
                         f"({caught[n]['rate']:,.0f}/s{'; bar >= 1.6×' if n == 2 else ''})")
    ceiling = next((r["rate"] / r["baseline"] for r in rows if r["ceiling"]), None)
    for r in plain:
        if not (r["ceiling"] or r["catch_up"]) and ceiling:
            who = "1 process" if r["processes"] == 1 else f"{r['processes']} processes"
            lines.append(f"end to end {who}: {r['rate'] / r['baseline'] / ceiling:.0%} of ceiling "
                         f"({r['events']:,} events, {r['rate']:,.0f}/s{'; bar >= 70%' if r['processes'] == 1 else ''})")
    for r in plain:
        if r["processes"] == 1 and not r["ceiling"]:
            library, store = part_ms(r, "library"), part_ms(r, "store")
            lines.append(f"CPU per event, 1 process{', catching up' if r['catch_up'] else ''} ({r['events']:,} events): "
                         f"library {library:.2f} ms, store {store:.2f} ms, together {library + store:.2f} ms = "
                         f"{(library + store) / CPU_BEFORE_MS:.0%} of {CPU_BEFORE_MS} ms (bar <= 33%)")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
