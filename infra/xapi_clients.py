"""xAPI clients (content players, LMSs) for ``suite xapi client add NAME``.

The credentials ``<name>:<secret>`` are made here and only their sha256 goes to the
elearning service, so the secret crosses no broker and is stored nowhere: it is shown once,
to the operator, who gives it to the content player as its HTTP Basic key and secret.
"""
from __future__ import annotations

from nameko.exceptions import RemoteError

from services.elearning.xapi.clients import hash_credentials, new_credentials


class ClientRefused(Exception):
    """The client could not be added (bad name, or the name is taken)."""


def add_client(rpc, name: str, read_only: bool = False) -> str:
    """Register client ``name`` through the elearning RPC; return its ``key:secret``."""
    try:
        credentials = new_credentials(name)
    except ValueError as exc:
        raise ClientRefused(str(exc)) from None
    try:
        rpc.elearning.xapi_add_client(name, hash_credentials(credentials), read_only)
    except RemoteError as exc:
        raise ClientRefused(exc.value) from None
    return credentials
