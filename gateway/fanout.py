"""Calling several services at once, each with a bounded wait.

A service that does not answer in time (or is not running at all) becomes an
``Unavailable`` result for its part only; the rest of the answer still comes.
"""
from __future__ import annotations

import time

import eventlet
from nameko.exceptions import RemoteError, UnknownService

from services.common.broker_loss import BROKER_GONE


class Unavailable(Exception):
    def __init__(self, service: str, why: str):
        super().__init__(f"{service} is unavailable: {why}")
        self.service = service


def call(proxy, service: str, method: str, *args, timeout: float, **kwargs):
    """Start one RPC on ``proxy`` (a nameko proxy of ``service``); returns a function that
    waits (at most ``timeout``) for its result."""
    deadline = time.monotonic() + timeout   # from the start: waits on several calls do not add up
    try:
        with eventlet.Timeout(timeout):   # kombu retries a lost broker for longer than a caller waits
            reply = getattr(proxy, method).call_async(*args, **kwargs)
    except UnknownService:
        return _raiser(Unavailable(service, "not running"))
    except (eventlet.Timeout, *BROKER_GONE):
        return _raiser(Unavailable(service, "the message broker cannot be reached"))

    def result():
        try:
            with eventlet.Timeout(max(0.0, deadline - time.monotonic())):
                return reply.result()
        except eventlet.Timeout:
            raise Unavailable(service, f"no answer within {timeout:g}s") from None
        except BROKER_GONE:
            raise Unavailable(service, "the message broker connection was lost") from None
        except RemoteError as exc:
            if exc.exc_type == "StoreUnavailable":
                raise Unavailable(service, exc.value) from None
            raise
    return result


def _raiser(exc):
    def result():
        raise exc
    return result
