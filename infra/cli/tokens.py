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
    token = auth.mint(auth.token_config(settings), args.role, args.id or f"dev-{args.role}",
                      committee=args.committee, lifetime=args.hours * 3600)
    print(f"{args.role} token for {args.id or 'dev-' + args.role}, valid {args.hours} h:")
    print(token)
    return 0


def add_token(sub) -> None:
    token = sub.add_parser("token", help="mint a development JWT (printed alone on the last line)")
    token.add_argument("--role", required=True, choices=["resident", "guardian", "staff", "admin"])
    token.add_argument("--id", help="subject: a resident id for residents and guardians, a staff id for staff")
    token.add_argument("--committee", help="committee code (staff)")
    token.add_argument("--hours", type=common.positive, default=12, help="lifetime in hours (default 12)")
    token.set_defaults(func=cmd_token)
