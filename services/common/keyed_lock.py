"""One worker at a time per key, within this process.

nameko runs a service's workers concurrently (green threads). Where several of them
change the same document with a compare-and-set, they mostly fail each other and retry;
taking turns per key makes each one's read the latest. Across processes the
compare-and-set still decides: this only saves the wasted tries.
"""
from __future__ import annotations

import heapq
import time
from collections import defaultdict
from contextlib import contextmanager

import eventlet
from eventlet.event import Event
from eventlet.semaphore import Semaphore

FORGET_ABOVE = 10_000   # keys remembered before idle ones are let go


class KeyedLocks:
    def __init__(self):
        self._locks: defaultdict[str, Semaphore] = defaultdict(Semaphore)

    @contextmanager
    def held(self, key: str):
        lock = self._locks[key]
        with lock:
            yield
        if lock.balance >= 1 and len(self._locks) > FORGET_ABOVE:  # idle: forget it, keep the map small
            self._locks.pop(key, None)

    def __len__(self) -> int:
        return len(self._locks)


class OrderedTurns:
    """Per key, one at a time and in order: what was ``register``-ed for a key takes its
    ``turn`` smallest order first, whatever order the workers run in.

    Registering happens as messages arrive (in the consumer, in delivery order), before any
    worker runs; a worker then waits until every earlier registration of its key has had its
    turn. Events of one copy that are in flight together are so applied in order of their
    time, whatever the prefetch and the number of workers."""

    def __init__(self, forget_after: float = 10.0, clock=time.monotonic):
        self._waiting: dict[str, list[tuple]] = {}   # key -> heap of (order, token, registered at)
        self._busy: set[str] = set()
        self._wakeups: dict[str, Event] = {}         # token -> its waiter's event
        self.forget_after, self.clock = forget_after, clock

    def register(self, key: str, order, token: str) -> None:
        heapq.heappush(self._waiting.setdefault(key, []), (order, token, self.clock()))

    def forget(self, key: str, token: str) -> None:
        """A registration whose worker will not run (the message was refused after all)."""
        heap = self._waiting.get(key)
        if heap is not None:
            heap[:] = [entry for entry in heap if entry[1] != token]
            heapq.heapify(heap)
            self._wake_next(key)

    def _drop_stale_head(self, key: str, token: str) -> None:
        """A registration whose worker never came for its turn (killed with its container, say)
        must not hold its key's later events for ever: after ``forget_after`` it is let go."""
        heap = self._waiting.get(key)
        while heap and heap[0][1] != token and key not in self._busy \
                and self.clock() - heap[0][2] > self.forget_after and heap[0][1] not in self._wakeups:
            heapq.heappop(heap)

    @contextmanager
    def turn(self, key: str, token: str):
        heap = self._waiting.get(key)
        if heap is None or all(entry[1] != token for entry in heap):   # not registered: take it as it comes
            self.register(key, (), token)
            heap = self._waiting[key]
        while key in self._busy or heap[0][1] != token:
            waiter = self._wakeups.setdefault(token, Event())
            with eventlet.Timeout(self.forget_after, False):
                waiter.wait()
            self._wakeups.pop(token, None)
            self._drop_stale_head(key, token)
        heapq.heappop(heap)
        self._busy.add(key)
        try:
            yield
        finally:
            self._busy.discard(key)
            if not heap:
                self._waiting.pop(key, None)
            self._wake_next(key)

    def _wake_next(self, key: str) -> None:
        heap = self._waiting.get(key)
        if heap and key not in self._busy:
            waiter = self._wakeups.get(heap[0][1])
            if waiter is not None and not waiter.ready():
                waiter.send()

    def __len__(self) -> int:
        return len(self._waiting)
