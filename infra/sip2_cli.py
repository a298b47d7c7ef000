"""``suite sip2 ...`` commands: accounts for SIP2 self-check machines.

The password is made here and only its salted hash goes to the library service, so it
crosses no broker and is stored nowhere: it is shown once, alone on the last line.
"""
from __future__ import annotations

import sys
import time

DEMO_LOGIN, DEMO_LOCATION, DEMO_PASSWORD = "sc-main", "MAIN", "sip2-demo"  # local demo only
DEMO_PIN = "2468"  # the demo resident's card PIN, local demo only


def cmd_account_add(args) -> int:
    from nameko.exceptions import RemoteError

    from infra.cli import _rpc, _settings
    from services.common.errors import BadInput
    from services.library.sip2 import accounts

    try:
        accounts.check_login(args.login)
    except BadInput as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    password = accounts.new_password()
    with _rpc(_settings()) as rpc:
        try:
            rpc.library.sip2_add_account(args.login, args.location, accounts.hash_password(password), args.charset,
                                         "replace" if args.replace else "refuse")
        except RemoteError as exc:
            print(f"refused: {exc.value}", file=sys.stderr)
            return 1
    print(f"SIP2 account {args.login} at {args.location} ({args.charset}); its password "
          "(shown once, stored only hashed):")
    print(password)
    return 0


def seed_demo_account(rpc) -> dict:
    """The demo machine account (kept as it is when it exists): for ``suite seed``."""
    from services.library.sip2 import accounts

    return rpc.library.sip2_add_account(DEMO_LOGIN, DEMO_LOCATION, accounts.hash_password(DEMO_PASSWORD),
                                        "cp850", "keep")


def seed_demo_pin(rpc, resident_id: str, wait: float = 10.0) -> str | None:
    """The demo PIN on the demo resident's card unless a PIN is set already (a PIN the
    resident chose stays): for ``suite seed``. The card is made from the resident's
    registration event, so it may take a moment; its number (None: not made in time)."""
    from nameko.exceptions import RemoteError

    deadline = time.monotonic() + wait
    while True:
        try:
            patron = rpc.library.get_patron(resident_id)
            break
        except RemoteError as exc:
            if exc.exc_type != "NotFound" or time.monotonic() > deadline:
                return None
            time.sleep(0.2)
    if not patron.get("has_pin"):
        rpc.library.set_patron_pin(resident_id, DEMO_PIN, "seed")
    return patron["card_number"]


def add_commands(sub) -> None:
    """Add the ``sip2`` subcommand to the ``suite`` parser."""
    from services.library.sip2.accounts import CHARSETS, DEFAULT_CHARSET

    sip2 = sub.add_parser("sip2", help="SIP2 self-check machines (3M SIP2 over TCP, port SIP2_PORT)")
    sip2_sub = sip2.add_subparsers(dest="sip2_command", required=True, metavar="COMMAND")
    account = sip2_sub.add_parser("account", help="manage SIP2 machine accounts").add_subparsers(
        dest="sip2_account_command", required=True, metavar="COMMAND")
    add = account.add_parser("add", help="add a machine account; print its password alone on the last line")
    add.add_argument("login", help="1-32 letters, digits, '.', '-' or '_' (the machine's CN)")
    add.add_argument("--location", required=True, help="library location code it lends at (e.g. MAIN)")
    add.add_argument("--charset", choices=CHARSETS, default=DEFAULT_CHARSET,
                     help=f"character set the machine speaks (default {DEFAULT_CHARSET}; gb18030 or utf-8 "
                          "for Chinese titles)")
    add.add_argument("--replace", action="store_true", help="give an existing account a new password")
    add.set_defaults(func=cmd_account_add)
