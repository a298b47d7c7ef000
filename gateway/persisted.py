"""Persisted queries (Apollo's ``extensions.persistedQuery`` protocol): a mobile app sends
the query's SHA-256 instead of its text. Learned queries are kept per process (a client
whose hash is not known yet gets PERSISTED_QUERY_NOT_FOUND and sends the text once); in
production an allow-list file can be the only queries accepted."""
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
    def __init__(self, allow_list_file: str | None = None, only_allow_listed: bool = False, keep: int = 1000):
        self.allowed: dict[str, str] = {}
        if allow_list_file:
            data = json.loads(Path(allow_list_file).read_text(encoding="utf-8"))
            self.allowed = {sha256(q): q for q in (data.values() if isinstance(data, dict) else data)}
        self.only_allow_listed = only_allow_listed
        self.learned: OrderedDict[str, str] = OrderedDict()
        self.keep = keep

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
            self._learn(digest, query)
            return query
        known = self.allowed.get(digest) or (None if self.only_allow_listed else self.learned.get(digest))
        if known is None:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        return known

    def _learn(self, digest: str, query: str) -> None:
        self.learned[digest] = query
        self.learned.move_to_end(digest)
        while len(self.learned) > self.keep:
            self.learned.popitem(last=False)
