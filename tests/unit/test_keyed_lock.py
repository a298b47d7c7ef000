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


def test_ordered_turns_go_in_order_whatever_order_the_workers_run_in():
    from services.common.keyed_lock import OrderedTurns
    turns, done = OrderedTurns(), []
    for order, token in ((3, "c"), (1, "a"), (2, "b")):   # arrived in this order, happened a, b, c
        turns.register("copy-1", order, token)

    def work(token):
        with turns.turn("copy-1", token):
            eventlet.sleep(0.01)
            done.append(token)
    pool = eventlet.GreenPool()
    for token in ("c", "b", "a"):   # the workers start in the worst order
        pool.spawn(work, token)
    pool.waitall()
    assert done == ["a", "b", "c"] and len(turns) == 0


def test_a_registration_whose_worker_never_comes_is_let_go():
    from services.common.keyed_lock import OrderedTurns
    turns, done = OrderedTurns(forget_after=0.2), []
    turns.register("copy-1", 1, "killed-with-its-container")   # its worker never runs
    turns.register("copy-1", 2, "next")
    with eventlet.Timeout(5):
        with turns.turn("copy-1", "next"):
            done.append("next")
    assert done == ["next"]
