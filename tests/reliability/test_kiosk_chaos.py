"""Kiosk chaos (``make chaos``; not part of ``make test``): several thousand kiosk messages,
told by a kiosk network the way a hostile one does — duplicates, reordering, kiosks offline
then replaying — while the library is killed with SIGKILL and every connection of the run's
vhost is cut, with hostile messages mixed in (a compression bomb, keys that disagree with
their envelope, unknown versions, broken JSON). Then an oracle, told the same story once in
time order, says how it must end:

- every event of the story applied exactly once: each in its copy's inbox (applied or seen
  late) or kept as a conflict, none twice, none missing, and the count equal to the story's;
- no conflict left open (each one a late event that a later one explained);
- each copy as the oracle ends it;
- the loan history whole: every loan the story ends is there once, for its patron;
- every hostile message dead-lettered with a reason, counted exactly; 0 lost, 0 doubled.

Faults touch only this run's vhost (connections closed by ``rabbitmqctl close_all_connections
--vhost``) and its own processes: nothing shared stops.
"""
import bz2
import json
import os
import threading
import time
import uuid
from collections import Counter

import pymongo
import pytest
from kombu import Connection

from infra.kiosk import accounts, simulator
from running_suite import RunningSuite, rabbitmqctl
from support import wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(1800)]
EVENTS = int(os.environ.get("CHAOS_EVENTS", "3000"))
KIOSKS, COPIES, PATRONS = 6, 80, 30


@pytest.fixture(scope="module")
def suite(tmp_path_factory, settings):
    running = RunningSuite(tmp_path_factory.mktemp("chaos"), settings.amqp_uri.rsplit("/", 1)[0])
    try:
        running.start()
        yield running
    finally:
        running.down()


def hostile(kiosk_id: str) -> list[tuple[str, bytes, dict, str]]:
    """(routing key, body, headers, type) of messages a kiosk must not get applied."""
    good = {"specversion": "1.0", "id": uuid.uuid4().hex, "source": f"/kiosks/{kiosk_id}",
            "type": "cn.library.kiosk.checkout.v1", "time": "2026-01-01T00:00:00+00:00", "sequence": 1,
            "data": {"barcode": "NOPE", "card_number": "NOPE"}}
    return [
        (f"kiosk.{kiosk_id}.checkin", bz2.compress(b"{" + b" " * 5_000_000 + b"}"),
         {"compression": "application/x-bz2"}, "compression bomb"),
        (f"kiosk.{kiosk_id}.heartbeat", json.dumps(good).encode(), {}, "a checkout on the heartbeat key"),
        (f"kiosk.{kiosk_id}.checkout", b'{"specversion": "1.0", "id": ', {}, "broken JSON"),
        (f"kiosk.{kiosk_id}.checkout", json.dumps({**good, "id": uuid.uuid4().hex, "type": "cn.library.kiosk.teleport.v1"})
         .encode(), {}, "unknown type"),
        (f"kiosk.{kiosk_id}.checkout", json.dumps({**good, "id": uuid.uuid4().hex, "source": "/kiosks/other"}).encode(),
         {}, "another kiosk's source"),
    ]


def faults(suite, stop: threading.Event, log: list) -> None:
    """Until ``stop``: SIGKILL the library and start it again, cut every connection of the vhost."""
    rounds = 0
    while not stop.wait(2.0):
        rounds += 1
        if rounds % 2:
            suite.kill9("library")
            suite.restart("library")
            log.append("library killed and restarted")
        else:
            rabbitmqctl("close_all_connections", "--vhost", suite.vhost, "chaos run")
            log.append("every connection of the vhost cut")


def depth(uri: str, queue: str) -> int:
    with Connection(uri) as conn:
        return conn.channel().queue_declare(queue, passive=True).message_count


def test_kiosk_chaos_ends_as_the_oracle_says(suite):
    with suite.rpc(timeout=60) as rpc:
        fixtures = simulator.prepare_fixtures(rpc, KIOSKS, COPIES, PATRONS)
    broken: list[str] = []
    stop, log = threading.Event(), []
    injector = threading.Thread(target=faults, args=(suite, stop, log), daemon=True)
    injector.start()
    try:
        report = simulator.simulate(suite.amqp_uri, kiosks=KIOSKS, events=EVENTS, rate=0, duplicates=0.1,
                                    reorder=0.15, offline=0.34, seed=7, copies=fixtures.copies,
                                    patrons=fixtures.patrons, kiosk_ids=fixtures.kiosk_ids, keep_accounts=True)
        catching_up = time.monotonic() + 60   # the faults go on while the library works through its backlog
        while time.monotonic() < catching_up and (not suite.healthy("library")
                                                  or simulator.kiosk_queue_depth(suite.amqp_uri) > 0):
            time.sleep(0.5)
    finally:
        stop.set()
        injector.join(60)
    suite.up()   # whatever the last fault left stopped
    # the hostile ones once the faults are over: a dead letter is exact only without a kill between
    # its publish and its acknowledgement (then it is dead-lettered again: at least once)
    kiosk_id = fixtures.kiosk_ids[0]
    user, password = accounts.add_kiosk(suite.amqp_uri, kiosk_id)
    with Connection(accounts.kiosk_uri(suite.amqp_uri, user, password),
                    transport_options={"confirm_publish": True}) as conn:
        for key, body, headers, what in hostile(kiosk_id):
            conn.Producer().publish(body, exchange="kiosk.events", routing_key=key, headers=headers,
                                    content_type="application/json", delivery_mode=2, user_id=user)
            broken.append(what)
    with Connection(suite.amqp_uri, transport_options={"confirm_publish": True}) as conn:   # no queue takes it
        conn.Producer().publish("{}", exchange="kiosk.events", routing_key=f"kiosk.{kiosk_id}.checkout.v2",
                                delivery_mode=2)
    with suite.rpc(timeout=60) as rpc:
        mismatches = simulator.verify_until(report, rpc, timeout=120, settle=2.0, amqp_uri=suite.amqp_uri)
        history = {rid: rpc.library.loan_history(rid, 500) for rid in fixtures.patrons.values()}
    client = pymongo.MongoClient(suite.mongo_uri)
    db = client[suite.database_name("library")]
    ours = set(fixtures.copies)

    # each event of the story: in its copy's inbox (applied, or seen late) or a conflict; once
    copies = list(db.copies.find({"_id": {"$in": list(ours)}}, {"inbox": 1}))
    conflicts = {c["_id"]: c for c in db.conflicts.find({"barcode": {"$in": list(ours)}})}
    missing, twice = simulator.account(report, copies, conflicts.values())
    keys = [ev for ev in report.events if ev.kind in ("checkout", "checkin")]
    still_open = [c["_id"] for c in conflicts.values() if c["status"] == "open"]

    # the loan history: every loan the story ends, once, for its patron
    rid_of = fixtures.patrons
    kept = Counter((h["barcode"], rid, h["loaned_at"][:19]) for rid, past in history.items() for h in past
                   if h["barcode"] in ours)
    wanted = Counter((barcode, rid_of[card], lent.isoformat()[:19])
                     for barcode, card, lent in simulator.completed_loans(report.events))
    history_missing = wanted - kept
    history_doubled = [k for k, n in kept.items() if n > 1]

    wait_for(lambda: depth(suite.amqp_uri, "dlq.library") >= len(broken), timeout=30)
    dead = depth(suite.amqp_uri, "dlq.library")
    unroutable = depth(suite.amqp_uri, "dlq.kiosk-unroutable")
    client.close()
    summary = (f"{report.sent} events ({report.duplicates} sent again, {report.reordered} reordered, "
               f"{report.replayed} replayed from buffers), faults: {Counter(log)}, {len(keys)} loans and returns, "
               f"{len(conflicts)} conflicts, {sum(wanted.values())} ended loans, {dead} dead letters")
    print(summary)
    assert report.lost == 0, summary
    assert mismatches == [], mismatches[:10]
    assert not missing and not twice, (len(missing), twice[:5], summary)
    assert still_open == [], [(conflicts[c]["kind"], conflicts[c]["reason"]) for c in still_open[:5]]
    assert not history_missing and not history_doubled, (list(history_missing.items())[:5], history_doubled[:5])
    assert dead == len(broken), (dead, broken)
    assert unroutable == 1
