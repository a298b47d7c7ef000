"""``suite terminal add|revoke``: school terminals' credentials (``infra/school_terminals.py``)."""
from __future__ import annotations

from infra.cli import common


def cmd_add(args) -> int:
    from infra import school_terminals

    with common.rpc(common.settings()) as rpc:
        try:
            key = school_terminals.add_terminal(rpc, args.terminal_id, args.school, args.kind, args.replace)
        except school_terminals.TerminalRefused as exc:
            return common.refused(exc)
    print(f"terminal {args.terminal_id} ({args.kind}) of school {args.school}: it signs each charge with this key "
          "(HMAC-SHA256, see services/elearning/terminals.py) and posts it to /wallet/v1/charges on the elearning port")
    return common.shown_once(f"the key of terminal {args.terminal_id}", key,
                             kept="kept by the elearning service to check signatures")


def cmd_revoke(args) -> int:
    from infra import school_terminals

    with common.rpc(common.settings()) as rpc:
        try:
            revoked = school_terminals.revoke_terminal(rpc, args.terminal_id)
        except school_terminals.TerminalRefused as exc:
            return common.refused(exc)
    if not revoked:
        return common.refused(f"terminal {args.terminal_id} is unknown or already revoked")
    print(f"terminal {args.terminal_id} revoked: its key is forgotten, it charges nothing more")
    return 0


def add_terminal(sub) -> None:
    terminal = common.subcommands(sub.add_parser("terminal", help="school terminals (canteen, shop) that charge "
                                                                  "pupils' wallets"), "terminal_command")
    add = terminal.add_parser("add", help="register a terminal; print its signing key alone on the last line")
    add.add_argument("terminal_id", metavar="TERMINAL_ID", help="1-64 letters, digits, '_', '.', ':' or '-'")
    add.add_argument("--school", required=True, help="the school's roster sourcedId")
    add.add_argument("--kind", choices=("canteen", "shop", "other"), default="canteen")
    add.add_argument("--replace", action="store_true", help="give a registered (or revoked) terminal a new key")
    add.set_defaults(func=cmd_add)
    revoke = terminal.add_parser("revoke", help="revoke a terminal's key (lost, stolen, taken out of service)")
    revoke.add_argument("terminal_id", metavar="TERMINAL_ID")
    revoke.set_defaults(func=cmd_revoke)
