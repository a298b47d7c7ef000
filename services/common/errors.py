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


class RateLimited(SuiteError):
    """Too many tries in a while (sign-in codes): the message says when to try again."""
    code = "RATE_LIMITED"


class StoreUnavailable(SuiteError):
    code = "UNAVAILABLE"


class OutcomeUnknown(SuiteError):
    """A request came back from a service that died (or lost the broker) while handling it."""
    code = "UNAVAILABLE"


EXPECTED = (BadInput, NotFound, Conflict, Forbidden, RateLimited)
CODES = {cls.__name__: cls.code for cls in (BadInput, NotFound, Conflict, Forbidden, RateLimited, StoreUnavailable,
                                            OutcomeUnknown)}
