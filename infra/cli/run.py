"""``suite up``, ``down``, ``status``, ``seed``, ``serve``: run the suite, on this machine or one
service as a container's command."""
from __future__ import annotations

import os
import sys

from infra.cli import common
from services.common import config


def _say_seeded(result: dict) -> None:
    print(f"demo data: {result['places']} places, {len(result['residents'])} residents "
          f"({result['residents_added']} new), {result['titles']} book titles, {result['courses']} courses "
          f"({result['courses_added']} new; their TV lessons on the day they were added and the next)")


def cmd_up(args) -> int:
    from gateway import auth
    from infra.local import demo_data, runner, seed
    from infra.local.demo_data import (DEMO_CENTRE_CLERK, DEMO_CLERK, DEMO_EDITOR, DEMO_LIBRARIAN, DEMO_PIN,
                                      DEMO_SIP2_LOGIN, DEMO_SIP2_PASSWORD, DEMO_SUPERVISOR)

    settings = common.settings()
    runner.up(settings)
    result = seed.seed(settings)
    _say_seeded(result)
    resident = result["residents"][0]
    token = auth.mint(auth.token_config(settings), "resident", resident["resident_id"])
    demo = next(p for p in demo_data.RESIDENTS if p.get("phone"))
    print(f"residents' portal: http://{settings.gateway_host}:{settings.gateway_port}/ (sign in as {demo['name']} "
          f"with {demo['phone']}; the texted code: .venv/bin/suite sms last {demo['phone']})")
    print(f"  {demo['name']} is also the guardian of a pupil of the demo pilot school: /family in the portal")
    print(f"e-schoolbag: http://{settings.gateway_host}:{settings.gateway_port}/school/login (the demo teacher's "
          f"code: .venv/bin/suite school code {result['school']['teacher']}; the canteen terminal's key and the "
          "pupil's way in: .venv/bin/suite school demo)")
    print(f"GraphQL: http://{settings.gateway_host}:{settings.gateway_port}/graphql")
    print(f"staff console: http://{settings.gateway_host}:{settings.gateway_port}/console "
          f"(demo clerk {DEMO_CLERK[0]} / {DEMO_CLERK[3]})")
    print(f"  and a sub-district centre's (陆家嘴街道社区事务受理服务中心) "
          f"(demo centre clerk {DEMO_CENTRE_CLERK[0]} / {DEMO_CENTRE_CLERK[3]})")
    print(f"librarians' console: http://{settings.gateway_host}:{settings.gateway_port}/console/library/conflicts "
          f"(demo librarian {DEMO_LIBRARIAN[0]} / {DEMO_LIBRARIAN[2]})")
    print(f"popular science (providers' uploads to review, the TV guide): "
          f"http://{settings.gateway_host}:{settings.gateway_port}/console/popsci "
          f"(demo editor {DEMO_EDITOR[0]} / {DEMO_EDITOR[2]}; a provider's key: .venv/bin/suite provider add --help)")
    print(f"electronic supervision: http://{settings.gateway_host}:{settings.gateway_port}/console/supervision "
          f"(demo supervisor {DEMO_SUPERVISOR[0]} / {DEMO_SUPERVISOR[2]})")
    print(f"SIP2 for self-check machines: 127.0.0.1:{os.environ.get('SIP2_PORT', '6001')} "
          f"(demo machine {DEMO_SIP2_LOGIN} / {DEMO_SIP2_PASSWORD}; demo card {result['demo_card']} PIN {DEMO_PIN})")
    print(f"development token for resident {resident['name']} (more: .venv/bin/suite token --help):")
    print(token)
    return 0


def cmd_down(args) -> int:
    from infra.local import runner

    runner.down(common.settings())
    return 0


def cmd_status(args) -> int:
    from infra.local import runner

    rows = runner.status(common.settings())
    if not rows:
        print("nothing of ours is running (suite up starts it)")
        return 0
    print(f"{'process':<12}{'pid':>8}  {'state':<9}{'health'}")
    for name, pid, state, health in rows:
        print(f"{name:<12}{pid:>8}  {state:<9}{health}")
    return 0 if all(state == "running" and health != "unhealthy" for _, _, state, health in rows) else 1


def cmd_seed(args) -> int:
    from infra.local import seed

    settings = common.settings()
    result = seed.seed(settings)
    _say_seeded(result)
    if args.token:  # containers: what `suite up` prints last
        from gateway import auth

        resident = result["residents"][0]
        print(f"development token for resident {resident['name']}:")
        print(auth.mint(auth.token_config(settings), "resident", resident["resident_id"]))
    return 0


def cmd_serve(args) -> int:
    """One service in the foreground, as ``suite up`` runs it (a container's command)."""
    import yaml

    from infra import topology
    from infra.local import processes

    settings = common.settings()
    classes = {**topology.SERVICE_CLASSES, "gateway": topology.GATEWAY_CLASS}
    cfg = config.gateway_config(settings) if args.name == "gateway" else config.nameko_config(settings, args.name)
    path = processes.run_dir(settings.var_dir) / f"{args.name}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    path.chmod(0o600)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "infra.local.nameko_run", "run", "--config", str(path),
                              classes[args.name]])
    return 1  # not reached


def add_up(sub) -> None:
    sub.add_parser("up", help="start broker (if needed), store, services and gateway; load demo data; "
                              "print the GraphQL URL and a token").set_defaults(func=cmd_up)


def add_down(sub) -> None:
    sub.add_parser("down", help="stop what `suite up` started (data is kept)").set_defaults(func=cmd_down)


def add_status(sub) -> None:
    sub.add_parser("status", help="each process and its health").set_defaults(func=cmd_status)


def add_seed(sub) -> None:
    seed_cmd = sub.add_parser("seed", help="load the demo data (idempotent)")
    seed_cmd.add_argument("--token", action="store_true", help="then print a token for the demo resident "
                                                               "alone on the last line")
    seed_cmd.set_defaults(func=cmd_seed)


def add_serve(sub) -> None:
    serve = sub.add_parser("serve", help="run one service in the foreground (a container's command)")
    serve.add_argument("name", choices=[*config.SERVICES, "gateway"])
    serve.set_defaults(func=cmd_serve)
