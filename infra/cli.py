"""suite: run the Smart Community Suite on one machine, and operate it.

Commands that make a secret print it alone on their last line, so scripts can take it
with ``tail -n 1``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from services.common import config


def _settings() -> config.Settings:
    return config.load()


def _say_seeded(result: dict) -> None:
    print(f"demo data: {result['places']} places, {len(result['residents'])} residents "
          f"({result['residents_added']} new), {result['titles']} book titles, {result['courses']} courses "
          f"({result['courses_added']} new; their TV lessons on the day they were added and the next)")


def cmd_up(args) -> int:
    from gateway import auth
    from infra.local import runner, seed

    settings = _settings()
    runner.up(settings)
    result = seed.seed(settings)
    _say_seeded(result)
    resident = result["residents"][0]
    token = auth.mint(auth.token_config(settings), "resident", resident["resident_id"])
    from infra.local.demo_data import DEMO_CLERK
    print(f"GraphQL: http://{settings.gateway_host}:{settings.gateway_port}/graphql")
    from infra.sip2_cli import DEMO_LOGIN, DEMO_PASSWORD, DEMO_PIN
    print(f"staff console: http://{settings.gateway_host}:{settings.gateway_port}/console "
          f"(demo clerk {DEMO_CLERK[0]} / {DEMO_CLERK[3]})")
    print(f"SIP2 for self-check machines: 127.0.0.1:{os.environ.get('SIP2_PORT', '6001')} "
          f"(demo machine {DEMO_LOGIN} / {DEMO_PASSWORD}; demo card {result['demo_card']} PIN {DEMO_PIN})")
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
        return 0
    print(f"{'process':<12}{'pid':>8}  {'state':<9}{'health'}")
    for name, pid, state, health in rows:
        print(f"{name:<12}{pid:>8}  {state:<9}{health}")
    return 0 if all(state == "running" and health != "unhealthy" for _, _, state, health in rows) else 1


def cmd_seed(args) -> int:
    from infra.local import seed

    settings = _settings()
    result = seed.seed(settings)
    _say_seeded(result)
    if args.token:  # containers: what `suite up` prints last
        from gateway import auth

        resident = result["residents"][0]
        print(f"development token for resident {resident['name']}:")
        print(auth.mint(auth.token_config(settings), "resident", resident["resident_id"]))
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


def _rpc(settings):
    from nameko.standalone.rpc import ClusterRpcProxy

    return ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=max(settings.rpc_timeout, 30))


def cmd_import(args) -> int:
    from infra.imports.files import ImportFileError

    try:
        return _import(args)
    except ImportFileError as exc:  # a file we cannot take: say why, no trace
        print(f"import refused: {exc}", file=sys.stderr)
        return 1


def _import(args) -> int:
    from pathlib import Path

    from infra.imports import community

    settings = _settings()
    path = Path(args.file)
    with _rpc(settings) as rpc:
        if args.kind == "places":
            n = community.import_places(rpc, path)
            print(f"imported {n}, rejected 0")
            return 0
        if args.kind == "marc":
            from infra.imports import marc
            imported, rejected = marc.import_marc(rpc, path)
        elif args.kind == "roster":
            from infra.imports import roster
            imported, rejected = roster.import_roster(rpc, path)
        else:
            imported, rejected = community.import_residents(rpc, path)
    if rejected:
        print(f"rejected {'records' if args.kind == 'marc' else 'rows'} of {path}:")
        community.print_rejections(rejected, unit="record" if args.kind == "marc" else "line")
    print(f"imported {imported}, rejected {len(rejected)}")
    return 0 if not rejected else 1


def cmd_calendar(args) -> int:
    from nameko.exceptions import RemoteError

    from infra.imports.files import ImportFileError, json_document

    from services.community import calendar_source

    settings = _settings()
    with _rpc(settings) as rpc:
        if args.action == "show":
            years = rpc.community.calendar_years()
            print("working-day schedules loaded for: " + (", ".join(map(str, years)) or "no year"))
            return 0
        if args.file:
            try:
                data = json_document(args.file)
            except ImportFileError as exc:
                print(exc, file=sys.stderr)
                return 1
            schedules = data if isinstance(data, list) else [data]
        else:
            years = args.year or calendar_source.package_years()
            try:
                schedules = [calendar_source.to_json(calendar_source.from_package(y)) for y in years]
            except calendar_source.YearNotInPackage as exc:
                print(f"{exc}: load that year from the State Council's notice with "
                      f"`suite calendar load FILE.json` (see the README)", file=sys.stderr)
                return 1
        for schedule in schedules:
            try:
                done = rpc.community.load_calendar_year(schedule)
            except RemoteError as exc:
                print(f"refused: {exc.value}", file=sys.stderr)
                return 1
            print(f"{done['year']}: {done['holidays']} days off, {done['makeup_workdays']} make-up working days"
                  + (f"; deadlines set for {done['deadlines_set']} waiting cases" if done.get("deadlines_set") else ""))
    return 0


def cmd_open311(args) -> int:
    from infra import open311_clients

    settings = _settings()
    with _rpc(settings) as rpc:
        try:
            key = open311_clients.add_client(rpc, args.name)
        except open311_clients.ClientRefused as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 1
    print(f"Open311 client {args.name} added; its api key (shown once, stored only hashed):")
    print(key)
    return 0


def cmd_xapi(args) -> int:
    from infra import xapi_clients

    settings = _settings()
    with _rpc(settings) as rpc:
        try:
            credentials = xapi_clients.add_client(rpc, args.name, read_only=args.read_only)
        except xapi_clients.ClientRefused as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 1
    print(f"xAPI client {args.name} added{' (read only)' if args.read_only else ''}; its HTTP Basic "
          f"key:secret for /xapi/ (shown once, stored only hashed):")
    print(credentials)
    return 0


def cmd_dlq(args) -> int:
    from infra import dlq

    settings = _settings()
    if args.action == "list":
        for service in ([args.service] if args.service else dlq.services()):
            letters = dlq.peek(settings.amqp_uri, service, args.limit)
            print(f"dlq.{service}: {len(letters)} shown")
            for d in letters:
                print(f"  {d['at']}  {d['queue']}  attempts={d['attempts']}  {d['reason']}")
        return 0
    if not args.service:
        print("replay needs --service (and optionally --queue)", file=sys.stderr)
        return 2
    n = dlq.replay(settings.amqp_uri, args.service, only_queue=args.queue)
    print(f"replayed {n} message(s) from dlq.{args.service}")
    return 0


def cmd_loan_rules(args) -> int:
    from nameko.exceptions import RemoteError

    from infra.imports.files import ImportFileError, json_document

    settings = _settings()
    with _rpc(settings) as rpc:
        if args.action == "load":
            if not args.file:
                print("load needs a JSON file: suite loan-rules load FILE.json", file=sys.stderr)
                return 2
            try:
                rules = json_document(args.file)
            except ImportFileError as exc:
                print(exc, file=sys.stderr)
                return 1
            try:
                stored = rpc.library.put_loan_rules(rules)
            except RemoteError as exc:
                print(f"refused, nothing stored: {exc.value}", file=sys.stderr)
                return 1
            print(f"stored {len(stored)} loan rules: {', '.join(stored)}")
            return 0
        for r in rpc.library.loan_rules():
            print(f"{r['name']:<16} {r['patron_type']:>8} × {r['material_type']:<10} × {r['location_kind']:<8} "
                  f"limit {r['item_limit']:>3}  {r['loan_days']:>3} days  renewals {r['renewals']}  "
                  f"recall {r['recall_days']}  fine {r['fine_cents_per_day']} fen/day")
    return 0


def cmd_staff(args) -> int:
    import secrets

    from nameko.exceptions import RemoteError

    from services.community import staff_rpc

    try:
        staff_rpc.check_login(args.login)
    except Exception as exc:  # noqa: BLE001 - BadInput: say why, before any RPC
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    password = secrets.token_urlsafe(12)  # 16 characters; hashed here, so it crosses no broker
    settings = _settings()
    with _rpc(settings) as rpc:
        try:
            who = rpc.community.staff_add(args.login, args.name, args.committee, staff_rpc.hash_password(password))
        except RemoteError as exc:
            print(f"refused: {exc.value}", file=sys.stderr)
            return 1
    print(f"staff account {who['login']} ({who['name']}, committee {who['committee']}) added; "
          f"its password (shown once, stored only hashed):")
    print(password)
    return 0


def cmd_learner(args) -> int:
    settings = _settings()
    with _rpc(settings) as rpc:
        if args.action == "export":
            records = rpc.elearning.export_learner(args.resident_id)
            text = json.dumps(records, ensure_ascii=False, indent=2, default=str)
            if args.out:
                with open(args.out, "w", encoding="utf-8") as f:
                    f.write(text)
                print(f"wrote {args.out}")
            else:
                print(text)
            return 0
        if args.confirm != args.resident_id:
            print("erasure cannot be undone: repeat the resident id with --confirm", file=sys.stderr)
            return 2
        done = rpc.elearning.erase_learner(args.resident_id, args.request_ref or "", f"operator:{_operator()}")
    print(f"erased: {done['counts']} (kept in the ledger under {done['pseudonym']})")
    return 0


def _operator() -> str:
    import getpass
    return getpass.getuser()


def cmd_deploy(args) -> int:
    from infra.local import runner

    settings = _settings()
    queues = runner.deploy(settings)
    print(f"declared {len(queues)} queues and every service's indexes")
    return 0


def cmd_serve(args) -> int:
    """One service in the foreground, as ``suite up`` runs it (a container's command)."""
    import yaml

    from infra import topology
    from infra.local import processes

    settings = _settings()
    classes = {**topology.SERVICE_CLASSES, "gateway": topology.GATEWAY_CLASS}
    cfg = config.gateway_config(settings) if args.name == "gateway" else config.nameko_config(settings, args.name)
    path = processes.run_dir(settings.var_dir) / f"{args.name}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    path.chmod(0o600)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "infra.local.nameko_run", "run", "--config", str(path),
                              classes[args.name]])
    return 1  # not reached


def cmd_topology(args) -> int:
    from infra import broker_definitions

    settings = _settings()
    queue_type = args.queue_type or settings.queue_type
    if args.action == "definitions":
        user = tuple(args.user.split(":", 1)) if args.user else None
        if user is not None and len(user) != 2:
            print("--user takes NAME:PASSWORD", file=sys.stderr)
            return 2
        print(broker_definitions.render(broker_definitions.build(queue_type, args.vhost, user=user)), end="")
        return 0
    queues = broker_definitions.apply(settings.amqp_uri, queue_type)
    print(f"imported the definitions and checked {len(queues)} {queue_type} queues")
    return 0


def cmd_broker(args) -> int:
    from infra.local import broker

    settings = _settings()
    broker.ensure_running(settings.amqp_uri)
    if args.management:
        broker.ensure_management()
    print("RabbitMQ answers" + (" (management API too)" if args.management else ""))
    return 0


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="suite", description=__doc__.splitlines()[0].split(": ", 1)[1])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("up", help="start broker (if needed), store, services and gateway; load demo data; "
                              "print the GraphQL URL and a token").set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop what `suite up` started (data is kept)").set_defaults(func=cmd_down)
    sub.add_parser("status", help="each process and its health").set_defaults(func=cmd_status)
    seed_cmd = sub.add_parser("seed", help="load the demo data (idempotent)")
    seed_cmd.add_argument("--token", action="store_true", help="then print a token for the demo resident "
                                                               "alone on the last line")
    seed_cmd.set_defaults(func=cmd_seed)
    sub.add_parser("deploy", help="declare the broker topology and the database indexes"
                   ).set_defaults(func=cmd_deploy)
    token = sub.add_parser("token", help="mint a development JWT (printed alone on the last line)")
    token.add_argument("--role", required=True, choices=["resident", "guardian", "staff", "admin"])
    token.add_argument("--id", help="subject: a resident id for residents and guardians, a staff id for staff")
    token.add_argument("--committee", help="committee code (staff)")
    token.add_argument("--hours", type=_positive, default=12, help="lifetime in hours (default 12)")
    token.set_defaults(func=cmd_token)
    imp = sub.add_parser("import", help="import places (JSON or CSV) or residents (CSV) into community, "
                                        "or a MARC 21 catalogue (binary .mrc or MARCXML) into library")
    imp.add_argument("kind", choices=["places", "residents", "marc", "roster"])
    imp.add_argument("file", help="places: JSON list or CSV code,kind,name,parent; residents: CSV "
                                  "id_number,name,phone,registered_committee,residence_committee,address; "
                                  "roster: a folder of OneRoster 1.1 CSV (orgs, academicSessions, classes, "
                                  "users, enrollments) into elearning; marc: MARC 21 binary (.mrc) or MARCXML "
                                  "(.xml) into library")
    imp.set_defaults(func=cmd_import)
    cal = sub.add_parser("calendar", help="the working-day schedule (holidays and make-up days) per year")
    cal.add_argument("action", choices=["load", "show"])
    cal.add_argument("file", nargs="?", help="an operator JSON file {year, holidays, makeup_workdays, source} "
                                             "(or a list of them); default: the years the chinesecalendar "
                                             "package knows")
    cal.add_argument("--year", type=int, action="append", help="with no file: only this year (repeatable)")
    cal.set_defaults(func=cmd_calendar)
    o311 = sub.add_parser("open311", help="Open311 GeoReport v2 clients (city hotlines, civic apps)")
    o311_sub = o311.add_subparsers(dest="open311_command", required=True, metavar="COMMAND")
    o311_client = o311_sub.add_parser("client", help="manage Open311 clients").add_subparsers(
        dest="client_command", required=True, metavar="COMMAND")
    o311_add = o311_client.add_parser("add", help="add a client; print its api key alone on the last line")
    o311_add.add_argument("name", help="client name: 1-32 letters, digits, '-' or '_'")
    o311_add.set_defaults(func=cmd_open311)
    xapi_cmd = sub.add_parser("xapi", help="xAPI Learning Record Store clients (content players, LMSs)")
    xapi_sub = xapi_cmd.add_subparsers(dest="xapi_command", required=True, metavar="COMMAND")
    xapi_client = xapi_sub.add_parser("client", help="manage xAPI clients").add_subparsers(
        dest="xapi_client_command", required=True, metavar="COMMAND")
    xapi_add = xapi_client.add_parser("add", help="add a client; print its key:secret alone on the last line")
    xapi_add.add_argument("name", help="client name (the HTTP Basic key): 1-32 letters, digits, '-' or '_'")
    xapi_add.add_argument("--read-only", action="store_true", help="it may read statements and state, not write")
    xapi_add.set_defaults(func=cmd_xapi)
    staff = sub.add_parser("staff", help="staff accounts of the committees (the console's clerks)")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True, metavar="COMMAND")
    staff_add = staff_sub.add_parser("add", help="add a clerk; print a generated password alone on the last line")
    staff_add.add_argument("login", help="2-32 lower-case letters, digits, '.', '_' or '-'")
    staff_add.add_argument("--committee", required=True, help="code of the committee whose desk they work at")
    staff_add.add_argument("--name", required=True, help="the clerk's name as shown in the audit trail")
    staff_add.set_defaults(func=cmd_staff)
    rules = sub.add_parser("loan-rules", help="the library's loan rules: show them, or load an operator's rules "
                                              "from a JSON file {name: {patron_type, material_type, ...}}")
    rules.add_argument("action", choices=["show", "load"])
    rules.add_argument("file", nargs="?", help="load: the JSON file")
    rules.set_defaults(func=cmd_loan_rules)
    from infra import sip2_cli
    from infra.kiosk import cli as kiosk_cli

    kiosk_cli.add_commands(sub)
    sip2_cli.add_commands(sub)
    dl = sub.add_parser("dlq", help="dead-lettered messages: list them with their reasons, replay them once fixed")
    dl.add_argument("action", choices=["list", "replay"])
    dl.add_argument("--service", choices=["community", "library", "elearning"])
    dl.add_argument("--queue", help="replay only the messages that came from this queue")
    dl.add_argument("--limit", type=int, default=50, help="list at most this many per service")
    dl.set_defaults(func=cmd_dlq)
    ln = sub.add_parser("learner", help="a learner's records: export them, or erase them on a verified request "
                                        "(off unless the elearning service runs with LEARNER_ERASURE=true)")
    ln.add_argument("action", choices=["export", "erase"])
    ln.add_argument("resident_id")
    ln.add_argument("--out", help="export: write the JSON here")
    ln.add_argument("--request-ref", help="erase: the reference of the verified request")
    ln.add_argument("--confirm", help="erase: the resident id again")
    ln.set_defaults(func=cmd_learner)
    serve = sub.add_parser("serve", help="run one service in the foreground (a container's command)")
    serve.add_argument("name", choices=[*config.SERVICES, "gateway"])
    serve.set_defaults(func=cmd_serve)
    topo = sub.add_parser("topology", help="the broker topology as RabbitMQ definitions: print them, or import "
                                           "them through the management API and check them (a cluster)")
    topo.add_argument("action", choices=["definitions", "apply"])
    topo.add_argument("--queue-type", choices=["classic", "quorum"], help="default: QUEUE_TYPE (classic)")
    topo.add_argument("--vhost", default="/", help="definitions: the virtual host (apply: AMQP_URI's)")
    topo.add_argument("--user", help="definitions: NAME:PASSWORD of a user to include (compose's guest:guest)")
    topo.set_defaults(func=cmd_topology)
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
    from infra.topology import NamekoWouldBeRefused, QueueDeclaredOtherwise
    try:
        return args.func(args)
    except (QueueDeclaredOtherwise, NamekoWouldBeRefused) as exc:   # an operator's step: say which
        raise SystemExit(f"suite: {exc}") from None


if __name__ == "__main__":
    raise SystemExit(main())
