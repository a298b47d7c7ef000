"""A worker whose broker connection went away while it answered or acknowledged.

nameko answers an RPC call and acknowledges a message in the worker's own green thread; when
the broker has just gone (restarted, or the connection cut) that raises, the worker thread
dies with the error and nameko kills the whole container: the service process exits. The
message itself is safe: unacknowledged, it comes back once the consumer has reconnected (an
RPC request as redelivered, answered ``OutcomeUnknown``; an event to the inbox, which absorbs
it if it was applied). So the worker only says so and ends normally.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

import amqp.exceptions
import kombu.exceptions

log = logging.getLogger(__name__)

BROKER_GONE = (OSError, kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError,
               amqp.exceptions.RecoverableConnectionError)


@contextmanager
def survive_broker_loss(what: str):
    try:
        yield
    except BROKER_GONE as exc:
        log.warning("could not %s: the broker connection is gone (%s: %s); the message comes back "
                    "when the consumer has reconnected", what, type(exc).__name__, exc)
