"""nameko's ``@rpc``, answering with the suite's errors.

A store that cannot be reached becomes ``StoreUnavailable`` (a clear message instead of
a driver traceback), a payload that fails its contract becomes ``BadInput``.
"""
from __future__ import annotations

import pymongo
from nameko.rpc import Rpc
from pydantic import ValidationError

from services.common.errors import CODES, EXPECTED, BadInput, StoreUnavailable, SuiteError


def _translate(exc: BaseException) -> BaseException:
    if isinstance(exc, (pymongo.errors.ConnectionFailure, pymongo.errors.ServerSelectionTimeoutError,
                        pymongo.errors.ExecutionTimeout)):
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


class SuiteRpc(Rpc):
    def __init__(self, **kwargs):
        kwargs.setdefault("expected_exceptions", EXPECTED)
        super().__init__(**kwargs)

    def handle_result(self, message, worker_ctx, result, exc_info):
        if exc_info is not None:
            exc = _translate(exc_info[1])
            if exc is not exc_info[1]:
                exc_info = (type(exc), exc, exc_info[2])
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = SuiteRpc.decorator
