"""Open311 clients (city hotlines, civic apps) for ``suite open311 client add NAME``.

The api key is made here and only its sha256 goes to the community service, so the key
crosses no broker and is stored nowhere: it is shown once, to the operator.
"""
from __future__ import annotations

from nameko.exceptions import RemoteError

from services.common.errors import BadInput
from services.community import open311


class ClientRefused(Exception):
    """The client could not be added (bad name, or the name is taken)."""


def add_client(rpc, name: str) -> str:
    """Register client ``name`` through the community RPC; return its new api key."""
    try:
        key = open311.new_api_key(name)
    except BadInput as exc:
        raise ClientRefused(str(exc)) from None
    try:
        rpc.community.open311_add_client(name, open311.hash_key(key))
    except RemoteError as exc:
        raise ClientRefused(exc.value) from None
    return key
