"""One worker at a time per key, within this process.

nameko runs a service's workers concurrently (green threads). Where several of them
change the same document with a compare-and-set, they mostly fail each other and retry;
taking turns per key makes each one's read the latest. Across processes the
compare-and-set still decides: this only saves the wasted tries.
"""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager

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
