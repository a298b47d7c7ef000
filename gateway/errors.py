"""GraphQL errors as clients see them: a message and ``extensions.code``, never a trace."""
from __future__ import annotations

import logging
import re

from graphql import GraphQLError
from nameko.exceptions import RemoteError

from gateway.auth import Unauthenticated
from gateway.calls import TooManyCalls
from gateway.fanout import Unavailable
from services.common.errors import CODES
from services.common.logs import mask_personal

log = logging.getLogger(__name__)


class Forbidden(Exception):
    pass


class BadRequest(Exception):
    pass


def code_of(exc: BaseException | None) -> str:
    if isinstance(exc, Unauthenticated):
        return "UNAUTHENTICATED"
    if isinstance(exc, Forbidden):
        return "FORBIDDEN"
    if isinstance(exc, BadRequest):
        return "BAD_USER_INPUT"
    if isinstance(exc, Unavailable):
        return "UNAVAILABLE"
    if isinstance(exc, TooManyCalls):
        return "QUERY_TOO_COMPLEX"
    if isinstance(exc, RemoteError):
        return CODES.get(exc.exc_type, "INTERNAL_SERVER_ERROR")
    return "INTERNAL_SERVER_ERROR"


_VARIABLE_VALUE = re.compile(r"^(Variable '\$\w+') got invalid value .*?(?: at '[\w.\[\]]+')?; ([^:]*)(?::.*)?$", re.S)


def without_values(message: str) -> str:
    """graphql-core quotes a variable's whole value when it does not fit its type (an address,
    a phone number...): keep which variable and why, not what was in it."""
    return _VARIABLE_VALUE.sub(r"\1 got an invalid value: \2", message)


def format_error(error: GraphQLError) -> dict:
    original = error.original_error
    if original is None and (error.extensions or {}).get("code"):  # our own rules say which
        code, message = error.extensions["code"], error.message
    elif original is None:  # syntax, validation, variables: the client's request is at fault
        code = "BAD_USER_INPUT" if error.message.startswith("Variable ") else "GRAPHQL_VALIDATION_FAILED"
        message = error.message
    elif isinstance(original, GraphQLError):  # a value that does not fit its type
        code, message = "BAD_USER_INPUT", error.message
    else:
        code = code_of(original)
        if isinstance(original, RemoteError):
            message = original.value if code != "INTERNAL_SERVER_ERROR" else "internal error"
        elif code == "INTERNAL_SERVER_ERROR":
            log.error("unexpected error in a resolver", exc_info=original)
            message = "internal error"
        else:
            message = str(original)
        if code == "INTERNAL_SERVER_ERROR" and isinstance(original, RemoteError):
            log.error("service error: %s: %s", original.exc_type, original.value)
    out = {"message": mask_personal(without_values(message)), "extensions": {"code": code}}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    return out
