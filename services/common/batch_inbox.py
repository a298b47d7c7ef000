"""The inbox for a batch at a time: ``@batch_inbox_handler(binding, accept=...)`` gives the
service method a list of validated events (those waiting, up to ``batch_size``, after at most
``linger`` seconds) and expects back what became of each, in order (an outcome, or the
exception its application raised).

nameko's consumer hands one message at a time to a worker, with a prefetch of the container's
``max_workers``. Here ``BatchQueueConsumer`` is a kombu consumer of its own (prefetch: the
batch size) in one green thread of the container: it gathers a batch, hands the good events
to one worker, waits for it, then settles each message (ack, retry, dead letter; the inbox's
rules: ``InboxEventHandler``). One batch at a time, so the events of a queue are applied in
the order they came; every message of a batch is acknowledged only after the batch is
written, so a process that dies in between gets the batch again, and the inbox absorbs it.

A message refused at the wire (too large, compressed, not the contract, the wrong sender)
is dead-lettered at once with its reason, and the rest of its batch goes on.

A handler may take several queues (partitions, each with a single active consumer), each on
a channel of its own. With single active consumers the first process to start takes them all;
every ``REBALANCE_EVERY`` seconds a process that delivered from more than its share (the
queues over the processes consuming them) since the last look closes and reopens the
channels of the rest, between batches: it goes to the back of their line and the next
process takes them, their unacknowledged messages back in their place.
"""
from __future__ import annotations

import logging
import time
from functools import partial

import eventlet
from eventlet.event import Event
from kombu import Connection, Consumer
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import ProviderCollector, SharedExtension

from services.common.broker_loss import BROKER_GONE, survive_broker_loss
from services.common.config import option
from services.common.inbox import InboxEventHandler, uninflated, validate_event

log = logging.getLogger(__name__)
BATCH_SIZE = 200      # events handed to one worker at most
BATCH_LINGER = 0.02   # seconds a batch waits for more once its first event has come
RECONNECT_AFTER = 1.0
REBALANCE_EVERY = 1.0   # seconds between looks at how many queues this process holds


class BatchQueueConsumer(SharedExtension, ProviderCollector):
    """A kombu consumer of the queues of every batch handler of the container."""

    def __init__(self):
        super().__init__()
        self._stopping = False
        self._gt = None

    def start(self):
        self._gt = self.container.spawn_managed_thread(self._run)

    def stop(self):
        self._stopping = True
        if self._gt is not None:
            self._gt.wait()
        super().stop()

    def kill(self):
        self._stopping = True
        if self._gt is not None:
            self._gt.kill()

    def unregister_provider(self, provider):
        super().unregister_provider(provider)
        if not self._providers:   # its entrypoints are stopping: take no more
            self._stopping = True

    def _on_decode_error(self, provider, message, exc):
        reason = provider.refusal(message) or f"undecodable message: {type(exc).__name__}: {exc}"
        provider.dead_letter(message, reason, attempts=1)

    def ack_message(self, message) -> None:
        message.ack()

    def _run(self):
        while not self._stopping:
            try:
                self._consume()
            except BROKER_GONE as exc:
                log.warning("batch consumer lost the broker (%s: %s); reconnecting", type(exc).__name__, exc)
                eventlet.sleep(RECONNECT_AFTER)

    def _consume(self):
        with Connection(self.container.config["AMQP_URI"]) as conn:
            control = conn.channel()
            providers = list(self._providers)
            gathered: dict = {p: [] for p in providers}   # provider -> [(body, message)] in arrival order
            parts = {p: [] for p in providers}
            for provider in providers:
                provider.declare(control)
                for queue in provider.queues():
                    parts[provider].append(_Queue(conn, provider, queue, gathered[provider], self._on_decode_error))
            first_at, balanced_at = None, time.monotonic()
            while not self._stopping:
                pending = any(gathered.values())
                if pending and first_at is None:
                    first_at = time.monotonic()
                linger = min(p.linger for p in gathered) if gathered else 0.2
                full = any(len(g) >= p.batch_size for p, g in gathered.items())
                if full or (pending and time.monotonic() - first_at >= linger):
                    for provider, waiting in gathered.items():
                        while waiting:
                            batch = waiting[:provider.batch_size]
                            del waiting[:provider.batch_size]
                            provider.handle_batch(batch)
                    first_at = None
                    if time.monotonic() - balanced_at >= REBALANCE_EVERY:   # nothing gathered now: safe to hand over
                        balanced_at = time.monotonic()
                        for provider, queues in parts.items():
                            _share(control, queues)
                    continue
                if not pending and time.monotonic() - balanced_at >= REBALANCE_EVERY:
                    balanced_at = time.monotonic()
                    for provider, queues in parts.items():
                        _share(control, queues)
                timeout = 0.2 if first_at is None else max(0.001, linger - (time.monotonic() - first_at))
                try:
                    conn.drain_events(timeout=timeout)
                except TimeoutError:
                    pass
            for queues in parts.values():
                for q in queues:
                    q.close()


class _Queue:
    """One queue, consumed on a channel of its own: closing it hands the queue to the next
    consumer in line (its unacknowledged messages go back, in their place)."""

    def __init__(self, conn, provider, queue, gathered: list, on_decode_error):
        self.conn, self.provider, self.queue, self.gathered = conn, provider, queue, gathered
        self.on_decode_error = on_decode_error
        self.delivered = 0
        self._open()

    def _open(self):
        self.channel = self.conn.channel()
        self.channel.message_to_python = uninflated(self.channel.message_to_python)
        consumer = Consumer(self.channel, [self.queue], accept=["json"], prefetch_count=self.provider.batch_size,
                            callbacks=[self._on_message])
        consumer.on_decode_error = partial(self.on_decode_error, self.provider)
        consumer.consume()

    def _on_message(self, body, message):
        message.from_queue = self.queue.name
        self.delivered += 1
        self.gathered.append((body, message))

    def hand_over(self):
        """Close its channel and consume again; the channel closed."""
        log.info("handing a queue over to another process", extra={"queue": self.queue.name})
        old = self.channel
        self.close()
        self._open()   # back in line: the next consumer waiting is the active one now
        return old

    def close(self):
        try:
            self.channel.close()
        except BROKER_GONE:
            pass


def _share(control, queues: list) -> None:
    """With single active consumers, the first process to consume takes every queue; one that
    delivered from more than its share (the queues over the processes consuming them) since
    the last look hands the rest over."""
    busy = [q for q in queues if q.delivered]
    for q in queues:
        q.delivered = 0
    if len(queues) < 2 or len(busy) < 2:
        return
    processes = control.queue_declare(queue=queues[0].queue.name, passive=True).consumer_count
    share = max(1, -(-len(queues) // max(1, processes)))
    for q in busy[share:]:
        old = q.hand_over()
        # what came on the old channel meanwhile (while the broker answered) goes back with it:
        # the next consumer takes it, so it must not be applied here too
        q.gathered[:] = [(body, m) for body, m in q.gathered if m.channel is not old]


class BatchInboxEventHandler(InboxEventHandler):
    """``@batch_inbox_handler(binding, accept=(type, ...))``: the method takes a list of events."""

    queue_consumer = BatchQueueConsumer()

    def setup(self):
        super().setup()
        config = self.container.config
        self.batch_size = max(1, int(option(config, "EVENT_BATCH_SIZE", BATCH_SIZE)))
        self.linger = max(0.0, float(option(config, "EVENT_BATCH_LINGER", BATCH_LINGER)))

    def queues(self) -> list:
        """The queues this handler takes (one here; partitions in subclasses)."""
        return [self.queue]

    def declare(self, channel) -> None:
        """What must exist before its queues are consumed (they declare themselves)."""

    def queue_of(self, message) -> str:
        return getattr(message, "from_queue", None) or self.queue.name

    def handle_batch(self, items: list) -> None:
        with survive_broker_loss("take a batch of events"):
            self._take_batch(items)

    def _take_batch(self, items: list) -> None:
        taken = []
        for body, message in items:
            refused = self.refusal(message)
            if refused:
                self.dead_letter(message, refused, attempts=1)
                continue
            try:
                event = validate_event(body, self.accept)
                self.check_sender(message, event)
            except ValueError as exc:
                self.dead_letter(message, str(exc), attempts=1)
                continue
            self.accepted(message, event)
            taken.append((event, message))
        if not taken:
            return
        done = Event()

        def handle_result(worker_ctx, result=None, exc_info=None):
            done.send((result, exc_info))
            return result, exc_info
        try:
            self.container.spawn_worker(self, ([event for event, _ in taken],), {}, context_data={},
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            for _, message in taken:
                message.requeue()
            return
        result, exc_info = done.wait()
        for k, (_, message) in enumerate(taken):
            outcome = None if exc_info is not None or result is None or k >= len(result) else result[k]
            if exc_info is not None:
                self._settle(message, None, exc_info, "applied")
            elif isinstance(outcome, BaseException):
                self._settle(message, None, (type(outcome), outcome, outcome.__traceback__), "applied")
            else:
                self._settle(message, result, None, outcome or "applied")


batch_inbox_handler = BatchInboxEventHandler.decorator
