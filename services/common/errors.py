"""Errors a service answers with, each with the code the gateway shows to clients.

They cross RPC by name (nameko sends the exception's type name and message), so the
gateway maps ``exc_type`` to ``extensions.code`` without importing service code.
"""
from __future__ import annotations


class SuiteError(Exception):
    code = "INTERNAL"


class BadInput(SuiteError):
    code = "BAD_USER_INPUT"


class NotFound(SuiteError):
    code = "NOT_FOUND"


class Conflict(SuiteError):
    code = "CONFLICT"


class Forbidden(SuiteError):
    code = "FORBIDDEN"


class StoreUnavailable(SuiteError):
    code = "UNAVAILABLE"


class OutcomeUnknown(SuiteError):
    """A request came back from a service that died (or lost the broker) while handling it."""
    code = "UNAVAILABLE"


EXPECTED = (BadInput, NotFound, Conflict, Forbidden)
CODES = {cls.__name__: cls.code for cls in (BadInput, NotFound, Conflict, Forbidden, StoreUnavailable,
                                            OutcomeUnknown)}
