"""Library card serials come from blocks each process reserves on the shared counter."""
import uuid

import eventlet

from services.library import patrons_store, store


def test_serials_are_unique_across_processes_and_one_counter_write_serves_a_block(db):
    database = db(f"cards_{uuid.uuid4().hex[:8]}")
    first, second = patrons_store.CardSerials(block=10), patrons_store.CardSerials(block=10)   # as two processes
    taken = [first.next(database) for _ in range(15)] + [second.next(database) for _ in range(5)]
    assert len(set(taken)) == 20
    assert taken[:15] == list(range(1, 16))            # the first process: its block, then the next
    assert taken[15:] == list(range(21, 26))           # the second: a block of its own
    # three blocks reserved in all (two by the first, one by the second): one write each
    assert database[store.COUNTERS].find_one({"_id": "card"})["seq"] == 30


def test_concurrent_workers_of_one_process_never_share_a_serial(db):
    database = db(f"cards_{uuid.uuid4().hex[:8]}")
    serials = patrons_store.CardSerials(block=7)
    pool = eventlet.GreenPool(20)
    taken = list(pool.imap(lambda _: serials.next(database), range(100)))
    assert sorted(taken) == list(range(1, 101))
    assert database[store.COUNTERS].find_one({"_id": "card"})["seq"] == 105   # 15 blocks of 7
