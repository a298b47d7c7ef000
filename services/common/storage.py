"""Each service's own MongoDB database, as a nameko dependency.

One ``MongoClient`` per process and URI (pymongo pools connections itself); indexes are
ensured when the service starts and again at deploy time (``suite up``), from the one
definition each service's store module gives.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Mapping, Sequence

import pymongo
from nameko.extensions import DependencyProvider
from pymongo import IndexModel
from pymongo.collection import Collection
from pymongo.database import Database

log = logging.getLogger(__name__)

IndexSpec = Mapping[str, Sequence[IndexModel]]

_clients: dict[str, pymongo.MongoClient] = {}
_lock = threading.Lock()


def client_for(uri: str, timeout_ms: int = 2000) -> pymongo.MongoClient:
    """The process's client for ``uri``: short timeouts so that a missing store fails
    fast with a clear error instead of hanging a worker."""
    with _lock:
        client = _clients.get(uri)
        if client is None:
            client = pymongo.MongoClient(
                uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
                socketTimeoutMS=max(timeout_ms * 5, 10000), tz_aware=True, appname="smart-community-suite")
            _clients[uri] = client
        return client


def close_clients() -> None:
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def ensure_indexes(db: Database, indexes: IndexSpec) -> None:
    for collection, models in indexes.items():
        if models:
            db[collection].create_indexes(list(models))


def before(collection: Collection, field: str, bound: str, limit: int, *, inclusive: bool = False) -> list[dict]:
    """Up to ``limit`` documents whose ``field`` (an ISO date or time) is before ``bound``
    (or at it, ``inclusive``), for a field kept as a plain date (the staff sessions' expiry;
    the timers' watch fields are due keys, ``due_by``): one indexed range, now that the
    embedded store compares such strings as strings (``infra/store_server.py``)."""
    return list(collection.find({field: {"$lte" if inclusive else "$lt": bound}}).limit(limit))


DUE_PREFIX = "d|"


def due_key(when: str) -> str:
    """An ISO date or time kept as a field the timers read by range (``due_by``). Prefixed, so
    that nx-27017 reads the range through its index even when started without the fix of
    ``infra/store_server.py`` (which took strings that look like dates for dates, scanning)."""
    return DUE_PREFIX + when


def due_by(collection: Collection, field: str, bound: str, limit: int, *, inclusive: bool = False) -> list[dict]:
    """Up to ``limit`` documents whose ``due_key`` field is before ``bound`` (or at it,
    ``inclusive``): one range on one indexed field. Then the values still kept as plain dates
    (ISO, so they begin with a digit and sort before the prefix), by a second range: a process
    of an earlier version writes them until it is stopped, after ``rekey_due`` has run."""
    upto = "$lte" if inclusive else "$lt"
    found = list(collection.find({field: {"$gte": DUE_PREFIX, upto: due_key(bound)}}).limit(limit))
    if len(found) < limit:
        found += collection.find({field: {"$gte": "0", upto: bound}}).limit(limit - len(found))
    return found


def rekey_due(collection: Collection, field: str) -> int:
    """Rewrite the ``field`` values an earlier version kept as plain dates into due keys (a
    one-off pass over the documents that have it, each changed only if still as read)."""
    changed, batch = 0, []
    for d in collection.find({field: {"$exists": True}}, {field: 1}).batch_size(1000):
        if isinstance(d.get(field), str) and d[field][:1].isdigit():   # an ISO date, not yet a key
            batch.append(pymongo.UpdateOne({"_id": d["_id"], field: d[field]}, {"$set": {field: due_key(d[field])}}))
        if len(batch) == 1000:
            collection.bulk_write(batch, ordered=False)
            changed, batch = changed + len(batch), []
    if batch:
        collection.bulk_write(batch, ordered=False)
    return changed + len(batch)


def insert_new(collection: Collection, docs: list[dict]) -> None:
    """Insert ``docs``; those already there (by a unique key) are left as they are."""
    if not docs:
        return
    try:
        collection.insert_many(docs, ordered=False)
    except pymongo.errors.BulkWriteError as exc:
        if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
            raise


def delete_where(collection: Collection, field: str, value) -> int:
    """Delete the documents whose indexed ``field`` equals ``value``: found by the index, then
    removed by ``_id`` (a ``delete_many`` on the field scans the collection on the embedded store)."""
    ids = [d["_id"] for d in collection.find({field: value}, {"_id": 1})]
    return collection.delete_many({"_id": {"$in": ids}}).deleted_count if ids else 0


MIGRATIONS = "migrations"   # in each service's database: which one-off builds have completed


def once(db: Database, name: str, build: Callable[[], int]) -> int | None:
    """Run ``build`` (rows an earlier version did not keep) unless it completed on this
    database before; returns what it counted, or None when it had. Builds must be
    idempotent: two processes may run one at the same time."""
    if db[MIGRATIONS].find_one({"_id": name}) is not None:
        return None
    done = build()
    db[MIGRATIONS].update_one({"_id": name}, {"$set": {"count": done}}, upsert=True)
    return done


def database_name(config: Mapping, service_name: str) -> str:
    return f"{config.get('DB_PREFIX', 'suite')}_{service_name}"


class Store(DependencyProvider):
    """``db = Store(INDEXES)`` gives each worker the service's pymongo ``Database``.

    ``builds``: one-off builds of what an earlier version did not keep (each ``f(db)``,
    guarded by ``once``), run in the background once the indexes are there, so that a
    service starts at once however large its data."""

    def __init__(self, indexes: IndexSpec | None = None, builds: Sequence[Callable[[Database], object]] = ()):
        self.indexes = indexes or {}
        self.builds = tuple(builds)
        self.db: Database | None = None
        self._indexed = False
        self._building = False

    def setup(self):
        config = self.container.config
        client = client_for(config["MONGO_URI"], int(config.get("STORE_TIMEOUT_MS", 2000)))
        self.db = client[database_name(config, self.container.service_name)]
        self._ensure_indexes()

    def _ensure_indexes(self) -> None:
        # A store that is down at start must not keep the service from starting (its
        # health endpoint says what is wrong); the indexes are ensured on first use.
        try:
            ensure_indexes(self.db, self.indexes)
            self._indexed = True
        except pymongo.errors.PyMongoError as exc:
            log.warning("could not ensure indexes yet: %s", exc)

    def start(self):
        self._start_builds()

    def _start_builds(self) -> None:
        if self._indexed and self.builds and not self._building:
            self._building = True
            self.container.spawn_managed_thread(self._run_builds, identifier="store builds")

    def _run_builds(self) -> None:
        try:
            for build in self.builds:
                build(self.db)
        except pymongo.errors.PyMongoError as exc:
            log.warning("one-off builds not done yet: %s", exc)
            self._building = False   # tried again when a later worker starts

    def get_dependency(self, worker_ctx) -> Database:
        if not self._indexed:
            self._ensure_indexes()
        self._start_builds()
        return self.db


def ping(db: Database, timeout: float = 0.8) -> str | None:
    """None when the store answers within ``timeout`` seconds, else what went wrong."""
    try:
        with pymongo.timeout(timeout):
            db.client.admin.command("ping")
        return None
    except pymongo.errors.PyMongoError as exc:
        # pymongo appends its whole topology description: keep the first clause
        return f"{type(exc).__name__}: {str(exc).splitlines()[0].split(', Timeout:')[0][:200]}"


def merge_updates(*updates: Mapping) -> dict:
    """Combine update documents (``$set``, ``$push``, ``$inc``...) into one, so a state
    change, its outbox events and its inbox mark go to the store in a single write."""
    merged: dict = {}
    for update in updates:
        for op, fields in update.items():
            target = merged.setdefault(op, {})
            clash = set(target) & set(fields)
            if clash:
                raise ValueError(f"update operator {op} sets {sorted(clash)} twice")
            target.update(fields)
    return merged




# the outbox's FIELDS (services/common/outbox.py, which imports this module) and the inbox
KEPT_BY_THE_KIT = ("_id", "outbox", "outbox_pending", "outbox_owner", "outbox_at", "inbox")


def diff_update(old: Mapping, new: Mapping) -> dict:
    """The ``$set``/``$unset`` that turns ``old`` into ``new`` (top-level fields), leaving
    the outbox and inbox, which other writers change, alone."""
    changed = {k: v for k, v in new.items() if k not in KEPT_BY_THE_KIT and old.get(k, _MISSING) != v}
    removed = {k: "" for k in old if k not in new and k not in KEPT_BY_THE_KIT}
    update: dict = {}
    if changed:
        update["$set"] = changed
    if removed:
        update["$unset"] = removed
    return update


_MISSING = object()
