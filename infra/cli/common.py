"""What every ``suite`` command may use: the settings, the RPC proxy, the operator's name,
argument types, and the two ways a command ends that several share.

It imports no command module: the commands import it, the parser (``main.py``) imports them.
"""
from __future__ import annotations

import argparse
import sys

from services.common import config


def settings() -> config.Settings:
    return config.load()


def rpc(settings: config.Settings, timeout: float | None = None):
    """RPC to the running suite; ``timeout``: for a question that must not keep a person waiting
    (the default, 30 s at least, is for imports and seeding)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    return ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=timeout or max(settings.rpc_timeout, 30))


def operator() -> str:
    import getpass
    return getpass.getuser()


def subcommands(parser: argparse.ArgumentParser, dest: str):
    """The COMMAND that ``parser`` requires next (``suite sip2 account add``: one at each level)."""
    return parser.add_subparsers(dest=dest, required=True, metavar="COMMAND")


def positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def share(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a share between 0 and 1")
    return value


def refused(reason, status: int = 1) -> int:
    """Say why on stderr; the command's exit status."""
    print(f"refused: {reason}", file=sys.stderr)
    return status


def shown_once(what: str, secret: str, kept: str = "stored only hashed") -> int:
    """A secret made here, of which the service keeps only a hash (or, for an HMAC key, the
    key it checks signatures with: ``kept`` says which): shown once, alone on the last line
    (scripts take it with ``tail -n 1``)."""
    print(f"{what} (shown once, {kept}):")
    print(secret)
    return 0
