"""Workers of one process take turns per key."""
import eventlet

from services.common import keyed_lock
from services.common.keyed_lock import KeyedLocks


def test_one_key_at_a_time_and_other_keys_meanwhile():
    locks = KeyedLocks()
    trace = []

    def work(key, name):
        with locks.held(key):
            trace.append(f"{name} in")
            eventlet.sleep(0.01)   # a store round trip: another green thread runs meanwhile
            trace.append(f"{name} out")

    pool = eventlet.GreenPool()
    for key, name in (("w1", "a"), ("w1", "b"), ("w2", "c")):
        pool.spawn(work, key, name)
    pool.waitall()
    assert trace.index("a out") < trace.index("b in")       # same key: one after the other
    assert trace.index("c in") < trace.index("a out")       # another key: at the same time


def test_idle_keys_are_forgotten_once_there_are_many(monkeypatch):
    monkeypatch.setattr(keyed_lock, "FORGET_ABOVE", 3)
    locks = KeyedLocks()
    for n in range(10):
        with locks.held(f"k{n}"):
            pass
    assert len(locks) <= 4
