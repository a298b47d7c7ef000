"""Persisted queries (Apollo's ``extensions.persistedQuery`` protocol): a mobile app sends
the query's SHA-256 instead of its text. Learned queries are kept per process (a client
whose hash is not known yet gets PERSISTED_QUERY_NOT_FOUND and sends the text once); in
production an allow-list file can be the only queries accepted.

Only a query that passed validation is learned, and each client (a signed-in person, else an
address) holds at most ``per_client`` of them: one client sending a thousand new queries
forgets its own oldest, never everyone's; the allow-listed ones are never forgotten."""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


class PersistedQueries:
    def __init__(self, allow_list_file: str | None = None, only_allow_listed: bool = False, keep: int = 1000,
                 per_client: int = 50):
        self.allowed: dict[str, str] = {}
        if allow_list_file:
            data = json.loads(Path(allow_list_file).read_text(encoding="utf-8"))
            self.allowed = {sha256(q): q for q in (data.values() if isinstance(data, dict) else data)}
        self.only_allow_listed = only_allow_listed
        self.learned: OrderedDict[str, str] = OrderedDict()   # least recently used first
        self.taught_by: dict[str, set[str]] = {}                # digest -> clients who sent its text
        self.by_client: dict[str, OrderedDict[str, None]] = {}  # client -> its digests, oldest first
        self.keep = keep
        self.per_client = per_client

    def to_learn(self, query: str | None, extensions: dict | None) -> str | None:
        """The digest to learn once ``query`` has passed validation: a text sent with its hash."""
        pq = (extensions or {}).get("persistedQuery") if isinstance(extensions, dict) else None
        if query is None or not isinstance(pq, dict) or not isinstance(pq.get("sha256Hash"), str):
            return None
        digest = pq["sha256Hash"].lower()
        return None if digest in self.allowed else digest

    def resolve(self, query: str | None, extensions: dict | None) -> str | None:
        """The query text to run (None: no query given), or PersistedQueryError."""
        pq = (extensions or {}).get("persistedQuery") if isinstance(extensions, dict) else None
        if pq is None:
            if self.only_allow_listed and query is not None and sha256(query) not in self.allowed:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_ALLOWED", "only allow-listed queries are accepted here")
            return query
        if not isinstance(pq, dict) or pq.get("version") != 1 or not isinstance(pq.get("sha256Hash"), str):
            raise PersistedQueryError("BAD_USER_INPUT", "persistedQuery needs version 1 and a sha256Hash")
        digest = pq["sha256Hash"].lower()
        if query is not None:
            if sha256(query) != digest:
                raise PersistedQueryError("BAD_USER_INPUT", "provided sha does not match query")
            if self.only_allow_listed and digest not in self.allowed:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_ALLOWED", "only allow-listed queries are accepted here")
            return query
        known = self.allowed.get(digest) or (None if self.only_allow_listed else self.learned.get(digest))
        if known is None:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        if digest in self.learned:
            self.learned.move_to_end(digest)   # in use: kept the longest
        return known

    def learn(self, digest: str, query: str, client: str) -> None:
        """Keep ``query`` (valid) under ``digest`` for ``client``'s later requests (and anyone's)."""
        self.learned[digest] = query
        self.learned.move_to_end(digest)
        self.taught_by.setdefault(digest, set()).add(client)
        mine = self.by_client.setdefault(client, OrderedDict())
        mine[digest] = None
        mine.move_to_end(digest)
        while len(mine) > self.per_client:
            self._drop(mine.popitem(last=False)[0], client)
        while len(self.learned) > self.keep:
            oldest = next(iter(self.learned))
            for owner in self.taught_by.get(oldest, set()).copy():
                self.by_client.get(owner, {}).pop(oldest, None)
                self._drop(oldest, owner)

    def _drop(self, digest: str, client: str) -> None:
        """``client`` no longer holds ``digest``; it is forgotten when nobody does."""
        owners = self.taught_by.get(digest, set())
        owners.discard(client)
        if not self.by_client.get(client):
            self.by_client.pop(client, None)
        if not owners:
            self.taught_by.pop(digest, None)
            self.learned.pop(digest, None)
