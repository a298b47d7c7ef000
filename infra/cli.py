"""``suite``: run the Smart Community Suite on one machine, and operate it.

Commands that make a secret print it alone on their last line, so scripts can take it
with ``tail -n 1``.
"""
from __future__ import annotations

import argparse
import sys

from services.common import config


def _settings() -> config.Settings:
    return config.load()


def cmd_up(args) -> int:
    from gateway import auth
    from infra.local import runner, seed

    settings = _settings()
    runner.up(settings)
    result = seed.seed(settings)
    print(f"demo data: {result['places']} places, {len(result['residents'])} residents "
          f"({result['residents_added']} new)")
    resident = result["residents"][0]
    token = auth.mint(auth.token_config(settings), "resident", resident["resident_id"])
    print(f"GraphQL: http://{settings.gateway_host}:{settings.gateway_port}/graphql")
    print(f"development token for resident {resident['name']} (more: suite token --help):")
    print(token)
    return 0


def cmd_down(args) -> int:
    from infra.local import runner

    runner.down(_settings())
    return 0


def cmd_status(args) -> int:
    from infra.local import runner

    rows = runner.status(_settings())
    if not rows:
        print("nothing of ours is running (suite up starts it)")
        return 3
    print(f"{'process':<12}{'pid':>8}  {'state':<9}{'health'}")
    for name, pid, state, health in rows:
        print(f"{name:<12}{pid:>8}  {state:<9}{health}")
    return 0 if all(state == "running" and health != "unhealthy" for _, _, state, health in rows) else 1


def cmd_seed(args) -> int:
    from infra.local import seed

    result = seed.seed(_settings())
    print(f"demo data: {result['places']} places, {len(result['residents'])} residents "
          f"({result['residents_added']} new)")
    return 0


def cmd_token(args) -> int:
    from gateway import auth

    settings = _settings()
    if args.role == "staff" and not args.committee:
        print("a staff token needs --committee CODE (the committee whose desk they work at)", file=sys.stderr)
        return 2
    token = auth.mint(auth.token_config(settings), args.role, args.id or f"dev-{args.role}",
                      committee=args.committee, lifetime=args.hours * 3600)
    print(f"{args.role} token for {args.id or 'dev-' + args.role}, valid {args.hours} h:")
    print(token)
    return 0


def cmd_deploy(args) -> int:
    from infra.local import runner

    settings = _settings()
    queues = runner.deploy(settings)
    print(f"declared {len(queues)} queues and every service's indexes")
    return 0


def cmd_broker(args) -> int:
    from infra.local import broker

    settings = _settings()
    broker.ensure_running(settings.amqp_uri)
    if args.management:
        broker.ensure_management()
    print("RabbitMQ answers" + (" (management API too)" if args.management else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="suite", description=__doc__.splitlines()[0].strip("`"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("up", help="start broker (if needed), store, services and gateway; load demo data; "
                              "print the GraphQL URL and a token").set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop what `suite up` started (data is kept)").set_defaults(func=cmd_down)
    sub.add_parser("status", help="each process and its health").set_defaults(func=cmd_status)
    sub.add_parser("seed", help="load the demo data (idempotent)").set_defaults(func=cmd_seed)
    sub.add_parser("deploy", help="declare the broker topology and the database indexes"
                   ).set_defaults(func=cmd_deploy)
    token = sub.add_parser("token", help="mint a development JWT (printed alone on the last line)")
    token.add_argument("--role", required=True, choices=["resident", "guardian", "staff", "admin"])
    token.add_argument("--id", help="subject: a resident id for residents and guardians, a staff id for staff")
    token.add_argument("--committee", help="committee code (staff)")
    token.add_argument("--hours", type=int, default=12, help="lifetime in hours (default 12)")
    token.set_defaults(func=cmd_token)
    brk = sub.add_parser("broker", help="make sure RabbitMQ answers (start it when installed here)")
    brk.add_argument("--management", action="store_true", help="also enable the management API")
    brk.set_defaults(func=cmd_broker)
    return parser


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # we know; nameko needs it
    import eventlet

    eventlet.monkey_patch()  # the nameko standalone RPC proxy used by `seed` is eventlet-based
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
