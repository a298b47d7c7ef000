"""``suite staff add``: a console account for a committee clerk or a librarian of the library network."""
from __future__ import annotations

from infra.cli import common


def cmd_staff(args) -> int:
    import secrets

    from nameko.exceptions import RemoteError

    from services.community import staff

    try:
        staff.check_login(args.login)
    except Exception as exc:  # noqa: BLE001 - BadInput: say why, before any RPC
        return common.refused(exc, 2)
    password = secrets.token_urlsafe(12)  # 16 characters; hashed here, so it crosses no broker
    settings = common.settings()
    with common.rpc(settings) as rpc:
        try:
            who = rpc.community.staff_add(args.login, args.name, args.committee, staff.hash_password(password),
                                          "librarian" if args.librarian else "staff")
        except RemoteError as exc:
            return common.refused(exc.value)
    where = "the library network" if who["role"] == "librarian" else f"committee {who['committee']}"
    return common.shown_once(f"staff account {who['login']} ({who['name']}, {who['role']}, {where}) added; "
                             f"its password", password)


def add_staff(sub) -> None:
    staff = common.subcommands(sub.add_parser("staff", help="staff accounts: committees' clerks, "
                                                            "librarians (the console)"), "staff_command")
    staff_add = staff.add_parser("add", help="add a clerk; print a generated password alone on the last line")
    staff_add.add_argument("login", help="2-32 lower-case letters, digits, '.', '_' or '-'")
    whose = staff_add.add_mutually_exclusive_group(required=True)
    whose.add_argument("--committee", help="a clerk: code of the committee whose desk they work at")
    whose.add_argument("--librarian", action="store_true",
                       help="a librarian of the whole library network (conflicts, kiosks' health), no committee")
    staff_add.add_argument("--name", required=True, help="the clerk's name as shown in the audit trail")
    staff_add.set_defaults(func=cmd_staff)
