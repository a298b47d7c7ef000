"""The transactional outbox, against the real broker and store."""
import json
import time
import uuid

import eventlet
import pytest
from nameko.amqp.publish import Publisher

from contracts.events.community import ResidentRegisteredV1
from infra.local import demo_data
from services.common import outbox
from services.community.service import CommunityService
from services.library.service import LibraryService
from support import bind_probe_queue, drain, id_number, recording_commands, wait_for


def registered(resident_id: str) -> dict:
    return outbox.event(ResidentRegisteredV1.TYPE, {
        "resident_id": resident_id, "name": "王五", "registered_committee": None,
        "registered_outside_district": True, "residence_committee": "C0102",
        "registered_on": "2026-11-25"}, subject=resident_id)


@pytest.fixture
def collection(db):
    coll = db("kit")[f"outbox_{uuid.uuid4().hex[:6]}"]
    coll.create_indexes([outbox.OUTBOX_INDEX])
    return coll


def test_relay_publishes_what_is_pending_and_clears_exactly_that(settings, collection):
    probe = bind_probe_queue(settings.amqp_uri, "community.events")
    first, second = registered("r-a"), registered("r-b")
    collection.insert_one({"_id": "doc", **outbox.pending_fields([first])})
    collection.update_one({"_id": "doc"}, outbox.record(second))
    assert collection.find_one({"_id": "doc"})[outbox.PENDING] == 2

    sent = outbox.relay_once([collection], outbox.PipelinedPublisher(settings.amqp_uri))

    assert sent == 2
    doc = collection.find_one({"_id": "doc"})
    assert doc["outbox"] == {} and doc[outbox.PENDING] == 0
    bodies = [json.loads(m.body) for m in drain(settings.amqp_uri, probe, expect=2)]
    assert [b["id"] for b in bodies] == [first["id"], second["id"]]
    assert all(b["type"] == ResidentRegisteredV1.TYPE and b["specversion"] == "1.0" for b in bodies)


def test_a_count_with_no_event_behind_it_cannot_starve_real_events(settings, collection):
    probe = bind_probe_queue(settings.amqp_uri, "community.events")
    # a full batch of documents whose counters drifted, ahead of one real event
    collection.insert_many([{"_id": f"drift-{i:03d}", outbox.PENDING: 1} for i in range(outbox.BATCH)])
    real = registered("r-real")
    collection.insert_one({"_id": "zzz-real", **outbox.pending_fields([real])})
    publisher = Publisher(settings.amqp_uri, use_confirms=True, serializer="json")
    for _ in range(3):
        outbox.relay_once([collection], publisher)
    [message] = drain(settings.amqp_uri, probe)
    assert json.loads(message.body)["id"] == real["id"]
    assert list(collection.find({outbox.PENDING: {"$gt": 0}})) == []


def test_each_process_relays_its_own_writes_and_takes_over_only_what_was_left(settings, collection):
    """Several processes of one service used to publish every pending event each (3.3 x the
    events with 4 processes): a relay now leaves another live process's events to it."""
    probe = bind_probe_queue(settings.amqp_uri, "community.events")
    publisher = Publisher(settings.amqp_uri, use_confirms=True, serializer="json")
    theirs, legacy = registered("r-theirs"), registered("r-legacy")
    collection.insert_one({"_id": "theirs", **outbox.pending_fields([theirs]), outbox.OWNER: "other-process"})
    collection.insert_one({"_id": "legacy", "outbox": {legacy["id"]: legacy}, outbox.PENDING: 1})  # no writer named

    assert outbox.relay_once([collection], publisher, owner="this-process") == 1
    [message] = drain(settings.amqp_uri, probe)
    assert json.loads(message.body)["id"] == legacy["id"]
    assert collection.find_one({"_id": "theirs"})[outbox.PENDING] == 1        # fresh, and its owner's

    # its owner went quiet: once the events have waited orphan_after, another relay sends them
    assert outbox.relay_once([collection], publisher, owner="this-process", orphans=False, orphan_after=0) == 0
    assert outbox.relay_once([collection], publisher, owner="this-process", orphan_after=0) == 1
    [message] = drain(settings.amqp_uri, probe)
    assert json.loads(message.body)["id"] == theirs["id"]
    assert collection.find_one({"_id": "theirs"})[outbox.PENDING] == 0


def test_one_relay_takes_over_left_events_and_their_slow_writer_leaves_them(settings, collection):
    left = registered("r-left")
    collection.insert_one({"_id": "left", **outbox.pending_fields([left]), outbox.OWNER: "slow-process"})
    collection.insert_one({"_id": "legacy", "outbox": {"e": left}, outbox.PENDING: 1})   # no writer named
    seen_by_a, seen_by_b = collection.find_one({"_id": "left"}), collection.find_one({"_id": "left"})
    assert outbox.claim(collection, seen_by_a, "relay-a")
    assert not outbox.claim(collection, seen_by_b, "relay-b")      # read before a's claim: it lost
    assert collection.find_one({"_id": "left"})[outbox.OWNER] == "relay-a"
    assert outbox.claim(collection, collection.find_one({"_id": "legacy"}), "relay-b")
    assert collection.find_one({"_id": "legacy"})[outbox.OWNER] == "relay-b"

    publisher = Publisher(settings.amqp_uri, use_confirms=True, serializer="json")
    probe = bind_probe_queue(settings.amqp_uri, "community.events")
    assert outbox.relay_once([collection], publisher, owner="slow-process", orphans=False) == 0  # not its own now
    assert outbox.relay_once([collection], publisher, owner="relay-a", orphans=False) == 1
    [message] = drain(settings.amqp_uri, probe)
    assert json.loads(message.body)["id"] == left["id"]


def test_the_last_writer_of_a_document_relays_all_its_pending_events(settings, collection):
    probe = bind_probe_queue(settings.amqp_uri, "community.events")
    first, second = registered("r-1"), registered("r-2")
    collection.insert_one({"_id": "doc", **outbox.pending_fields([first]), outbox.OWNER: "other-process"})
    collection.update_one({"_id": "doc"}, outbox.record(second))           # written here, now
    publisher = Publisher(settings.amqp_uri, use_confirms=True, serializer="json")
    assert outbox.relay_once([collection], publisher, orphans=False) == 2
    assert {json.loads(m.body)["id"] for m in drain(settings.amqp_uri, probe, expect=2)} == {first["id"], second["id"]}


def test_a_refused_publish_mid_batch_leaves_it_pending_and_clears_what_went_out(settings, collection):
    """The relay removes what the broker confirmed in one write after the batch; a publish the
    broker refuses half way must still not lose the first one's removal, nor the second event."""
    probe = bind_probe_queue(settings.amqp_uri, "community.events")
    sent, refused = registered("r-sent"), registered("r-refused")
    refused["source"] = f"nowhere-{uuid.uuid4().hex[:6]}"   # its exchange does not exist: the broker refuses
    refused["time"] = "9999-01-01T00:00:00+00:00"            # published after the first
    collection.insert_one({"_id": "doc", **outbox.pending_fields([sent, refused])})
    with pytest.raises(Exception):
        outbox.relay_once([collection], Publisher(settings.amqp_uri, use_confirms=True, serializer="json"))
    doc = collection.find_one({"_id": "doc"})
    assert doc[outbox.PENDING] == 1 and list(doc["outbox"]) == [refused["id"]]
    [message] = drain(settings.amqp_uri, probe)
    assert json.loads(message.body)["id"] == sent["id"]


def test_broker_down_leaves_the_outbox_pending(collection):
    ev = registered("r-c")
    collection.insert_one({"_id": "doc", **outbox.pending_fields([ev])})
    unreachable = Publisher("amqp://guest:guest@127.0.0.1:1/", use_confirms=True, serializer="json",
                            retry=False)
    with pytest.raises(Exception):
        outbox.relay_once([collection], unreachable)
    doc = collection.find_one({"_id": "doc"})
    assert doc[outbox.PENDING] == 1 and list(doc["outbox"]) == [ev["id"]]


CRASHED_WRITER = """
import os, signal, sys
import pymongo
from services.common import outbox
from contracts.events.community import ResidentRegisteredV1
uri, database, resident_id = sys.argv[1:4]
event = outbox.event(ResidentRegisteredV1.TYPE, {"resident_id": resident_id, "name": "王五",
    "registered_committee": None, "registered_outside_district": True, "residence_committee": "C0102",
    "registered_on": "2026-11-25"}, subject=resident_id)
pymongo.MongoClient(uri)[database].residents.insert_one({"_id": resident_id, "id_number": "crash-" + resident_id,
    "name": "王五", **outbox.pending_fields([event])})
os.kill(os.getpid(), signal.SIGKILL)   # dies holding its outbox row, before any relay of its own ran
"""


def test_a_process_killed_holding_its_outbox_row_is_relayed_by_another_once(start_service, service_config, db,
                                                                           settings):
    """A real crash: another process wrote the change with its event and was killed -9 before
    relaying it. This process's relay takes the row over once it has waited OUTBOX_ORPHAN_AFTER,
    within that and a sweep, and publishes it exactly once."""
    import subprocess
    import sys

    resident_id = uuid.uuid4().hex
    probe = bind_probe_queue(settings.amqp_uri, "community.events", ResidentRegisteredV1.TYPE)
    start_service(CommunityService, service_config("community", OUTBOX_ORPHAN_AFTER=1.0))
    writer = subprocess.run([sys.executable, "-c", CRASHED_WRITER, settings.mongo_uri,
                             settings.database_name("community"), resident_id], capture_output=True, timeout=60)
    assert writer.returncode == -9, writer.stderr   # killed, not ended
    row = db("community").residents.find_one({"_id": resident_id})
    assert row[outbox.PENDING] == 1 and row[outbox.OWNER] != outbox.THIS_PROCESS   # the dead one's
    started = time.monotonic()
    wait_for(lambda: db("community").residents.find_one({"_id": resident_id})[outbox.PENDING] == 0,
             timeout=1.0 + outbox.SWEEP_EVERY + 8.0)   # orphaned after 1 s, found by the next sweep
    took = time.monotonic() - started
    published = [json.loads(m.body) for m in drain(settings.amqp_uri, probe, expect=1)]
    eventlet.sleep(outbox.SWEEP_EVERY + 0.5)            # a later sweep sends nothing again
    published += [json.loads(m.body) for m in drain(settings.amqp_uri, probe, expect=0, timeout=0.5)]
    assert [e["data"]["resident_id"] for e in published].count(resident_id) == 1, published
    assert took >= 0.5   # not before it was an orphan: its owner might only have been slow


def test_event_published_while_its_consumer_is_down_waits_in_its_queue(start_service, db):
    """The topology is declared at deploy time, so nothing is dropped for want of a queue."""
    resident_id = uuid.uuid4().hex
    db("community").residents.insert_one({
        "_id": resident_id, "id_number": f"early-{resident_id}", "name": "赵六",
        **outbox.pending_fields([registered(resident_id)])})
    start_service(CommunityService)
    wait_for(lambda: db("community").residents.find_one({"_id": resident_id})[outbox.PENDING] == 0)
    assert db("library").patrons.find_one({"_id": resident_id}) is None
    start_service(LibraryService)
    wait_for(lambda: db("library").patrons.find_one({"_id": resident_id}))


def test_writes_that_diff_a_document_leave_the_outbox_fields_alone():
    from services.common.storage import KEPT_BY_THE_KIT, diff_update
    assert set(outbox.FIELDS) <= set(KEPT_BY_THE_KIT)
    old = {"_id": "d", "status": "a", **outbox.pending_fields([registered("r-d")])}
    assert diff_update(old, {"_id": "d", "status": "b"}) == {"$set": {"status": "b"}}


def test_a_worker_that_stored_events_wakes_the_relay_at_once(start_service, service_config, settings, rpc):
    """The relay no longer polls every 0.2 s (five reads each time, the idle store's largest
    cost): the worker wakes it as it ends. Here it would otherwise wait 60 s."""
    start_service(CommunityService, service_config("community", OUTBOX_INTERVAL=60))
    rpc.community.upsert_places(demo_data.PLACES)
    eventlet.sleep(0.5)    # past the relay's first look at start
    probe = bind_probe_queue(settings.amqp_uri, "community.events", ResidentRegisteredV1.TYPE)
    started = time.monotonic()
    resident = rpc.community.register_resident({"id_number": id_number(), "name": "钱七",
                                                "residence_committee": "C0101", "address": "龙华路1号"})
    [message] = drain(settings.amqp_uri, probe, timeout=10)
    assert json.loads(message.body)["data"]["resident_id"] == resident["resident_id"]
    assert time.monotonic() - started < 10


def test_the_relay_looks_once_per_wake_and_loses_no_event_stored_while_it_looks(
        start_service, service_config, settings, rpc):
    """After a pass that sent events the relay waits on its wake-up: a worker that stored events
    during the pass has woken it already, so nothing waits, and an event costs one look at each
    collection, not two. With a 60 s interval, anything missed would come 60 s late."""
    from services.community import store

    def relay_reads():   # the relay's reads of pending events
        return [c for name, c in driver.commands
                if name == "find" and c["find"] in store.OUTBOX_COLLECTIONS and outbox.PENDING in c.get("filter", {})]
    with recording_commands() as driver:
        start_service(CommunityService, service_config("community", OUTBOX_INTERVAL=60))
        rpc.community.upsert_places(demo_data.PLACES)
        eventlet.sleep(0.5)    # past the relay's first look at start
        probe = bind_probe_queue(settings.amqp_uri, "community.events", ResidentRegisteredV1.TYPE)

        def register():
            return rpc.community.register_resident.call_async({
                "id_number": id_number(), "name": "钱七", "residence_committee": "C0101", "address": "龙华路1号"})
        register().result()    # its pass may also look for others' leftovers (every 2 s at most)
        drain(settings.amqp_uri, probe, timeout=10)
        eventlet.sleep(0.3)    # the pass goes on to the collections after the one with the event
        driver.clear()
        register().result()
        drain(settings.amqp_uri, probe, timeout=10)
        eventlet.sleep(0.3)
        assert len(relay_reads()) == len(store.OUTBOX_COLLECTIONS)
    # many at once, so that some are stored while the relay is looking: all come without delay
    started = time.monotonic()
    for reply in [register() for _ in range(30)]:
        reply.result()
    assert len(drain(settings.amqp_uri, probe, expect=30, timeout=20)) == 30
    assert time.monotonic() - started < 20


def test_a_case_for_a_district_with_no_link_queue_waits_in_the_outbox_and_does_not_hold_the_rest(
        settings, collection, monkeypatch):
    from contracts.events.interdistrict import CaseRepliedV1
    probe = bind_probe_queue(settings.amqp_uri, "community.events")
    unlinked = outbox.event(CaseRepliedV1.TYPE, {"from_district": "310115", "to_district": "310198",
                                                 "case_id": "c-x", "seq": 2, "reply": "accepted"}, subject="c-x")
    collection.insert_one({"_id": "stuck", **outbox.pending_fields([unlinked])})
    collection.insert_one({"_id": "fine", **outbox.pending_fields([registered("r-c")])})

    sent = outbox.relay_once([collection], Publisher(settings.amqp_uri, use_confirms=True, serializer="json"))

    assert sent == 1 and len(drain(settings.amqp_uri, probe, expect=1)) == 1
    assert collection.find_one({"_id": "stuck"})["outbox"] == {unlinked["id"]: unlinked}
    # set aside: no relay's own any more, so it cannot fill the passes that newer events need
    assert collection.find_one({"_id": "stuck"})[outbox.OWNER] == outbox.HELD
    monkeypatch.setattr(outbox, "BATCH", 1)
    collection.insert_one({"_id": "later", **outbox.pending_fields([registered("r-d")])})
    pipelined = outbox.PipelinedPublisher(settings.amqp_uri)
    try:
        assert outbox.relay_once([collection], pipelined, orphans=False) == 1   # the newer one, at once
        assert len(drain(settings.amqp_uri, probe, expect=1)) == 1
        # the sweep retries it once it looks orphaned, and sets it aside again (the pipelined relay too)
        assert outbox.relay_once([collection], pipelined, orphan_after=0) == 0
        stuck = collection.find_one({"_id": "stuck"})
        assert stuck[outbox.OWNER] == outbox.HELD and stuck[outbox.PENDING] == 1
    finally:
        pipelined.close()
