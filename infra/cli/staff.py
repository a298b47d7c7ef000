"""``suite staff add``: a console account for a committee clerk, a librarian of the library network,
a clerk of a sub-district's centre or a supervisor (of a sub-district or the district)."""
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
            role, subdistrict = _role_of(args)
            who = rpc.community.staff_add(args.login, args.name, args.committee, staff.hash_password(password),
                                          role, subdistrict)
        except RemoteError as exc:
            return common.refused(exc.value)
    where = {"librarian": "the library network", "staff": f"committee {who['committee']}",
             "centre": f"the centre of sub-district {who['subdistrict']}",
             "supervisor": f"sub-district {who['subdistrict']}" if who["subdistrict"] else "the whole district"
             }[who["role"]]
    return common.shown_once(f"staff account {who['login']} ({who['name']}, {who['role']}, {where}) added; "
                             f"its password", password)


def _role_of(args) -> tuple[str, str | None]:
    """(role, sub-district) of the account the options ask for."""
    if args.librarian:
        return "librarian", None
    if args.centre:
        return "centre", args.centre
    if args.supervisor is not None:
        return "supervisor", args.supervisor or None
    return "staff", None


def add_staff(sub) -> None:
    staff = common.subcommands(sub.add_parser("staff", help="staff accounts: committees' clerks, "
                                                            "librarians, centres, supervisors (the console)"), "staff_command")
    staff_add = staff.add_parser("add", help="add a clerk; print a generated password alone on the last line")
    staff_add.add_argument("login", help="2-32 lower-case letters, digits, '.', '_' or '-'")
    whose = staff_add.add_mutually_exclusive_group(required=True)
    whose.add_argument("--committee", help="a clerk: code of the committee whose desk they work at")
    whose.add_argument("--librarian", action="store_true",
                       help="a librarian of the whole library network (conflicts, kiosks' health), no committee")
    whose.add_argument("--centre", metavar="SUBDISTRICT",
                       help="a clerk of the sub-district's centre (社区事务受理服务中心): its SUBDISTRICT matters")
    whose.add_argument("--supervisor", metavar="SUBDISTRICT", nargs="?", const="",
                       help="a supervisor (电子监察) of the sub-district, or with no code of the whole district")
    staff_add.add_argument("--name", required=True, help="the clerk's name as shown in the audit trail")
    staff_add.set_defaults(func=cmd_staff)
