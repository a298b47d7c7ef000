"""The names of the district's places (district, sub-districts, 1,300 committees), kept in the
gateway process: every dashboard names a few of them, and asking the community service for
all of them on every request grew with the size of the district. They change a few times a
year: the list is read again after ``GATEWAY_PLACES_TTL`` seconds, or at once (at most every
few seconds) when a code turns up that it does not know."""
from __future__ import annotations

import os
import time
from typing import Callable

TTL = float(os.environ.get("GATEWAY_PLACES_TTL", "60"))
MISS_RELOAD_EVERY = 5.0   # seconds: an unknown code (a committee outside the district) reloads no more often


class PlaceNames:
    def __init__(self, ttl: float = TTL, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.clock = ttl, clock
        self._by_code: dict[str, dict] = {}
        self._loaded_at = float("-inf")

    def get(self, code: str, load: Callable[[], list[dict]]) -> dict | None:
        """The place with ``code``; ``load()`` lists every place (one RPC) when the kept list is
        old, or does not know ``code`` and was not just read."""
        age = self.clock() - self._loaded_at
        if age >= self.ttl or (code not in self._by_code and age >= MISS_RELOAD_EVERY):
            self._by_code = {p["code"]: p for p in load()}
            self._loaded_at = self.clock()
        return self._by_code.get(code)


kept = PlaceNames()
