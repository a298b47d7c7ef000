"""nameko's ``@rpc``, answering with the suite's errors.

A store that cannot be reached becomes ``StoreUnavailable`` (a clear message instead of
a driver traceback), a payload that fails its contract becomes ``BadInput``.

A request is run at most once. nameko acknowledges it after the answer, so a service killed
(or cut from the broker) between its write and that acknowledgement gets the request back
after a restart and would apply it twice (a kill -9 under load stored a case twice). A
redelivered request is therefore answered ``OutcomeUnknown`` (UNAVAILABLE) instead of run
again: the caller asks again with its own idempotency key (a terminal's transaction id, a
resident's ID number) or looks.

A request published twice is run once. A caller's publish that loses its connection
before the broker confirms is published again by kombu with the same correlation id (a
broker hiccup under load stored a case twice): a request whose correlation id this process
took lately is acknowledged and dropped, and the caller takes the first answer. A second
process of the same service may still take the copy: what is not idempotent by itself keeps
the request's key (``RequestKey``) with what it creates (a case's id is made from it).
"""
from __future__ import annotations

import logging
import sys
from collections import OrderedDict

import pymongo
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from pydantic import ValidationError

from services.common.broker_loss import survive_broker_loss
from services.common.errors import CODES, EXPECTED, BadInput, OutcomeUnknown, StoreUnavailable, SuiteError
from services.common.logs import quiet_callers_mistakes


# Driver errors that mean the store did not answer (in time): StoreUnavailable, UNAVAILABLE.
STORE_DOWN = (pymongo.errors.ConnectionFailure, pymongo.errors.ServerSelectionTimeoutError,
              pymongo.errors.ExecutionTimeout)


def translate(exc: BaseException) -> BaseException:
    """The error a caller gets for ``exc``."""
    if isinstance(exc, STORE_DOWN):
        return StoreUnavailable(f"the document store is unavailable ({type(exc).__name__})")
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(input)'}: {e['msg']}"
                             for e in exc.errors()[:5])
        return BadInput(problems)
    if isinstance(exc, SuiteError) and type(exc).__name__ not in CODES:
        # Errors cross RPC by class name: send the kind the gateway knows (BadInput for
        # OutsideJurisdiction, Conflict for IllegalTransition), with the same message.
        base = next(cls for cls in type(exc).__mro__ if cls.__name__ in CODES)
        return base(str(exc))
    return exc


log = logging.getLogger(__name__)
quiet_callers_mistakes()


class RecentRequests:
    """Correlation ids of the requests this process took lately (bounded, oldest forgotten)."""

    def __init__(self, keep: int = 10_000):
        self.keep = keep
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, correlation_id: str | None) -> bool:
        if not correlation_id:
            return True
        if correlation_id in self._ids:
            return False
        self._ids[correlation_id] = None
        if len(self._ids) > self.keep:
            self._ids.popitem(last=False)
        return True


taken = RecentRequests()
REQUEST_KEY = "request_key"


class RequestKey(DependencyProvider):
    """``request_key = RequestKey()``: the id of the RPC request the worker runs (its
    correlation id: the same on a copy that kombu published again), or None outside an RPC.
    A non-idempotent RPC stores it with what it creates, so that a copy taken by another
    process finds the first one's work instead of doing it again."""

    def get_dependency(self, worker_ctx):
        return worker_ctx.data.pop(REQUEST_KEY, None)   # (popped: not sent on to the calls it makes)


class SuiteRpc(Rpc):
    def __init__(self, **kwargs):
        # a payload that fails its contract is the caller's mistake (answered BadInput), as are the
        # suite's expected errors: logged as such, not as the service failing
        kwargs.setdefault("expected_exceptions", (*EXPECTED, ValidationError))
        super().__init__(**kwargs)

    def handle_message(self, body, message):
        if message.delivery_info.get("redelivered"):
            try:
                raise OutcomeUnknown("the service handling this request stopped before it answered; it may "
                                     "or may not have been applied: check, or ask again with the same key")
            except OutcomeUnknown:
                with survive_broker_loss("answer a redelivered request"):
                    self.rpc_consumer.handle_result(message, None, sys.exc_info())   # answers and acknowledges
            return
        if not taken.first_time(message.properties.get("correlation_id")):
            log.warning("dropped a request published twice", extra={"method": self.method_name})
            with survive_broker_loss("drop a request published twice"):
                self.rpc_consumer.queue_consumer.ack_message(message)
            return
        super().handle_message(body, message)

    def unpack_message_headers(self, message):
        # the request's own id, whatever a caller's headers say: the same on a copy of it
        return {**super().unpack_message_headers(message), REQUEST_KEY: message.properties.get("correlation_id")}

    def handle_result(self, message, worker_ctx, result, exc_info):
        if exc_info is not None:
            exc = translate(exc_info[1])
            if exc is not exc_info[1]:
                exc_info = (type(exc), exc, exc_info[2])
        with survive_broker_loss(f"answer {worker_ctx.entrypoint.method_name}"):
            return super().handle_result(message, worker_ctx, result, exc_info)
        return result, exc_info


rpc = SuiteRpc.decorator
