"""``suite school code|link|demo``: the e-schoolbag's people signing in. ``code`` issues a
one-time sign-in code to a pupil (once a guardian consented, under 14) or a teacher, for
``/school/login`` (the local way in where no identity provider runs); ``link`` lets a roster
teacher sign in through the district's identity provider; ``demo`` shows the demo school's
canteen terminal key and how its teacher and pupil sign in."""
from __future__ import annotations

from nameko.exceptions import RemoteError

from infra.cli import common


def cmd_code(args) -> int:
    settings = common.settings()
    with common.rpc(settings, timeout=10) as rpc:
        try:
            issued = rpc.elearning.school_code_issue({"role": "operator", "id": common.operator()}, args.user_id)
        except RemoteError as exc:
            return common.refused(exc.value)
    who = "teacher" if issued["role"] == "teacher" else "pupil"
    print(f"{who} {issued['name']} ({issued['user_id']}): sign in at "
          f"http://{settings.gateway_host}:{settings.gateway_port}/school/login before {issued['expires_at']} "
          "(once; a new code replaces it)")
    return common.shown_once("the sign-in code", issued["code"])


def cmd_link(args) -> int:
    from services.common.config import option

    issuer = (args.issuer or str(option({}, "OIDC_ISSUER", ""))).rstrip("/")
    if not issuer:
        return common.refused("give --issuer (or set OIDC_ISSUER): the identity provider's URL", 2)
    with common.rpc(common.settings(), timeout=10) as rpc:
        try:
            teacher = rpc.elearning.teacher_link_identity(args.teacher_id, issuer, args.subject)
        except RemoteError as exc:
            return common.refused(exc.value)
    print(f"teacher {teacher['name']} ({teacher['teacher_id']}) signs in at /school/login/oidc as {args.subject} "
          f"of {issuer}")
    return 0


def cmd_demo(args) -> int:
    from infra.local import demo_school

    settings = common.settings()
    key = demo_school.terminal_key(settings.var_dir)
    if key is None:
        return common.refused("no demo terminal key in var/ (suite up seeds the demo school)")
    base = f"http://{settings.gateway_host}:{settings.gateway_port}"
    print(f"demo school {demo_school.SCHOOL}: teacher {demo_school.TEACHER}, pupils {demo_school.PUPIL} "
          f"(张伟's child) and {demo_school.CLASSMATE}")
    print(f"  the teacher: .venv/bin/suite school code {demo_school.TEACHER}, then {base}/school/login")
    print(f"  the pupil: 张伟 consents in {base}/family, then .venv/bin/suite school code {demo_school.PUPIL}")
    print(f"canteen terminal {demo_school.TERMINAL} signs charges (HMAC-SHA256, services/elearning/terminals.py) "
          "with the key on the last line:")
    print(key)
    return 0


def add_school(sub) -> None:
    school = common.subcommands(sub.add_parser("school", help="the e-schoolbag's teachers and pupils signing in"),
                                "school_command")
    code = school.add_parser("code", help="a one-time sign-in code for a pupil or a teacher, alone on the last line")
    code.add_argument("user_id", metavar="SOURCED_ID", help="the pupil's or teacher's roster sourcedId")
    code.set_defaults(func=cmd_code)
    link = school.add_parser("link", help="let a roster teacher sign in through the identity provider")
    link.add_argument("teacher_id", metavar="TEACHER_ID", help="the teacher's roster sourcedId")
    link.add_argument("--subject", required=True, help="the identity's 'sub' claim at the provider")
    link.add_argument("--issuer", help="the provider's URL (default: OIDC_ISSUER)")
    link.set_defaults(func=cmd_link)
    demo = school.add_parser("demo", help="the demo school: its terminal's key and how its people sign in")
    demo.set_defaults(func=cmd_demo)
