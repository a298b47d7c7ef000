"""``suite token``: a development JWT, printed alone on the last line."""
from __future__ import annotations

import sys

from infra.cli import common


def cmd_token(args) -> int:
    from gateway import auth

    settings = common.settings()
    if args.role == "staff" and not args.committee:
        print("a staff token needs --committee CODE (the committee whose desk they work at)", file=sys.stderr)
        return 2
    if args.role == "centre" and not args.subdistrict:
        print("a centre's token needs --subdistrict CODE (the sub-district whose centre they work at)", file=sys.stderr)
        return 2
    subject = args.id
    if subject is None and args.role in ("resident", "guardian"):
        subject = _demo_resident(settings)   # a resident who exists, not a made-up id
        if subject is None:
            print("name the resident with --id RESIDENT_ID (the demo resident is known once `suite up` has "
                  "loaded the demo data)", file=sys.stderr)
            return 2
    subject = subject or f"dev-{args.role}"
    token = auth.mint(auth.token_config(settings), args.role, subject, committee=args.committee,
                      lifetime=args.hours * 3600, subdistrict=args.subdistrict)
    print(f"{args.role} token for {subject}, valid {args.hours} h:")
    print(token)
    return 0


def _demo_resident(settings) -> str | None:
    """The resident id of the first demo resident (张伟), when the suite runs and knows them."""
    from infra.local import demo_data
    try:
        with common.rpc(settings, timeout=settings.rpc_timeout) as rpc:   # not running: say so in seconds
            return rpc.community.find_resident(demo_data.RESIDENTS[0]["id_number"])["resident_id"]
    except Exception:   # noqa: BLE001 - not running, or not seeded: say what to do instead
        return None


def add_token(sub) -> None:
    token = sub.add_parser("token", help="mint a development JWT (printed alone on the last line)")
    token.add_argument("--role", required=True,
                       choices=["resident", "guardian", "staff", "librarian", "centre", "supervisor", "editor", "admin"])
    token.add_argument("--id", help="subject: a resident id for residents and guardians (default: the demo "
                                    "resident), a staff id for staff")
    token.add_argument("--committee", help="committee code (staff)")
    token.add_argument("--subdistrict", help="sub-district code (a centre; a supervisor of one sub-district)")
    token.add_argument("--hours", type=common.positive, default=12, help="lifetime in hours (default 12)")
    token.set_defaults(func=cmd_token)
