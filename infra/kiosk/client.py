"""A kiosk's side of the kiosk contract (``contracts/events/kiosk.py``): what a vendor copies.

Every event is written to a local store-and-forward buffer (sqlite3 in ``buffer_dir``,
committed with fsync) *before* it is published, and removed from it only after the
broker has confirmed it. So an event survives a broker that is away, a network that
times out, and a kiosk that crashes or loses power mid-publish; ``flush()`` replays what
is buffered, in sequence order, with its original id, time and sequence. A crash between
the confirm and the removal replays the event once more: delivery is at least once and
the library ignores a duplicate id.

The per-kiosk ``sequence`` is kept in the same file, so it only grows across restarts.

Publishing uses the kiosk's own broker user (``kiosk-<id>``), sets ``user_id`` to it (the
broker checks it), and declares nothing: that user has no configure permission. It publishes
``mandatory``: an event the broker returns (no queue took it) is a failure, kept buffered and
reported (``KioskRefused``), never taken for sent because the broker confirmed it.

    client = KioskClient("amqp://kiosk-K-001:secret@broker:5672/", "K-001", "/var/lib/kiosk")
    client.checkout("C0000003", "LC000012345678")   # published, or kept until the broker is back
    client.flush()                                  # e.g. on a timer: replay what is buffered
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import amqp.exceptions
from kombu import Connection
from kombu.exceptions import OperationalError

from contracts.events.kiosk import (BY_KIND, EXCHANGE, KIOSK_ID_PATTERN, PARTITION_HEADER, broker_user, partition_key,
                                    routing_key)

_KIND_OF_TYPE = {model.TYPE: kind for kind, model in BY_KIND.items()}

# The broker refused the message or the credentials: retrying cannot help until an
# operator acts (wrong password, missing permission or exchange, user_id mismatch).
_REFUSALS = (amqp.exceptions.AccessRefused, amqp.exceptions.NotFound, amqp.exceptions.PreconditionFailed,
             amqp.exceptions.NotAllowed)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS buffer (
    id TEXT PRIMARY KEY,          -- the event id: a replay reuses it
    sequence INTEGER NOT NULL,
    kind TEXT NOT NULL,
    envelope TEXT NOT NULL,       -- the CloudEvents envelope, exactly as it will be published
    deferred INTEGER NOT NULL DEFAULT 0   -- 1 once a publish of it was skipped or failed
);
CREATE INDEX IF NOT EXISTS buffer_order ON buffer (sequence);
INSERT OR IGNORE INTO meta (key, value) VALUES ('sequence', 0);
"""


class KioskRefused(RuntimeError):
    """The broker refused the kiosk (credentials, permissions, exchange, ``user_id``), or
    returned an event no queue took (published mandatory: the library's queue, or the kiosk
    exchange's alternate, is missing). The event stays buffered; it is published by a later
    ``flush()`` once this is fixed."""


class _Returned(Exception):
    """The broker returned a mandatory event: no queue took it."""


class KioskClient:
    """One kiosk's publisher. Not thread-safe: one client per kiosk process.

    ``offline=True`` forces buffering, as if the broker were away (tests, simulations, a
    kiosk told to stay quiet); ``flush()`` then replays nothing until it is False again.
    After the broker was found away, sending is not tried again for ``retry_interval``
    seconds (events are buffered meanwhile); an explicit ``flush()`` always tries.
    """

    def __init__(self, amqp_uri: str, kiosk_id: str, buffer_dir: str | os.PathLike, *,
                 connect_timeout: float = 5.0, confirm_timeout: float = 10.0, retry_interval: float = 5.0,
                 offline: bool = False):
        if not re.fullmatch(KIOSK_ID_PATTERN, kiosk_id):
            raise ValueError(f"a kiosk id is 1-32 letters, digits, '-' or '_': {kiosk_id!r}")
        self.amqp_uri = amqp_uri
        self.kiosk_id = kiosk_id
        self.user = broker_user(kiosk_id)
        self.source = f"/kiosks/{kiosk_id}"
        self.connect_timeout = connect_timeout
        self.confirm_timeout = confirm_timeout
        self.retry_interval = retry_interval
        self.offline = offline
        self.published = 0   # confirmed by the broker, by this object
        self.replayed = 0    # of those, the ones that had waited in the buffer
        self._retry_at = 0.0
        self._conn: Connection | None = None
        self._producer = None
        self._returned: list[str] = []
        directory = Path(buffer_dir)
        directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(directory / f"kiosk-{kiosk_id}.sqlite3", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Only keeping an event must be on disk before we go on (``_tx(durable=True)``, fsync).
        # The rest may wait for that next fsync, which also carries every earlier commit of
        # the write-ahead log: a sequence number taken but lost with the power was never
        # published, and a removal lost with the power only publishes that event once more.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        # whatever a previous run left behind was not confirmed: it is a replay now
        self._db.execute("UPDATE buffer SET deferred = 1")

    # ---- the five kinds -------------------------------------------------------------------

    def checkout(self, barcode: str, card_number: str, at: datetime | None = None) -> dict:
        return self.emit("checkout", {"barcode": barcode, "card_number": card_number}, at)

    def checkin(self, barcode: str, at: datetime | None = None) -> dict:
        return self.emit("checkin", {"barcode": barcode}, at)

    def heartbeat(self, interval_seconds: int = 60, firmware: str = "", at: datetime | None = None) -> dict:
        return self.emit("heartbeat", {"interval_seconds": interval_seconds, "firmware": firmware}, at)

    def fault(self, fault_code: str, description: str = "", severity: str = "major",
              at: datetime | None = None) -> dict:
        return self.emit("fault", {"fault_code": fault_code, "description": description, "severity": severity}, at)

    def inventory(self, barcodes: list[str], at: datetime | None = None) -> dict:
        return self.emit("inventory", {"barcodes": list(barcodes)}, at)

    # ---- building, buffering, publishing ----------------------------------------------------

    def emit(self, kind: str, data: dict, at: datetime | None = None) -> dict:
        """Build the event, keep it durably, publish what is buffered (when the broker is
        there); return the envelope."""
        envelope = self.build(kind, data, at)
        self.send(envelope)
        return envelope

    def build(self, kind: str, data: dict, at: datetime | None = None) -> dict:
        """A new envelope with its data validated and the next sequence number (stored
        before it is returned). Not yet buffered: ``send()`` it."""
        model = BY_KIND.get(kind)
        if model is None:
            raise ValueError(f"unknown kiosk event kind {kind!r}; one of {', '.join(BY_KIND)}")
        if kind == "heartbeat" and "buffered_events" not in data:
            data = {**data, "buffered_events": self.pending_count()}
        payload = model.model_validate(data).model_dump(mode="json")
        at = at or datetime.now(timezone.utc)
        if at.tzinfo is None:
            raise ValueError("an event time must carry its time zone")
        with self._tx():
            self._db.execute("UPDATE meta SET value = value + 1 WHERE key = 'sequence'")
            (sequence,) = self._db.execute("SELECT value FROM meta WHERE key = 'sequence'").fetchone()
        return {"specversion": "1.0", "id": uuid.uuid4().hex, "source": self.source, "type": model.TYPE,
                "time": at.isoformat(), "datacontenttype": "application/json", "sequence": sequence,
                "data": payload}

    def send(self, envelope: dict) -> bool:
        """Buffer ``envelope`` (once per id: sending it again is a harmless duplicate)
        and publish the buffer unless offline. True when the buffer is empty afterwards."""
        kind = _KIND_OF_TYPE.get(envelope.get("type"))
        if kind is None or envelope.get("source") != self.source:
            raise ValueError(f"not an event of kiosk {self.kiosk_id}: {envelope.get('type')} from "
                             f"{envelope.get('source')}")
        with self._tx(durable=True):
            self._db.execute("INSERT OR IGNORE INTO buffer (id, sequence, kind, envelope, deferred) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (envelope["id"], envelope["sequence"], kind, json.dumps(envelope), int(self.offline)))
        if self.offline or time.monotonic() < self._retry_at:
            self._defer()
            return False
        return self._publish_buffered() == 0

    def flush(self) -> int:
        """Publish every buffered event in sequence order; return how many were confirmed.
        Stops at the first one the broker did not take (it and those after it stay)."""
        if self.offline:
            return 0
        before = self.published
        self._publish_buffered()
        return self.published - before

    def pending(self) -> list[dict]:
        """The buffered envelopes, in the order they will be published."""
        return [json.loads(row[0]) for row in self._db.execute("SELECT envelope FROM buffer ORDER BY sequence, rowid")]

    def pending_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM buffer").fetchone()[0]

    def last_sequence(self) -> int:
        return self._db.execute("SELECT value FROM meta WHERE key = 'sequence'").fetchone()[0]

    def close(self) -> None:
        self._disconnect()
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- internals --------------------------------------------------------------------------

    @contextmanager
    def _tx(self, durable: bool = False):
        """A transaction; ``durable``: on disk (fsync) when it ends. One per event: three were
        the kiosk's largest cost (bench/RESULTS.md)."""
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        finally:
            if durable:
                self._db.execute("PRAGMA synchronous=NORMAL")

    def _defer(self) -> None:
        self._db.execute("UPDATE buffer SET deferred = 1 WHERE deferred = 0")

    def _publish_buffered(self) -> int:
        """Publish in order; return how many stay buffered."""
        rows = self._db.execute("SELECT id, kind, envelope, deferred FROM buffer ORDER BY sequence, rowid").fetchall()
        for i, (event_id, kind, body, deferred) in enumerate(rows):
            try:
                self._publish(kind, body)
                if self._returned:
                    raise _Returned(self._returned.pop())
            except (*_REFUSALS, _Returned) as exc:
                self._disconnect()
                self._defer()
                raise KioskRefused(f"the broker refused kiosk {self.kiosk_id}: {type(exc).__name__}: {exc}") from exc
            except (OSError, OperationalError, amqp.exceptions.AMQPError, amqp.exceptions.MessageNacked):
                # away, timed out, closed under us, or nacked: keep it and try later
                self._disconnect()
                self._defer()
                self._retry_at = time.monotonic() + self.retry_interval
                return len(rows) - i
            self._db.execute("DELETE FROM buffer WHERE id = ?", (event_id,))   # only after the confirm
            self.published += 1
            self.replayed += bool(deferred)
        self._retry_at = 0.0
        return 0

    def _publish(self, kind: str, body: str) -> None:
        if self._producer is None:
            conn = Connection(self.amqp_uri, connect_timeout=self.connect_timeout, heartbeat=0,
                              transport_options={"confirm_publish": True})
            try:
                conn.ensure_connection(max_retries=0)   # one attempt: the buffer is our retry
                # no exchange of its own: declares nothing; a returned event is noted, then failed
                self._producer = conn.Producer(on_return=self._on_return)
            except BaseException:
                conn.release()
                raise
            self._conn = conn
        key = partition_key(kind, json.loads(body).get("data") or {}, self.kiosk_id)
        self._producer.publish(body, exchange=EXCHANGE, routing_key=routing_key(self.kiosk_id, kind),
                               headers={PARTITION_HEADER: key},
                               content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                               user_id=self.user, retry=False, timeout=self.confirm_timeout,
                               confirm_timeout=self.confirm_timeout, mandatory=True)

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        # before the broker's confirm of the same message: publish() checks it right after
        self._returned.append(f"returned by the broker: {exc} (exchange {exchange}, routing key {routing_key})")

    def _disconnect(self) -> None:
        conn, self._conn, self._producer = self._conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # noqa: BLE001 - it is gone either way
                pass
