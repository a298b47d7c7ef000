"""``suite sip2 account add``: accounts for SIP2 self-check machines.

The password is made here and only its salted hash goes to the library service, so it
crosses no broker and is stored nowhere: it is shown once, alone on the last line.
"""
from __future__ import annotations

from infra.cli import common


def cmd_account_add(args) -> int:
    from nameko.exceptions import RemoteError

    from services.common.errors import BadInput
    from services.library.sip2 import accounts

    try:
        accounts.check_login(args.login)
    except BadInput as exc:
        return common.refused(exc, 2)
    password = accounts.new_password()
    with common.rpc(common.settings()) as rpc:
        try:
            rpc.library.sip2_add_account(args.login, args.location, accounts.hash_password(password), args.charset,
                                         "replace" if args.replace else "refuse")
        except RemoteError as exc:
            return common.refused(exc.value)
    return common.shown_once(f"SIP2 account {args.login} at {args.location} ({args.charset}); its password",
                             password)


def add_sip2(sub) -> None:
    from services.library.sip2.accounts import CHARSETS, DEFAULT_CHARSET

    sip2 = common.subcommands(sub.add_parser("sip2", help="SIP2 self-check machines (3M SIP2 over TCP, port "
                                                          "SIP2_PORT)"), "sip2_command")
    account = common.subcommands(sip2.add_parser("account", help="manage SIP2 machine accounts"),
                                 "sip2_account_command")
    add = account.add_parser("add", help="add a machine account; print its password alone on the last line")
    add.add_argument("login", help="1-32 letters, digits, '.', '-' or '_' (the machine's CN)")
    add.add_argument("--location", required=True, help="library location code it lends at (e.g. MAIN)")
    add.add_argument("--charset", choices=CHARSETS, default=DEFAULT_CHARSET,
                     help=f"character set the machine speaks (default {DEFAULT_CHARSET}; gb18030 for machines "
                          "that speak it; cp850 only for machines that need it: it shows Chinese as '?')")
    add.add_argument("--replace", action="store_true", help="give an existing account a new password")
    add.set_defaults(func=cmd_account_add)
