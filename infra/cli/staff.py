"""``suite staff add``: a console account for a committee clerk, a librarian or an editor of the library network,
a clerk of a sub-district's centre or a supervisor (of a sub-district or the district); ``suite staff
link``: the account signed in through the district's identity provider."""
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
    where = {"librarian": "the library network", "editor": "the library network (popular science)", "staff": f"committee {who['committee']}",
             "centre": f"the centre of sub-district {who['subdistrict']}",
             "supervisor": f"sub-district {who['subdistrict']}" if who["subdistrict"] else "the whole district"
             }[who["role"]]
    return common.shown_once(f"staff account {who['login']} ({who['name']}, {who['role']}, {where}) added; "
                             f"its password", password)


def _role_of(args) -> tuple[str, str | None]:
    """(role, sub-district) of the account the options ask for."""
    if args.librarian:
        return "librarian", None
    if args.editor:
        return "editor", None
    if args.centre:
        return "centre", args.centre
    if args.supervisor is not None:
        return "supervisor", args.supervisor or None
    return "staff", None


def cmd_staff_link(args) -> int:
    import os

    from nameko.exceptions import RemoteError

    issuer = args.issuer or os.environ.get("OIDC_ISSUER", "").strip()
    if not issuer:
        return common.refused("give --issuer (or set OIDC_ISSUER): the identity provider's URL", 2)
    with common.rpc(common.settings()) as rpc:
        try:
            who = rpc.community.staff_link_identity(args.login, issuer, args.subject)
        except RemoteError as exc:
            return common.refused(exc.value)
    print(f"staff account {who['login']} ({who['name']}) signs in as {args.subject!r} at {issuer}")
    return 0


def add_staff(sub) -> None:
    staff = common.subcommands(sub.add_parser("staff", help="staff accounts: committees' clerks, "
                                                            "librarians, centres, supervisors (the console)"), "staff_command")
    staff_add = staff.add_parser("add", help="add a clerk; print a generated password alone on the last line")
    staff_add.add_argument("login", help="2-32 lower-case letters, digits, '.', '_' or '-'")
    whose = staff_add.add_mutually_exclusive_group(required=True)
    whose.add_argument("--committee", help="a clerk: code of the committee whose desk they work at")
    whose.add_argument("--librarian", action="store_true",
                       help="a librarian of the whole library network (conflicts, kiosks' health), no committee")
    whose.add_argument("--editor", action="store_true",
                       help="a library or learning editor: reviews popular-science uploads, places them on TV")
    whose.add_argument("--centre", metavar="SUBDISTRICT",
                       help="a clerk of the sub-district's centre (社区事务受理服务中心): its SUBDISTRICT matters")
    whose.add_argument("--supervisor", metavar="SUBDISTRICT", nargs="?", const="",
                       help="a supervisor (电子监察) of the sub-district, or with no code of the whole district")
    staff_add.add_argument("--name", required=True, help="the clerk's name as shown in the audit trail")
    staff_add.set_defaults(func=cmd_staff)
    link = staff.add_parser("link", help="let an account sign in through the district's identity provider "
                                         "(OpenID Connect) as one identity")
    link.add_argument("login")
    link.add_argument("--subject", required=True, help="the identity's 'sub' claim at the provider")
    link.add_argument("--issuer", help="the provider's URL (default: OIDC_ISSUER)")
    link.set_defaults(func=cmd_staff_link)
