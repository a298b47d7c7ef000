"""``suite open311 client add`` and ``suite xapi client add``: credentials for Open311 clients
and xAPI content players (``infra/open311_clients.py``, ``infra/xapi_clients.py`` make them)."""
from __future__ import annotations

from infra.cli import common


def cmd_open311(args) -> int:
    from infra import open311_clients

    return _add_client(open311_clients, args.name, f"Open311 client {args.name} added; its api key")


def cmd_xapi(args) -> int:
    from infra import xapi_clients

    return _add_client(xapi_clients, args.name, f"xAPI client {args.name} added"
                       f"{' (read only)' if args.read_only else ''}; its HTTP Basic key:secret for /xapi/",
                       read_only=args.read_only)


def _add_client(clients, name: str, what: str, **options) -> int:
    """Add client ``name`` through ``clients`` (open311_clients or xapi_clients); print its secret last."""
    settings = common.settings()
    with common.rpc(settings) as rpc:
        try:
            secret = clients.add_client(rpc, name, **options)
        except clients.ClientRefused as exc:
            return common.refused(exc)
    return common.shown_once(what, secret)


def add_open311(sub) -> None:
    o311_add = _client_add_parser(sub, "open311", "Open311 GeoReport v2 clients (city hotlines, civic apps)",
                                  "manage Open311 clients", "add a client; print its api key alone on the last line",
                                  dests=("open311_command", "client_command"))
    o311_add.add_argument("name", help="client name: 1-32 letters, digits, '-' or '_'")
    o311_add.set_defaults(func=cmd_open311)


def add_xapi(sub) -> None:
    xapi_add = _client_add_parser(sub, "xapi", "xAPI Learning Record Store clients (content players, LMSs)",
                                  "manage xAPI clients", "add a client; print its key:secret alone on the last line",
                                  dests=("xapi_command", "xapi_client_command"))
    xapi_add.add_argument("name", help="client name (the HTTP Basic key): 1-32 letters, digits, '-' or '_'")
    xapi_add.add_argument("--read-only", action="store_true", help="it may read statements and state, not write")
    xapi_add.set_defaults(func=cmd_xapi)


def _client_add_parser(sub, command: str, command_help: str, client_help: str, add_help: str,
                       dests: tuple[str, str]):
    """The parser of ``suite COMMAND client add``."""
    group = common.subcommands(sub.add_parser(command, help=command_help), dests[0])
    client = common.subcommands(group.add_parser("client", help=client_help), dests[1])
    return client.add_parser("add", help=add_help)
